#include "boxjail/supervise.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "boxjail/log.h"

namespace boxjail {

void exit_like(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    // Die the same way so our own caller sees the true wait status, but
    // without leaving a core of boxjail behind.
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    kill(getpid(), sig);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, nullptr);
    _exit(128 + sig);
  }
  _exit(125);
}

int supervise(pid_t child, int tty_fd) {
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info{};
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      log::debug("forwarding signal " + std::to_string(sig) + " to pid " + std::to_string(child));
      kill(child, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      pid_t r = waitpid(child, &status, WNOHANG | WUNTRACED | WCONTINUED);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        if (tty_fd >= 0) tcsetpgrp(tty_fd, getpgrp());
        if (WIFEXITED(status)) {
          log::info("pid " + std::to_string(child) + " exited with status " +
                    std::to_string(WEXITSTATUS(status)));
        } else {
          log::info("pid " + std::to_string(child) + " was killed by signal " +
                    std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")");
        }
        return status;
      }
      if (WIFSTOPPED(status) && tty_fd >= 0 && tcgetpgrp(tty_fd) == child) {
        // The child was stopped from the terminal (Ctrl-Z). Take the
        // terminal back and stop too, so the shell sees its job stopped;
        // when the shell continues us (fg), give the terminal back and
        // continue the child's whole process group.
        tcsetpgrp(tty_fd, getpgrp());
        kill(getpid(), SIGSTOP);
        if (tcgetpgrp(tty_fd) == getpgrp()) tcsetpgrp(tty_fd, child);
        kill(-child, SIGCONT);
      }
    }
  }
}

}  // namespace boxjail

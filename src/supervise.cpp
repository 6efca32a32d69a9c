#include "boxjail/supervise.h"

#include <link.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
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

namespace {

int drop_read_only(dl_phdr_info* info, size_t, void*) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W)) continue;
    // Whole pages inside the segment only: they hold clean file data that
    // the kernel can read back if the supervisor touches them again.
    uintptr_t start = (info->dlpi_addr + ph.p_vaddr + page - 1) & ~(page - 1);
    uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz) & ~(page - 1);
    if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
  }
  return 0;
}

std::string describe_end(pid_t child, int status) {
  if (WIFEXITED(status))
    return "pid " + std::to_string(child) + " exited with status " +
           std::to_string(WEXITSTATUS(status));
  return "pid " + std::to_string(child) + " was killed by signal " +
         std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
}

}  // namespace

void release_startup_memory() {
  // Parsing, validation and the launch touched most of the binary; the
  // supervisor's loop needs a few pages of it. Let the rest go, and give
  // freed heap back, so a waiting supervisor stays small.
  malloc_trim(0);
  dl_iterate_phdr(drop_read_only, nullptr);
}

int supervise(pid_t child, int tty_fd) {
  release_startup_memory();
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info{};
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      if (log::enabled(log::Level::kDebug))
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
        if (log::enabled(log::Level::kInfo)) log::info(describe_end(child, status));
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

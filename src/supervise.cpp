#include "boxjail/supervise.h"

#include <dirent.h>
#include <link.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "boxjail/audit.h"
#include "boxjail/cgroup.h"
#include "boxjail/log.h"
#include "boxjail/notify.h"
#include "boxjail/ready.h"
#include "boxjail/io.h"
#include "boxjail/signames.h"
#include "boxjail/unique_fd.h"

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

}  // namespace

void release_startup_memory() {
  // Parsing, validation and the launch touched most of the binary; the
  // supervisor's loop needs a few pages of it. Let the rest go, and give
  // freed heap back, so a waiting supervisor stays small.
  malloc_trim(0);
  dl_iterate_phdr(drop_read_only, nullptr);
}

namespace {

// Stops boxjail with `sig` (SIGTSTP, SIGTTIN or SIGTTOU), as the job PROGRAM
// belongs to would stop, and returns once it is continued. Those signals
// are discarded for a process group the kernel deems orphaned; SIGSTOP is
// the fallback then.
void stop_like(int sig) {
  sigset_t one, pending, cont;
  sigemptyset(&cont);
  sigaddset(&cont, SIGCONT);
  timespec now{0, 0};
  while (sigtimedwait(&cont, nullptr, &now) == SIGCONT) {
  }  // an older SIGCONT must not look like the one that ends this stop
  sigemptyset(&one);
  sigaddset(&one, sig);
  struct sigaction dfl {}, old{};
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, &old);
  kill(getpid(), sig);
  sigprocmask(SIG_UNBLOCK, &one, nullptr);  // delivered, and we stop, here
  sigprocmask(SIG_BLOCK, &one, nullptr);
  sigaction(sig, &old, nullptr);
  // Continued, a SIGCONT waits (blocked); without one, we never stopped.
  sigpending(&pending);
  if (!sigismember(&pending, SIGCONT)) kill(getpid(), SIGSTOP);
}

bool job_control_stop(int sig) { return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

// Every child of ours still there (adopted ones included), from
// /proc/self/task/TID/children.
std::vector<pid_t> children_of_self() {
  std::vector<pid_t> v;
  std::string path = "/proc/self/task/" + std::to_string(getpid()) + "/children";
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return v;
  long pid = 0;
  while (fscanf(f, "%ld", &pid) == 1) v.push_back(static_cast<pid_t>(pid));
  fclose(f);
  return v;
}

// Whether a live (not zombie) process is in process group `pgid`: zombies
// that whoever adopted them has not reaped yet do not count.
bool group_alive(pid_t pgid) {
  DIR* d = opendir("/proc");
  if (!d) return kill(-pgid, 0) == 0;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE* f = fopen(path, "re");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char* close = strrchr(buf, ')');
    char state = 0;
    long ppid = 0, pg = 0;
    if (close && sscanf(close + 1, " %c %ld %ld", &state, &ppid, &pg) == 3 && pg == pgid &&
        state != 'Z') {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

}  // namespace

// After PROGRAM: SIGTERM to what is left (its process group, and with
// reaping every adopted child), then SIGKILL after the grace period; reaps
// them all.
void end_the_rest(const SuperviseOptions& o) {
  auto signal_all = [&](int sig) {
    if (o.signal_group) kill(-o.child, sig);
    if (o.reap)
      for (pid_t c : children_of_self()) kill(c, sig);
  };
  signal_all(SIGTERM);
  const long step_ms = 20;
  for (long waited = 0;; waited += step_ms) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    bool left = (o.signal_group && group_alive(o.child)) ||
                (o.reap && !children_of_self().empty());
    if (!left) return;
    if (waited >= o.grace_ms) break;
    timespec ts{0, step_ms * 1000000};
    nanosleep(&ts, nullptr);
  }
  if (log::enabled(log::Level::kInfo))
    log::info("processes left after the " + std::to_string(o.grace_ms) + " ms grace: SIGKILL");
  signal_all(SIGKILL);
  if (o.reap) {
    while (waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
    }
  } else {
    timespec ts{0, 50 * 1000000};
    for (int i = 0; i < 100 && group_alive(o.child); ++i) nanosleep(&ts, nullptr);
  }
}

namespace {

// --timeout: the caller's timerfd fires at the limit (SIGNAL), then once
// more after the grace (SIGKILL). Both waits read it: poll() when it is
// readable, sigtimedwait() when the timer says it is due.
class TimeLimit {
 public:
  explicit TimeLimit(const SuperviseOptions& o) : o_(o) {}
  /// The descriptor while a firing is still to come, else -1.
  int fd() const { return o_.timer_fd >= 0 && phase_ < kDone ? o_.timer_fd : -1; }
  /// How long until it fires.
  timespec left() const {
    itimerspec t{};
    timerfd_gettime(o_.timer_fd, &t);
    return t.it_value;
  }
  /// Acts if the timer has expired (reading it says so); else nothing.
  void on_readable() {
    uint64_t expired = 0;
    if (read(o_.timer_fd, &expired, sizeof expired) != sizeof expired || expired == 0) return;
    if (phase_ == kWaiting) {
      // PROGRAM ended on its own just now: its SIGCHLD is on the way, and
      // it was no timeout.
      siginfo_t si{};
      if (waitid(P_PID, static_cast<id_t>(o_.child), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          si.si_pid == o_.child) {
        phase_ = kDone;
        return;
      }
      if (o_.timed_out) *o_.timed_out = true;
      const bool kill_now = o_.timeout_signal == SIGKILL || o_.grace_ms == 0;
      log::warn(std::string("--timeout ") + o_.timeout_spec + ": PROGRAM (pid " +
                std::to_string(o_.child) + ") reached its time limit: " +
                signal_name(o_.timeout_signal) + " to " + target() +
                (o_.timeout_signal == SIGKILL ? ""
                 : kill_now                   ? ", then SIGKILL"
                                              : ", SIGKILL after " + std::to_string(o_.grace_ms) +
                                                    " ms"));
      send(o_.timeout_signal);
      // A stopped process acts on the signal only once continued (as
      // timeout(1) does).
      if (o_.timeout_signal != SIGKILL && o_.timeout_signal != SIGCONT) send(SIGCONT);
      phase_ = kSignalled;
      if (!kill_now) {
        itimerspec grace{};
        grace.it_value.tv_sec = o_.grace_ms / 1000;
        grace.it_value.tv_nsec = static_cast<long>(o_.grace_ms % 1000) * 1000000;
        if (timerfd_settime(o_.timer_fd, 0, &grace, nullptr) == 0) return;
      }
    }
    if (o_.timeout_signal != SIGKILL) {
      if (log::enabled(log::Level::kInfo))
        log::info("--timeout " + std::string(o_.timeout_spec) + ": PROGRAM (pid " +
                  std::to_string(o_.child) + ") still runs after the grace: SIGKILL to " +
                  target());
      send(SIGKILL);
    }
    phase_ = kDone;
  }

 private:
  enum Phase { kWaiting, kSignalled, kDone };
  std::string target() const {
    std::string t = o_.signal_group ? "its process group" : "it";
    return o_.cgroup ? t + " and the processes it started in its cgroup" : t;
  }
  void send(int sig) const {
    kill(o_.signal_group ? -o_.child : o_.child, sig);
    if (o_.cgroup) o_.cgroup->signal_descendants(sig, o_.child, o_.signal_group ? o_.child : 0);
  }
  const SuperviseOptions& o_;
  Phase phase_ = kWaiting;
};

// --ready in the default mode: the ready event once the source says so; at
// the deadline, PROGRAM is ended as TimeLimit ends it.
class ReadyWatch {
 public:
  explicit ReadyWatch(const SuperviseOptions& o) : o_(o) {}
  int fd() const { return o_.ready && phase_ == kWaiting ? o_.ready->fd() : -1; }
  /// PROGRAM is ready, and said to be.
  bool reached() const { return o_.ready && phase_ == kDone && o_.ready->state() == ready::Waiter::State::kReady; }
  int deadline_fd() const {
    return !o_.ready || phase_ == kDone ? -1 : phase_ == kWaiting ? o_.ready->deadline_fd()
                                                                   : o_.ready->grace_fd();
  }
  void on_source() {
    const ready::Waiter::State st = o_.ready->on_readable();
    if (st == ready::Waiter::State::kReady) {
      const int64_t ms = o_.ready->elapsed_ms();
      if (log::enabled(log::Level::kInfo))
        log::info(o_.ready->flag() + ": " + who() + " is ready after " + std::to_string(ms) +
                  " ms");
      if (o_.ready_fd >= 0) write_all_quietly(o_.ready_fd, ready::ready_line(ms));
      phase_ = kDone;
    } else if (st == ready::Waiter::State::kClosed) {
      end_program(o_.ready->closed_reason(), 125);
    }
  }
  void on_deadline() {
    uint64_t expired = 0;
    if (read(deadline_fd(), &expired, sizeof expired) != sizeof expired || expired == 0) return;
    if (phase_ == kWaiting) {
      if (o_.ready->on_readable() == ready::Waiter::State::kReady) {
        phase_ = kWaiting;
        on_source();
        return;
      }
      end_program(who() + " was not ready within " + o_.ready->limit_text() + " (" +
                      o_.ready->timeout_flag() + ")",
                  124);
      return;
    }
    send(SIGKILL);
    phase_ = kDone;
  }

 private:
  enum Phase { kWaiting, kSignalled, kDone };
  std::string who() const { return "PROGRAM (pid " + std::to_string(o_.child) + ")"; }
  void end_program(const std::string& why, int code) {
    // PROGRAM ended on its own just now: its SIGCHLD says why.
    siginfo_t si{};
    if (waitid(P_PID, static_cast<id_t>(o_.child), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        si.si_pid == o_.child) {
      phase_ = kDone;
      return;
    }
    if (o_.ready_failed) *o_.ready_failed = code;
    const bool kill_now = o_.grace_ms == 0;
    log::error(o_.ready->flag() + ": " + why + ": " +
               (kill_now ? std::string("SIGKILL")
                         : "SIGTERM, then SIGKILL after " + std::to_string(o_.grace_ms) + " ms"));
    if (kill_now) {
      send(SIGKILL);
      phase_ = kDone;
      return;
    }
    send(SIGTERM);
    send(SIGCONT);
    phase_ = o_.ready->rearm(static_cast<int64_t>(o_.grace_ms) * 1000000) ? kSignalled : kDone;
    if (phase_ == kDone) send(SIGKILL);
  }
  void send(int sig) const {
    kill(o_.signal_group ? -o_.child : o_.child, sig);
    if (o_.cgroup) o_.cgroup->signal_descendants(sig, o_.child, o_.signal_group ? o_.child : 0);
  }
  const SuperviseOptions& o_;
  Phase phase_ = kWaiting;
};

}  // namespace

int supervise(const SuperviseOptions& o) {
  release_startup_memory();
  const pid_t child = o.child;
  sigset_t all;
  sigfillset(&all);
  // With a seccomp listener, signals come through a signalfd so that one
  // poll() waits for both.
  // The same for the audit log's Landlock records.
  const bool listening = o.listener && o.listener->valid();
  UniqueFd sfd(listening || o.audit || o.ready ? signalfd(-1, &all, SFD_CLOEXEC) : -1);
  TimeLimit limit(o);
  ReadyWatch ready(o);
  for (;;) {
    int sig = -1;
    if (sfd.valid()) {
      pollfd p[6] = {{sfd.get(), POLLIN, 0},
                     {o.listener && o.listener->valid() ? o.listener->fd() : -1, POLLIN, 0},
                     {o.audit ? o.audit->fd() : -1, POLLIN, 0},
                     {limit.fd(), POLLIN, 0},
                     {ready.fd(), POLLIN, 0},
                     {ready.deadline_fd(), POLLIN, 0}};
      if (poll(p, 6, -1) < 0) continue;
      if (p[3].revents) limit.on_readable();
      if (p[4].revents) ready.on_source();
      if (p[5].revents && ready.deadline_fd() >= 0) ready.on_deadline();
      if (o.return_when_ready && ready.reached()) return kReturnedReady;
      if (p[1].revents & POLLIN)
        o.listener->serve_one(*o.handler, false);
      else if (p[1].revents)
        o.listener->reset();  // nothing is left under the filter
      if (p[2].revents) o.audit->drain(child);
      signalfd_siginfo si{};
      if (!(p[0].revents & POLLIN) || read(sfd.get(), &si, sizeof si) != sizeof si) continue;
      sig = static_cast<int>(si.ssi_signo);
    } else if (limit.fd() >= 0) {
      siginfo_t info{};
      const timespec left = limit.left();
      sig = sigtimedwait(&all, &info, &left);
      if (sig < 0 && errno == EAGAIN) {
        limit.on_readable();  // due, unless the wait ended a little early
        continue;
      }
    } else {
      siginfo_t info{};
      sig = sigwaitinfo(&all, &info);
    }
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      if (log::enabled(log::Level::kDebug))
        log::debug("forwarding signal " + std::to_string(sig) + " to " +
                   (o.signal_group ? "process group " : "pid ") + std::to_string(child));
      kill(o.signal_group ? -child : child, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      rusage ru{};
      pid_t r = wait4(o.reap || o.adopt ? -1 : child, &status, WNOHANG | WUNTRACED | WCONTINUED,
                      &ru);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      if (r != child) continue;  // an adopted child, reaped
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        if (o.ctty_fd >= 0 && tcgetpgrp(o.ctty_fd) == child) tcsetpgrp(o.ctty_fd, getpgrp());
        if (o.usage) *o.usage = ru;
        if (o.cleanup || o.signal_group) end_the_rest(o);
        return status;
      }
      if (!WIFSTOPPED(status) || o.ctty_fd < 0) continue;
      const bool had_terminal = tcgetpgrp(o.ctty_fd) == child;
      const int stop = WSTOPSIG(status);
      if (!had_terminal && !job_control_stop(stop)) continue;  // a plain SIGSTOP
      // PROGRAM stopped as a job does (Ctrl-Z, or a background read or
      // write on the terminal): stop the same way so the shell sees its job
      // stopped; take the terminal back first if PROGRAM had it.
      if (had_terminal) tcsetpgrp(o.ctty_fd, getpgrp());
      stop_like(job_control_stop(stop) ? stop : SIGSTOP);
      // Continued: fg put us in the foreground, so PROGRAM gets the
      // terminal; bg did not, so it runs in the background again.
      if (tcgetpgrp(o.ctty_fd) == getpgrp()) tcsetpgrp(o.ctty_fd, child);
      kill(-child, SIGCONT);
    }
  }
}

}  // namespace boxjail

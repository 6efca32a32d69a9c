// boxjail-wait's loop: a mirror of supervise() in src/supervise.cpp, with
// raw system calls: sigtimedwait() alone, or a signalfd and ppoll() while a
// seccomp listener or a timer may call boxjail back (wait_abi.h). Keep the
// two in step.
#include "wait.h"

#include "boxjail/wait_abi.h"
#include "sys.h"

namespace bjwait {
namespace {

// Wait status decoding, as <sys/wait.h> does it.
constexpr bool exited(int s) { return (s & 0x7f) == 0; }
constexpr int exit_code(int s) { return (s >> 8) & 0xff; }
constexpr bool signalled(int s) { return (s & 0x7f) != 0 && (s & 0x7f) != 0x7f; }
constexpr int term_sig(int s) { return s & 0x7f; }
constexpr bool stopped(int s) { return (s & 0xff) == 0x7f; }
constexpr int stop_sig(int s) { return (s >> 8) & 0xff; }

unsigned long length(const char* s) {
  unsigned long n = 0;
  while (s[n]) ++n;
  return n;
}

void say(const char* s) { sys_write(2, s, length(s)); }

// Decimal of a non-negative int into buf (at least 12 bytes), NUL-ended.
void decimal(int v, char* buf) {
  char tmp[12];
  int n = 0;
  unsigned u = v < 0 ? 0u : static_cast<unsigned>(v);
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  for (int i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  buf[n] = 0;
}

// A descriptor number: decimal digits only, no sign, no more than an int.
bool parse_fd(const char* s, int* fd) {
  if (!s || !*s) return false;
  long v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (*s - '0');
    if (v > 0x7fffffff) return false;
  }
  *fd = static_cast<int>(v);
  return true;
}

// errno names for the message of a failed exec. Rows of characters, not
// pointers: a pointer table would need relocations.
constexpr char kErrnoNames[][13] = {
    "",        "EPERM",   "ENOENT", "ESRCH",  "EINTR",  "EIO",     "ENXIO",   "E2BIG",
    "ENOEXEC", "EBADF",   "ECHILD", "EAGAIN", "ENOMEM", "EACCES",  "EFAULT",  "ENOTBLK",
    "EBUSY",   "EEXIST",  "EXDEV",  "ENODEV", "ENOTDIR", "EISDIR", "EINVAL",  "ENFILE",
    "EMFILE",  "ENOTTY",  "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE",  "EROFS",   "EMLINK",
    "EPIPE",   "EDOM",    "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
    "ELOOP"};

[[noreturn]] void not_a_handover() {
  say("boxjail-wait: STATE_FD: not a boxjail hand-over (run by boxjail only)\n");
  sys_exit(125);
}

bool job_control_stop(int sig) { return sig == kSigTstp || sig == kSigTtin || sig == kSigTtou; }

// Stops this process with `sig` as the job PROGRAM belongs to would stop,
// and returns once continued (stop_like() in src/supervise.cpp).
void stop_like(int sig) {
  const ksigset cont = sigbit(kSigCont);
  const KTimespec now{0, 0};
  while (sys_sigtimedwait(&cont, &now) == kSigCont) {
  }  // an older SIGCONT must not look like the one that ends this stop
  const ksigset one = sigbit(sig);
  KSigaction dfl{}, old{};
  sys_sigaction(sig, &dfl, &old);
  sys_kill(sys_getpid(), sig);
  sys_sigprocmask(kSigUnblock, &one, nullptr);  // delivered, and we stop, here
  sys_sigprocmask(kSigBlock, &one, nullptr);
  sys_sigaction(sig, &old, nullptr);
  // Continued, a SIGCONT waits (blocked); without one, we never stopped.
  ksigset pending = 0;
  sys_sigpending(&pending);
  if (!(pending & cont)) sys_kill(sys_getpid(), kSigStop);
}

// The exec back into boxjail failed: end as PROGRAM did, as boxjail would.
[[noreturn]] void end_like(int status) {
  if (!signalled(status)) sys_exit(exited(status) ? exit_code(status) : 125);
  const int sig = term_sig(status);
  const KRlimit no_core{0, 0};
  sys_setrlimit(kRlimitCore, &no_core);
  const KSigaction dfl{};
  sys_sigaction(sig, &dfl, nullptr);
  const ksigset one = sigbit(sig);
  sys_sigprocmask(kSigUnblock, &one, nullptr);
  sys_kill(sys_getpid(), sig);
  sys_exit(128 + sig);
}

// A wake descriptor is done with: closed, and its bit cleared in the state.
void drop(bj_wait_state* st, int state_fd, uint8_t which) {
  sys_close(which == BJ_WAKE_LISTENER ? st->listener_fd : st->timer_fd);
  st->wake = static_cast<uint8_t>(st->wake & ~which);
  sys_pwrite(state_fd, &st->wake, sizeof st->wake, __builtin_offsetof(bj_wait_state, wake));
}

// Execs boxjail (`--resume-wait STATE_FD`); returns the errno if that
// failed.
long call_boxjail(const bj_wait_state& st, int state_fd, char** envp) {
  char fd_text[12];
  decimal(state_fd, fd_text);
  char name[] = "boxjail";
  char flag[] = BJ_WAIT_RESUME_FLAG;
  char* argv[] = {name, flag, fd_text, nullptr};
  return -sys_execveat(st.exe_fd, "", argv, envp, kAtEmptyPath);
}

void say_failed(long err) {
  char line[96] = "boxjail-wait: cannot exec boxjail to finish: ";
  unsigned long n = length(line);
  char number[12];
  const char* what = number;
  if (err > 0 && err < static_cast<long>(sizeof kErrnoNames / sizeof kErrnoNames[0]))
    what = kErrnoNames[err];
  else
    decimal(static_cast<int>(err), number);
  for (unsigned long i = 0; what[i] && n < sizeof line - 2; ++i) line[n++] = what[i];
  line[n++] = '\n';
  sys_write(2, line, n);
}

// PROGRAM has ended: record how, and exec boxjail to finish.
[[noreturn]] void finish(const bj_wait_state& st, int state_fd, int status, const KRusage& ru,
                         char** envp) {
  struct {
    int32_t ended;
    int32_t status;
    KRusage ru;
  } result{1, status, ru};
  static_assert(sizeof result ==
                sizeof(bj_wait_state) - __builtin_offsetof(bj_wait_state, ended));
  static_assert(__builtin_offsetof(bj_wait_state, rusage) -
                    __builtin_offsetof(bj_wait_state, ended) ==
                __builtin_offsetof(decltype(result), ru));
  // A short or failed write leaves ended at 0, which boxjail reports.
  sys_pwrite(state_fd, &result, sizeof result, __builtin_offsetof(bj_wait_state, ended));
  say_failed(call_boxjail(st, state_fd, envp));
  end_like(status);
}

// A wake descriptor is readable (a denied call waits, or the time limit
// is reached): boxjail takes over. Should that exec fail, boxjail-wait
// fails closed: without the listener the kernel fails the call (ENOSYS),
// and a time limit ends PROGRAM at once.
void wake(bj_wait_state* st, int state_fd, uint8_t which, char** envp) {
  const int32_t woken = 2;
  sys_pwrite(state_fd, &woken, sizeof woken, __builtin_offsetof(bj_wait_state, ended));
  say_failed(call_boxjail(*st, state_fd, envp));
  const int32_t not_yet = 0;
  sys_pwrite(state_fd, &not_yet, sizeof not_yet, __builtin_offsetof(bj_wait_state, ended));
  if (which == BJ_WAKE_TIMER) sys_kill(st->signal_group ? -st->child : st->child, kSigKill);
  if (which) drop(st, state_fd, which);
}

// The next signal (or < 0 for none yet). With wake descriptors, through a
// signalfd and ppoll(), acting first on a wake descriptor that is ready.
long next_signal(bj_wait_state* st, int state_fd, int* sfd, char** envp) {
  const ksigset all = ~ksigset{0};
  if (!st->wake) return sys_sigtimedwait(&all, nullptr);
  if (*sfd < 0) {
    const long fd = sys_signalfd(&all, kOCloexec);
    if (fd < 0) wake(st, state_fd, 0, envp);  // cannot watch both: boxjail does
    *sfd = static_cast<int>(fd);
    if (fd < 0) return -1;
  }
  KPollfd p[3] = {{*sfd, kPollIn, 0},
                  {st->wake & BJ_WAKE_LISTENER ? st->listener_fd : -1, kPollIn, 0},
                  {st->wake & BJ_WAKE_TIMER ? st->timer_fd : -1, kPollIn, 0}};
  if (sys_ppoll(p, 3) < 0) return -1;
  if (p[1].revents & kPollIn)
    wake(st, state_fd, BJ_WAKE_LISTENER, envp);
  else if (p[1].revents & (kPollHup | kPollErr | kPollNval))
    drop(st, state_fd, BJ_WAKE_LISTENER);  // nothing is left under the filter
  if (p[2].revents & kPollIn) wake(st, state_fd, BJ_WAKE_TIMER, envp);
  KSignalfdInfo si{};
  if (!(p[0].revents & kPollIn) ||
      sys_read(*sfd, &si, sizeof si) != static_cast<long>(sizeof si))
    return -1;
  return static_cast<long>(si.signo);
}

}  // namespace

int wait_main(int argc, char** argv, char** envp) {
  // Before anything else: a PROGRAM of the same uid must not ptrace us.
  sys_prctl(kPrSetDumpable, 0);

  int state_fd = -1;
  if (argc != 2 || !parse_fd(argv[1], &state_fd)) not_a_handover();
  bj_wait_state st{};
  if (sys_pread(state_fd, &st, sizeof st, 0) != static_cast<long>(sizeof st) ||
      st.magic != BJ_WAIT_MAGIC || st.version != BJ_WAIT_VERSION || st.size != sizeof st ||
      st.state_fd != state_fd || st.child <= 0)
    not_a_handover();

  const int child = st.child;
  const int ctty = st.ctty_fd;
  int sfd = -1;
  for (;;) {
    const long sig = next_signal(&st, state_fd, &sfd, envp);
    if (sig < 0) continue;  // EINTR, or no signal yet
    if (sig != kSigChld) {
      sys_kill(st.signal_group ? -child : child, static_cast<int>(sig));
      continue;
    }
    for (;;) {
      int status = 0;
      KRusage ru{};
      const long r = sys_wait4(st.wait_any ? -1 : child, &status,
                               kWNoHang | kWUntraced | kWContinued, &ru);
      if (r == -kEintr) continue;
      if (r <= 0) break;
      if (r != child) continue;  // an adopted child, reaped
      if (exited(status) || signalled(status)) {
        if (ctty >= 0 && sys_tcgetpgrp(ctty) == child) sys_tcsetpgrp(ctty, sys_getpgrp());
        finish(st, state_fd, status, ru, envp);
      }
      if (!stopped(status) || ctty < 0) continue;
      const bool had_terminal = sys_tcgetpgrp(ctty) == child;
      const int stop = stop_sig(status);
      if (!had_terminal && !job_control_stop(stop)) continue;  // a plain SIGSTOP
      // PROGRAM stopped as a job does: stop the same way so the shell sees
      // its job stopped; take the terminal back first if PROGRAM had it.
      if (had_terminal) sys_tcsetpgrp(ctty, sys_getpgrp());
      stop_like(job_control_stop(stop) ? stop : kSigStop);
      // Continued: fg put us in the foreground, so PROGRAM gets the
      // terminal; bg did not, so it runs in the background again.
      if (sys_tcgetpgrp(ctty) == sys_getpgrp()) sys_tcsetpgrp(ctty, child);
      sys_kill(-child, kSigCont);
    }
  }
}

}  // namespace bjwait

// The default mode's parent after a successful exec: forward signals, wait,
// pass the exit status on.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

namespace boxjail {

namespace notify {
class Listener;
class Handler;
}  // namespace notify
namespace audit {
class LandlockDenials;
}  // namespace audit
namespace cgroup {
class CgroupRuntime;
}  // namespace cgroup
namespace ready {
class Waiter;
}  // namespace ready

struct SuperviseOptions {
  pid_t child = -1;       // PROGRAM, the leader of its own process group
  int ctty_fd = -1;       // 0, 1 or 2 when it is boxjail's controlling terminal
  bool signal_group = false;  // forward to PROGRAM's process group
  bool reap = false;      // reap adopted children (subreaper or PID 1)
  bool adopt = false;     // --cgroup's subreaper: reap adopted children, nothing more
  bool cleanup = false;   // --reap: end what PROGRAM left behind
  int grace_ms = 2000;    // between SIGTERM and SIGKILL at that end
  rusage* usage = nullptr;  // PROGRAM's, from wait4(), when it ends
  /// --learn and named denials: calls to answer beside the signals.
  notify::Listener* listener = nullptr;
  notify::Handler* handler = nullptr;
  /// --landlock-log: PROGRAM's Landlock denials, read as they come.
  audit::LandlockDenials* audit = nullptr;
  /// --timeout (timeout.h): a CLOCK_MONOTONIC timerfd, non-blocking,
  /// armed by the caller to fire at the limit; -1 for none. When it fires
  /// (and PROGRAM has not ended already), PROGRAM gets `timeout_signal`
  /// (with `signal_group` its process group; with `cgroup`, also every
  /// process of the cgroup that descends from the supervisor), and SIGCONT
  /// after it; SIGKILL the same way after `grace_ms`. One warning line
  /// names `timeout_spec`; `*timed_out` is set.
  int timer_fd = -1;
  int timeout_signal = SIGTERM;
  const char* timeout_spec = "";
  cgroup::CgroupRuntime* cgroup = nullptr;
  bool* timed_out = nullptr;
  /// --ready (ready.h), start()ed: when its source says PROGRAM is ready,
  /// {"event":"ready","ms":N} goes to `ready_fd` (--status-fd) and the
  /// supervisor goes on. At its deadline (or when PROGRAM closes fd:N
  /// without a line) PROGRAM is ended as by --timeout (SIGTERM and
  /// SIGCONT to the same targets, SIGKILL after `grace_ms`), with one
  /// error line, and `*ready_failed` is set: 124 (the deadline) or 125.
  ready::Waiter* ready = nullptr;
  int ready_fd = -1;
  int* ready_failed = nullptr;
  /// With `ready`: return kReturnedReady as soon as PROGRAM is ready (the
  /// ready event written), so that the caller can hand over (handover.h)
  /// and, if it cannot, call supervise() again without `ready`.
  bool return_when_ready = false;
};

inline constexpr int kReturnedReady = -1;

/// Forwards every signal boxjail receives (except SIGCHLD) to PROGRAM (or
/// its process group) until it ends, and returns its wait status (pass it
/// to exit_like()).
///
/// Job control on a controlling terminal: when PROGRAM stops on SIGTSTP,
/// SIGTTIN or SIGTTOU (or stops while it has the terminal), boxjail takes
/// the terminal back if PROGRAM had it and stops itself the same way, so
/// the shell sees its job stopped; when continued, it hands the terminal to
/// PROGRAM's group if boxjail is then in the foreground (fg), and continues
/// that group (fg or bg).
///
/// With `reap` or `adopt`, every child boxjail is given is reaped as it
/// ends (`adopt` alone does only that: what is left when PROGRAM ends is
/// --cgroup's to end, in CgroupRuntime::finish()); with
/// `cleanup` (or `signal_group`), once PROGRAM has ended what is left gets
/// SIGTERM, then SIGKILL after `grace_ms`, and is reaped before returning.
///
/// Precondition: every signal is blocked in the calling thread.
int supervise(const SuperviseOptions& o);

/// Gives back memory only the start-up needed: freed heap, and the resident
/// pages of the read-only parts of the binary. Called by supervise().
void release_startup_memory();

/// Ends the process with `status` as returned by waitpid(): exit(code), or
/// death by the same signal (core dumps off), falling back to 128+N.
[[noreturn]] void exit_like(int status);

/// After PROGRAM: SIGTERM to what is left of it (with `signal_group` its
/// process group; with `reap` every child of ours), SIGKILL after
/// `grace_ms`, and every child reaped. supervise() does this itself when
/// `cleanup` or `signal_group` is set; the resumed boxjail after
/// boxjail-wait calls it (handover.h).
void end_the_rest(const SuperviseOptions& o);

}  // namespace boxjail

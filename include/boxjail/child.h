// The code that runs between fork and exec (and, with --no-fork, between the
// first change to the process and exec).
//
// Everything here is async-signal-safe: no allocation, no locks, no logging,
// no exceptions. The parent prepares a ChildSpec (plain pointers into data
// it owns) and a list of steps; the child walks the list in order and stops
// at the first step that returns an errno.
//
// THE ORDER OF STEPS (one fixed order; later capabilities slot in where the
// comments say):
//
//   0. kUnshareFds  forking modes, when the kernel has close_range(): the
//                   child was started sharing boxjail's descriptor table
//                   (CLONE_FILES); close_range(FIRST, ~0U,
//                   CLOSE_RANGE_UNSHARE) gives it a private table holding
//                   only the descriptors below FIRST, one above the highest
//                   descriptor any later step uses. The rest are never
//                   copied. Nothing may touch the shared table before this
//                   step (a dup2 would change the parent's descriptors), so
//                   it comes first.
//   0a. kCgroup     --cgroup: write "0" to each cgroup.procs the parent
//                   opened: the v1 hierarchies, and v2 too when the child
//                   could not be started straight into it with
//                   clone3(CLONE_INTO_CGROUP) (a kernel before 5.7, or
//                   --no-fork). PROGRAM is then in its cgroups before any of
//                   its instructions run.
//   1. kSession     default mode: setpgid(0, 0), then tcsetpgrp() when
//                   boxjail is in the foreground of a terminal;
//                   --detach: setsid(); --no-fork: nothing.
//   2. kParentDeath --die-with-parent: PR_SET_PDEATHSIG, then the getppid()
//                   check for a parent that died before the prctl.
//      (cgroup join goes here)
//   3. kNofileEarly raise RLIMIT_NOFILE first when --rlimit nofile raises
//                   the soft limit, so the descriptor moves have the room.
//   4. kFdMoves     the --fd parallel assignment (fdmap.h).
//   5. kCloseFds    close every descriptor >= 3 not kept (unless --keep-fds).
//   6. kRlimits     setrlimit() for each --rlimit, in command-line order.
//   6-. kSched      --cpus (sched_setaffinity), --nice (setpriority),
//                   --oom-score-adj (/proc/self/oom_score_adj): before the
//                   identity change and the restrictions.
//   6'. kNetns      --netns: setns(fd, CLONE_NEWNET) into the namespace the
//                   parent opened and checked (netns.h; the descriptor is
//                   close-on-exec and kept until here). It needs
//                   CAP_SYS_ADMIN, so it comes before kIdentity and before
//                   --allow-new-privs' early kLandlock and kSeccomp (a filter
//                   may deny setns).
//   6a. kIdentity   --cap-drop from the bounding set, setgroups, setresgid,
//                   setresuid (the way back to root must be shut), then the
//                   capability sets (identity.h); after everything that
//                   needs privilege.
//   6b. kParentDeath again: a credential change clears PR_SET_PDEATHSIG.
//   6c. kChdir      --chdir DIR, with PROGRAM's credentials, before Landlock.
//   7. kNoNewPrivs  prctl(PR_SET_NO_NEW_PRIVS, 1): implied by Landlock (and
//                   later seccomp) unless boxjail has CAP_SYS_ADMIN.
//   8. kLandlock    landlock_restrict_self() on the ruleset the parent built
//                   (its descriptor is close-on-exec and kept until here).
//   9. kEnviron     socket activation: LISTEN_PID=<own pid> into the buffer
//                   the parent prepared.
//  10. kSignals     restore the signal mask and SIGCHLD disposition that
//                   boxjail inherited.
//  11. kReport      --no-fork with --status-fd: write the prepared line.
//  11a. kSeccomp    seccomp(SECCOMP_SET_MODE_FILTER) with the jail's filter
//                   (jail.h), then the user's, each as the parent built it:
//                   the very last step, so a filter that denies write or
//                   rt_sigprocmask cannot break boxjail's own steps.
//                   --allow-new-privs moves kLandlock and kSeccomp (the
//                   jail's filter only: the user's is refused then) to just
//                   before kIdentity, where the child still has
//                   CAP_SYS_ADMIN and needs no no_new_privs.
//  12. kExec        execve(), under the Landlock domain: PROGRAM, its
//                   interpreter and libraries need read+execute rules.
//
// THE LISTENER HAND-OVER (--learn, and named denials in the default mode).
// The user's filter then sends calls to the supervisor
// (SECCOMP_RET_USER_NOTIF): every call under --learn, the denied ones for
// named denials. The listener is made by the seccomp() call that loads the
// filter, in the child, and must reach the supervisor before PROGRAM runs.
// Two traps:
//   - With CLONE_VFORK the supervisor is suspended until execve. But under
//     --learn that execve is itself a notified call, and nobody could
//     answer it: a deadlock. So a child with `notify` is started without
//     CLONE_VM and CLONE_VFORK (a copy, as fork() makes): the supervisor
//     runs on while the child walks its steps.
//   - After the load, any call the child makes may wait for an answer, and
//     the supervisor cannot answer before it holds the listener. So nothing
//     is sent after the load. Before it, the child finds the lowest free
//     descriptor (the number seccomp() will give the listener), closes it
//     again, and writes a StepFailure {kHandover, 0, number} to the status
//     pipe. It then loads the filter and makes the hand-over call
//     (kHandoverSyscall, a number no kernel has, which the filter always
//     notifies), which waits. The supervisor reads the number, takes the
//     listener with pidfd_getfd() (retrying until the load has made it),
//     and answers that call with ENOSYS. Only then does the child execve.
//     The listener is close-on-exec: PROGRAM never holds it.
// Until the status pipe shows exec, the supervisor knows each notification
// is the child's own (its execve, or a failure report and exit) and lets
// it through, except an execve the user's filter denies. A later
// kHandoverSyscall from PROGRAM gets ENOSYS, as any unknown call does.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/resource.h>

#include <cstddef>
#include <cstdint>

#include <linux/filter.h>

#include "boxjail/fdmap.h"
#include "boxjail/identity.h"

namespace boxjail {

enum class Step : int32_t {
  kUnshareFds = 1,
  kCgroup,
  kSession,
  kParentDeath,
  kNofileEarly,
  kFdMoves,
  kCloseFds,
  kRlimits,
  kSched,
  kNetns,
  kIdentity,
  kChdir,
  kNoNewPrivs,
  kLandlock,
  kEnviron,
  kSignals,
  kReport,
  kSeccomp,
  kExec,
};

const char* step_name(Step s);
/// The Step named `name` ("session", "exec", ...), or 0.
int32_t step_by_name(const char* name);

/// The hand-over call's number: far above every system call, below the x32
/// bit. The kernel would fail it with ENOSYS; the filter notifies it.
constexpr int kHandoverSyscall = 0x3ffffff0;
/// StepFailure::step of the hand-over message (its `detail` is the number
/// the listener will have).
constexpr int32_t kHandover = -1;

/// What a failing child sends up the status pipe; 12 bytes, one write.
struct StepFailure {
  int32_t step;    // a Step
  int32_t err;     // errno
  int32_t detail;  // step-specific index (which rlimit, which fd step), or -1
};

enum class SessionKind : uint8_t { kNone, kProcessGroup, kNewSession };

struct ChildRlimit {
  int resource;
  rlimit value;
};

/// Everything the steps read. All pointers refer to memory the parent
/// prepared before fork; `temps` is the only thing the child writes.
struct ChildSpec {
  /// Fault injection (builds with BOXJAIL_FAULT_INJECTION only): the step
  /// with this id fails with fail_errno instead of running.
  int32_t fail_step = 0;
  int fail_errno = 0;

  /// kUnshareFds: the first descriptor the private table leaves out, or -1
  /// (no CLONE_FILES start).
  int unshare_from = -1;

  /// kCgroup: cgroup.procs descriptors to write "0" to; the step runs
  /// when `cgroup` is set, even if the list ends up empty (clone3 did it).
  bool cgroup = false;
  const int* cgroup_procs = nullptr;
  size_t n_cgroup_procs = 0;

  /// kSched.
  const cpu_set_t* cpus = nullptr;
  bool set_nice = false;
  int nice = 0;
  const char* oom_score_adj = nullptr;  // the decimal text to write, or none

  /// kNetns: the network namespace to join, or -1.
  int netns_fd = -1;

  SessionKind session = SessionKind::kNone;
  int tty_fd = -1;  // hand this terminal to the new process group

  int die_signal = 0;       // PR_SET_PDEATHSIG, or 0
  pid_t expected_ppid = 0;  // the parent whose death it is about

  const ChildRlimit* rlimits = nullptr;
  size_t n_rlimits = 0;
  int nofile_first = -1;  // index into rlimits applied in kNofileEarly

  const FdStep* fd_steps = nullptr;
  size_t n_fd_steps = 0;
  int temp_floor = 3;
  int* temps = nullptr;

  bool close_fds = true;
  const int* keep = nullptr;  // sorted; includes boxjail's own CLOEXEC fds
  size_t n_keep = 0;
  CloseMethod close_method = CloseMethod::kCloseRange;

  const sigset_t* sigmask = nullptr;           // restored in kSignals
  const struct sigaction* sigchld = nullptr;   // restored in kSignals, if set

  char* listen_pid = nullptr;  // "LISTEN_PID=" followed by room for digits
  size_t listen_pid_size = 0;   // of the whole buffer

  const ChildIdentity* identity = nullptr;  // kIdentity, or none
  const sock_fprog* seccomp = nullptr;      // kSeccomp: the user's filter, or none
  const sock_fprog* seccomp_jail = nullptr; // kSeccomp: the jail's filter, or none
  /// kSeccomp: load the user's filter with SECCOMP_FILTER_FLAG_NEW_LISTENER
  /// and hand the listener to the supervisor (THE LISTENER HAND-OVER below)
  /// through `handover_fd`, the status pipe.
  bool notify = false;
  int handover_fd = -1;
  bool restrict_early = false;              // kLandlock, kSeccomp before kIdentity

  const char* chdir = nullptr;  // kChdir, or none

  bool no_new_privs = false;    // kNoNewPrivs
  int landlock_fd = -1;         // kLandlock: the ruleset, or -1
  uint32_t landlock_flags = 0;  // landlock_restrict_self() flags

  int report_fd = -1;           // kReport writes report[0..report_len)
  const char* report = nullptr;
  size_t report_len = 0;

  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

using StepFn = int (*)(const ChildSpec&, int32_t* detail) noexcept;

struct ChildStep {
  Step id;
  StepFn fn;
};

/// Room for every step at once: the 19 kinds, kParentDeath twice, and one
/// spare. build_step_list() never writes more (child_test has every step on).
constexpr size_t kMaxSteps = 21;

/// Parent side: the steps `spec` needs, in the fixed order. Returns the count.
size_t build_step_list(const ChildSpec& spec, ChildStep (&out)[kMaxSteps]);

/// Child side: runs the steps. Returns only on failure (kExec returns only
/// if execve failed).
StepFailure run_steps(const ChildSpec& spec, const ChildStep* steps,
                      size_t n) noexcept;

/// Child side, forking modes: runs the steps; on failure writes the
/// StepFailure to `status_fd` and _exit()s with 125, 126 or 127.
[[noreturn]] void child_main(const ChildSpec& spec, const ChildStep* steps,
                             size_t n, int status_fd) noexcept;

/// Parent side, forking modes: starts the child running child_main(). The
/// child is created with clone(CLONE_VM | CLONE_VFORK), plus CLONE_FILES
/// when spec.unshare_from >= 0: it runs on its own
/// stack in our memory until it execs or exits, and we are suspended until
/// then, so nothing is copied and no copy-on-write fault follows. (This is
/// what posix_spawn does; the steps allocate nothing and share nothing the
/// parent reads.) Sanitizer builds use plain fork(). Returns the pid, or -1
/// with errno set.
pid_t start_child(const ChildSpec& spec, const ChildStep* steps, size_t n, int status_fd);

/// As start_child(), but with clone3(CLONE_INTO_CGROUP) into the cgroup v2
/// directory `cgroup_fd`, so that the child is in it from its first
/// instruction. Returns -1 with errno ENOSYS or EINVAL (and E2BIG) where the
/// kernel lacks clone3 or CLONE_INTO_CGROUP: the caller then starts the
/// child with start_child() and lets its kCgroup step join.
pid_t start_child_in_cgroup(const ChildSpec& spec, const ChildStep* steps, size_t n,
                            int status_fd, int cgroup_fd);

/// The exit code boxjail uses for a failure: 127 for exec ENOENT, 126 for
/// other exec errors, 125 for every other step.
int exit_code_for(const StepFailure& f);

}  // namespace boxjail

#include "boxjail/child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/prctl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace boxjail {
namespace {

int step_unshare_fds(const ChildSpec& s, int32_t*) noexcept {
  return syscall(SYS_close_range, static_cast<unsigned>(s.unshare_from), ~0u,
                 CLOSE_RANGE_UNSHARE) != 0
             ? errno
             : 0;
}

int step_cgroup(const ChildSpec& s, int32_t* detail) noexcept {
  for (size_t i = 0; i < s.n_cgroup_procs; ++i) {
    if (write(s.cgroup_procs[i], "0", 1) != 1) {
      *detail = static_cast<int32_t>(i);
      return errno;
    }
  }
  return 0;
}

int step_sched(const ChildSpec& s, int32_t* detail) noexcept {
  if (s.cpus && sched_setaffinity(0, sizeof(cpu_set_t), s.cpus) != 0) {
    *detail = 0;
    return errno;
  }
  if (s.set_nice && setpriority(PRIO_PROCESS, 0, s.nice) != 0) {
    *detail = 1;
    return errno;
  }
  if (s.oom_score_adj) {
    *detail = 2;
    // The supervisor made our shared memory non-dumpable, which gives
    // /proc/self to root: an ordinary user could not open its own
    // oom_score_adj. Dumpable for this one write, then back, all before
    // PROGRAM exists (the parent is suspended until exec).
    const int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    if (dumpable == 0) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0) {
      size_t len = strlen(s.oom_score_adj);
      if (write(fd, s.oom_score_adj, len) != static_cast<ssize_t>(len)) e = errno;
      close(fd);
    }
    if (dumpable == 0) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return e;
  }
  return 0;
}

int step_netns(const ChildSpec& s, int32_t*) noexcept {
  return setns(s.netns_fd, CLONE_NEWNET) != 0 ? errno : 0;
}

int step_session(const ChildSpec& s, int32_t*) noexcept {
  if (s.session == SessionKind::kNewSession) return setsid() < 0 ? errno : 0;
  if (setpgid(0, 0) != 0) return errno;
  // SIGTTOU is blocked here (the parent blocked everything before fork), so
  // a background process group may take the terminal.
  if (s.tty_fd >= 0 && tcsetpgrp(s.tty_fd, getpid()) != 0) return errno;
  return 0;
}

int step_parent_death(const ChildSpec& s, int32_t*) noexcept {
  if (prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(s.die_signal)) != 0) return errno;
  // The parent may have died before the prctl: then nobody will send it.
  if (getppid() != s.expected_ppid) kill(getpid(), s.die_signal);
  return 0;
}

int apply_rlimit(const ChildRlimit& r) noexcept {
  return setrlimit(static_cast<__rlimit_resource>(r.resource), &r.value) != 0 ? errno : 0;
}

int step_nofile_early(const ChildSpec& s, int32_t* detail) noexcept {
  *detail = s.nofile_first;
  return apply_rlimit(s.rlimits[s.nofile_first]);
}

int step_fd_moves(const ChildSpec& s, int32_t* detail) noexcept {
  size_t failed = 0;
  int e = run_fd_program(s.fd_steps, s.n_fd_steps, s.temp_floor, s.temps, &failed);
  if (e) *detail = static_cast<int32_t>(failed);
  return e;
}

int step_close_fds(const ChildSpec& s, int32_t* detail) noexcept {
  CloseMethod used = s.close_method;
  int e = close_fds_except(s.keep, s.n_keep, s.close_method, &used);
  *detail = static_cast<int32_t>(used);
  return e;
}

int step_rlimits(const ChildSpec& s, int32_t* detail) noexcept {
  for (size_t i = 0; i < s.n_rlimits; ++i) {
    if (static_cast<int>(i) == s.nofile_first) continue;
    if (int e = apply_rlimit(s.rlimits[i])) {
      *detail = static_cast<int32_t>(i);
      return e;
    }
  }
  return 0;
}

// Writes the decimal pid after "LISTEN_PID=": no allocation, no stdio.
int step_environ(const ChildSpec& s, int32_t*) noexcept {
  const size_t prefix = 11;  // strlen("LISTEN_PID=")
  char digits[16];
  size_t n = 0;
  for (unsigned long v = static_cast<unsigned long>(getpid()); n == 0 || v; v /= 10)
    digits[n++] = static_cast<char>('0' + v % 10);
  if (prefix + n + 1 > s.listen_pid_size) return ENAMETOOLONG;
  for (size_t i = 0; i < n; ++i) s.listen_pid[prefix + i] = digits[n - 1 - i];
  s.listen_pid[prefix + n] = '\0';
  return 0;
}

int step_report(const ChildSpec& s, int32_t*) noexcept {
  size_t done = 0;
  while (done < s.report_len) {
    ssize_t w = write(s.report_fd, s.report + done, s.report_len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    done += static_cast<size_t>(w);
  }
  return 0;
}

int step_signals(const ChildSpec& s, int32_t*) noexcept {
  if (s.sigchld && sigaction(SIGCHLD, s.sigchld, nullptr) != 0) return errno;
  if (s.sigmask && sigprocmask(SIG_SETMASK, s.sigmask, nullptr) != 0) return errno;
  return 0;
}

int step_identity(const ChildSpec& s, int32_t* detail) noexcept {
  return apply_identity(*s.identity, detail);
}

int step_seccomp(const ChildSpec& s, int32_t* detail) noexcept {
  // The kernel runs both and keeps the stricter answer.
  if (s.seccomp_jail && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, s.seccomp_jail) != 0) {
    *detail = 0;
    return errno;
  }
  if (s.seccomp && s.notify) {
    // The hand-over (child.h): announce the listener's number, load, wait.
    int next = fcntl(s.handover_fd, F_DUPFD_CLOEXEC, 0);
    if (next < 0) return errno;
    close(next);
    StepFailure m{kHandover, 0, next};
    if (write(s.handover_fd, &m, sizeof m) != static_cast<ssize_t>(sizeof m)) return EPIPE;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                s.seccomp) < 0) {
      *detail = 1;
      return errno;
    }
    syscall(kHandoverSyscall);  // returns once the supervisor holds the listener
    return 0;
  }
  if (s.seccomp && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, s.seccomp) != 0) {
    *detail = 1;
    return errno;
  }
  return 0;
}

int step_chdir(const ChildSpec& s, int32_t*) noexcept {
  return chdir(s.chdir) != 0 ? errno : 0;
}

int step_no_new_privs(const ChildSpec&, int32_t*) noexcept {
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ? errno : 0;
}

int step_landlock(const ChildSpec& s, int32_t*) noexcept {
  return syscall(SYS_landlock_restrict_self, s.landlock_fd, s.landlock_flags) != 0 ? errno : 0;
}

int step_exec(const ChildSpec& s, int32_t*) noexcept {
  execve(s.path, s.argv, s.envp);
  return errno;
}

}  // namespace

const char* step_name(Step s) {
  switch (s) {
    case Step::kUnshareFds: return "unshare descriptors";
    case Step::kCgroup: return "cgroup";
    case Step::kSched: return "scheduling";
    case Step::kNetns: return "netns";
    case Step::kSession: return "session";
    case Step::kParentDeath: return "die-with-parent";
    case Step::kEnviron: return "environment";
    case Step::kReport: return "status report";
    case Step::kNofileEarly: return "rlimits (early)";
    case Step::kFdMoves: return "descriptors";
    case Step::kCloseFds: return "close descriptors";
    case Step::kRlimits: return "rlimits";
    case Step::kSignals: return "signals";
    case Step::kExec: return "exec";
    case Step::kIdentity: return "identity";
    case Step::kChdir: return "chdir";
    case Step::kSeccomp: return "seccomp";
    case Step::kNoNewPrivs: return "no-new-privs";
    case Step::kLandlock: return "landlock";
  }
  return "unknown";
}

int32_t step_by_name(const char* name) {
  for (int32_t s = static_cast<int32_t>(Step::kUnshareFds); s <= static_cast<int32_t>(Step::kExec); ++s)
    if (std::strcmp(step_name(static_cast<Step>(s)), name) == 0) return s;
  return 0;
}

size_t build_step_list(const ChildSpec& s, ChildStep (&out)[kMaxSteps]) {
  size_t n = 0;
  if (s.unshare_from >= 0) out[n++] = {Step::kUnshareFds, step_unshare_fds};
  if (s.cgroup) out[n++] = {Step::kCgroup, step_cgroup};
  if (s.session != SessionKind::kNone) out[n++] = {Step::kSession, step_session};
  if (s.die_signal) out[n++] = {Step::kParentDeath, step_parent_death};
  if (s.nofile_first >= 0) out[n++] = {Step::kNofileEarly, step_nofile_early};
  if (s.n_fd_steps > 0) out[n++] = {Step::kFdMoves, step_fd_moves};
  if (s.close_fds) out[n++] = {Step::kCloseFds, step_close_fds};
  if (s.n_rlimits > static_cast<size_t>(s.nofile_first >= 0 ? 1 : 0))
    out[n++] = {Step::kRlimits, step_rlimits};
  if (s.cpus || s.set_nice || s.oom_score_adj) out[n++] = {Step::kSched, step_sched};
  if (s.netns_fd >= 0) out[n++] = {Step::kNetns, step_netns};
  const bool seccomp = s.seccomp || s.seccomp_jail;
  if (s.restrict_early) {
    if (s.landlock_fd >= 0) out[n++] = {Step::kLandlock, step_landlock};
    if (seccomp) out[n++] = {Step::kSeccomp, step_seccomp};
  }
  if (s.identity) {
    out[n++] = {Step::kIdentity, step_identity};
    if (s.die_signal && s.identity->set_ids) out[n++] = {Step::kParentDeath, step_parent_death};
  }
  if (s.chdir) out[n++] = {Step::kChdir, step_chdir};
  if (s.no_new_privs) out[n++] = {Step::kNoNewPrivs, step_no_new_privs};
  if (s.landlock_fd >= 0 && !s.restrict_early) out[n++] = {Step::kLandlock, step_landlock};
  if (s.listen_pid) out[n++] = {Step::kEnviron, step_environ};
  if (s.sigmask || s.sigchld) out[n++] = {Step::kSignals, step_signals};
  if (s.report) out[n++] = {Step::kReport, step_report};
  if (seccomp && !s.restrict_early) out[n++] = {Step::kSeccomp, step_seccomp};
  out[n++] = {Step::kExec, step_exec};
  static_assert(static_cast<size_t>(Step::kExec) + 1 <= kMaxSteps,
                "every kind of step, and kParentDeath twice, must fit");
  return n;
}

StepFailure run_steps(const ChildSpec& spec, const ChildStep* steps,
                      size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    int32_t detail = -1;
    int e = static_cast<int32_t>(steps[i].id) == spec.fail_step ? spec.fail_errno
                                                                 : steps[i].fn(spec, &detail);
    if (e != 0) return {static_cast<int32_t>(steps[i].id), e, detail};
  }
  return {static_cast<int32_t>(Step::kExec), EINVAL, -1};  // no kExec step
}

int exit_code_for(const StepFailure& f) {
  if (f.step != static_cast<int32_t>(Step::kExec)) return 125;
  return f.err == ENOENT || f.err == ENOTDIR ? 127 : 126;
}

void child_main(const ChildSpec& spec, const ChildStep* steps, size_t n,
                int status_fd) noexcept {
  StepFailure f = run_steps(spec, steps, n);
  // One write of 12 bytes is atomic on a pipe; if it fails the parent still
  // sees a non-zero exit without a record and reports that.
  ssize_t w;
  do {
    w = write(status_fd, &f, sizeof f);
  } while (w < 0 && errno == EINTR);
  _exit(exit_code_for(f));
}

// Under AddressSanitizer the child is started with fork(): ASan does not
// know a stack the child would run on in our memory.
#if defined(__SANITIZE_ADDRESS__)
#define BOXJAIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BOXJAIL_ASAN 1
#endif
#endif

#ifndef BOXJAIL_ASAN
namespace {

struct ChildArgs {
  const ChildSpec* spec;
  const ChildStep* steps;
  size_t n;
  int status_fd;
};

int child_entry(void* p) {
  auto* a = static_cast<ChildArgs*>(p);
  child_main(*a->spec, a->steps, a->n, a->status_fd);
}

}  // namespace
#endif

#ifndef BOXJAIL_ASAN
// The stack the child runs on, in our memory, freed once the child has
// exec'd or exited (CLONE_VFORK suspends us until then). The deepest step
// (closing via /proc) uses a 4 KiB buffer; 256 KiB is ample and costs only
// the pages actually touched. errno survives the unmap.
struct ChildStack {
  static constexpr size_t kSize = 256 * 1024;
  void* base = mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  ChildStack() = default;
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  ~ChildStack() {
    int saved = errno;
    if (base != MAP_FAILED) munmap(base, kSize);
    errno = saved;
  }
  bool ok() const { return base != MAP_FAILED; }
  char* top() const { return static_cast<char*>(base) + kSize; }
};

// clone3() with a new stack in our own memory (CLONE_VM) returns in the
// child on that stack, so it needs what glibc's clone() has: a few
// instructions that call fn(arg) there and exit with its value. Returns
// the raw result (the child's pid, or -errno) in the parent.
extern "C" long boxjail_clone3(void* args, size_t size, int (*fn)(void*), void* arg);
asm(R"(
  .text
  .globl boxjail_clone3
  .type boxjail_clone3, @function
boxjail_clone3:
  .cfi_startproc
  endbr64
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jnz 1f
  .cfi_undefined rip
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
1:
  ret
  .cfi_endproc
  .size boxjail_clone3, .-boxjail_clone3
)");
#endif

pid_t start_child_in_cgroup(const ChildSpec& spec, const ChildStep* steps, size_t n,
                            int status_fd, int cgroup_fd) {
#ifdef BOXJAIL_ASAN
  (void)spec;
  (void)steps;
  (void)n;
  (void)status_fd;
  (void)cgroup_fd;
  errno = ENOSYS;  // sanitized builds start with fork(): the child's step joins
  return -1;
#else
  ChildStack stack;
  if (!stack.ok()) return -1;
  ChildArgs args{&spec, steps, n, status_fd};
  clone_args ca{};
  ca.flags = (spec.notify ? 0 : CLONE_VM | CLONE_VFORK) | CLONE_INTO_CGROUP |
             (spec.unshare_from >= 0 ? CLONE_FILES : 0);
  ca.exit_signal = SIGCHLD;
  ca.stack = reinterpret_cast<uint64_t>(stack.base);
  ca.stack_size = ChildStack::kSize;
  ca.cgroup = static_cast<__u64>(static_cast<unsigned>(cgroup_fd));
  long r = boxjail_clone3(&ca, sizeof ca, child_entry, &args);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return static_cast<pid_t>(r);
#endif
}

pid_t start_child(const ChildSpec& spec, const ChildStep* steps, size_t n, int status_fd) {
#ifdef BOXJAIL_ASAN
  pid_t pid = fork();
  if (pid == 0) child_main(spec, steps, n, status_fd);
  return pid;
#else
  ChildStack stack;
  if (!stack.ok()) return -1;
  ChildArgs args{&spec, steps, n, status_fd};
  const int share = spec.unshare_from >= 0 ? CLONE_FILES : 0;
  // With a listener to hand over, a copy that runs beside us (child.h).
  const int vm = spec.notify ? 0 : CLONE_VM | CLONE_VFORK;
  return clone(child_entry, stack.top(), vm | share | SIGCHLD, &args);
#endif
}

}  // namespace boxjail

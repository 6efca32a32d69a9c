#include "boxjail/launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ctime>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif

#include "boxjail/audit.h"
#include "boxjail/cgroup.h"
#include "boxjail/child.h"
#include "boxjail/death.h"
#include "boxjail/finish.h"
#include "boxjail/handover.h"
#include "boxjail/io.h"
#include "boxjail/landlock.h"
#include "boxjail/learn.h"
#include "boxjail/notify.h"
#include "boxjail/log.h"
#include "boxjail/pidfile.h"
#include "boxjail/ready.h"
#include "boxjail/stop.h"
#include "boxjail/supervise.h"
#include "boxjail/unique_fd.h"

namespace boxjail {
namespace {

// Runtime state of one launch; kept apart from the immutable plan.
struct Runtime {
  std::vector<ChildRlimit> rlimits;
  std::vector<int> temps;
  std::vector<int> keep;
  std::vector<char*> env;
  char listen_pid[32] = {};
  sigset_t orig_mask{};
  struct sigaction orig_chld {};
  UniqueFd landlock;  // the ruleset, until the child restricts itself
  UniqueFd netns;     // --netns, until the child joins it
  UniqueFd timer;     // --timeout: the supervisor's timerfd
  sock_fprog seccomp{};
  sock_fprog seccomp_jail{};
  cgroup::CgroupRuntime cgroup;  // removes what it created unless kept
  std::vector<int> cgroup_procs;
  char oom_text[16] = {};
  std::unique_ptr<ready::Waiter> ready;  // --ready, while PROGRAM is not ready yet
  std::vector<FdStep> fd_steps;  // --ready fd:N: the planned moves and its dup2
  ChildSpec spec;
  ChildStep steps[kMaxSteps]{};
  size_t n_steps = 0;
};

// boxjail's own descriptors (all close-on-exec) must not sit where a TARGET
// will be written. Sources are no concern: they were open when the plan was
// checked, so a descriptor opened since cannot have one's number. Moving
// "above every target" is not an option: that may be beyond the soft
// RLIMIT_NOFILE the parent runs with.
bool avoid_targets(UniqueFd* fd, const LaunchPlan& plan) {
  auto is_target = [&](int n) {
    return std::binary_search(plan.keep.begin(), plan.keep.end(), n);
  };
  int start = 3;
  while (is_target(fd->get())) {
    int moved = fcntl(fd->get(), F_DUPFD_CLOEXEC, start);
    if (moved < 0) return false;
    if (is_target(moved)) {
      close(moved);
      start = moved + 1;
      continue;
    }
    fd->reset(moved);
  }
  return true;
}

void keep_fd(Runtime* rt, int fd) {
  rt->keep.insert(std::upper_bound(rt->keep.begin(), rt->keep.end(), fd), fd);
}

// The first of 0, 1, 2 that is our controlling terminal (in the foreground
// or not): job control is relayed on it.
int controlling_tty() {
  const pid_t sid = getsid(0);
  for (int fd = 0; fd <= 2; ++fd)
    if (isatty(fd) && tcgetsid(fd) == sid) return fd;
  return -1;
}

// The first of 0, 1, 2 that is a terminal whose foreground process group is
// ours: the child's group takes it over before exec.
int foreground_tty() {
  for (int fd = 0; fd <= 2; ++fd)
    if (isatty(fd) && tcgetpgrp(fd) == getpgrp()) return fd;
  return -1;
}

std::string describe_fd_step(const LaunchPlan& plan, int32_t index) {
  const auto& steps = plan.fd_program.steps;
  if (index < 0 || static_cast<size_t>(index) >= steps.size()) return "descriptors";
  const FdStep& s = steps[static_cast<size_t>(index)];
  switch (s.op) {
    case FdOp::kDup2:
      return "dup2(" + std::to_string(s.a) + ", " + std::to_string(s.b) + ")";
    case FdOp::kClearCloexec:
      return "clearing close-on-exec on " + std::to_string(s.a);
    case FdOp::kSaveTemp:
      return "saving descriptor " + std::to_string(s.a) + " to a temporary";
    case FdOp::kDup2Temp:
      return "dup2(temporary, " + std::to_string(s.b) + ")";
    case FdOp::kCloseTemp:
      return "closing a temporary";
  }
  return "descriptors";
}

// Whether `id` is inside a mapping of /proc/self/{uid,gid}_map (`which`).
bool id_mapped(const char* which, unsigned long id) {
  FILE* f = fopen((std::string("/proc/self/") + which + "_map").c_str(), "re");
  if (!f) return true;  // cannot tell: say nothing
  unsigned long inside = 0, outside = 0, count = 0;
  bool mapped = false;
  while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
    mapped |= id >= inside && id - inside < count;
  fclose(f);
  return mapped;
}

// Why a user namespace refuses --user's ids, when it does.
std::string userns_hint(const ChildIdentity& id, int32_t detail) {
  if (!id_mapped("uid", id.uid))
    return " (uid " + std::to_string(id.uid) +
           " is not mapped in this user namespace: see /proc/self/uid_map)";
  if (!id_mapped("gid", id.gid))
    return " (gid " + std::to_string(id.gid) +
           " is not mapped in this user namespace: see /proc/self/gid_map)";
  if (detail == kIdGroups) {
    char buf[16] = {};
    FILE* f = fopen("/proc/self/setgroups", "re");
    if (f) {
      if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
      fclose(f);
    }
    if (std::strncmp(buf, "deny", 4) == 0)
      return " (this user namespace denies setgroups: /proc/self/setgroups says deny, as "
             "after unshare -r; its owner can map groups with newgidmap)";
  }
  return "";
}

std::string describe_identity_failure(const LaunchPlan& plan, int32_t detail,
                                      const std::string& why) {
  const ChildIdentity& id = plan.identity.child;
  const std::string who = "uid " + std::to_string(id.uid) + ", gid " + std::to_string(id.gid);
  switch (detail) {
    case kIdBounding: return "--cap-drop: dropping from the bounding set: " + why;
    case kIdGroups: return "--user (" + who + "): setgroups: " + why + userns_hint(id, detail);
    case kIdGid: return "--user (" + who + "): setresgid: " + why + userns_hint(id, detail);
    case kIdKeepCaps: return "--cap-keep: PR_SET_KEEPCAPS: " + why;
    case kIdUid: return "--user (" + who + "): setresuid: " + why + userns_hint(id, detail);
    case kIdRegainedRoot:
      return "--user (" + who + "): uid or gid 0 could be regained after the change; "
             "refusing to run PROGRAM";
    case kIdCapset: return "capabilities: capset: " + why;
    case kIdAmbient: return "capabilities: the ambient set: " + why;
    case kIdSecurebits: return "capabilities: PR_SET_SECUREBITS: " + why;
  }
  return "identity: " + why;
}

std::string describe_failure(const LaunchPlan& plan, const StepFailure& f) {
  const std::string why = std::strerror(f.err);
  switch (static_cast<Step>(f.step)) {
    case Step::kExec: {
      std::string msg = "cannot execute '" + plan.program + "': " + why;
      if (f.err == ENOENT && access(plan.path.c_str(), F_OK) == 0)
        msg += " (the file exists: is its interpreter or dynamic loader missing?)";
      // boxjail itself may execute it: then the refusal was the sandbox's.
      if (f.err == EACCES && (plan.landlock.handled_fs & landlock::kExecute) &&
          access(plan.path.c_str(), X_OK) == 0)
        msg += " by the Landlock rules (PROGRAM needs read+execute on itself, its interpreter "
               "and its libraries: --fs-exec-deps, or --fs-rx /usr)";
      return msg;
    }
    case Step::kNofileEarly:
    case Step::kRlimits:
      if (f.detail >= 0 && static_cast<size_t>(f.detail) < plan.rlimits.size())
        return "--rlimit " + plan.rlimits[static_cast<size_t>(f.detail)].spec +
               ": setrlimit: " + why;
      break;
    case Step::kFdMoves:
      return "--fd: " + describe_fd_step(plan, f.detail) + ": " + why;
    case Step::kIdentity:
      return describe_identity_failure(plan, f.detail, why);
    case Step::kSeccomp:
      return std::string("seccomp: loading ") +
             (f.detail == 0 ? "the jail's filter" : "the filter") + ": " + why +
             (f.err == EBUSY && f.detail != 0
                  ? " (a seccomp listener is in place already, for example the one of an "
                    "enclosing boxjail's named denials, and the kernel allows one per filter "
                    "chain: run this boxjail with --detach, which needs none, or the enclosing "
                    "one with --detach or --seccomp-bpf)"
                  : "");
    case Step::kSched:
      if (f.detail == 0 && !plan.cpus_spec.empty())
        return "--cpus " + plan.cpus_spec + ": sched_setaffinity: " + why;
      if (f.detail == 1 && plan.set_nice)
        return "--nice " + std::to_string(plan.nice) + ": setpriority: " + why +
               (f.err == EACCES || f.err == EPERM
                    ? " (a lower value than boxjail's own needs CAP_SYS_NICE in the initial "
                      "user namespace, or a matching RLIMIT_NICE)"
                    : "");
      if (f.detail == 2 && plan.set_oom_score_adj)
        return "--oom-score-adj " + std::to_string(plan.oom_score_adj) + ": " + why;
      break;
    case Step::kChdir:
      return "--chdir " + plan.chdir + ": " + why;
    case Step::kNetns:
      return "--netns " + plan.netns.path + ": setns: " + why;
    case Step::kCloseFds:
      return "closing inherited descriptors: " + why;
    default:
      break;
  }
  return std::string("setup step '") + step_name(static_cast<Step>(f.step)) +
         "' failed: " + why;
}

// The Landlock ruleset, built in full before anything else is created, and
// the best-effort warnings. Its descriptor is close-on-exec and kept off the
// --fd targets until the child restricts itself with it.
bool prepare_landlock(const LaunchPlan& plan, Runtime* rt) {
  for (const auto& d : plan.landlock.dropped)
    log::warn("--landlock=best-effort: " + d);
  if (plan.jail.active && !plan.landlock.active)
    log::info("no Landlock domain for PROGRAM: " +
              (plan.landlock.no_abi_reason.empty() ? std::string("Landlock is not available")
                                                   : plan.landlock.no_abi_reason) +
              "; boxes of one uid can then reach each other: give each a uid of its own");
  if (!plan.landlock.active) return true;
  std::string err;
  rt->landlock.reset(landlock::create_ruleset(plan.landlock, &err));
  if (!rt->landlock.valid() || !avoid_targets(&rt->landlock, plan)) {
    log::error("landlock: " + (err.empty() ? std::string(std::strerror(errno)) : err));
    return false;
  }
  keep_fd(rt, rt->landlock.get());
  rt->spec.landlock_fd = rt->landlock.get();
  rt->spec.landlock_flags = plan.landlock.restrict_flags;
  return true;
}

// --netns: the namespace, opened again and checked to be the one validated,
// before anything is created. Close-on-exec, and kept off the --fd targets
// until the child joins it.
bool prepare_netns(const LaunchPlan& plan, Runtime* rt) {
  if (!plan.netns.active) return true;
  std::string err;
  rt->netns.reset(netns::open_checked(plan.netns, &err));
  if (!rt->netns.valid()) {
    log::error(err);
    return false;
  }
  if (!avoid_targets(&rt->netns, plan)) {
    log::error("--netns " + plan.netns.path + ": " + std::strerror(errno));
    return false;
  }
  keep_fd(rt, rt->netns.get());
  rt->spec.netns_fd = rt->netns.get();
  return true;
}

// --ready: the pipe for fd:N and the timerfds, made before the child
// starts, close-on-exec and kept off the --fd targets. The pipe's write end
// becomes PROGRAM's N by one dup2 after the planned moves: N is a target no
// move writes, and the end is a descriptor no move reads.
bool prepare_ready(const LaunchPlan& plan, Runtime* rt) {
  if (!plan.ready.active) return true;
  rt->ready = std::make_unique<ready::Waiter>(plan.ready);
  std::string err;
  if (!rt->ready->prepare(&err)) {
    log::error(err);
    return false;
  }
  for (UniqueFd* fd : rt->ready->fds()) {
    if (!fd->valid()) continue;
    if (!avoid_targets(fd, plan)) {
      log::error("--ready " + plan.ready.spec + ": " + std::strerror(errno));
      return false;
    }
    keep_fd(rt, fd->get());
  }
  if (plan.ready.kind == ready::Kind::kFd) {
    rt->fd_steps = plan.fd_program.steps;
    rt->fd_steps.push_back({FdOp::kDup2, rt->ready->write_end(), plan.ready.fd});
    rt->spec.fd_steps = rt->fd_steps.data();
    rt->spec.n_fd_steps = rt->fd_steps.size();
  }
  return true;
}

// A stale record at --pidfile whose box left a state record (stop.h): its
// cgroups go before this box's are made, so that a directory of the same
// name is this box's to record and remove.
bool clean_stale_state(const LaunchPlan& plan) {
  if (plan.pidfile.empty()) return true;
  std::string said, err;
  if (!stop::clean_stale(plan.pidfile, "--pidfile", &said, &err, /*state_only=*/true)) {
    log::error(err);
    return false;
  }
  if (!said.empty()) log::info(said);
  return true;
}

// --detach: the state record beside the PID file, written before the PID
// file under its lock: the cgroups made for the box, for --stop. Without
// any, an older state record is removed.
bool record_state(const LaunchPlan& plan, const Runtime& rt, PidFile* pf, const PidRecord& rec,
                  std::string* err) {
  if (plan.mode != Mode::kDetach) return true;
  stop::StateRecord st;
  st.box = rec;
  std::vector<std::string> boxes;
  for (const auto& p : plan.cgroup.places) boxes.push_back(p.dir);
  st.dirs = stop::dirs_of(rt.cgroup.created(), boxes);
  if (st.dirs.empty()) {
    stop::remove_state(pf->dir_fd()->get(), pf->path());
    return true;
  }
  return stop::write_state(pf->dir_fd()->get(), pf->path(), st, err);
}

// --detach --ready: waits for the first of ready, PROGRAM's end and the
// deadline. Not ready, nothing of the box is left: its process group, what
// is in the cgroups made for it, the cgroups, its records.
int await_ready_detached(const LaunchPlan& plan, Runtime* rt, PidFile* pf, const PidRecord& rec) {
  ready::Waiter& w = *rt->ready;
  int status = 0;
  const ready::Outcome out = ready::wait_detached(&w, rec.pid, &status);
  const std::string who = "PROGRAM (pid " + std::to_string(rec.pid) + ")";
  if (out == ready::Outcome::kReady) {
    const int64_t ms = w.elapsed_ms();
    if (log::enabled(log::Level::kInfo))
      log::info(w.flag() + ": " + who + " is ready after " + std::to_string(ms) + " ms");
    if (plan.status_fd >= 0) {
      write_all_quietly(plan.status_fd, ready::ready_line(ms));
      close(plan.status_fd);
    }
    rt->cgroup.keep();  // PROGRAM goes on in it
    return 0;
  }
  int code = 125;
  const char* reason = "exited";
  if (out == ready::Outcome::kDied) {
    log::error(w.flag() + ": " + who + " " + ready::describe_status(status) +
               " before it was ready");
    code = ready::exit_code_of(status);
  } else {
    const std::string end = plan.grace_ms == 0 ? "SIGKILL"
                            : "SIGTERM, then SIGKILL after " + std::to_string(plan.grace_ms) + " ms";
    if (out == ready::Outcome::kTimedOut) {
      log::error(w.flag() + ": " + who + " was not ready within " + w.limit_text() + " (" +
                 w.timeout_flag() + "): " + end);
      code = 124;
      reason = "timeout";
    } else {
      log::error(w.flag() + ": " + w.closed_reason() + ": " + end);
      reason = "closed";
    }
    status = ready::end_box(rec.pid, plan.grace_ms);
  }
  std::vector<std::string> boxes, left;
  for (const auto& p : plan.cgroup.places) boxes.push_back(p.dir);
  stop::clear_cgroups(stop::dirs_of(rt->cgroup.created(), boxes), &left);
  for (const auto& l : left) log::warn("--cgroup: cannot remove " + l + " (still in use)");
  rt->cgroup.keep();  // removed above, or left in use
  if (!plan.pidfile.empty()) {
    std::string msg;
    if (pf->lock(&msg)) {
      stop::remove_state(pf->dir_fd()->get(), pf->path());
      pf->remove_locked(rec);
      pf->release();
    } else {
      log::warn(msg);
    }
  }
  if (plan.status_fd >= 0) {
    write_all_quietly(plan.status_fd, std::string("{\"event\":\"not-ready\",\"reason\":\"") +
                                          reason + "\",\"exit-code\":" + std::to_string(code) +
                                          "}\n");
    close(plan.status_fd);
  }
  return code;
}

// The cgroups: created, configured and opened before anything starts; a
// failure removes what was created. In the forking modes the v2 join is
// clone3's (CLONE_INTO_CGROUP); the child's step writes cgroup.procs for
// the rest, and for v2 too where clone3 cannot (see start()).
bool prepare_cgroup(const LaunchPlan& plan, Runtime* rt) {
  if (!plan.cgroup.active) return true;
  std::string err;
  if (!rt->cgroup.prepare(plan.cgroup, plan.mode == Mode::kNoFork, &err)) {
    log::error(err);
    return false;
  }
  for (UniqueFd* fd : rt->cgroup.fds()) {
    if (!fd->valid()) continue;
    if (!avoid_targets(fd, plan)) {
      log::error("--cgroup: " + std::string(std::strerror(errno)));
      return false;
    }
    keep_fd(rt, fd->get());
  }
  rt->cgroup_procs = rt->cgroup.procs_fds(plan.mode == Mode::kNoFork);
  rt->spec.cgroup = true;
  rt->spec.cgroup_procs = rt->cgroup_procs.data();
  rt->spec.n_cgroup_procs = rt->cgroup_procs.size();
  return true;
}

// Starts the child: straight into the cgroup v2 directory with clone3 where
// the kernel can, else with clone and the child's join step writing v2's
// cgroup.procs too.
pid_t start(Runtime* rt, int status_fd) {
  if (rt->cgroup.v2_dir() >= 0) {
    pid_t pid = start_child_in_cgroup(rt->spec, rt->steps, rt->n_steps, status_fd,
                                      rt->cgroup.v2_dir());
    if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG)) return pid;
    if (log::enabled(log::Level::kDebug))
      log::debug(std::string("clone3(CLONE_INTO_CGROUP): ") + std::strerror(errno) +
                 "; the child joins through cgroup.procs");
    rt->cgroup_procs = rt->cgroup.procs_fds(true);
    rt->spec.cgroup_procs = rt->cgroup_procs.data();
    rt->spec.n_cgroup_procs = rt->cgroup_procs.size();
  }
  return start_child(rt->spec, rt->steps, rt->n_steps, status_fd);
}

void prepare(const LaunchPlan& plan, Runtime* rt) {
  for (const auto& r : plan.rlimits) rt->rlimits.push_back({r.resource, r.value});
  rt->temps.assign(static_cast<size_t>(plan.fd_program.temp_count), -1);
  rt->keep = plan.keep;
  rt->env = plan.env;
  ChildSpec& s = rt->spec;
  s.fail_step = plan.fail_step;
  s.fail_errno = plan.fail_errno;
  s.rlimits = rt->rlimits.data();
  s.n_rlimits = rt->rlimits.size();
  s.nofile_first = plan.nofile_first;
  s.fd_steps = plan.fd_program.steps.data();
  s.n_fd_steps = plan.fd_program.steps.size();
  s.temp_floor = plan.fd_program.temp_floor;
  s.temps = rt->temps.data();
  s.close_fds = plan.close_fds;
  s.die_signal = plan.die_signal;
  s.no_new_privs = plan.no_new_privs;
  if (!plan.chdir.empty()) s.chdir = plan.chdir.c_str();
  if (plan.set_cpus) s.cpus = &plan.cpus;
  s.set_nice = plan.set_nice;
  s.nice = plan.nice;
  if (plan.set_oom_score_adj) {
    snprintf(rt->oom_text, sizeof rt->oom_text, "%d", plan.oom_score_adj);
    s.oom_score_adj = rt->oom_text;
  }
  if (plan.identity.active) s.identity = &plan.identity.child;
  if (plan.seccomp.active) {
    // Named denials (and --learn) in the default mode: the variant that
    // sends what it denies to the supervisor (notify.h).
    const bool named = plan.seccomp.named && plan.mode == Mode::kSupervise;
    const bool exec_once = plan.seccomp.exec_once && plan.mode != Mode::kNoFork;
    const auto& prog = named || exec_once ? plan.seccomp.notify_program : plan.seccomp.program;
    rt->seccomp.len = static_cast<unsigned short>(prog.size());
    rt->seccomp.filter = const_cast<sock_filter*>(prog.data());
    s.seccomp = &rt->seccomp;
    s.notify = named || exec_once || plan.seccomp.learn;
  }
  if (plan.jail.active) {
    rt->seccomp_jail.len = static_cast<unsigned short>(plan.jail.program.size());
    rt->seccomp_jail.filter = const_cast<sock_filter*>(plan.jail.program.data());
    s.seccomp_jail = &rt->seccomp_jail;
  }
  s.restrict_early = plan.restrict_early;
  if (plan.listen_pid_index >= 0) {
    // The child writes its own pid after the prefix.
    std::memcpy(rt->listen_pid, "LISTEN_PID=", 12);
    rt->env[static_cast<size_t>(plan.listen_pid_index)] = rt->listen_pid;
    s.listen_pid = rt->listen_pid;
    s.listen_pid_size = sizeof rt->listen_pid;
  }
  s.path = plan.path.c_str();
  s.argv = plan.argv.data();
  s.envp = rt->env.data();
}

// valgrind (tests/valgrind_test.sh) follows clone() only as fork or vfork,
// not with CLONE_FILES; under it the child starts with a copy, as on a
// kernel without close_range().
bool under_valgrind() {
#if __has_include(<valgrind/valgrind.h>)
  return RUNNING_ON_VALGRIND;
#else
  return false;
#endif
}

// Whether this kernel has close_range() (and with it, since 5.9,
// CLOSE_RANGE_UNSHARE): closing a descriptor number that cannot be open
// succeeds and changes nothing.
bool have_close_range() {
  return syscall(SYS_close_range, ~0u, ~0u, 0u) == 0;
}

// The forking modes start the child sharing our descriptor table and let it
// unshare just the part below FIRST: one above every descriptor a later
// step uses (kept ones, --fd sources and targets; cycle temporaries are
// made after the unshare). With --keep-fds everything stays, so the table
// is copied whole, as without CLONE_FILES.
void plan_unshare(const LaunchPlan& plan, Runtime* rt) {
  // A child that runs beside us (a listener to hand over: child.h) gets a
  // copy of the table: we close our end of the status pipe meanwhile.
  if (!plan.close_fds || rt->spec.notify || under_valgrind() || !have_close_range()) return;
  int top = rt->keep.empty() ? 2 : rt->keep.back();
  for (const auto& r : plan.fds) top = std::max({top, r.map.source, r.map.target});
  rt->spec.unshare_from = top + 1;
}

// Called last: `keep` must be complete, since the spec points into it.
void finish(Runtime* rt) {
  rt->spec.keep = rt->keep.data();
  rt->spec.n_keep = rt->keep.size();
  rt->n_steps = build_step_list(rt->spec, rt->steps);
}

std::string start_line(const PidRecord& r) {
  return "{\"child-pid\": " + std::to_string(r.pid) +
         ", \"start-time\": " + std::to_string(r.start_time) + "}\n";
}

// Checks and locks the PID file and creates its temporary, all before
// anything is started. Its descriptors are kept off --fd targets.
bool open_pidfile(const LaunchPlan& plan, PidFile* pf) {
  std::string err, stale;
  if (!pf->open(plan.pidfile, &err) || !pf->lock_and_check(&err, &stale) ||
      !pf->prepare(&err)) {
    log::error(err);
    return false;
  }
  if (!stale.empty()) log::info("replacing stale pid file " + plan.pidfile + ": " + stale);
  for (UniqueFd* fd : {pf->dir_fd(), pf->lock_fd(), pf->tmp_fd()}) {
    if (!avoid_targets(fd, plan)) {
      log::error("--pidfile " + plan.pidfile + ": " + std::strerror(errno));
      return false;
    }
  }
  return true;
}

// --memory-deny-write-execute on a kernel with PR_SET_MDWE: set here, in
// boxjail, where fork and exec carry it to PROGRAM (and the supervisor,
// which never needs such memory, keeps it too).
bool set_mdwe(const LaunchPlan& plan) {
  if (plan.jail.mdwe != jail::Mdwe::kPrctl) return true;
  constexpr int kPrSetMdwe = 65, kRefuseExecGain = 1;
  if (prctl(kPrSetMdwe, kRefuseExecGain, 0, 0, 0) == 0) return true;
  log::error(std::string("--memory-deny-write-execute: PR_SET_MDWE: ") + std::strerror(errno));
  return false;
}

int run_in_place(const LaunchPlan& plan, Runtime* rt) {
  // A private copy of stderr survives the descriptor steps (it is kept and
  // close-on-exec), so a failure can still be reported where the user looks.
  // Needed only when --fd writes descriptor 2.
  bool stderr_remapped = false;
  for (const auto& f : plan.fds) stderr_remapped |= f.map.target == 2;
  UniqueFd err(stderr_remapped ? fcntl(2, F_DUPFD_CLOEXEC, 3) : -1);
  if (err.valid() && !avoid_targets(&err, plan)) err.reset();
  if (err.valid()) keep_fd(rt, err.get());

  rt->spec.expected_ppid = plan.parent_pid;
  PidRecord self{getpid(), 0};
  if (!plan.pidfile.empty() || plan.status_fd >= 0) read_start_time(self.pid, &self.start_time);
  PidFile pf;
  if (!plan.pidfile.empty()) {
    // We become PROGRAM, so the record goes in before exec; it is removed
    // again if a step fails.
    std::string msg;
    if (!open_pidfile(plan, &pf)) return 125;
    if (!pf.commit(self, &msg)) {
      log::error(msg);
      return 125;
    }
    pf.release();
    // Kept (it is close-on-exec) so a failed step can still remove the record.
    keep_fd(rt, pf.dir_fd()->get());
  }
  std::string report;
  if (plan.status_fd >= 0) {
    report = start_line(self);
    rt->spec.report_fd = plan.status_fd;
    rt->spec.report = report.data();
    rt->spec.report_len = report.size();
    fcntl(plan.status_fd, F_SETFD, FD_CLOEXEC);
    keep_fd(rt, plan.status_fd);
  }
  finish(rt);
  if (!set_mdwe(plan)) return 125;
  if (log::enabled(log::Level::kInfo))
    log::info("executing '" + plan.program + "' in place as pid " + std::to_string(self.pid) +
              (plan.seccomp.active ? "; seccomp denials are the kernel's (SIGSYS or the errno), "
                                     "named only in the kernel's audit log"
                                   : ""));
  StepFailure f = run_steps(rt->spec, rt->steps, rt->n_steps);
  if (err.valid()) log::set_fd(err.get());
  rt->cgroup.leave_and_remove();
  if (!plan.pidfile.empty()) {
    std::string msg;
    pf.remove_if_holds(self, &msg);
  }
  const std::string msg = describe_failure(plan, f);
  log::error(msg);
  const bool reported = f.step == static_cast<int32_t>(Step::kSeccomp) ||
                        f.step == static_cast<int32_t>(Step::kExec);
  if (plan.status_fd >= 0 && reported) {
    // The start line went out in the report step, before seccomp and
    // execve; take it back.
    std::string line = "{\"error\": ";
    json_escape(&line, msg);
    line += ", \"exit-code\": " + std::to_string(exit_code_for(f)) + "}\n";
    write_all_quietly(plan.status_fd, line);
  }
  return exit_code_for(f);
}

// Once PROGRAM runs, the supervisor lets go of every inherited descriptor
// from 3 up that it does not use itself: a launcher waiting for EOF on a
// pipe PROGRAM holds must not wait for the supervisor too, and nothing of
// the launcher stays pinned for the VM's lifetime. It keeps 0, 1, 2 (its
// log, the terminal), the status descriptor, the PID file's and the
// seccomp listener.
void release_inherited(const LaunchPlan& plan, Runtime* rt, PidFile* pf, int listener,
                       int audit_fd) {
  rt->landlock.reset();
  rt->netns.reset();
  rt->cgroup.release_fds();
  std::vector<int> keep = {0, 1, 2};
  if (plan.status_fd >= 0) keep.push_back(plan.status_fd);
  if (listener >= 0) keep.push_back(listener);
  if (audit_fd >= 0) keep.push_back(audit_fd);
  if (rt->timer.valid()) keep.push_back(rt->timer.get());
  for (UniqueFd* fd : {pf->dir_fd(), pf->lock_fd(), pf->tmp_fd()})
    if (fd->valid()) keep.push_back(fd->get());
  if (rt->ready)
    for (int fd : rt->ready->live_fds())
      if (fd >= 0) keep.push_back(fd);
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  CloseMethod used = CloseMethod::kCloseRange;
  close_fds_except(keep.data(), keep.size(), CloseMethod::kCloseRange, &used);
}

// An inherited SIG_IGN (or SA_NOCLDWAIT) for SIGCHLD would make the kernel
// reap the child for us and lose its status. The child restores it.
void keep_child_status(Runtime* rt) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &dfl, &rt->orig_chld);
  if (rt->orig_chld.sa_handler == SIG_IGN || (rt->orig_chld.sa_flags & SA_NOCLDWAIT))
    rt->spec.sigchld = &rt->orig_chld;
}

}  // namespace

int launch(const LaunchPlan& plan) {
  for (const auto& w : plan.warnings) log::warn(w);
  Runtime rt;
  prepare(plan, &rt);
  if (!prepare_landlock(plan, &rt) || !prepare_netns(plan, &rt) || !clean_stale_state(plan) ||
      !prepare_cgroup(plan, &rt))
    return 125;
  if (plan.mode == Mode::kNoFork) return run_in_place(plan, &rt);
  if (!prepare_ready(plan, &rt)) return 125;

  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    log::error(std::string("status pipe: ") + std::strerror(errno));
    return 125;
  }
  UniqueFd rd(p[0]), wr(p[1]);
  if (!avoid_targets(&rd, plan) || !avoid_targets(&wr, plan)) {
    log::error(std::string("status pipe: ") + std::strerror(errno));
    return 125;
  }
  keep_fd(&rt, wr.get());
  rt.spec.handover_fd = wr.get();

  PidFile pf;
  if (!plan.pidfile.empty() && !open_pidfile(plan, &pf)) return 125;
  // The launcher's status descriptor is boxjail's alone: close-on-exec, and
  // not kept, so the child closes it even with --keep-fds.
  if (plan.status_fd >= 0) fcntl(plan.status_fd, F_SETFD, FD_CLOEXEC);

  int tty_fd = -1;
  if (plan.mode == Mode::kSupervise) {
    // Orphans are reparented to us (and reaped by supervise()). With
    // --cgroup, that is how the clean-up tells PROGRAM's processes from
    // ones moved into its cgroup from outside (CgroupRuntime::finish).
    if ((plan.reap || plan.cgroup.active) && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
      log::error(std::string(plan.reap ? "--reap" : "--cgroup") +
                 ": PR_SET_CHILD_SUBREAPER: " + std::strerror(errno));
      return 125;
    }
    rt.spec.session = SessionKind::kProcessGroup;
    tty_fd = foreground_tty();
    rt.spec.tty_fd = tty_fd;
    // Block everything before fork: signals that arrive from now on wait
    // for the supervisor loop and are forwarded. The child restores the
    // inherited mask just before exec.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &rt.orig_mask);
    rt.spec.sigmask = &rt.orig_mask;
    keep_child_status(&rt);
    if (plan.die_signal) {
      // The supervisor follows its own parent; PROGRAM follows the
      // supervisor. A signal that is not SIGKILL reaches the supervisor
      // blocked and is forwarded like any other.
      prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(plan.die_signal));
      if (getppid() != plan.parent_pid) kill(getpid(), plan.die_signal);
      rt.spec.expected_ppid = getpid();
    } else if (plan.pdeath_supervisor) {
      // A confined PROGRAM does not outlive its supervisor, whatever kills it.
      rt.spec.die_signal = SIGKILL;
      rt.spec.expected_ppid = getpid();
    }
  } else {
    rt.spec.session = SessionKind::kNewSession;
    if (rt.ready) keep_child_status(&rt);  // --ready waits for PROGRAM's status
  }
  plan_unshare(plan, &rt);
  finish(&rt);
  // The supervisor keeps boxjail's uid and no restrictions: a PROGRAM
  // confined by seccomp or capabilities alone must not be able to ptrace it
  // or write its memory. execve makes PROGRAM dumpable again.
  // With a listener to hand over, once the child is started (below): its
  // copy of us must stay dumpable for pidfd_getfd().
  if (plan.mode == Mode::kSupervise && !rt.spec.notify) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  // --landlock-log: PROGRAM's denials from the audit log, read by the
  // supervisor (subscribed before PROGRAM can be denied anything).
  std::unique_ptr<audit::LandlockDenials> denied;
  if (plan.mode == Mode::kSupervise && plan.landlock.audit) {
    denied = std::make_unique<audit::LandlockDenials>();
    if (std::string why; !denied->open(&why)) {
      log::info("--landlock-log: boxjail cannot read the audit log here (" + why +
                "): PROGRAM's Landlock denials are in the kernel's audit log only");
      denied.reset();
    }
  }

  if (!set_mdwe(plan)) return 125;

  // --timeout counts from here, as timeout(1)'s does.
  if (plan.timeout.active) {
    std::string msg;
    rt.timer.reset(timeout::start_timer(plan.timeout.ns, &msg));
    if (!rt.timer.valid()) {
      log::error(msg);
      return 125;
    }
  }
  // --ready-timeout too.
  if (rt.ready) {
    std::string msg;
    if (!rt.ready->start(&msg)) {
      log::error(msg);
      return 125;
    }
  }
  timespec started{};
  clock_gettime(CLOCK_MONOTONIC, &started);
  pid_t pid = start(&rt, wr.get());
  if (pid < 0) {
    const int err = errno;
    log::error(std::string("fork: ") + std::strerror(err) +
               (plan.cgroup.active && (err == EACCES || err == EPERM)
                    ? " (--cgroup " + plan.cgroup.spec +
                          ": moving PROGRAM into it needs write access to cgroup.procs of the "
                          "nearest cgroup above both boxjail's and it; the owner of a delegated "
                          "subtree runs boxjail from inside the subtree, as systemd's "
                          "user@.service does)"
                    : ""));
    return 125;
  }
  wr.reset();
  if (rt.ready) rt.ready->forked();
  // The child is a copy now: nothing of ours is left for a same-uid
  // PROGRAM to read or ptrace once it runs (its listener least of all).
  if (plan.mode == Mode::kSupervise && rt.spec.notify) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  StepFailure f{};
  ssize_t got;
  notify::Listener listener;
  std::unique_ptr<notify::Handler> handler;
  notify::Denials* denials = nullptr;
  learn::Learner* learner = nullptr;
  if (rt.spec.notify) {
    if (plan.seccomp.learn) {
      handler = std::make_unique<learn::Learner>(pid);
      learner = static_cast<learn::Learner*>(handler.get());
    } else {
      handler = std::make_unique<notify::Denials>(plan.seccomp, pid);
      denials = static_cast<notify::Denials*>(handler.get());
    }
    std::string msg;
    got = notify::await_exec(rd.get(), pid, &listener, *handler, &f, &msg);
    if (got < 0) log::error("seccomp listener: " + msg);
  } else {
    do {
      got = read(rd.get(), &f, sizeof f);
    } while (got < 0 && errno == EINTR);
  }
  rd.reset();

  if (got != 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (tty_fd >= 0) tcsetpgrp(tty_fd, getpgrp());
    if (got == static_cast<ssize_t>(sizeof f)) {
      log::error(describe_failure(plan, f));
      return exit_code_for(f);
    }
    log::error("the child failed before exec without a report (wait status " +
               std::to_string(status) + ")");
    return 125;
  }
  // EOF: the status pipe was closed by a successful execve.
  PidRecord rec{pid, 0};
  if (!plan.pidfile.empty() || plan.status_fd >= 0) read_start_time(pid, &rec.start_time);
  if (!plan.pidfile.empty()) {
    std::string msg;
    if (!record_state(plan, rt, &pf, rec, &msg) || !pf.commit(rec, &msg)) {
      // The record was asked for and cannot be written: do not leave an
      // untracked PROGRAM running.
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      if (tty_fd >= 0) tcsetpgrp(tty_fd, getpgrp());
      log::error(msg + "; stopped PROGRAM");
      return 125;
    }
    pf.release();
  }
  if (plan.status_fd >= 0 && !write_all_quietly(plan.status_fd, start_line(rec)))
    log::warn("--status-fd " + std::to_string(plan.status_fd) + ": " + std::strerror(errno));
  if (log::enabled(log::Level::kInfo))
    log::info("started '" + plan.program + "' as pid " + std::to_string(pid) + " (" +
              mode_name(plan.mode) + ")" +
              (plan.mode == Mode::kDetach && plan.seccomp.active
                   ? "; seccomp denials are the kernel's (SIGSYS or the errno), named only in "
                     "the kernel's audit log"
                   : ""));
  if (plan.mode == Mode::kDetach) {
    if (rt.ready) return await_ready_detached(plan, &rt, &pf, rec);
    if (plan.status_fd >= 0) close(plan.status_fd);
    rt.cgroup.keep();  // PROGRAM goes on in it
    return 0;
  }
  release_inherited(plan, &rt, &pf, listener.valid() ? listener.fd() : -1,
                    denied ? denied->fd() : -1);
  // Hold no mount of the caller's: PROGRAM keeps its directory (or
  // --chdir's); the waiting supervisor needs none.
  if (chdir("/") != 0) log::debug(std::string("chdir /: ") + std::strerror(errno));
  SuperviseOptions so;
  so.child = pid;
  so.ctty_fd = controlling_tty();
  so.signal_group = plan.signal_group;
  so.reap = plan.reap || getpid() == 1;
  so.adopt = plan.cgroup.active;
  so.cleanup = plan.reap;
  so.grace_ms = plan.grace_ms;
  rusage usage{};
  so.usage = &usage;
  if (listener.valid()) {
    so.listener = &listener;
    so.handler = handler.get();
  }
  so.audit = denied.get();
  bool timed_out = false;
  if (rt.timer.valid()) {
    so.timer_fd = rt.timer.get();
    so.timeout_signal = plan.timeout.signal;
    so.timeout_spec = plan.timeout.spec.c_str();
    so.timed_out = &timed_out;
    if (plan.cgroup.active) so.cgroup = &rt.cgroup;
  }
  int ready_failed = 0;
  if (rt.ready) {
    so.ready = rt.ready.get();
    so.ready_fd = plan.status_fd;
    so.ready_failed = &ready_failed;
    if (plan.cgroup.active) so.cgroup = &rt.cgroup;
  }
  // Nothing but signals and wait4() to serve until PROGRAM ends or a call
  // is denied or the time limit is reached: boxjail-wait does that in a
  // few pages, and execs boxjail again for any of those (handover.h).
  // With --ready, once PROGRAM is ready. A denial already named stays with
  // this boxjail: its record is not handed over.
  auto hand_over = [&](int ready_state) {
    if (learner || denied || (denials && !denials->json().empty()) || under_valgrind()) return;
    std::string why;
    UniqueFd waiter = handover::find_waiter(&why);
    if (!waiter.valid() && !why.empty() && log::enabled(log::Level::kInfo))
      log::info(why + ": the supervisor stays boxjail, at its full size");
    if (!waiter.valid()) return;
    if (log::enabled(log::Level::kDebug)) {
      log::debug("supervising in place: -vv shows each signal forwarded");
      return;
    }
    const std::string exposed =
        handover::exec_exposure(pid, plan.jail.active, plan.landlock.active);
    if (!exposed.empty()) {
      if (log::enabled(log::Level::kInfo))
        log::info("the supervisor stays boxjail: " + exposed);
      return;
    }
    EndFacts facts = end_facts(plan, pid, started);
    facts.ready = ready_state;
    if (!handover::exec_waiter(waiter, so, facts, rec, &rt.cgroup,
                               plan.pidfile.empty() ? nullptr : &pf, plan.seccomp, &why))
      log::warn(why + ": the supervisor stays boxjail");
  };
  int status;
  if (!rt.ready) {
    hand_over(-1);
    status = supervise(so);
  } else {
    so.return_when_ready = true;
    status = supervise(so);
    if (status == kReturnedReady) {
      // Ready: the source is done with (its descriptors close at the exec).
      so.ready = nullptr;
      so.return_when_ready = false;
      hand_over(1);
      status = supervise(so);
    }
  }
  if (rt.ready && rt.ready->state() != ready::Waiter::State::kReady && !ready_failed)
    log::error(rt.ready->flag() + ": PROGRAM (pid " + std::to_string(pid) + ") " +
               ready::describe_status(status) + " before it was ready");
  rt.timer.reset();
  listener.reset();
  EndEvents ev;
  if (denials) add_denials(*denials, &status, &ev);
  if (denied) {
    // The kernel sends the last records a little after PROGRAM's end.
    denied->settle(pid, 300);
    std::vector<std::string> lines = denied->report(20);
    for (const auto& l : lines) log::warn("landlock: PROGRAM was denied " + l);
    if (std::string c = denied->caveat(); !c.empty()) log::warn("landlock: " + c);
    ev.landlock_json = denied->json();
  }
  if (learner) {
    std::string msg;
    const learn::Learned& l = learner->learned();
    if (!learn::write_config(plan.learn_file, l, plan.learn_given, plan.program, &msg)) {
      log::error(msg);
    } else {
      log::info("--learn: " + std::to_string(l.syscalls.size()) + " system calls, " +
                std::to_string(l.paths.size()) + " paths into " + plan.learn_file +
                "; replay with --config " + plan.learn_file);
    }
  }
  EndFacts facts = end_facts(plan, pid, started);
  if (rt.ready) facts.ready = rt.ready->state() == ready::Waiter::State::kReady;
  ev.timed_out = timed_out;
  ev.ready_failed = ready_failed;
  finish_box(facts, status, usage, ev, &rt.cgroup, &pf, rec);
}

}  // namespace boxjail

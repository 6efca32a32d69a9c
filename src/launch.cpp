#include "boxjail/launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "boxjail/child.h"
#include "boxjail/log.h"
#include "boxjail/supervise.h"
#include "boxjail/unique_fd.h"

namespace boxjail {
namespace {

// Runtime state of one launch; kept apart from the immutable plan.
struct Runtime {
  std::vector<ChildRlimit> rlimits;
  std::vector<int> temps;
  std::vector<int> keep;
  sigset_t orig_mask{};
  struct sigaction orig_chld {};
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

std::string describe_failure(const LaunchPlan& plan, const StepFailure& f) {
  const std::string why = std::strerror(f.err);
  switch (static_cast<Step>(f.step)) {
    case Step::kExec: {
      std::string msg = "cannot execute '" + plan.program + "': " + why;
      if (f.err == ENOENT && access(plan.path.c_str(), F_OK) == 0)
        msg += " (the file exists: is its interpreter or dynamic loader missing?)";
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
    case Step::kCloseFds:
      return "closing inherited descriptors: " + why;
    default:
      break;
  }
  return std::string("setup step '") + step_name(static_cast<Step>(f.step)) +
         "' failed: " + why;
}

void prepare(const LaunchPlan& plan, Runtime* rt) {
  for (const auto& r : plan.rlimits) rt->rlimits.push_back({r.resource, r.value});
  rt->temps.assign(static_cast<size_t>(plan.fd_program.temp_count), -1);
  rt->keep = plan.keep;
  ChildSpec& s = rt->spec;
  s.rlimits = rt->rlimits.data();
  s.n_rlimits = rt->rlimits.size();
  s.nofile_first = plan.nofile_first;
  s.fd_steps = plan.fd_program.steps.data();
  s.n_fd_steps = plan.fd_program.steps.size();
  s.temp_floor = plan.fd_program.temp_floor;
  s.temps = rt->temps.data();
  s.close_fds = plan.close_fds;
  s.close_method = plan.close_method;
  s.path = plan.path.c_str();
  s.argv = plan.argv.data();
  s.envp = plan.envp;
}

// Called last: `keep` must be complete, since the spec points into it.
void finish(Runtime* rt) {
  rt->spec.keep = rt->keep.data();
  rt->spec.n_keep = rt->keep.size();
  rt->n_steps = build_step_list(rt->spec, rt->steps);
}

int run_in_place(const LaunchPlan& plan, Runtime* rt) {
  // A private copy of stderr survives the descriptor steps (it is kept and
  // close-on-exec), so a failure can still be reported where the user looks.
  UniqueFd err(fcntl(2, F_DUPFD_CLOEXEC, 3));
  if (err.valid() && !avoid_targets(&err, plan)) err.reset();
  if (err.valid()) keep_fd(rt, err.get());
  finish(rt);
  log::info("executing '" + plan.program + "' in place as pid " + std::to_string(getpid()));
  StepFailure f = run_steps(rt->spec, rt->steps, rt->n_steps);
  if (err.valid()) log::set_fd(err.get());
  log::error(describe_failure(plan, f));
  return exit_code_for(f);
}

}  // namespace

int launch(const LaunchPlan& plan) {
  Runtime rt;
  prepare(plan, &rt);
  if (plan.mode == Mode::kNoFork) return run_in_place(plan, &rt);

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

  int tty_fd = -1;
  if (plan.mode == Mode::kSupervise) {
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
    // An inherited SIG_IGN (or SA_NOCLDWAIT) for SIGCHLD would make the
    // kernel reap the child for us and lose its status.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, &rt.orig_chld);
    if (rt.orig_chld.sa_handler == SIG_IGN || (rt.orig_chld.sa_flags & SA_NOCLDWAIT))
      rt.spec.sigchld = &rt.orig_chld;
  } else {
    rt.spec.session = SessionKind::kNewSession;
  }
  finish(&rt);

  pid_t pid = fork();
  if (pid < 0) {
    log::error(std::string("fork: ") + std::strerror(errno));
    return 125;
  }
  if (pid == 0) child_main(rt.spec, rt.steps, rt.n_steps, wr.get());
  wr.reset();

  StepFailure f{};
  ssize_t got;
  do {
    got = read(rd.get(), &f, sizeof f);
  } while (got < 0 && errno == EINTR);
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
  log::info("started '" + plan.program + "' as pid " + std::to_string(pid) + " (" +
            mode_name(plan.mode) + ")");
  if (plan.mode == Mode::kDetach) return 0;
  supervise(pid, tty_fd);
}

}  // namespace boxjail

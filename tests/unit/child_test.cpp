// Child steps run for real in a forked process.
#include "boxjail/child.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace boxjail {
namespace {

// Runs `steps` (without exec) in a forked child; returns its wait status.
// The child exits 0 when every step succeeded, 10 + step on failure.
int run_forked(const ChildSpec& spec) {
  pid_t pid = fork();
  if (pid == 0) {
    ChildStep steps[kMaxSteps];
    size_t n = build_step_list(spec, steps);
    if (steps[n - 1].id != Step::kExec) _exit(99);
    for (size_t i = 0; i + 1 < n; ++i) {
      int32_t detail = -1;
      if (steps[i].fn(spec, &detail) != 0) _exit(10 + static_cast<int>(steps[i].id));
    }
    // Give a pending signal the chance to arrive.
    usleep(50000);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(ChildSteps, ParentDeathSignalIsSet) {
  ChildSpec s;
  s.die_signal = SIGUSR2;
  s.expected_ppid = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    ChildStep steps[kMaxSteps];
    build_step_list(s, steps);
    if (steps[0].id != Step::kParentDeath) _exit(22);
    int32_t detail = -1;
    if (steps[0].fn(s, &detail) != 0) _exit(20);
    int sig = 0;
    prctl(PR_GET_PDEATHSIG, &sig);
    _exit(sig == SIGUSR2 ? 0 : 21);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(ChildSteps, ParentDeathBeforeThePrctlStillDelivers) {
  // The parent the step expects is not our parent: as if it had died
  // before the prctl. The step must send the signal itself.
  ChildSpec s;
  s.die_signal = SIGTERM;
  s.expected_ppid = 1;
  int status = run_forked(s);
  EXPECT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(ChildSteps, ListenPidIsWrittenWithoutAllocation) {
  char buf[32] = "LISTEN_PID=";
  ChildSpec s;
  s.close_fds = false;
  s.listen_pid = buf;
  s.listen_pid_size = sizeof buf;
  ChildStep steps[kMaxSteps];
  build_step_list(s, steps);
  ASSERT_EQ(steps[0].id, Step::kEnviron);
  int32_t detail = -1;
  ASSERT_EQ(steps[0].fn(s, &detail), 0);
  EXPECT_EQ(std::string(buf), "LISTEN_PID=" + std::to_string(getpid()));
  char tiny[13] = "LISTEN_PID=";
  s.listen_pid = tiny;
  s.listen_pid_size = sizeof tiny;
  EXPECT_EQ(steps[0].fn(s, &detail), ENAMETOOLONG);
}

TEST(ChildSteps, OrderIsFixed) {
  ChildSpec s;
  s.session = SessionKind::kProcessGroup;
  s.die_signal = SIGKILL;
  s.nofile_first = 0;
  ChildRlimit r[2] = {};
  s.rlimits = r;
  s.n_rlimits = 2;
  FdStep fs{FdOp::kClearCloexec, 0, 0};
  s.fd_steps = &fs;
  s.n_fd_steps = 1;
  char buf[32];
  s.listen_pid = buf;
  sigset_t m;
  s.sigmask = &m;
  s.report = "x";
  s.no_new_privs = true;
  s.landlock_fd = 9;
  s.unshare_from = 10;
  ChildStep steps[kMaxSteps];
  size_t n = build_step_list(s, steps);
  std::vector<Step> got;
  for (size_t i = 0; i < n; ++i) got.push_back(steps[i].id);
  EXPECT_EQ(got, (std::vector<Step>{Step::kUnshareFds, Step::kSession, Step::kParentDeath,
                                    Step::kNofileEarly,
                                    Step::kFdMoves, Step::kCloseFds, Step::kRlimits,
                                    Step::kNoNewPrivs, Step::kLandlock, Step::kEnviron,
                                    Step::kSignals, Step::kReport, Step::kExec}));
}

// Every step switched on at once, in both orders of the restriction steps:
// the list must fit kMaxSteps (it once wrote past a 16-entry array).
TEST(ChildSteps, EveryStepAtOnceFits) {
  for (bool early : {false, true}) {
    ChildSpec s;
    s.unshare_from = 10;
    s.cgroup = true;
    s.session = SessionKind::kProcessGroup;
    s.die_signal = SIGKILL;
    s.nofile_first = 0;
    ChildRlimit r[2] = {};
    s.rlimits = r;
    s.n_rlimits = 2;
    FdStep fs{FdOp::kClearCloexec, 0, 0};
    s.fd_steps = &fs;
    s.n_fd_steps = 1;
    s.set_nice = true;
    s.netns_fd = 8;
    ChildIdentity id;
    id.set_ids = true;
    s.identity = &id;
    s.chdir = "/";
    s.no_new_privs = !early;
    s.landlock_fd = 9;
    char buf[32];
    s.listen_pid = buf;
    sigset_t m;
    s.sigmask = &m;
    s.report = "x";
    sock_fprog prog{};
    s.seccomp = &prog;
    s.seccomp_jail = &prog;
    s.restrict_early = early;
    ChildStep steps[kMaxSteps + 1];
    steps[kMaxSteps].id = static_cast<Step>(0);  // a sentinel past the end
    size_t n = build_step_list(s, *reinterpret_cast<ChildStep(*)[kMaxSteps]>(steps));
    EXPECT_LE(n, kMaxSteps);
    EXPECT_EQ(static_cast<int>(steps[kMaxSteps].id), 0);
    std::vector<Step> got;
    for (size_t i = 0; i < n; ++i) got.push_back(steps[i].id);
    std::vector<Step> want = {Step::kUnshareFds, Step::kCgroup, Step::kSession,
                              Step::kParentDeath, Step::kNofileEarly, Step::kFdMoves,
                              Step::kCloseFds, Step::kRlimits, Step::kSched, Step::kNetns};
    if (early) want.insert(want.end(), {Step::kLandlock, Step::kSeccomp});
    want.insert(want.end(), {Step::kIdentity, Step::kParentDeath, Step::kChdir});
    if (!early) want.insert(want.end(), {Step::kNoNewPrivs, Step::kLandlock});
    want.insert(want.end(), {Step::kEnviron, Step::kSignals, Step::kReport});
    if (!early) want.push_back(Step::kSeccomp);
    want.push_back(Step::kExec);
    EXPECT_EQ(got, want) << (early ? "restrict_early" : "in order");
  }
}

}  // namespace
}  // namespace boxjail

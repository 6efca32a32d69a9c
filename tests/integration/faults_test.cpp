// Fault injection: each child step failing in turn, in each mode, and the
// faults a running box meets (stops, a PID-file directory that is read-only
// or goes away). Needs a BOXJAIL_FAULT_INJECTION build (scripts/test makes
// one) for the step faults.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "harness.h"
#include "privilege.h"

using namespace harness;

namespace {

bool fault_injection_built() {
  Result r = run({.argv = {kBoxjail, "--dry-run", "true"}, .env = {"BOXJAIL_FAIL_STEP=nonsense"}});
  return r.code() == 125;  // only an injecting build looks at the variable
}

struct StepCase {
  std::string step;
  std::vector<std::string> modes;  // the modes in which the step runs
  std::vector<std::string> flags = {};  // what switches the step on, beyond the common flags
};

TEST(Faults, EveryStepFailingInEveryModeStartsNothingAndLeavesNothing) {
  if (!fault_injection_built()) GTEST_SKIP() << "boxjail built without BOXJAIL_FAULT_INJECTION";
  const std::vector<std::string> opt_in = root_opt_in();
  std::vector<StepCase> steps = {
      {"session", {"default", "detach"}},
      {"die-with-parent", {"default", "no-fork"}},
      {"rlimits (early)", {"default", "detach", "no-fork"}},
      {"descriptors", {"default", "detach", "no-fork"}},
      {"close descriptors", {"default", "detach", "no-fork"}},
      {"rlimits", {"default", "detach", "no-fork"}},
      {"environment", {"default", "detach"}},
      {"signals", {"default"}},
      {"status report", {"no-fork"}},
      {"exec", {"default", "detach", "no-fork"}},
      {"no-new-privs", {"default", "detach", "no-fork"}, {"--no-new-privs"}},
      {"landlock", {"default", "detach", "no-fork"}, {"--fs-exec-deps", "--fs-rw", "/tmp"}},
      {"seccomp", {"default", "detach", "no-fork"}, {"--seccomp-deny", "uname"}},
      {"scheduling", {"default", "detach", "no-fork"}, {"--nice", "1"}},
      {"chdir", {"default", "detach", "no-fork"}, {"--chdir", "/"}},
  };
  // Those three confine PROGRAM: as root, it keeps uid 0 only when asked.
  for (auto& sc : steps)
    if (!sc.flags.empty()) sc.flags.insert(sc.flags.begin(), opt_in.begin(), opt_in.end());
  const bool identity = privilege::can_become(65534).empty();
  if (identity) steps.push_back({"identity", {"default", "detach", "no-fork"}, {"--user", "nobody"}});
  // This process's own network namespace is one to join, where boxjail
  // may join one at all (CAP_SYS_ADMIN).
  const std::vector<std::string> join = {"--netns",
                                         "/proc/" + std::to_string(getpid()) + "/ns/net"};
  const bool netns = run({.argv = {kBoxjail, "--dry-run", join[0], join[1], "true"}}).code() == 0;
  if (netns) steps.push_back({"netns", {"default", "detach", "no-fork"}, join});
  int cases = 0;
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  const std::string hard = std::to_string(nofile.rlim_max);
  const std::string half = std::to_string(nofile.rlim_max / 2);
  for (const auto& sc : steps) {
    for (const auto& mode : sc.modes) {
      TempDir d;
      std::string pidfile = d.path + "/box.pid";
      int st[2];
      ASSERT_EQ(pipe2(st, O_CLOEXEC), 0);
      // A lowered soft limit, so that --rlimit nofile=HARD: raises it and
      // the early step runs; every other flag switches one step on.
      Spawn s{.argv = {"/bin/sh", "-c", "ulimit -Sn " + half + " && exec \"$@\"", "sh", kBoxjail}};
      if (mode != "default") s.argv.push_back("--" + mode);
      if (mode != "detach") s.argv.push_back("--die-with-parent");
      s.argv.insert(s.argv.end(), sc.flags.begin(), sc.flags.end());
      s.argv.insert(s.argv.end(), {"--rlimit", "nofile=" + hard + ":", "--rlimit", "core=0", "--fd",
                                   "5=1", "--pidfile", pidfile, "--status-fd", "7", kProbe});
      s.fds = {{7, st[1]}};
      s.listen_fds = 0;  // socket activation: the environment step
      s.env = {"BOXJAIL_FAIL_STEP=" + sc.step + ":5"};
      Proc p(s);
      close(st[1]);
      const std::string status = read_to_eof(st[0]);
      close(st[0]);
      Result r = p.wait();
      const std::string where = sc.step + " in " + mode;
      EXPECT_EQ(r.code(), sc.step == "exec" ? 126 : 125) << where << ": " << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << where << ": " << r.err;
      EXPECT_NE(r.err.find("Input/output error"), std::string::npos) << where << ": " << r.err;
      EXPECT_EQ(r.out, "") << where;        // the probe never ran
      if ((sc.step == "exec" || sc.step == "seccomp") && mode == "no-fork") {
        // The start line precedes seccomp and execve; the failure follows.
        const std::string what = sc.step == "exec" ? "cannot execute '" + kProbe + "'"
                                                   : "seccomp: loading the filter";
        EXPECT_NE(status.find("{\"child-pid\": "), std::string::npos) << status;
        EXPECT_NE(status.find("\n{\"error\": \"" + what + ": Input/output error\", "
                              "\"exit-code\": " + (sc.step == "exec" ? "126" : "125") + "}\n"),
                  std::string::npos)
            << status;
      } else {
        EXPECT_EQ(status, "") << where;  // no start line
      }
      EXPECT_TRUE(std::filesystem::is_empty(d.path)) << where;  // no PID, lock or temp file
      ++cases;
    }
  }
  EXPECT_EQ(cases, 38 + (identity ? 3 : 0) + (netns ? 3 : 0));
  RecordProperty("step_faults", cases);
}

TEST(Faults, StepFailureNamesTheStep) {
  if (!fault_injection_built()) GTEST_SKIP() << "boxjail built without BOXJAIL_FAULT_INJECTION";
  Result r = run({.argv = {kBoxjail, kProbe}, .env = {"BOXJAIL_FAIL_STEP=session:1"}});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: setup step 'session' failed: Operation not permitted\n");
  r = run({.argv = {kBoxjail, "--no-fork", kProbe}, .env = {"BOXJAIL_FAIL_STEP=exec:2"}});
  EXPECT_EQ(r.code(), 127);
}

TEST(Faults, StoppedAndContinuedTargetIsWaitedFor) {
  Proc p({.argv = {kBoxjail, "/bin/sh", "-c", "echo ready; sleep 0.5; exit 7"}});
  ASSERT_EQ(p.read_line(), "ready\n");
  // Find the target: boxjail's only child.
  std::string kids = slurp("/proc/" + std::to_string(p.pid()) + "/task/" +
                           std::to_string(p.pid()) + "/children");
  pid_t target = std::atoi(kids.c_str());
  ASSERT_GT(target, 0);
  kill(target, SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_TRUE(alive(target));  // stopped, not gone; boxjail still waits
  kill(target, SIGCONT);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 7);
}

TEST(Faults, ReadOnlyPidfileDirectoryIsRefusedUpFront) {
  TempDir d;
  if (std::string why = sysdeny_unavailable({"--ro", d.path}); !why.empty()) GTEST_SKIP() << why;
  for (const auto& mode : all_modes()) {
    Spawn s{.argv = {kSysdeny, "--ro", d.path, "--", kBoxjail}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {"--pidfile", d.path + "/box.pid", kProbe});
    Result r = run(s);
    EXPECT_EQ(r.code(), 125) << mode_label(mode);
    EXPECT_EQ(r.err, "boxjail: --pidfile " + d.path + "/box.pid: lock file .box.pid.lock: " +
                         "Read-only file system\n");
    EXPECT_EQ(r.out, "");
  }
}

TEST(Faults, PidfileDirectoryRemovedMidRun) {
  TempDir d;
  std::string dir = d.path + "/run";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  Proc p({.argv = {kBoxjail, "--pidfile", dir + "/box.pid", kProbe, "--wait"}});
  parse_probe(p.read_line());
  for (int i = 0; i < 1000 && slurp(dir + "/box.pid").empty(); ++i) usleep(10000);
  std::filesystem::remove_all(dir);
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 100 + SIGTERM);  // the target's status still comes through
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one warning
  EXPECT_NE(r.err.find("boxjail: --pidfile " + dir + "/box.pid"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace

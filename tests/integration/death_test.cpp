// Deaths explained, end to end: the probe runs into a real limit, and
// boxjail's exit status, its one line at the default log level and the
// --status-fd end event say which limit it was.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "harness.h"

namespace {

using namespace harness;
using json = nlohmann::json;

// boxjail --status-fd 3 ARGS..., and the start and end events.
Result with_status(std::vector<std::string> args, json* start, json* end) {
  std::vector<std::string> argv = {kBoxjail, "--status-fd", "3"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string piped;
  Result r = run_with_pipe({.argv = argv}, 3, &piped);
  const size_t nl = piped.find('\n');
  *start = json::parse(piped.substr(0, nl), nullptr, false);
  *end = nl == std::string::npos ? json() : json::parse(piped.substr(nl + 1), nullptr, false);
  return r;
}

std::string who(const json& start) {
  return "'" + kProbe + "' (pid " + std::to_string(start["child-pid"].get<int>()) + ")";
}

long lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

// A cgroup of its own under each hierarchy the test needs, removed after.
class Death : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "boxjail-death-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  void TearDown() override {
    for (const auto& c : {"memory", "pids", ""}) {
      const std::string m = cgroup_mount(c);
      if (!m.empty()) rmdir((m + "/" + name_).c_str());
    }
  }
  // "" when boxjail can make cgroups in the v1 hierarchy of `controller`.
  static std::string v1_unavailable(const std::string& controller) {
    const std::string m = cgroup_mount(controller);
    if (m.empty()) return "needs the " + controller + " controller mounted as a cgroup v1 hierarchy";
    const std::string probe = m + "/boxjail-death-check";
    if (mkdir(probe.c_str(), 0755) != 0)
      return "needs write access to " + m + " (" + strerror(errno) + "; root)";
    rmdir(probe.c_str());
    return "";
  }
  std::string name_;
};

TEST_F(Death, TheCgroupMemoryLimitIsNamed) {
  if (std::string why = v1_unavailable("memory"); !why.empty()) GTEST_SKIP() << why;
  json start, end;
  // v2 names on the v1 hierarchy; no swap either, so that the limit is met
  // by the OOM killer and not by swapping.
  Result r = with_status({"--cgroup", name_, "--cgroup-set", "memory.max=32M", "--cgroup-set",
                          "memory.swap.max=0", "--", kProbe, "--alloc", "512"},
                         &start, &end);
  EXPECT_EQ(r.signal(), SIGKILL) << r.status << r.err;
  EXPECT_EQ(r.out, "");
  const std::string dir = cgroup_mount("memory") + "/" + name_;
  EXPECT_EQ(r.err, "boxjail: " + who(start) +
                       " was killed by SIGKILL: out of memory at the cgroup's limit (--cgroup-set "
                       "memory.max=32M, --cgroup-set memory.swap.max=0); the OOM killer ended 1 "
                       "process in " + dir + "\n");
  EXPECT_EQ(end["signal"], SIGKILL);
  EXPECT_EQ(end["reason"], "memory") << end;
  EXPECT_EQ(end["reason-limit"], "--cgroup-set memory.max=32M, --cgroup-set memory.swap.max=0");
  EXPECT_LE(end["cgroup-peak-memory-bytes"].get<int64_t>(), 32ll << 20) << end;
}

TEST_F(Death, PidsMaxIsNamedWhenProgramFailsForIt) {
  if (std::string why = v1_unavailable("pids"); !why.empty()) GTEST_SKIP() << why;
  json start, end;
  Result r = with_status({"--cgroup", name_, "--cgroup-set", "pids.max=5", "--", kProbe,
                          "--fork-until-fail", "--exit", "3"},
                         &start, &end);
  ASSERT_EQ(r.code(), 3) << r.err;
  EXPECT_EQ(parse_probe(r.out)["forked"], 4);  // the probe and four children: five
  EXPECT_EQ(r.err, "boxjail: " + who(start) +
                       " exited with status 3 after the cgroup's process limit (--cgroup-set "
                       "pids.max=5) refused 1 fork in " + cgroup_mount("pids") + "/" + name_ +
                       "\n");
  EXPECT_EQ(end["reason"], "pids") << end;
  EXPECT_EQ(end["reason-limit"], "--cgroup-set pids.max=5");
  // A PROGRAM that copes with the refusal (exit 0) ends silently.
  r = with_status({"--cgroup", name_, "--cgroup-set", "pids.max=5", "--", kProbe,
                   "--fork-until-fail"},
                  &start, &end);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(end.contains("reason")) << end;
}

TEST(DeathRlimit, HardCpuLimitKills) {
  json start, end;
  Result r = with_status({"--rlimit", "cpu=1", "--", kProbe, "--burn", "5000"}, &start, &end);
  EXPECT_EQ(r.signal(), SIGKILL) << r.status << r.err;
  EXPECT_EQ(r.err, "boxjail: " + who(start) +
                       " was killed by SIGKILL: it used up its CPU time (--rlimit cpu=1: hard "
                       "limit 1 s)\n");
  EXPECT_EQ(end["reason"], "cpu") << end;
  EXPECT_EQ(end["reason-limit"], "--rlimit cpu=1");
}

TEST(DeathRlimit, SoftCpuLimitSendsSigxcpu) {
  json start, end;
  Result r = with_status({"--rlimit", "core=0", "--rlimit", "cpu=1:3", "--", kProbe, "--burn",
                          "5000"},
                         &start, &end);
  EXPECT_EQ(r.signal(), SIGXCPU) << r.status << r.err;
  EXPECT_EQ(r.err, "boxjail: " + who(start) +
                       " was killed by SIGXCPU: it used up its CPU time (--rlimit cpu=1:3: soft "
                       "limit 1 s)\n");
  EXPECT_EQ(end["reason"], "cpu") << end;
}

TEST(DeathRlimit, FileSizeLimit) {
  TempDir d;
  json start, end;
  Result r = with_status({"--rlimit", "core=0", "--rlimit", "fsize=1M", "--", kProbe, "--fill",
                          d.path + "/big", "4"},
                         &start, &end);
  EXPECT_EQ(r.signal(), SIGXFSZ) << r.status << r.err;
  struct stat st {};
  ASSERT_EQ(stat((d.path + "/big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);  // the kernel stopped it at the limit
  EXPECT_EQ(r.err, "boxjail: " + who(start) +
                       " was killed by SIGXFSZ: it wrote past its file size limit (--rlimit "
                       "fsize=1M: 1048576 bytes)\n");
  EXPECT_EQ(end["reason"], "fsize") << end;
  EXPECT_EQ(end["reason-limit"], "--rlimit fsize=1M");
}

TEST(DeathSeccomp, AKillIsCarriedOnTheEndEventAndSaidOnce) {
  std::vector<std::string> args = root_opt_in();
  // An allowlist without uname: kill-process.
  args.insert(args.end(), {"--seccomp-profile", std::string(TESTS_SOURCE_DIR) +
                           "/seccomp/probe.profile", "--", kProbe, "--uname"});
  json start, end;
  Result r = with_status(args, &start, &end);
  if (r.code() == 125) GTEST_SKIP() << "boxjail refused the policy file here: " << r.err;
  EXPECT_EQ(r.signal(), SIGSYS) << r.status << r.err;
  EXPECT_EQ(end["reason"], "seccomp") << end;
  EXPECT_FALSE(end.contains("reason-limit")) << end;
  // One line: the named denial's, or the death's when none was named.
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("called uname (63)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("killed it (kill-process)"), std::string::npos) << r.err;
}

TEST(DeathTimeout, TheEndEventSaysTimeout) {
  json start, end;
  Result r = with_status({"--timeout", "0.3", "--", "/bin/sleep", "30"}, &start, &end);
  EXPECT_EQ(r.code(), 124) << r.err;
  EXPECT_EQ(end["reason"], "timeout") << end;
  EXPECT_EQ(end["reason-limit"], "--timeout 0.3") << end;
  EXPECT_EQ(end["timeout"], true) << end;
  EXPECT_EQ(lines(r.err), 1) << r.err;  // the supervisor's, not repeated
}

TEST(DeathPlain, ExitsAndChosenSignalsStaySilent) {
  for (const auto& probe_args : std::vector<std::vector<std::string>>{
           {"--exit", "3"}, {"--kill", std::to_string(SIGTERM)}, {"--kill", std::to_string(SIGKILL)}}) {
    std::vector<std::string> args = {"--rlimit", "cpu=100", "--rlimit", "fsize=1G", "--", kProbe};
    args.insert(args.end(), probe_args.begin(), probe_args.end());
    json start, end;
    Result r = with_status(args, &start, &end);
    EXPECT_EQ(r.err, "") << probe_args[1];
    EXPECT_FALSE(end.contains("reason")) << end;
  }
}

TEST(DeathVerbose, TheEndLineNamesTheProgram) {
  Result r = boxjail({"-v", "--", kProbe, "--exit", "2"});
  ASSERT_EQ(r.code(), 2);
  const int pid = parse_probe(r.out)["pid"].get<int>();
  EXPECT_NE(r.err.find("boxjail: '" + kProbe + "' (pid " + std::to_string(pid) +
                       ") exited with status 2 after "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("PROGRAM (pid"), std::string::npos) << r.err;
}

}  // namespace

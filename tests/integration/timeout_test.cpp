// --timeout DURATION[:SIGNAL] end to end. Each test asserts the order of
// events (PROGRAM was ready, then its handler saw the signal, then boxjail
// exited 124), never how long anything took: the limits are short only so
// that the suite stays quick.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "harness.h"
#include "privilege.h"

using namespace harness;
using nlohmann::json;

namespace {

// The --status-fd end line (the last line).
json end_line(const std::string& piped) {
  std::string s = piped;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return json::parse(s.substr(s.rfind('\n') + 1));
}

Result with_status(std::vector<std::string> args, std::string* piped) {
  Spawn s{.argv = {kBoxjail, "--status-fd", "3"}};
  s.argv.insert(s.argv.end(), args.begin(), args.end());
  return run_with_pipe(s, 3, piped);
}

// A shell that says it is ready once its TERM handler is in place.
const std::string kCatchTerm =
    "trap 'echo term; exit 3' TERM; echo ready; while :; do sleep 0.01; done";

TEST(Timeout, SleepingProgramGetsTermAndBoxjailExits124) {
  std::string piped;
  Result r = with_status({"--timeout", "1s", "--", "/bin/sh", "-c", kCatchTerm}, &piped);
  EXPECT_EQ(r.out, "ready\nterm\n");  // ready first, then the handler ran
  EXPECT_EQ(r.code(), 124) << r.err;
  json end = end_line(piped);
  EXPECT_EQ(end["timeout"], true) << piped;
  EXPECT_EQ(end["exit-code"], 3) << piped;  // PROGRAM's own status
  // At the default level, one line says so.
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("boxjail: --timeout 1s: PROGRAM (pid ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(") reached its time limit: SIGTERM to it, SIGKILL after 2000 ms\n"),
            std::string::npos)
      << r.err;
}

TEST(Timeout, BothWaysOfWaitingKeepTheTime) {
  // Plain: sigtimedwait(). A seccomp listener (named denials) or the
  // audit log make the supervisor poll() a signalfd: the timerfd is
  // polled beside it.
  std::vector<std::string> listener = root_opt_in();
  listener.insert(listener.end(), {"--seccomp-deny", "uname"});
  for (const auto& extra : {std::vector<std::string>{}, listener}) {
    std::vector<std::string> args = extra;
    args.insert(args.end(), {"--timeout", "500ms:INT", "--", kProbe, "--wait"});
    std::string piped;
    Result r = with_status(args, &piped);
    const std::string where = extra.empty() ? "sigtimedwait" : "poll";
    ASSERT_FALSE(r.out.empty()) << where << ": " << r.err;
    parse_probe(r.out);  // the probe ran, then waited
    EXPECT_EQ(r.code(), 124) << where << ": " << r.err;
    json end = end_line(piped);
    EXPECT_EQ(end["exit-code"], 100 + SIGINT) << where << ": " << piped;  // it got SIGINT
    EXPECT_EQ(end["timeout"], true) << where;
  }
}

TEST(Timeout, ProgramThatOutlivesTheSignalGetsKillAfterTheGrace) {
  std::string piped;
  Result r = with_status({"-v", "--timeout", "1s", "--reap-grace", "0.2", "--", "/bin/sh", "-c",
                          "trap 'echo term-ignored' TERM; echo ready; while :; do sleep 0.01; done"},
                         &piped);
  EXPECT_EQ(r.out, "ready\nterm-ignored\n");
  EXPECT_EQ(r.code(), 124) << r.err;
  json end = end_line(piped);
  EXPECT_EQ(end["signal"], SIGKILL) << piped;
  EXPECT_EQ(end["timeout"], true);
  const size_t limit = r.err.find("reached its time limit: SIGTERM to it, SIGKILL after 200 ms");
  const size_t kill = r.err.find("still runs after the grace: SIGKILL to it");
  ASSERT_NE(limit, std::string::npos) << r.err;
  ASSERT_NE(kill, std::string::npos) << r.err;
  EXPECT_LT(limit, kill);
  EXPECT_NE(r.err.find("the time limit (--timeout) ended it: exit status 124"), std::string::npos)
      << r.err;
}

TEST(Timeout, KillAsTheSignalNeedsNoGrace) {
  std::string piped;
  Result r = with_status({"--timeout", "500ms:KILL", "--", kProbe, "--wait"}, &piped);
  parse_probe(r.out);
  EXPECT_EQ(r.code(), 124);
  EXPECT_EQ(end_line(piped)["signal"], SIGKILL);
  EXPECT_NE(r.err.find("reached its time limit: SIGKILL to it\n"), std::string::npos) << r.err;
}

TEST(Timeout, SignalGroupSendsItToTheWholeGroup) {
  // The child has a TERM handler; the parent (PROGRAM) waits for it. Only
  // a signal to the group reaches the child while PROGRAM lives.
  const std::string script =
      "( trap 'echo child-term; exit 0' TERM; echo ready; while :; do sleep 0.01; done ) & "
      "trap 'echo parent-term' TERM; wait; wait; echo parent-done";
  std::string piped;
  Result r = with_status({"--signal-group", "--timeout", "1s", "--", "/bin/sh", "-c", script},
                         &piped);
  EXPECT_EQ(r.code(), 124) << r.err;
  ASSERT_EQ(r.out.rfind("ready\n", 0), 0u) << r.out;
  const size_t child = r.out.find("child-term\n"), done = r.out.find("parent-done\n");
  ASSERT_NE(child, std::string::npos) << r.out;
  ASSERT_NE(done, std::string::npos) << r.out;
  EXPECT_LT(child, done);
  EXPECT_NE(r.out.find("parent-term\n"), std::string::npos) << r.out;
  EXPECT_EQ(end_line(piped)["exit-code"], 0);
  EXPECT_NE(r.err.find("SIGTERM to its process group"), std::string::npos) << r.err;
}

TEST(Timeout, CgroupSendsItToWhatLeftTheGroup) {
  const std::string v2 = cgroup_mount("");
  if (v2.empty()) GTEST_SKIP() << "no cgroup v2 hierarchy is mounted here";
  const std::string name = "boxjail-test-" + std::to_string(getpid()) + "-timeout";
  if (mkdir((v2 + "/" + name).c_str(), 0755) != 0)
    GTEST_SKIP() << "needs write access to the cgroup hierarchy (" << strerror(errno) << ")";
  rmdir((v2 + "/" + name).c_str());
  const char* setsid = access("/usr/bin/setsid", X_OK) == 0 ? "/usr/bin/setsid"
                       : access("/bin/setsid", X_OK) == 0   ? "/bin/setsid"
                                                            : nullptr;
  if (!setsid) GTEST_SKIP() << "needs setsid(1) (util-linux)";
  // The child leaves PROGRAM's process group (and session); the cgroup
  // still holds it.
  const std::string script =
      std::string(setsid) +
      " sh -c 'trap \"echo escaped-term; exit 0\" TERM; echo ready; "
      "while :; do sleep 0.01; done' & "
      "trap 'echo parent-term' TERM; wait; wait; echo parent-done";
  std::string piped;
  Result r = with_status({"--cgroup", name, "--timeout", "1s", "--", "/bin/sh", "-c", script},
                         &piped);
  EXPECT_EQ(r.code(), 124) << r.err;
  const size_t escaped = r.out.find("escaped-term\n"), done = r.out.find("parent-done\n");
  ASSERT_NE(escaped, std::string::npos) << r.out;
  ASSERT_NE(done, std::string::npos) << r.out;
  EXPECT_LT(escaped, done);
  EXPECT_NE(r.err.find("SIGTERM to it and the processes it started in its cgroup"),
            std::string::npos)
      << r.err;
  EXPECT_NE(access((v2 + "/" + name).c_str(), F_OK), 0);  // removed after, as always
}

TEST(Timeout, ProgramThatEndsInTimeKeepsItsStatus) {
  std::string piped;
  Result r = with_status({"--timeout", "1h", "--", "/bin/sh", "-c", "exit 7"}, &piped);
  EXPECT_EQ(r.code(), 7) << r.err;
  EXPECT_EQ(r.err, "");
  json end = end_line(piped);
  EXPECT_EQ(end["timeout"], false);
  EXPECT_EQ(end["exit-code"], 7);
  // Without --timeout, the end line has no such field.
  r = with_status({"--", "/bin/true"}, &piped);
  EXPECT_FALSE(end_line(piped).contains("timeout"));
}

TEST(Timeout, RefusedWithoutASupervisor) {
  for (const std::string mode : {"--detach", "--no-fork"}) {
    Result r = boxjail({mode, "--timeout", "1s", "--", kProbe});
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "boxjail: --timeout cannot be combined with " + mode +
                         " (no supervisor stays to end PROGRAM; --rlimit cpu=SECONDS limits CPU "
                         "time, not wall-clock time)\n");
  }
}

TEST(Timeout, BadValuesAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {"5x", "boxjail: --timeout 5x: not a duration (more than 0 and at most 10000d, up to three "
             "decimals: 30, 1.5, 500ms, 2m, 1h, 1d)\n"},
      {"0", "boxjail: --timeout 0: not a duration (more than 0 and at most 10000d, up to three "
            "decimals: 30, 1.5, 500ms, 2m, 1h, 1d)\n"},
      {"1s:NOPE", "boxjail: --timeout 1s:NOPE: unknown signal 'NOPE' (use a name such as TERM or "
                  "INT, or a number)\n"},
  };
  for (const auto& [value, msg] : cases) {
    Result r = boxjail({"--timeout", value, "--", kProbe});
    EXPECT_EQ(r.code(), 125) << value;
    EXPECT_EQ(r.err, msg);
    EXPECT_EQ(r.out, "");
  }
  Result r = boxjail({"--reap-grace", "1", "--", kProbe});
  EXPECT_EQ(r.err, "boxjail: --reap-grace needs --reap, --signal-group, --timeout or --ready\n");
}

TEST(Timeout, DryRunAndConfigFile) {
  Result r = boxjail({"--dry-run", "--timeout", "2m:HUP", "--reap-grace", "5", "--", "true"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["timeout"], json::parse("{\"ms\":120000,\"signal\":\"SIGHUP\",\"to\":\"PROGRAM\","
                                      "\"then\":\"SIGKILL\",\"grace_ms\":5000,\"exit_code\":124}"));
  TempDir d;
  if (std::string why = privilege::policy_files_refused_in(d.path); !why.empty())
    GTEST_SKIP() << why;
  const std::string file = d.path + "/box.toml";
  std::ofstream(file) << "timeout = \"500ms:INT\"\ncommand = [\"" << kProbe << "\", \"--wait\"]\n";
  std::string piped;
  r = with_status({"--config", file}, &piped);
  EXPECT_EQ(r.code(), 124) << r.err;
  EXPECT_EQ(end_line(piped)["exit-code"], 100 + SIGINT);
}

}  // namespace

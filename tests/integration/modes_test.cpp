// The three process modes, observed from inside the target.
#include <gtest/gtest.h>

#include <algorithm>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "harness.h"

using namespace harness;

namespace {

Spawn probe_in(const std::vector<std::string>& mode, std::vector<std::string> probe_args = {}) {
  Spawn s;
  s.argv = {kBoxjail};
  s.argv.insert(s.argv.end(), mode.begin(), mode.end());
  s.argv.push_back(kProbe);
  s.argv.insert(s.argv.end(), probe_args.begin(), probe_args.end());
  return s;
}

TEST(Modes, DefaultChildLeadsItsOwnProcessGroup) {
  Proc p(probe_in({}));
  Result r = p.wait();
  ASSERT_EQ(r.code(), 0) << r.err;
  auto j = parse_probe(r.out);
  EXPECT_NE(j["pid"], p.pid());
  EXPECT_EQ(j["ppid"], p.pid());          // boxjail stays as the supervisor
  EXPECT_EQ(j["pgid"], j["pid"]);         // its own process group
  EXPECT_EQ(j["sid"], getsid(0));  // same session as boxjail (and us)
  EXPECT_EQ(r.err, "");
}

TEST(Modes, DetachStartsANewSession) {
  Proc p(probe_in({"--detach"}));
  Result r = p.wait();
  ASSERT_EQ(r.code(), 0) << r.err;
  auto j = parse_probe(r.out);
  EXPECT_NE(j["pid"], p.pid());
  EXPECT_EQ(j["sid"], j["pid"]);
  EXPECT_EQ(j["pgid"], j["pid"]);
  EXPECT_NE(j["sid"], getsid(0));
}

TEST(Modes, NoForkExecsInPlace) {
  Proc p(probe_in({"--no-fork"}));
  Result r = p.wait();
  ASSERT_EQ(r.code(), 0) << r.err;
  auto j = parse_probe(r.out);
  EXPECT_EQ(j["pid"], p.pid());
  EXPECT_EQ(j["ppid"], getpid());
  EXPECT_EQ(j["pgid"], getpgrp());  // untouched
}

TEST(Modes, ArgumentsAfterProgramAreNotBoxjails) {
  for (const auto& mode : all_modes()) {
    Result r = run(probe_in(mode, {"--dry-run", "-d", "--", "x y"}));
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << r.err;
    auto j = parse_probe(r.out);
    EXPECT_EQ(j["argv"], (nlohmann::json{kProbe, "--dry-run", "-d", "--", "x y"}));
  }
}

TEST(Modes, ExitCodeIsPassedOn) {
  for (int code : {0, 1, 42, 124, 125, 126, 127, 255}) {
    Result r = run(probe_in({}, {"--exit", std::to_string(code)}));
    EXPECT_EQ(r.code(), code);
    r = run(probe_in({"--no-fork"}, {"--exit", std::to_string(code)}));
    EXPECT_EQ(r.code(), code);
  }
}

TEST(Modes, DetachExitsZeroWhateverProgramLaterDoes) {
  Result r = run(probe_in({"--detach"}, {"--exit", "3"}));
  EXPECT_EQ(r.code(), 0);
}

TEST(Modes, TargetStartsWithEmptySignalMaskAndInheritedIgnores) {
  for (const auto& mode : all_modes()) {
    Spawn s = probe_in(mode);
    s.ignore = {SIGINT, SIGQUIT};
    Result r = run(s);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << r.err;
    auto j = parse_probe(r.out);
    EXPECT_EQ(j["sigblk"], "0000000000000000") << mode_label(mode);
    // SIGINT is bit 1, SIGQUIT bit 2: 0x6.
    EXPECT_EQ(j["sigign"], "0000000000000006") << mode_label(mode);
  }
}

TEST(Modes, InheritedIgnoredSigchldDoesNotLoseTheStatus) {
  Spawn s = probe_in({}, {"--exit", "9"});
  s.ignore = {SIGCHLD};
  Result r = run(s);
  EXPECT_EQ(r.code(), 9) << r.err;
  // ... and the target still inherits the SIG_IGN (bit 16).
  auto j = parse_probe(r.out);
  EXPECT_EQ(j["sigign"], "0000000000010000");
}

TEST(Modes, DryRunStartsNothing) {
  TempDir d;
  std::string marker = d.path + "/started";
  for (const auto& mode : all_modes()) {
    std::vector<std::string> args = {"--dry-run", "--rlimit", "nofile=64"};
    args.insert(args.end(), mode.begin(), mode.end());
    args.insert(args.end(), {"/usr/bin/touch", marker});
    Result r = boxjail(args);
    ASSERT_EQ(r.code(), 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["program"], "/usr/bin/touch");
    EXPECT_EQ(j["argv"], (nlohmann::json{"/usr/bin/touch", marker}));
    EXPECT_EQ(j["mode"], mode.empty() ? "supervise" : mode_label(mode));
    EXPECT_EQ(j["rlimits"][0]["soft"], 64);
    EXPECT_FALSE(std::ifstream(marker).good());
  }
}

TEST(Modes, ProgramIsLookedUpInPath) {
  Spawn s;
  s.argv = {kBoxjail, "probe"};
  std::string dir = kProbe.substr(0, kProbe.rfind('/'));
  s.env = {"PATH=/nonexistent::" + dir};
  Result r = run(s);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(parse_probe(r.out)["argv"][0], "probe");
}

TEST(Modes, VersionAndHelp) {
  Result r = boxjail({"--version"});
  EXPECT_EQ(r.code(), 0);
  EXPECT_EQ(r.out.rfind("boxjail ", 0), 0u);
  r = boxjail({"-h"});
  EXPECT_EQ(r.code(), 0);
  EXPECT_NE(r.out.find("--rlimit"), std::string::npos);
}

}  // namespace

namespace {

TEST(Logging, VerboseSaysWhatHappenedAndDefaultIsSilent) {
  Result r = boxjail({"-v", kProbe, "--exit", "4"});
  ASSERT_EQ(r.code(), 4);
  auto pid = parse_probe(r.out)["pid"].get<int>();
  const std::string started =
      "boxjail: started '" + kProbe + "' as pid " + std::to_string(pid) + " (supervise)\n";
  const std::string ended = "boxjail: '" + kProbe + "' (pid " + std::to_string(pid) +
                            ") exited with status 4 after ";
  EXPECT_EQ(r.err.substr(0, started.size() + ended.size()), started + ended) << r.err;
  EXPECT_NE(r.err.find("s sys; max RSS "), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
  r = boxjail({"-vv", "--no-fork", kProbe});
  EXPECT_NE(r.err.find("boxjail: plan: {\"program\":\"" + kProbe + "\""), std::string::npos)
      << r.err;
  for (const auto& flag : {"-q", "--log-level=error"}) {
    r = boxjail({flag, kProbe, "--exit", "4"});
    EXPECT_EQ(r.code(), 4);
    EXPECT_EQ(r.err, "");
  }
}

}  // namespace

// Failures: exit status 125/126/127, one line on stderr, nothing started.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "harness.h"

using namespace harness;

namespace {

class Errors : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file("garbage", "\x7f" "ELF not really\n", 0755);
    write_file("noexec", "#!/bin/sh\n", 0644);
    write_file("nointerp", "#!/nonexistent/interpreter\n", 0755);
    write_file("script", "#!/bin/sh\necho script ran\n", 0755);
    ASSERT_EQ(symlink((dir_.path + "/nowhere").c_str(), (dir_.path + "/dangling").c_str()), 0);
  }
  void write_file(const std::string& name, const std::string& content, mode_t mode) {
    std::string p = dir_.path + "/" + name;
    std::ofstream(p) << content;
    chmod(p.c_str(), mode);
  }
  std::string path(const std::string& name) const { return dir_.path + "/" + name; }

  TempDir dir_;
};

TEST_F(Errors, ExecFailuresInEveryMode) {
  struct Case {
    std::string program;
    int code;
    std::string err;
  };
  const Case cases[] = {
      {"no-such-program-anywhere", 127,
       "boxjail: cannot execute 'no-such-program-anywhere': No such file or directory\n"},
      {path("missing"), 127,
       "boxjail: cannot execute '" + path("missing") + "': No such file or directory\n"},
      {path("dangling"), 127,
       "boxjail: cannot execute '" + path("dangling") + "': No such file or directory\n"},
      {dir_.path, 126, "boxjail: cannot execute '" + dir_.path + "': Is a directory\n"},
      {path("noexec"), 126, "boxjail: cannot execute '" + path("noexec") + "': Permission denied\n"},
      // These two pass the checks in the parent and fail at execve():
      {path("garbage"), 126,
       "boxjail: cannot execute '" + path("garbage") + "': Exec format error\n"},
      {path("nointerp"), 127,
       "boxjail: cannot execute '" + path("nointerp") +
           "': No such file or directory (the file exists: is its interpreter or dynamic "
           "loader missing?)\n"},
  };
  for (const auto& mode : all_modes()) {
    for (const auto& c : cases) {
      std::vector<std::string> args = mode;
      args.push_back(c.program);
      Result r = boxjail(args);
      EXPECT_EQ(r.code(), c.code) << mode_label(mode) << " " << c.program;
      EXPECT_EQ(r.err, c.err) << mode_label(mode);
      EXPECT_EQ(r.out, "");
    }
  }
}

TEST_F(Errors, ScriptsRun) {
  for (const auto& mode : all_modes()) {
    std::vector<std::string> args = mode;
    args.push_back(path("script"));
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 0);
    EXPECT_EQ(r.out, "script ran\n");
  }
}

TEST_F(Errors, NoForkReportsOnTheOriginalStderrAfterRemapping) {
  // After --fd 2=1 the process's stderr is stdout, but the report still
  // goes where boxjail's stderr pointed.
  Result r = boxjail({"--no-fork", "--fd", "2=1", path("garbage")});
  EXPECT_EQ(r.code(), 126);
  EXPECT_EQ(r.err, "boxjail: cannot execute '" + path("garbage") + "': Exec format error\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(Errors, UsageErrors) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{}, "boxjail: missing PROGRAM (usage: boxjail [OPTIONS] [--] PROGRAM [ARGS...])\n"},
      {{"--rlimit", "nofile=1"}, "boxjail: missing PROGRAM (usage: boxjail [OPTIONS] [--] PROGRAM [ARGS...])\n"},
      {{"--detach", "--no-fork", "true"}, "boxjail: --detach cannot be combined with --no-fork\n"},
      {{"-v", "-q", "true"}, "boxjail: --verbose cannot be combined with --quiet\n"},
      {{"--bogus", "true"}, "boxjail: unknown option '--bogus' (see boxjail --help; put PROGRAM after --)\n"},
      {{"--rlimit", "nofile=2048:1024", "true"},
       "boxjail: --rlimit nofile=2048:1024: soft limit above hard limit\n"},
      {{"--rlimit", "bogus=1", "true"},
       "boxjail: --rlimit bogus=1: unknown limit 'bogus' (known: as core cpu data fsize locks "
       "memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack)\n"},
      {{"--log-level", "loud", "true"},
       "boxjail: --log-level loud: unknown level (use trace, debug, info, warn, error or off)\n"},
  };
  for (const auto& [args, want] : cases) {
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, want);
    EXPECT_EQ(r.out, "");
  }
  Result r = boxjail({"--rlimit"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("--rlimit"), std::string::npos) << r.err;
}

TEST_F(Errors, LogLevelOffSilencesErrorsButNotTheStatus) {
  Result r = boxjail({"--log-level", "off", "no-such-program-anywhere"});
  EXPECT_EQ(r.code(), 127);
  EXPECT_EQ(r.err, "");
}

}  // namespace

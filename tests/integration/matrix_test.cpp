// The bad-input matrix: every flag crossed with malformed values. Each case
// must exit with the contracted status, print exactly one line on stderr
// that names the flag (or PROGRAM), start nothing and create nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.h"

using namespace harness;

namespace {

struct Case {
  std::vector<std::string> args;  // before PROGRAM
  std::string names;              // what the error line must mention
  int code = 125;
  bool with_program = true;       // append the marker PROGRAM
};

TEST(BadInputMatrix, EveryFlagWithMalformedValues) {
  TempDir d;
  const std::string marker = d.path + "/started";
  const std::string program_dir = d.path + "/bin";
  std::filesystem::create_directory(program_dir);
  auto make = [&](const std::string& name, const std::string& body, mode_t mode) {
    std::string p = program_dir + "/" + name;
    std::ofstream(p) << body;
    chmod(p.c_str(), mode);
    return p;
  };
  const std::string noexec = make("noexec", "#!/bin/sh\ntouch " + marker + "\n", 0644);
  const std::string nointerp = make("nointerp", "#!/nonexistent/sh\n", 0755);
  const std::string dangling = program_dir + "/dangling";
  ASSERT_EQ(symlink("/nonexistent/target", dangling.c_str()), 0);
  const std::string big = "18446744073709551616";
  const std::string huge = "99999999999999999999999999";

  std::vector<Case> cases;
  auto add = [&](std::vector<std::string> args, std::string names, int code = 125) {
    cases.push_back({std::move(args), std::move(names), code});
  };
  for (const std::string& v : std::vector<std::string>{"", " ", "nofile", "nofile=", "nofile= ", "nofile=-1",
                              "nofile=" + big, "nofile=" + huge, "nofile=abc", "nofile=1x",
                              "nofile=1K", "as=1Q", "as=-1K", "nofile=5:4", "nofile=1:2:3",
                              "cpu=1d", "rttime=1h", "nice=41", "rtprio=100", "bogus=1",
                              "=1", "nofile=:", "as=16E", "nofile=unlimited",
                              "nofile=1\n2", "no\nfile=1", "nofile=\x1b[31m1"})
    add({"--rlimit", v}, "--rlimit");
  add({"--rlimit", "nofile=10", "--rlimit", "NOFILE=20"}, "--rlimit");
  for (const std::string& v : std::vector<std::string>{"", " ", "-1", "-1=2", "3=-1", big + "=1", "1=" + big, "x",
                              "3=x", "3=99", "3=4=5", "=", "20000=1", "2147483648"})
    add({"--fd", v}, "--fd");
  add({"--fd", "3=1", "--fd", "3=2"}, "--fd");
  for (const std::string& v : std::vector<std::string>{"", " ", "-1", "x", "1", "0", "99", big})
    add({"--status-fd", v}, "--status-fd");
  add({"--status-fd", "3", "--fd", "4=3"}, "--fd");  // 3 is not open here
  for (const std::string& v : std::vector<std::string>{"FOO", "0", "-1", "65", "SIG", "9x", " KILL"})
    add({"--die-with-parent=" + v}, "--die-with-parent");
  add({"--detach", "--die-with-parent"}, "--detach");
  for (const std::string& v : std::vector<std::string>{"", "loud", " info", "INFO"})
    add({"--log-level", v}, "--log-level");
  for (const std::string& v : std::vector<std::string>{"", "/", d.path + "/", "/nonexistent/dir/x.pid", "x/.."})
    add({"--pidfile", v}, "--pidfile");
  add({"--detach", "--no-fork"}, "--detach");
  add({"-v", "-q"}, "--verbose");
  add({"--log-level", "info", "-v"}, "--log-level");
  add({"--bogus"}, "--bogus");
  add({"--rlimit"}, "--rlimit");
  add({"--check-pidfile", ""}, "--check-pidfile");
  for (const std::string& v : std::vector<std::string>{"", " ", "tcp:1", "unix", "unix:", "file:",
                                                       "fd:", "fd:1", "fd:x", "fd:" + big,
                                                       "fd:3\n"})
    add({"--ready", v}, "--ready");
  for (const std::string& v : std::vector<std::string>{"", "0", "x", "-1", "1.2345", "1w"})
    add({"--ready", "file:/x", "--ready-timeout", v}, "--ready");
  add({"--ready-timeout", "3"}, "--ready-timeout");
  add({"--stop-timeout", "3"}, "--stop-timeout");
  add({"--stop", d.path + "/box.pid"}, "--stop");
  cases.push_back({{}, "missing PROGRAM", 125, false});
  cases.push_back({{program_dir}, program_dir, 126, false});
  cases.push_back({{noexec}, noexec, 126, false});
  cases.push_back({{dangling}, dangling, 127, false});
  cases.push_back({{nointerp}, nointerp, 127, false});
  cases.push_back({{"no-such-program-anywhere"}, "no-such-program-anywhere", 127, false});

  int n = 0;
  for (const auto& mode : all_modes()) {
    for (const auto& c : cases) {
      std::vector<std::string> args = mode;
      bool pidfile_flag = false;
      for (const auto& a : c.args) pidfile_flag |= a == "--pidfile";
      if (!pidfile_flag) args.insert(args.end(), {"--pidfile", d.path + "/box.pid"});
      args.insert(args.end(), c.args.begin(), c.args.end());
      if (c.with_program) args.insert(args.end(), {"/usr/bin/touch", marker});
      Spawn s{.argv = {kBoxjail}};
      s.argv.insert(s.argv.end(), args.begin(), args.end());
      s.env = {"PATH=:/nonexistent::" + program_dir};  // empty entries: the working directory
      Result r = run(s);
      std::string what = mode_label(mode);
      for (const auto& a : c.args) what += " [" + a + "]";
      EXPECT_EQ(r.code(), c.code) << what << ": " << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": " << r.err;
      EXPECT_EQ(r.err.rfind("boxjail: ", 0), 0u) << what << ": " << r.err;
      EXPECT_NE(r.err.find(c.names), std::string::npos) << what << ": " << r.err;
      EXPECT_FALSE(std::filesystem::exists(marker)) << what;
      std::filesystem::remove(marker);
      for (const auto& e : std::filesystem::directory_iterator(d.path)) {
        std::string name = e.path().filename();
        EXPECT_TRUE(name == "bin" || name == "started") << what << ": left " << name;
      }
      ++n;
    }
  }
  RecordProperty("matrix_cases", n);
  std::printf("bad-input matrix: %d cases\n", n);
}

}  // namespace

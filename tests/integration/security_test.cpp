// Attacks on the PID file, the environment, and a setuid install.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"
#include "privilege.h"

using namespace harness;

namespace {

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) v.push_back(line);
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Security, SymlinkSwappedInAtPidfileNeverRedirectsTheWrite) {
  TempDir d;
  const std::string victim = d.path + "/victim", path = d.path + "/box.pid";
  std::ofstream(victim) << "precious\n";
  // An attacker that keeps putting a symlink to the victim at PATH.
  pid_t attacker = fork();
  if (attacker == 0) {
    for (;;) {
      unlink(path.c_str());
      if (symlink(victim.c_str(), path.c_str()) != 0) usleep(10);
    }
  }
  int started = 0, refused = 0;
  for (int i = 0; i < 100; ++i) {
    Result r = run({.argv = {kBoxjail, "--pidfile", path, "/bin/true"}});
    if (r.code() == 0) ++started;
    if (r.code() == 125) ++refused;
  }
  kill(attacker, SIGKILL);
  waitpid(attacker, nullptr, 0);
  EXPECT_EQ(started + refused, 100);
  EXPECT_EQ(slurp(victim), "precious\n");
  struct stat st {};
  ASSERT_EQ(stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST(Security, WorldWritableDirectoryIsRefused) {
  TempDir d;
  std::string open_dir = d.path + "/open";
  ASSERT_EQ(mkdir(open_dir.c_str(), 0777), 0);
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  Result r = boxjail({"--pidfile", open_dir + "/box.pid", kProbe});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --pidfile " + open_dir + "/box.pid: directory " + open_dir +
                       " is world-writable without the sticky bit; anyone could replace the file\n");
  EXPECT_EQ(r.out, "");
}

TEST(Security, ForeignPidfileIsRefused) {
  TempDir d;
  std::string foreign = d.path + "/foreign.pid";
  std::ofstream(foreign) << "1\n1\n";
  if (std::string why = privilege::give_away(foreign, 65534, 65534); !why.empty())
    GTEST_SKIP() << why;
  Result r = boxjail({"--pidfile", foreign, kProbe});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("owned by uid 65534"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Security, EnvironmentReachesTheTargetUnchanged) {
  Spawn plain{.argv = {"/usr/bin/env"}, .env = {"ODD=a b\tc", "EMPTY="}};
  std::string want = run(plain).out;
  ASSERT_FALSE(want.empty());
  for (const auto& mode : all_modes()) {
    Spawn s{.argv = {kBoxjail}, .env = plain.env};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {"--rlimit", "core=0", "/usr/bin/env"});
    Result r = run(s);
    ASSERT_EQ(r.code(), 0) << r.err;
    EXPECT_EQ(sorted_lines(r.out), sorted_lines(want)) << mode_label(mode);
  }
}

TEST(Security, SetuidInstallIsRefused) {
  TempDir d;
  ASSERT_EQ(chmod(d.path.c_str(), 0755), 0);
  const std::string copy = d.path + "/boxjail";
  std::filesystem::copy_file(kBoxjail, copy);
  if (std::string why = privilege::give_away(copy, 0, 0); !why.empty()) GTEST_SKIP() << why;
  ASSERT_EQ(chmod(copy.c_str(), 04755), 0);
  if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
  // Run it as nobody: real uid 65534, effective uid 0 through the setuid bit.
  Result r = run({.argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                           "--clear-groups", copy, "/bin/true"}});
  if (r.err.find("refusing") == std::string::npos && r.code() == 0)
    GTEST_SKIP() << "setuid bits are ignored here (nosuid mount?)";
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: refusing to run set-user-ID or set-group-ID (real uid 65534, "
                   "effective uid 0); install boxjail without the setuid and setgid bits\n");
}

}  // namespace

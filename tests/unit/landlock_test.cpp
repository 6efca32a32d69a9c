#include "boxjail/landlock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "boxjail/cli.h"
#include "boxjail/execdeps.h"
#include "fake_system.h"

namespace boxjail {
namespace {

using landlock::LandlockPlan;

class LandlockCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/boxjail-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/file") << "x";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  bool check(const Options& o, LandlockPlan* plan, std::string* err, int cap = -1) {
    char* env[] = {nullptr};
    return landlock::check(o, sys_, false, "/bin/true", env, cap, plan, err);
  }

  testing::FakeSystem sys_;
  std::string dir_;
};

TEST(LandlockRights, PerAbi) {
  EXPECT_EQ(landlock::fs_rights_of_abi(0), 0u);
  EXPECT_EQ(landlock::fs_rights_of_abi(1), 0x1fffu);
  EXPECT_EQ(landlock::fs_rights_of_abi(2), 0x3fffu);
  EXPECT_EQ(landlock::fs_rights_of_abi(4), 0x7fffu);
  EXPECT_EQ(landlock::fs_rights_of_abi(5), 0xffffu);
  EXPECT_EQ(landlock::fs_rights_of_abi(7), 0xffffu);
  EXPECT_EQ(landlock::fs_names(landlock::kRo), "read_file,read_dir");
  EXPECT_EQ(landlock::fs_names(landlock::kRwx), landlock::fs_names(0xffff));
  EXPECT_EQ(landlock::net_names(3), "bind_tcp,connect_tcp");
  EXPECT_EQ(landlock::scope_names(2), "signal");
}

TEST_F(LandlockCheck, NoFlagsNoPlan) {
  Options o;
  LandlockPlan p;
  std::string err;
  ASSERT_TRUE(check(o, &p, &err));
  EXPECT_FALSE(p.requested);
  EXPECT_FALSE(p.active);
}

TEST_F(LandlockCheck, MergesByInodeAndMasksFiles) {
  Options o;
  o.fs_ro = {dir_, dir_ + "/file"};
  o.fs_rw = {dir_ + "/."};
  o.fs_rwx = {dir_ + "/file"};
  LandlockPlan p;
  std::string err;
  ASSERT_TRUE(check(o, &p, &err)) << err;
  ASSERT_EQ(p.paths.size(), 2u);
  EXPECT_TRUE(p.paths[0].is_dir);
  EXPECT_EQ(p.paths[0].access, landlock::kRw);
  EXPECT_EQ(p.paths[0].flags, "--fs-ro --fs-rw");
  EXPECT_FALSE(p.paths[1].is_dir);
  EXPECT_EQ(p.paths[1].access, landlock::kRwx & landlock::kFileRights);
  EXPECT_EQ(p.handled_fs, 0xffffu);
  EXPECT_EQ(p.handled_net, 0u);
}

TEST_F(LandlockCheck, PortsAndScopes) {
  Options o;
  o.net_bind = {"80", "8000-8001"};
  o.net_connect = {"80"};
  o.scopes = {"unix,signal"};
  LandlockPlan p;
  std::string err;
  ASSERT_TRUE(check(o, &p, &err)) << err;
  ASSERT_EQ(p.ports.size(), 3u);
  EXPECT_EQ(p.ports[0].port, 80);
  EXPECT_EQ(p.ports[0].access, landlock::kBindTcp | landlock::kConnectTcp);
  EXPECT_EQ(p.ports[2].port, 8001);
  EXPECT_EQ(p.handled_fs, 0u);
  EXPECT_EQ(p.handled_net, 3u);
  EXPECT_EQ(p.scoped, 3u);
  for (const char* bad : {"", "-1", "65536", "08", "1-", "2-1", "x"}) {
    Options b;
    b.net_connect = {bad};
    LandlockPlan q;
    EXPECT_FALSE(check(b, &q, &err)) << bad;
    EXPECT_EQ(err, std::string("--net-connect ") + bad +
                       ": not a port or a range (PORT or FIRST-LAST, 0 to 65535)");
  }
}

TEST_F(LandlockCheck, KernelWithoutLandlock) {
  sys_.abi = -EOPNOTSUPP;
  Options o;
  o.scopes = {"signal"};
  LandlockPlan p;
  std::string err;
  EXPECT_FALSE(check(o, &p, &err));
  EXPECT_EQ(err, "--scope: Landlock is not available: Operation not supported (Landlock is "
                 "disabled at boot) (--landlock=best-effort would drop it with a warning)");
  o.landlock_mode = "best-effort";
  o.has_landlock_mode = true;
  LandlockPlan q;
  ASSERT_TRUE(check(o, &q, &err));
  EXPECT_FALSE(q.active);
  ASSERT_EQ(q.dropped.size(), 1u);
  EXPECT_EQ(q.dropped[0], "every Landlock rule: Landlock is not available: Operation not "
                          "supported (Landlock is disabled at boot)");
}

TEST_F(LandlockCheck, CapBelowTheRealAbi) {
  Options o;
  o.fs_rw = {dir_};
  o.landlock_log = true;
  o.landlock_mode = "best-effort";
  o.has_landlock_mode = true;
  LandlockPlan p;
  std::string err;
  ASSERT_TRUE(check(o, &p, &err, 3)) << err;
  EXPECT_EQ(p.abi, 3);
  EXPECT_EQ(p.paths[0].access, landlock::kRw & ~landlock::kIoctlDev);
  EXPECT_EQ(p.restrict_flags, 0u);
  ASSERT_EQ(p.dropped.size(), 2u);
  EXPECT_EQ(p.dropped[1], "--landlock-log needs Landlock ABI 7, this kernel has ABI 3; "
                          "PROGRAM's denials will not be logged");
}

TEST(ExecDeps, DynamicProgramScriptsAndErrors) {
  char* env[] = {const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
  std::vector<execdeps::Dep> deps;
  std::string err;
  ASSERT_TRUE(execdeps::resolve("/bin/sh", env, &deps, &err)) << err;
  ASSERT_GE(deps.size(), 4u);
  EXPECT_EQ(deps[0].path, "/bin/sh");
  EXPECT_EQ(deps[1].path, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(deps[2].path, "/etc/ld.so.cache");
  EXPECT_FALSE(deps[2].exec);
  bool libc = false;
  for (const auto& d : deps) libc |= d.path.find("/libc.so.6") != std::string::npos;
  EXPECT_TRUE(libc);

  char tmpl[] = "/tmp/boxjail-unit-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/env-script") << "#!/usr/bin/env sh\n";
  std::ofstream(dir + "/text") << "hello\n";
  std::ofstream(dir + "/loop") << "#!" + dir + "/loop\n";
  deps.clear();
  ASSERT_TRUE(execdeps::resolve(dir + "/env-script", env, &deps, &err)) << err;
  std::vector<std::string> paths;
  for (const auto& d : deps) paths.push_back(d.path);
  ASSERT_GE(paths.size(), 3u);
  EXPECT_EQ(paths[0], dir + "/env-script");
  EXPECT_EQ(paths[1], "/usr/bin/env");
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/usr/bin/sh"), paths.end());
  EXPECT_FALSE(execdeps::resolve(dir + "/text", env, &deps, &err));
  EXPECT_EQ(err, "'" + dir + "/text' (PROGRAM) is neither an ELF file nor a #! script");
  EXPECT_FALSE(execdeps::resolve(dir + "/loop", env, &deps, &err));
  EXPECT_EQ(err, "'" + dir + "/loop': more than four levels of #! interpreters");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace boxjail

// --netns PATH: what is a network namespace and what is not, the messages,
// the re-check at launch, the dry run and the child's step.
#include "boxjail/netns.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "boxjail/child.h"
#include "boxjail/plan.h"
#include "fake_system.h"

namespace boxjail {
namespace {

const std::string kHint = " (use /run/netns/NAME from `ip netns add NAME`, or /proc/PID/ns/net)";

std::string check_error(const std::string& path, bool admin = true) {
  testing::FakeSystem sys;
  sys.cap_sys_admin = admin;
  Options o;
  o.netns = path;
  o.has_netns = true;
  netns::NetnsPlan plan;
  std::string err;
  EXPECT_FALSE(netns::check(o, sys, &plan, &err)) << path;
  EXPECT_FALSE(plan.active);
  return err;
}

ino_t inode_of(const char* path) {
  struct stat st {};
  EXPECT_EQ(stat(path, &st), 0) << path;
  return st.st_ino;
}

TEST(Netns, OurOwnNamespaceIsOne) {
  testing::FakeSystem sys;
  sys.cap_sys_admin = true;
  Options o;
  o.netns = "/proc/self/ns/net";
  o.has_netns = true;
  netns::NetnsPlan plan;
  std::string err;
  ASSERT_TRUE(netns::check(o, sys, &plan, &err)) << err;
  EXPECT_TRUE(plan.active);
  EXPECT_EQ(plan.path, "/proc/self/ns/net");
  EXPECT_EQ(plan.inode, inode_of("/proc/self/ns/net"));
  EXPECT_EQ(netns::to_json(plan),
            "{\"path\":\"/proc/self/ns/net\",\"inode\":" + std::to_string(plan.inode) + "}");
  // Opened again at launch: the same namespace, close-on-exec.
  int fd = netns::open_checked(plan, &err);
  ASSERT_GE(fd, 0) << err;
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_EQ(netns::not_a_netns(fd), "");
  close(fd);
}

TEST(Netns, AnythingElseIsRefusedSayingWhatItIs) {
  char dir[] = "/tmp/netns-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/plain";
  std::ofstream(file) << "x";
  EXPECT_EQ(check_error(file), "--netns " + file + ": not a network namespace but a regular file" + kHint);
  EXPECT_EQ(check_error(dir), "--netns " + std::string(dir) + ": not a network namespace but a directory" + kHint);
  EXPECT_EQ(check_error("/dev/null"),
            "--netns /dev/null: not a network namespace but a character device" + kHint);
  EXPECT_EQ(check_error("/proc/self/ns/mnt"),
            "--netns /proc/self/ns/mnt: not a network namespace but a mnt namespace" + kHint);
  EXPECT_EQ(check_error("/proc/self/ns/uts"),
            "--netns /proc/self/ns/uts: not a network namespace but a uts namespace" + kHint);
  EXPECT_EQ(check_error(std::string(dir) + "/missing"),
            "--netns " + std::string(dir) + "/missing: No such file or directory");
  EXPECT_EQ(check_error(""), "--netns: empty path" + kHint);
  unlink(file.c_str());
  rmdir(dir);
}

TEST(Netns, NeedsCapSysAdmin) {
  EXPECT_EQ(check_error("/proc/self/ns/net", false),
            "--netns /proc/self/ns/net: joining a network namespace needs CAP_SYS_ADMIN, which "
            "boxjail does not have (run it as root, or with that capability)");
}

TEST(Netns, ANamespaceReplacedAfterTheCheckIsRefusedAtLaunch) {
  netns::NetnsPlan plan;
  plan.active = true;
  plan.path = "/proc/self/ns/net";
  plan.dev = 1;
  plan.inode = 12345;  // not ours
  std::string err;
  EXPECT_EQ(netns::open_checked(plan, &err), -1);
  EXPECT_EQ(err, "--netns /proc/self/ns/net: it changed after it was checked (it is no longer "
                 "network namespace net:[12345])");
}

TEST(Netns, PlanAndDryRun) {
  testing::FakeSystem sys;
  sys.cap_sys_admin = true;
  Options o;
  o.command = {"/bin/true"};
  o.netns = "/proc/self/ns/net";
  o.has_netns = true;
  for (bool detach : {false, true}) {
    o.detach = detach;
    LaunchPlan plan;
    PlanError err;
    ASSERT_TRUE(build_plan(o, sys, "/usr/bin:/bin", nullptr, &plan, &err)) << err.msg;
    EXPECT_NE(plan_to_json(plan).find(",\"netns\":{\"path\":\"/proc/self/ns/net\",\"inode\":"),
              std::string::npos);
  }
  o.netns = "/proc/self/ns/mnt";
  LaunchPlan plan;
  PlanError err;
  EXPECT_FALSE(build_plan(o, sys, "/usr/bin:/bin", nullptr, &plan, &err));
  EXPECT_EQ(err.exit_code, 125);
  EXPECT_EQ(err.msg, "--netns /proc/self/ns/mnt: not a network namespace but a mnt namespace" + kHint);
}

// The step itself, in a forked child: joining our own namespace works with
// CAP_SYS_ADMIN (EPERM without it); a descriptor of another kind is EINVAL.
TEST(Netns, ChildStepJoins) {
  ChildSpec s;
  s.close_fds = false;
  s.netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(s.netns_fd, 0);
  ChildStep steps[kMaxSteps];
  size_t n = build_step_list(s, steps);
  ASSERT_EQ(n, 2u);
  ASSERT_EQ(steps[0].id, Step::kNetns);
  EXPECT_STREQ(step_name(Step::kNetns), "netns");
  EXPECT_EQ(step_by_name("netns"), static_cast<int32_t>(Step::kNetns));
  pid_t pid = fork();
  if (pid == 0) {
    int32_t detail = -1;
    int e = steps[0].fn(s, &detail);
    _exit(e == 0 ? 0 : e == EPERM ? 2 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  // Root of the initial user namespace may; elsewhere the kernel decides.
  std::ifstream map("/proc/self/uid_map");
  std::string first, second, count;
  map >> first >> second >> count;
  if (geteuid() == 0 && first == "0" && second == "0" && count == "4294967295")
    EXPECT_EQ(WEXITSTATUS(status), 0);
  else
    EXPECT_NE(WEXITSTATUS(status), 1);
  close(s.netns_fd);
  s.netns_fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
  int32_t detail = -1;
  pid = fork();
  if (pid == 0) _exit(steps[0].fn(s, &detail) == EINVAL ? 0 : 1);
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(s.netns_fd);
}

}  // namespace
}  // namespace boxjail

// --netns PATH end to end: a namespace made with `ip netns add`, with a veth
// pair (or a tap or dummy device) inside that the host does not see.
// PROGRAM, in every mode, is in that namespace and sees that device; bad
// paths are refused before anything starts; the step's failure (fault
// injection) starts nothing and leaves nothing; the descriptor stays off
// --fd targets and out of PROGRAM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.h"
#include "privilege.h"

using namespace harness;

namespace {

// iproute2's ip, or "".
std::string ip_tool() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

const std::string kHint = " (use /run/netns/NAME from `ip netns add NAME`, or /proc/PID/ns/net)";

class Netns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: `ip netns add` mounts in /run/netns";
    ip_ = ip_tool();
    if (ip_.empty()) GTEST_SKIP() << "needs iproute2's ip (apt-get install iproute2)";
    name_ = "boxjail-test-" + std::to_string(getpid());
    Result r = run({.argv = {ip_, "netns", "add", name_}});
    if (r.code() != 0)
      GTEST_SKIP() << "cannot make a network namespace here (a chroot, or a user namespace "
                      "without the right to mount in /run/netns?): "
                   << first_line(r.err);
    made_ = true;
    path_ = "/run/netns/" + name_;
    struct stat st {};
    ASSERT_EQ(stat(path_.c_str(), &st), 0);
    inode_ = st.st_ino;
    // A device only the namespace has: a veth pair, else a tap, else a dummy.
    link_ = "bjv" + std::to_string(getpid() % 10000000);
    const std::vector<std::vector<std::string>> ways = {
        {ip_, "-n", name_, "link", "add", link_, "type", "veth", "peer", "name", link_ + "p"},
        {ip_, "-n", name_, "tuntap", "add", "dev", link_, "mode", "tap"},
        {ip_, "-n", name_, "link", "add", link_, "type", "dummy"}};
    std::string why;
    for (const auto& w : ways) {
      Result l = run({.argv = w});
      if (l.code() == 0) {
        has_link_ = true;
        break;
      }
      why += (why.empty() ? "" : "; ") + first_line(l.err);
    }
    link_why_ = why;
  }
  void TearDown() override {
    if (made_) run({.argv = {ip_, "netns", "del", name_}});
  }
  std::string ip_, name_, path_, link_, link_why_;
  ino_t inode_ = 0;
  bool made_ = false, has_link_ = false;
};

TEST_F(Netns, ProgramIsInTheNamespaceInEveryMode) {
  if (!has_link_) GTEST_SKIP() << "no veth, tap or dummy device can be made here: " << link_why_;
  const std::string host_devices = slurp("/proc/net/dev");
  ASSERT_EQ(host_devices.find(link_ + ":"), std::string::npos) << "the host has " << link_;
  for (const auto& mode : all_modes()) {
    Spawn s{.argv = {kBoxjail}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    // /proc/net follows the reader's network namespace.
    s.argv.insert(s.argv.end(), {"--netns", path_, "--", "/bin/sh", "-c",
                                 "readlink /proc/self/ns/net; cat /proc/net/dev"});
    Result r = run(s);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    EXPECT_EQ(first_line(r.out), "net:[" + std::to_string(inode_) + "]") << mode_label(mode);
    EXPECT_NE(r.out.find(link_ + ":"), std::string::npos) << mode_label(mode) << ": " << r.out;
    EXPECT_EQ(r.err, "") << mode_label(mode);
  }
  // boxjail itself (and the test) stayed where they were.
  EXPECT_EQ(slurp("/proc/net/dev").find(link_ + ":"), std::string::npos);
}

// The join needs CAP_SYS_ADMIN: it comes before --user takes it away, and
// before --allow-new-privs' early Landlock and seccomp.
TEST_F(Netns, JoinsBeforeTheIdentityChange) {
  if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"--allow-new-privs"}}) {
    std::vector<std::string> args = {"--user", "nobody"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--netns", path_, "--", "/bin/readlink", "/proc/self/ns/net"});
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 0) << r.err;
    EXPECT_EQ(r.out, "net:[" + std::to_string(inode_) + "]\n") << (extra.empty() ? "" : extra[0]);
  }
}

TEST_F(Netns, AProcessNamespaceByPidWorksToo) {
  // A process that lives in the namespace: its /proc/PID/ns/net.
  Proc holder({.argv = {ip_, "netns", "exec", name_, "/bin/sh", "-c", "echo in; exec sleep 600"}});
  // `ip netns exec` mounts /sys in a mount namespace of its own, which a
  // chroot cannot give it.
  if (holder.read_line() != "in\n") {
    kill(holder.pid(), SIGKILL);
    holder.wait();
    GTEST_SKIP() << "ip netns exec cannot run a process in the namespace here (a chroot?)";
  }
  const std::string ns = "/proc/" + std::to_string(holder.pid()) + "/ns/net";
  Result r = boxjail({"--netns", ns, "--", "/bin/readlink", "/proc/self/ns/net"});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "net:[" + std::to_string(inode_) + "]\n");
  kill(holder.pid(), SIGKILL);
  holder.wait();
}

TEST_F(Netns, DryRunShowsThePathAndTheInode) {
  Result r = boxjail({"--dry-run", "--netns", path_, "--", "true"});
  ASSERT_EQ(r.code(), 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["netns"]["path"], path_);
  EXPECT_EQ(j["netns"]["inode"].get<uint64_t>(), static_cast<uint64_t>(inode_));
}

TEST_F(Netns, DescriptorStaysOffFdTargetsAndOutOfProgram) {
  // boxjail opens the namespace at the lowest free number, 3: a target
  // here, so it must move it out of the way before the moves write 3 and 4.
  Result r = boxjail({"--fd", "3=1", "--fd", "4=2", "--netns", path_, "--", kProbe});
  ASSERT_EQ(r.code(), 0) << r.err;
  auto j = parse_probe(r.out);
  EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(fd_entry(j, 3)["ino"], fd_entry(j, 1)["ino"]);
  for (const auto& f : j["fds"])
    EXPECT_EQ(f["target"].get<std::string>().rfind("net:", 0), std::string::npos) << f;
}

TEST_F(Netns, FailingStepStartsNothingAndLeavesNothing) {
  Result fi = run({.argv = {kBoxjail, "--dry-run", "true"}, .env = {"BOXJAIL_FAIL_STEP=nonsense"}});
  if (fi.code() != 125) GTEST_SKIP() << "boxjail built without BOXJAIL_FAULT_INJECTION";
  // With a cgroup too where one can be made: it is removed again.
  const std::string v2 = cgroup_mount("");
  const std::string cg = "boxjail-test-" + std::to_string(getpid()) + "-netns";
  const bool with_cgroup = !v2.empty() && access(v2.c_str(), W_OK) == 0;
  for (const auto& mode : all_modes()) {
    TempDir d;
    Spawn s{.argv = {kBoxjail}, .env = {"BOXJAIL_FAIL_STEP=netns:5"}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    if (with_cgroup) s.argv.insert(s.argv.end(), {"--cgroup", cg});
    s.argv.insert(s.argv.end(), {"--pidfile", d.path + "/box.pid", "--netns", path_, "--", kProbe});
    Result r = run(s);
    EXPECT_EQ(r.code(), 125) << mode_label(mode);
    EXPECT_EQ(r.err, "boxjail: --netns " + path_ + ": setns: Input/output error\n")
        << mode_label(mode);
    EXPECT_EQ(r.out, "") << mode_label(mode);  // the probe never ran
    EXPECT_TRUE(std::filesystem::is_empty(d.path)) << mode_label(mode);
    if (with_cgroup) {
      EXPECT_FALSE(std::filesystem::exists(v2 + "/" + cg)) << mode_label(mode);
    }
  }
}

// No root needed: the type is checked before the capability.
TEST(NetnsRefusal, NotANetworkNamespaceIsRefusedUpFrontInEveryMode) {
  TempDir d;
  const std::string file = d.path + "/plain";
  std::ofstream(file) << "not a namespace\n";
  const std::pair<std::string, std::string> cases[] = {
      {file, "--netns " + file + ": not a network namespace but a regular file" + kHint},
      {"/proc/self/ns/mnt", "--netns /proc/self/ns/mnt: not a network namespace but a mnt namespace" + kHint},
      {d.path, "--netns " + d.path + ": not a network namespace but a directory" + kHint},
      {d.path + "/missing", "--netns " + d.path + "/missing: No such file or directory"},
  };
  for (const auto& mode : all_modes()) {
    for (const auto& [path, msg] : cases) {
      Spawn s{.argv = {kBoxjail}};
      s.argv.insert(s.argv.end(), mode.begin(), mode.end());
      s.argv.insert(s.argv.end(), {"--pidfile", d.path + "/box.pid", "--netns", path, "--", kProbe});
      Result r = run(s);
      EXPECT_EQ(r.code(), 125) << mode_label(mode) << " " << path;
      EXPECT_EQ(r.err, "boxjail: " + msg + "\n") << mode_label(mode);
      EXPECT_EQ(r.out, "") << mode_label(mode);
      EXPECT_FALSE(std::filesystem::exists(d.path + "/box.pid"));
    }
  }
}

}  // namespace

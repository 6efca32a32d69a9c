// qemu's tap networking under the hardening switches, with a real guest:
//   --exec-once: the guest boots and networks, but the -netdev tap
//     downscript that qemu runs at exit (fork, then execv) never starts;
//   --netns: qemu opens a tap device that exists only in the namespace
//     (the device gets its carrier while qemu holds it), and the host never
//     sees one of that name.
// Both need root with CAP_NET_ADMIN, /dev/net/tun, qemu and the guest
// kernel; each skips naming what is missing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "guest.h"
#include "harness.h"

namespace {

using namespace harness;

std::string ip_tool() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class Tap : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = guest::unavailable(); !why.empty()) GTEST_SKIP() << why;
    if (geteuid() != 0) GTEST_SKIP() << "needs root: tap devices need CAP_NET_ADMIN";
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) GTEST_SKIP() << "cannot open /dev/net/tun here: " << std::strerror(errno);
    close(fd);
    tap_ = "bjtap" + std::to_string(getpid() % 100000);
  }
  // What qemu needs to create or open `tap_` itself: uid 0 kept knowingly,
  // with net_admin (a shim that configures its tap device, in the man page).
  const std::vector<std::string> jail_ = {"--user", "root", "--cap-keep", "net_admin"};
  std::string tap_;
};

TEST_F(Tap, ExecOnceKeepsQemuFromRunningItsNetworkScript) {
  TempDir d;
  const std::string ran = d.path + "/down.ran";
  const std::string script = d.path + "/down.sh";
  std::ofstream(script) << "#!/bin/sh\necho \"down $1\" > " << ran << "\n";
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  const std::vector<std::string> net = {"-netdev", "tap,id=n0,ifname=" + tap_ +
                                                       ",script=no,downscript=" + script,
                                        "-device", "virtio-net-device,netdev=n0"};
  // Control: in the same jail without --exec-once, qemu runs the script as
  // it takes the tap device down.
  Result c = run(guest::under_boxjail(jail_, {}, net));
  if (c.err.find("/dev/net/tun") != std::string::npos)
    GTEST_SKIP() << "qemu cannot make a tap device here: " << first_line(c.err);
  ASSERT_EQ(c.code(), 0) << c.err;
  ASSERT_NE(c.out.find(guest::kMarker), std::string::npos) << c.out;
  ASSERT_EQ(slurp(ran), "down " + tap_ + "\n");
  ASSERT_EQ(unlink(ran.c_str()), 0);

  std::vector<std::string> once = jail_;
  once.push_back("--exec-once");
  Result r = run(guest::under_boxjail(once, {}, net));
  // The guest booted with its network device, and qemu ended normally...
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find(guest::kMarker), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reboot: Power down"), std::string::npos) << r.out;
  // ...but its script never ran: qemu's own execv failed.
  EXPECT_EQ(access(ran.c_str(), F_OK), -1) << slurp(ran);
  EXPECT_NE(r.err.find("network script " + script + " failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("called execve (59)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("denied by --exec-once; failed it with EPERM"), std::string::npos) << r.err;
}

TEST_F(Tap, NetnsQemuOpensTheTapDeviceOfTheNamespace) {
  const std::string ip = ip_tool();
  if (ip.empty()) GTEST_SKIP() << "needs iproute2's ip (apt-get install iproute2)";
  const std::string ns = "boxjail-tap-" + std::to_string(getpid());
  Result a = run({.argv = {ip, "netns", "add", ns}});
  if (a.code() != 0)
    GTEST_SKIP() << "cannot make a network namespace here (a chroot?): " << first_line(a.err);
  struct Del {
    std::string ip, ns;
    ~Del() { run({.argv = {ip, "netns", "del", ns}}); }
  } del{ip, ns};
  Result t = run({.argv = {ip, "-n", ns, "tuntap", "add", "dev", tap_, "mode", "tap"}});
  if (t.code() != 0) GTEST_SKIP() << "cannot make a tap device in a namespace: " << first_line(t.err);
  ASSERT_EQ(run({.argv = {ip, "-n", ns, "link", "set", tap_, "up"}}).code(), 0);
  auto link = [&] { return run({.argv = {ip, "-n", ns, "-o", "link", "show", tap_}}).out; };
  // Control: up, but no carrier while nobody holds it; the host has none.
  ASSERT_NE(link().find("NO-CARRIER"), std::string::npos) << link();
  const std::string host = "/sys/class/net/" + tap_;
  ASSERT_EQ(access(host.c_str(), F_OK), -1);

  std::vector<std::string> flags = jail_;
  flags.insert(flags.end(), {"--netns", "/run/netns/" + ns});
  Proc p(guest::under_boxjail(flags, {.wait = true},
                              {"-netdev", "tap,id=n0,ifname=" + tap_ + ",script=no,downscript=no",
                               "-device", "virtio-net-device,netdev=n0"}));
  ASSERT_TRUE(guest::saw_marker(p));
  // qemu holds the namespace's device; it made none on the host.
  const std::string held = link();
  EXPECT_EQ(held.find("NO-CARRIER"), std::string::npos) << held;
  EXPECT_NE(held.find("LOWER_UP"), std::string::npos) << held;
  EXPECT_EQ(access(host.c_str(), F_OK), -1);
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(link().find("NO-CARRIER"), std::string::npos) << link();
}

}  // namespace

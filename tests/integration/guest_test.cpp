// A real VM monitor under boxjail: qemu boots a Linux guest (TCG) whose
// init prints a marker on the serial console. What is asserted is what qemu
// and the guest really did: the console, /proc of the qemu process, the
// exit status boxjail passes on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "guest.h"
#include "harness.h"

namespace {

using namespace harness;

class Guest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = guest::unavailable(); !why.empty()) GTEST_SKIP() << why;
  }

  static Spawn under_boxjail(std::vector<std::string> flags, const guest::Boot& b = {}) {
    return guest::under_boxjail(flags, b);
  }
  static bool saw_marker(Proc& p) { return guest::saw_marker(p); }

  static pid_t pid_in(const std::string& pidfile) {
    return static_cast<pid_t>(std::atoi(slurp(pidfile).c_str()));
  }

  static std::string exe_of(pid_t pid) {
    char buf[4096];
    ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  static std::string limits_line(pid_t pid, const std::string& name) {
    std::string all = slurp("/proc/" + std::to_string(pid) + "/limits");
    size_t at = all.find(name);
    return at == std::string::npos ? "" : all.substr(at, all.find('\n', at) - at);
  }
};

TEST_F(Guest, PowersOffUnderTheSupervisorAndItsStatusPassesThrough) {
  TempDir d;
  Result r = run(under_boxjail({"--rlimit", "core=0", "--pidfile", d.path + "/vm.pid"}));
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find(guest::kMarker), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reboot: Power down"), std::string::npos) << r.out;
  EXPECT_EQ(access((d.path + "/vm.pid").c_str(), F_OK), -1);  // removed at the end

  // qemu's own failure (a kernel it cannot open: exit 1) is passed on.
  guest::Boot missing{.kernel = d.path + "/no-such-vmlinuz"};
  r = run(under_boxjail({}, missing));
  EXPECT_EQ(r.code(), 1) << r.err;
  EXPECT_NE(r.err.find("no-such-vmlinuz"), std::string::npos) << r.err;
}

TEST_F(Guest, SupervisedWithLimitsAndAPidFileThenSigtermToTheSupervisor) {
  TempDir d;
  const std::string pidfile = d.path + "/vm.pid";
  Proc p(under_boxjail({"--rlimit", "nofile=128", "--rlimit", "core=0", "--pidfile", pidfile},
                       {.wait = true}));
  ASSERT_TRUE(saw_marker(p));
  // The PID file names the running qemu, a child of the supervisor, and
  // qemu runs with the limits asked for.
  pid_t vm = pid_in(pidfile);
  ASSERT_GT(vm, 0) << slurp(pidfile);
  EXPECT_EQ(exe_of(vm), guest::qemu());
  std::string stat = slurp("/proc/" + std::to_string(vm) + "/stat");
  EXPECT_EQ(std::atoi(stat.c_str() + stat.rfind(')') + 4), p.pid()) << stat;  // its ppid
  EXPECT_EQ(limits_line(vm, "Max open files"),
            "Max open files            128                  128                  files     ");
  EXPECT_EQ(limits_line(vm, "Max core file size"),
            "Max core file size        0                    0                    bytes     ");
  // SIGTERM to boxjail reaches qemu, which shuts down and exits 0; boxjail
  // exits with that status and removes the PID file.
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.err.find("terminating on signal 15"), std::string::npos) << r.err;
  EXPECT_TRUE(wait_gone(vm));
  EXPECT_EQ(access(pidfile.c_str(), F_OK), -1);
}

TEST_F(Guest, DetachedWithAPidFileThatNamesQemuWhileTheGuestRuns) {
  TempDir d;
  const std::string pidfile = d.path + "/vm.pid";
  Proc p(under_boxjail({"--detach", "--pidfile", pidfile}, {.wait = true}));
  // boxjail has exited by the time the console speaks; qemu, in a session
  // of its own, keeps the console pipe.
  ASSERT_TRUE(saw_marker(p));
  pid_t vm = pid_in(pidfile);
  ASSERT_GT(vm, 0) << slurp(pidfile);
  EXPECT_EQ(exe_of(vm), guest::qemu());
  EXPECT_EQ(getsid(vm), vm);
  EXPECT_TRUE(alive(vm));
  EXPECT_EQ(slurp(pidfile), std::to_string(vm) + "\n" + start_time_of(vm) + "\n");
  kill(vm, SIGTERM);
  EXPECT_TRUE(wait_gone(vm));
  Result r = p.wait();
  EXPECT_EQ(r.code(), 0) << r.err;
}

TEST_F(Guest, ConsoleOnARemappedDescriptor) {
  // The test's pipe sits at descriptor 5 in boxjail; qemu gets it as 3 and
  // writes the serial console to /dev/fd/3.
  std::string text;
  Result r = run_with_pipe(under_boxjail({"--fd", "3=5"}, {.serial = "file:/dev/fd/3"}), 5, &text);
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(text.find(guest::kMarker), std::string::npos) << text;
  EXPECT_EQ(r.out.find(guest::kMarker), std::string::npos) << r.out;
}

}  // namespace

// --profile qemu end to end: the test guest boots under the built-in
// profile as nobody, with the rules boxjail derives from qemu's command
// line and nothing else; QMP and SIGTERM survive its filter; a helper exec'd
// under the same profile cannot read /etc/passwd; --dry-run names the
// source of every rule. What is asserted is what qemu, the guest and the
// kernel did: the console, QMP's answers, exit statuses, errnos.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "guest.h"
#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;
using json = nlohmann::json;

const std::string kProfileProbe = PROFILE_PROBE_BIN;
constexpr uid_t kNobody = 65534;

// The guest's kernel and initramfs, copied where nobody can read them
// (mode 0644 in a directory of mode 0755), and a directory of nobody's own
// for what qemu makes (its console log, PID file and QMP socket).
struct GuestFiles {
  GuestFiles() {
    chmod(dir.path.c_str(), 0755);
    kernel = dir.path + "/vmlinuz";
    initrd = dir.path + "/initrd.cpio";
    std::filesystem::copy_file(guest::kernel(), kernel);
    std::filesystem::copy_file(guest::initrd(), initrd);
    chmod(kernel.c_str(), 0644);
    chmod(initrd.c_str(), 0644);
    run = dir.path + "/run";
    mkdir(run.c_str(), 0755);
  }
  TempDir dir;
  std::string kernel, initrd, run;
};

class ProfileQemu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = guest::unavailable(); !why.empty()) GTEST_SKIP() << why;
    if (std::string why = privilege::can_become(kNobody); !why.empty()) GTEST_SKIP() << why;
    // The profile sets nofile=1024; above a lower hard limit only
    // CAP_SYS_RESOURCE may raise it (boxjail refuses, naming the key).
    rlimit nofile{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    if (nofile.rlim_max < 1024 && !have_cap_sys_resource())
      GTEST_SKIP() << "the qemu profile's rlimit nofile=1024 is above this hard limit ("
                   << nofile.rlim_max << "), and raising it needs CAP_SYS_RESOURCE";
    files_ = std::make_unique<GuestFiles>();
    if (std::string why = privilege::give_away(files_->run, kNobody, static_cast<gid_t>(-1));
        !why.empty())
      GTEST_SKIP() << why;
  }

  // boxjail --profile qemu --user nobody FLAGS... -- qemu ... (the test
  // guest from the copies).
  Spawn under_profile(std::vector<std::string> flags, guest::Boot b,
                      std::vector<std::string> more = {}) {
    b.kernel = files_->kernel;
    flags.insert(flags.begin(), {"--profile", "qemu", "--user", "nobody"});
    Spawn s = guest::under_boxjail(flags, b, more);
    for (std::string& a : s.argv)
      if (a == guest::initrd()) a = files_->initrd;
    return s;
  }

  static bool saw_marker(Proc& p) { return guest::saw_marker(p); }

  std::unique_ptr<GuestFiles> files_;
};

// A QMP client on a unix socket: one JSON object a line.
class Qmp {
 public:
  explicit Qmp(const std::string& path) {
    for (int i = 0; i < 600 && fd_ < 0; ++i) {
      int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      path.copy(a.sun_path, sizeof a.sun_path - 1);
      if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        fd_ = s;
        break;
      }
      close(s);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~Qmp() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  // The next line, or "" at EOF or after 60 s.
  std::string line() {
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 60000) != 1) return "";
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) return "";
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  // Sends {"execute": CMD} and returns the answer (events skipped).
  json execute(const std::string& cmd) {
    const std::string msg = json{{"execute", cmd}}.dump() + "\n";
    if (write(fd_, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return nullptr;
    for (;;) {
      std::string l = line();
      if (l.empty()) return nullptr;
      json j = json::parse(l, nullptr, false);
      if (j.contains("return") || j.contains("error")) return j;
    }
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

// The Landlock rules of a --dry-run plan, by path.
json rule_at(const json& plan, const std::string& path) {
  for (const auto& r : plan["sources"]["rules"]["landlock"])
    if (r["path"] == path) return r;
  return nullptr;
}

TEST_F(ProfileQemu, TheGuestBootsAsNobodyWithTheProfileAndNothingElse) {
  // Nothing but the profile and what qemu's argv names: no --fs-* flag.
  Spawn s = under_profile({}, {});
  Result r = run(s);
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find(guest::kMarker), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reboot: Power down"), std::string::npos) << r.out;

  // And those are all the rules it had.
  s.argv.insert(s.argv.begin() + 1, "--dry-run");
  r = run(s);
  ASSERT_EQ(r.code(), 0) << r.err;
  json plan = json::parse(r.out);
  for (const auto& rule : plan["sources"]["rules"]["landlock"]) {
    const std::string from = rule["sources"][0];
    EXPECT_EQ(rule["sources"].size(), 1u) << rule;
    EXPECT_TRUE(from == "profile qemu" || from == "qemu -kernel" || from == "qemu -initrd") << rule;
  }
  EXPECT_EQ(rule_at(plan, files_->kernel)["sources"], json::array({"qemu -kernel"}));
  EXPECT_EQ(rule_at(plan, files_->initrd)["sources"], json::array({"qemu -initrd"}));
  EXPECT_EQ(plan["identity"]["uid"], kNobody) << plan["identity"];
}

TEST_F(ProfileQemu, AReadOfEtcPasswdFromInsideTheProfileIsDenied) {
  // The helper, exec'd under the same profile as qemu (its own binary and
  // libraries are what fs-exec-deps gives it, as for qemu).
  Result r = run({.argv = {kBoxjail, "--profile", "qemu", "--user", "nobody", "--", kProfileProbe,
                           "read:/etc/passwd", "read:/usr/share/qemu/bios-microvm.bin", "tcp"}});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "read:/etc/passwd 13\n"                      // EACCES: Landlock
                   "read:/usr/share/qemu/bios-microvm.bin 0\n"  // the profile's own rule
                   "tcp 97\n")                                   // EAFNOSUPPORT: net-deny
      << r.err;
  // The control: the same helper, the same user, no profile.
  r = run({.argv = {kBoxjail, "--user", "nobody", "--", kProfileProbe, "read:/etc/passwd", "tcp"}});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "read:/etc/passwd 0\ntcp 0\n") << r.err;
}

TEST_F(ProfileQemu, QmpQueryStatusAndQuitSurviveTheProfile) {
  const std::string sock = files_->run + "/qmp.sock";
  Proc p(under_profile({}, {.wait = true}, {"-qmp", "unix:" + sock + ",server=on,wait=off"}));
  ASSERT_TRUE(saw_marker(p));
  Qmp qmp(sock);
  ASSERT_TRUE(qmp.connected());
  json hello = json::parse(qmp.line(), nullptr, false);
  ASSERT_TRUE(hello.contains("QMP")) << hello;
  EXPECT_TRUE(qmp.execute("qmp_capabilities").contains("return"));
  json status = qmp.execute("query-status");
  EXPECT_EQ(status["return"]["status"], "running") << status;
  EXPECT_TRUE(qmp.execute("quit").contains("return"));
  Result r = p.wait();
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.err.find("seccomp"), std::string::npos) << r.err;
}

TEST_F(ProfileQemu, SigtermShutdownSurvivesTheProfile) {
  // The console goes to a file qemu makes, and qemu writes its own PID
  // file: both from rules derived from -serial file: and -pidfile.
  const std::string console = files_->run + "/console.log";
  const std::string qemu_pid = files_->run + "/qemu.pid";
  const std::string pidfile = files_->dir.path + "/vm.pid";
  Proc p(under_profile({"--pidfile", pidfile}, {.wait = true, .serial = "file:" + console},
                       {"-pidfile", qemu_pid}));
  bool up = false;
  for (int i = 0; i < guest::kBootTimeoutMs / 100 && !up; ++i) {
    up = slurp(console).find(guest::kMarker) != std::string::npos;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << slurp(console);
  const pid_t vm = static_cast<pid_t>(std::atoi(slurp(qemu_pid).c_str()));
  EXPECT_EQ(std::to_string(vm), slurp(pidfile).substr(0, slurp(pidfile).find('\n')));
  // SIGTERM to boxjail reaches qemu, which shuts down and exits 0.
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.err.find("terminating on signal 15"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("seccomp"), std::string::npos) << r.err;
  EXPECT_TRUE(wait_gone(vm));
}

TEST_F(ProfileQemu, DryRunShowsEveryRulesSource) {
  TempDir d;
  const std::string conf = d.path + "/box.toml";
  std::ofstream(conf) << "fs-ro = [\"" << d.path << "\"]\nseccomp-allow = [\"kill\"]\n";
  const std::string sock = files_->run + "/qmp.sock";
  Result r = boxjail({"--dry-run", "--config", conf, "--profile", "qemu", "--user", "nobody",
                      "--fs-rw", files_->run, "--seccomp-allow", "getppid", "--",
                      guest::qemu(), "-kernel", files_->kernel, "-initrd", files_->initrd,
                      "-qmp", "unix:" + sock + ",server=on,wait=off", "-serial", "stdio"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json plan = json::parse(r.out);
  const json& rules = plan["landlock"]["rules"];
  const json& sources = plan["sources"]["rules"]["landlock"];
  ASSERT_EQ(sources.size(), rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    EXPECT_EQ(sources[i]["path"], rules[i]["path"]);
    EXPECT_FALSE(sources[i]["sources"].empty()) << sources[i];
  }
  EXPECT_EQ(rule_at(plan, "/usr/share/qemu")["sources"], json::array({"profile qemu"}));
  EXPECT_EQ(rule_at(plan, d.path)["sources"], json::array({"config " + conf}));
  EXPECT_EQ(rule_at(plan, files_->kernel)["sources"], json::array({"qemu -kernel"}));
  EXPECT_EQ(rule_at(plan, files_->kernel)["arguments"],
            json::array({"-kernel " + files_->kernel}));
  // The socket's directory: named on the command line, and by -qmp.
  const json run_rule = rule_at(plan, files_->run);
  EXPECT_EQ(run_rule["sources"], json::array({"command line", "qemu -qmp"})) << run_rule;
  EXPECT_EQ(run_rule["arguments"], json::array({"-qmp unix:" + sock + ",server=on,wait=off"}));
  // Every seccomp rule, the profile's, the config's and the command line's.
  const json& calls = plan["sources"]["rules"]["seccomp"];
  ASSERT_EQ(calls.size(), plan["seccomp"]["rules"].size());
  std::map<std::string, json> by_call;
  for (const auto& c : calls) {
    EXPECT_FALSE(c["sources"].empty()) << c;
    by_call[c["syscall"]] = c["sources"];
  }
  EXPECT_EQ(by_call["futex"], json::array({"profile qemu"}));
  EXPECT_EQ(by_call["io_uring_setup"], json::array({"profile qemu"}));
  EXPECT_EQ(by_call["getppid"], json::array({"command line"}));
  // The command line's --seccomp-allow replaces the config's, as ever.
  EXPECT_EQ(by_call.count("kill"), 0u);
  EXPECT_EQ(plan["profile"]["name"], "qemu");
  EXPECT_EQ(plan["sources"]["net-deny"], "profile qemu");
}

TEST_F(ProfileQemu, RefusedWithoutUserAndForAMissingKernel) {
  Result r = boxjail({"--profile", "qemu", "--", guest::qemu(), "-kernel", files_->kernel});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err,
            "boxjail: --profile qemu needs --user: the profile keeps qemu away from root's files "
            "only when it runs as another user (such as --user nobody; better, a user of the VM's "
            "own: see boxjail(1), Profiles)\n");
  r = boxjail({"--profile", "qemu", "--user", "nobody", "--", guest::qemu(), "-kernel",
               files_->dir.path + "/none"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --profile qemu: qemu -kernel " + files_->dir.path + "/none: " +
                       files_->dir.path + "/none: No such file or directory (qemu reads it; the "
                       "path must exist)\n");
}

}  // namespace

// contrib/systemd: every unit passes `systemd-analyze verify` with nothing
// to say; every ExecStart is a command line boxjail accepts (with the
// example config); and the socket-activated pair forwards a connection
// through the real systemd-socket-proxyd under boxjail.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"
#include "privilege.h"

using namespace harness;
namespace fs = std::filesystem;

namespace {

const std::string kContrib = TESTS_SOURCE_DIR "/../contrib";

std::vector<std::string> units() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kContrib + "/systemd")) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

// The unit's text with the installed binary's path replaced by the built
// one (verify checks that ExecStart's program exists and is executable).
std::string unit_text(const std::string& name) {
  std::string text = slurp(kContrib + "/systemd/" + name);
  for (size_t at; (at = text.find("/usr/bin/boxjail")) != std::string::npos;)
    text.replace(at, 16, kBoxjail);
  return text;
}

// ExecStart's words, continuation lines joined, %i and %n expanded.
std::vector<std::string> exec_start(const std::string& name, const std::string& instance) {
  std::string text = unit_text(name), joined;
  for (size_t at; (at = text.find("\\\n")) != std::string::npos;) text.replace(at, 2, " ");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("ExecStart=", 0) == 0) joined = line.substr(10);
  std::string unit = name;
  if (size_t at = unit.find("@."); at != std::string::npos) unit.insert(at + 1, instance);
  for (size_t at; (at = joined.find("%i")) != std::string::npos;) joined.replace(at, 2, instance);
  for (size_t at; (at = joined.find("%n")) != std::string::npos;) joined.replace(at, 2, unit);
  std::vector<std::string> words;
  std::istringstream w(joined);
  for (std::string x; w >> x;) words.push_back(x);
  return words;
}

// Where systemd-analyze is, or "".
std::string systemd_analyze() {
  for (const char* p : {"/usr/bin/systemd-analyze", "/bin/systemd-analyze"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

struct Verify {
  int code;
  std::string output;
};

// systemd-analyze verify on copies of the units in a scratch directory,
// templates instantiated as box1.
Verify verify(const TempDir& dir, const std::vector<std::string>& names) {
  Spawn s;
  s.argv = {systemd_analyze(), "verify", "--man=no"};
  for (const auto& n : names) {
    std::ofstream(dir.path + "/" + n) << unit_text(n);
    std::string inst = n;
    if (size_t at = inst.find("@."); at != std::string::npos) {
      inst.insert(at + 1, "box1");
      fs::create_symlink(n, dir.path + "/" + inst);
    }
    s.argv.push_back(dir.path + "/" + inst);
  }
  s.env = {"SYSTEMD_LOG_LEVEL=notice", "SYSTEMD_LOG_COLOR=0"};
  Result r = run(s);
  return {r.code(), r.out + r.err};
}

TEST(Units, TheExamplesAreThere) {
  const std::vector<std::string> want = {"boxjail-cgroup@.service", "boxjail-forking@.service",
                                         "boxjail-proxy.service", "boxjail-proxy.socket",
                                         "boxjail@.service"};
  EXPECT_EQ(units(), want);
}

TEST(Units, SystemdAnalyzeVerifyHasNothingToSay) {
  if (systemd_analyze().empty()) GTEST_SKIP() << "systemd-analyze (Debian package systemd) is not installed";
  for (const auto& name : units()) {
    TempDir dir;
    std::vector<std::string> names = {name};
    // A socket and its service are verified together.
    if (name == "boxjail-proxy.service") names.push_back("boxjail-proxy.socket");
    if (name == "boxjail-proxy.socket") names.push_back("boxjail-proxy.service");
    Verify v = verify(dir, names);
    EXPECT_EQ(v.code, 0) << name << ": " << v.output;
    EXPECT_EQ(v.output, "") << name;
  }
  // The check can fail: a misspelt setting and a missing program are
  // reported.
  TempDir dir;
  std::ofstream(dir.path + "/broken.service")
      << "[Service]\nTyp=exec\nExecStart=/nonexistent/boxjail -- true\n";
  Spawn s;
  s.argv = {systemd_analyze(), "verify", "--man=no", dir.path + "/broken.service"};
  Result r = run(s);
  EXPECT_NE(r.code(), 0);
  EXPECT_NE((r.out + r.err).find("Typ"), std::string::npos) << r.out << r.err;
}

TEST(Units, EveryExecStartIsAcceptedWithTheExampleConfig) {
  // The example config, with its VM directory made real and the paths it
  // needs present; each unit's command line, as systemd would run it, must
  // pass boxjail's validation (--dry-run).
  if (access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
    GTEST_SKIP() << "qemu-system-x86_64 (Debian package qemu-system-x86) is not installed";
  if (access("/usr/lib/x86_64-linux-gnu/qemu", F_OK) != 0 || access("/usr/share/qemu", F_OK) != 0)
    GTEST_SKIP() << "qemu's module and data directories are not installed";
  // The example config and the proxy run PROGRAM as nobody, as root would.
  if (std::string why = privilege::can_become(65534); !why.empty())
    GTEST_SKIP() << "the units run PROGRAM as nobody: " << why;
  TempDir dir;
  std::string config = slurp(kContrib + "/config/box1.toml");
  for (size_t at; (at = config.find("/var/lib/boxjail/box1")) != std::string::npos;)
    config.replace(at, 21, dir.path);
  // Its nofile=1024, within a lower hard limit (raising one needs
  // CAP_SYS_RESOURCE, which a unit has and this test may not).
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_max < 1024 && config.find("nofile=1024") != std::string::npos)
    config.replace(config.find("nofile=1024"), 11, "nofile=" + std::to_string(nofile.rlim_max));
  std::ofstream(dir.path + "/box1.toml") << config;
  std::ofstream(dir.path + "/vmlinuz") << "kernel";
  std::ofstream(dir.path + "/initrd") << "initrd";
  const std::string cgroup_mounted = slurp("/proc/self/mountinfo").find(" - cgroup") != std::string::npos ? "yes" : "";
  size_t checked = 0;
  for (const auto& name : units()) {
    if (name.find(".service") == std::string::npos) continue;
    std::vector<std::string> argv = exec_start(name, "box1");
    ASSERT_FALSE(argv.empty()) << name;
    EXPECT_EQ(argv[0], kBoxjail) << name;
    for (auto& a : argv)
      if (a == "/etc/boxjail/box1.toml") a = dir.path + "/box1.toml";
      else if (a == "/run/boxjail/box1/box.pid") a = dir.path + "/box.pid";
    argv.insert(argv.begin() + 1, "--dry-run");
    Spawn s;
    s.argv = argv;
    Result r = run(s);
    if (name.find("cgroup") != std::string::npos && cgroup_mounted.empty()) {
      EXPECT_EQ(r.code(), 125);
      continue;
    }
    EXPECT_EQ(r.code(), 0) << name << ": " << r.err;
    if (r.code() != 0) continue;
    auto plan = nlohmann::json::parse(r.out);
    if (name.find("proxy") == std::string::npos) {
      EXPECT_EQ(plan["program"], "/usr/bin/qemu-system-x86_64") << name;
      EXPECT_EQ(plan["sources"]["command"], dir.path + "/box1.toml") << name;
      EXPECT_EQ(plan["sources"]["fs-exec-deps"], dir.path + "/box1.toml") << name;
    }
    ++checked;
  }
  EXPECT_GE(checked, 3u);
}

int listen_on_loopback(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

TEST(Units, SocketActivatedPairForwardsThroughBoxjail) {
  // The .service's own command line, with the VM's port replaced by a
  // server of the test's, gets a listening socket as systemd passes it
  // (descriptor 3, LISTEN_FDS=1, LISTEN_PID=boxjail's pid). A connection to
  // that socket must reach the server through systemd-socket-proxyd running
  // under boxjail's Landlock rules.
  const char* proxyd = "/lib/systemd/systemd-socket-proxyd";
  if (access(proxyd, X_OK) != 0) GTEST_SKIP() << proxyd << " (Debian package systemd) is not installed";
  if (syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u) < 6)
    GTEST_SKIP() << "the unit's Landlock rules need ABI 6 (TCP rules and scopes)";
  if (std::string why = privilege::can_become(65534); !why.empty())
    GTEST_SKIP() << "the unit runs the proxy as nobody: " << why;
  uint16_t server_port = 0, front_port = 0;
  int server = listen_on_loopback(&server_port);
  int front = listen_on_loopback(&front_port);
  ASSERT_GE(server, 0);
  ASSERT_GE(front, 0);
  // accept() gives up in time if boxjail or the proxy never connects.
  timeval accept_timeout{20, 0};
  setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &accept_timeout, sizeof accept_timeout);
  std::vector<std::string> argv = exec_start("boxjail-proxy.service", "");
  for (auto& a : argv) {
    if (a == "2222") a = std::to_string(server_port);
    if (a == "127.0.0.1:2222") a = "127.0.0.1:" + std::to_string(server_port);
  }
  Spawn s;
  s.argv = argv;
  s.fds = {{3, front}};
  s.listen_fds = 1;
  Proc p(s);
  close(front);

  std::thread echo([&] {
    int c = accept4(server, nullptr, nullptr, SOCK_CLOEXEC);
    char buf[16] = {};
    ssize_t n = c >= 0 ? read(c, buf, sizeof buf) : -1;
    if (n > 0) (void)!write(c, "pong:", 5), (void)!write(c, buf, static_cast<size_t>(n));
    if (c >= 0) close(c);
  });
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(front_port);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(write(client, "ping", 4), 4);
  timeval tv{20, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[64];
  for (ssize_t n; (n = read(client, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(client);
  echo.join();
  close(server);
  EXPECT_EQ(got, "pong:ping");
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  EXPECT_EQ(r.signal(), SIGTERM) << r.err;
}

}  // namespace

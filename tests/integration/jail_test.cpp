// Secure by default, from the attacker's side: tests/attack makes the
// attack a hostile PROGRAM would make, first without boxjail (the control:
// it must work here, or the test skips saying what is missing), then inside
// a box, where it must fail. What is asserted is what the target saw: the
// errno the attack got, /proc, a file's state, or a loopback server outside
// the box that must receive nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;
using json = nlohmann::json;
using Args = std::vector<std::string>;

const std::string kAttack = ATTACK_BIN;
const Args kSetprivNobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                             "--clear-groups"};

// ---- who the box runs as -----------------------------------------------------

// Whether uid 0 here is uid 0 of the parent user namespace: the host's
// root, as far as this process can tell.
bool host_root() {
  if (geteuid() != 0) return false;
  std::istringstream in(slurp("/proc/self/uid_map"));
  long inside = 0, outside = 0, count = 0;
  while (in >> inside >> outside >> count)
    if (inside == 0) return outside == 0;
  return true;  // no /proc: assume the worst
}

// How a box is confined here without running PROGRAM as host root, and how
// to run a plain process with the same identity for the controls.
struct Jail {
  Args flags;  // --user nobody as host root, else --no-new-privs
  Args plain;  // prefix for a control with PROGRAM's identity but no boxjail
  bool nobody = false;
  std::string unavailable;  // why no box can be confined here
};

const Jail& jail() {
  static const Jail j = [] {
    Jail r;
    if (!host_root()) {
      r.flags = {"--no-new-privs"};
      return r;
    }
    if (std::string why = privilege::can_become(65534); !why.empty()) {
      r.unavailable = "this is the host's uid 0, which boxjail refuses to confine without "
                      "--user, and --user nobody is impossible: " + why;
      return r;
    }
    r.flags = {"--user", "nobody"};
    r.plain = kSetprivNobody;
    r.nobody = true;
    return r;
  }();
  return j;
}

#define NEED_JAIL()                                               \
  do {                                                            \
    if (!jail().unavailable.empty()) GTEST_SKIP() << jail().unavailable; \
  } while (0)

Args cat(std::initializer_list<Args> parts) {
  Args v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

Result run_argv(const Args& argv) { return run(Spawn{.argv = argv}); }

// boxjail MODE... JAIL... FLAGS... -- attack ARGS...
Args box_argv(const Args& mode, const Args& flags, const Args& attack) {
  return cat({{kBoxjail}, mode, jail().flags, flags, {"--", kAttack}, attack});
}
Result box(const Args& flags, const Args& attack, const Args& mode = {}) {
  return run_argv(box_argv(mode, flags, attack));
}
// The control: attack ARGS with PROGRAM's identity, no boxjail.
Result plain(const Args& attack) { return run_argv(cat({jail().plain, {kAttack}, attack})); }
// attack ARGS as the test process itself.
Result direct(const Args& attack) { return run_argv(cat({{kAttack}, attack})); }

// The attack's report: the first output line that is one.
json report(const std::string& out) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    try {
      json j = json::parse(line);
      if (j.contains("op")) return j;
    } catch (const std::exception&) {
    }
  }
  return json::object();
}
json report(const Result& r) { return report(r.out); }

std::string show(const Result& r) {
  return "exit " + std::to_string(r.code()) + " signal " + std::to_string(r.signal()) +
         "; stdout: " + r.out + " stderr: " + r.err;
}
std::string errno_text(int e) { return std::to_string(e) + " (" + strerror(e) + ")"; }

// The attack worked: the control. (Its report, not the exit status: with
// --detach that is boxjail's own.)
#define EXPECT_WORKED(r, ctx)                                                  \
  do {                                                                         \
    const Result& r_ = (r);                                                    \
    EXPECT_EQ(report(r_).value("ok", false), true) << (ctx) << ": " << show(r_); \
  } while (0)

// PROGRAM ran (boxjail did not refuse: there is a report) and the attack
// failed with errno E.
#define EXPECT_FAILED_WITH(r, e, ctx)                                                   \
  do {                                                                                  \
    const Result& r_ = (r);                                                             \
    json j_ = report(r_);                                                               \
    EXPECT_EQ(j_.value("ok", true), false) << (ctx) << ": " << show(r_);                \
    EXPECT_EQ(j_.value("errno", -1), (e))                                               \
        << (ctx) << ": wanted " << errno_text(e) << ", got " << j_.value("errno", -1)   \
        << " at " << j_.value("detail", std::string()) << "; " << show(r_);             \
  } while (0)

// A directory nobody can traverse, with a file nobody can read.
struct OpenDir {
  OpenDir() {
    chmod(tmp.path.c_str(), 0755);
    file = tmp.path + "/file";
    std::ofstream(file) << "content\n";
    chmod(file.c_str(), 0644);
    // Where PROGRAM (whoever it runs as) may create files.
    rw = tmp.path + "/rw";
    mkdir(rw.c_str(), 0777);
    chmod(rw.c_str(), 0777);
  }
  TempDir tmp;
  std::string file, rw;
};

// ---- system settings a test needs, put back afterwards ---------------------------

struct Sysctl {
  Sysctl(std::string path, const std::string& want) : path_(std::move(path)) {
    present = access(path_.c_str(), F_OK) == 0;
    if (!present) return;
    was = slurp(path_);
    while (!was.empty() && was.back() == '\n') was.pop_back();
    if (was == want) {
      value = was;
      return;
    }
    std::ofstream(path_) << want << "\n";
    value = slurp(path_);
    while (!value.empty() && value.back() == '\n') value.pop_back();
    changed = value == want;
  }
  ~Sysctl() {
    if (changed) std::ofstream(path_) << was << "\n";
  }
  bool present = false, changed = false;
  std::string was, value;

 private:
  std::string path_;
};

// ---- a loopback server outside every box -----------------------------------------

class Server {
 public:
  Server(int family, int type, int proto, bool fastopen = false)
      : stream_(type == SOCK_STREAM) {
    fd_ = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
    if (fd_ < 0) {
      error = std::string("socket: ") + strerror(errno);
      return;
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET6) {
      auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
      sa->sin6_family = AF_INET6;
      sa->sin6_addr = in6addr_loopback;
      len = sizeof *sa;
    } else {
      auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
      sa->sin_family = AF_INET;
      sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *sa;
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      error = std::string("bind to ") + (family == AF_INET6 ? "::1" : "127.0.0.1") + ": " +
              strerror(errno);
      return;
    }
    if (stream_) {
      int qlen = 8;
      if (fastopen && setsockopt(fd_, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof qlen) != 0) {
        error = std::string("setsockopt TCP_FASTOPEN: ") + strerror(errno);
        return;
      }
      if (listen(fd_, 16) != 0) {
        error = std::string("listen: ") + strerror(errno);
        return;
      }
    }
    len = sizeof ss;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                    : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  ~Server() {
    for (int c : conns_) close(c);
    if (fd_ >= 0) close(fd_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::string p() const { return std::to_string(port); }
  // A port nothing of this server's listens on.
  std::string other() const { return std::to_string(port == 65535 ? port - 1 : port + 1); }

  // Everything that arrived since the last call. expect: until the payload
  // did (or a timeout). Else what is there now, each connection read to its
  // end: the attacker has exited, so whatever it made is already queued.
  std::string received(bool expect) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(expect ? 10 : 5);
    for (;;) {
      pump();
      if (expect ? got_.find("PWNED") != std::string::npos : conns_.empty()) break;
      if (std::chrono::steady_clock::now() > deadline) break;
      std::vector<pollfd> p = {{fd_, POLLIN, 0}};
      for (int c : conns_) p.push_back({c, POLLIN, 0});
      poll(p.data(), p.size(), 20);
    }
    std::string g;
    g.swap(got_);
    for (int c : conns_) close(c);
    conns_.clear();
    return g;
  }

  std::string error;
  uint16_t port = 0;

 private:
  void pump() {
    char buf[4096];
    if (stream_) {
      for (int c; (c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0;)
        conns_.push_back(c);
      for (size_t i = 0; i < conns_.size();) {
        ssize_t n = recv(conns_[i], buf, sizeof buf, 0);
        if (n > 0) {
          got_.append(buf, static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          ++i;
          continue;
        }
        close(conns_[i]);  // EOF or reset
        conns_.erase(conns_.begin() + static_cast<long>(i));
      }
    } else {
      ssize_t n;
      while ((n = recv(fd_, buf, sizeof buf, 0)) > 0) got_.append(buf, static_cast<size_t>(n));
    }
  }
  int fd_ = -1;
  bool stream_;
  std::vector<int> conns_;
  std::string got_;
};

// ---- a.  TIOCSTI: typing into the terminal PROGRAM shares with its caller --------

std::string sh_quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}
std::string sh_join(const Args& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : " ") + sh_quote(a);
  return s;
}

struct Typed {
  json report;       // the attack's
  std::string line;  // what the shell then read from the terminal
  std::string log;   // everything else, for messages
};

// On a fresh terminal (the harness's pty, fd 0 of a session leader sh),
// `cmd` runs, then the shell reads one line from the terminal and prints it.
// The test types "END\n" once the attack has reported: the line is "END"
// unless the attack pushed input of its own in front of it. With `gated`,
// fd 3 is a pipe the test writes "go" to once `cmd` has returned (for a
// descendant that outlives PROGRAM).
Typed on_terminal(const std::string& cmd, bool gated = false) {
  Spawn s{.argv = {"/bin/sh", "-c",
                   cmd + "; echo \"done:$?\"; IFS= read -r line; printf 'got:%s\\n' \"$line\""},
          .pty = true};
  int gate[2] = {-1, -1};
  if (gated) {
    if (pipe2(gate, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe";
    s.fds[3] = gate[0];
  }
  Proc p(s);
  if (gated) close(gate[0]);
  Typed t;
  bool done = false, reported = false;
  while (!(done && reported)) {
    std::string line = p.read_line();
    if (line.empty()) break;  // EOF (or the harness's timeout, a failure)
    if (line.rfind("done:", 0) == 0) {
      done = true;
      t.log += line;
      if (gate[1] >= 0) {
        (void)!write(gate[1], "go\n", 3);
        close(gate[1]);
        gate[1] = -1;
      }
      if (line != "done:0\n" && line != "done:1\n") break;  // boxjail refused: no report
    } else if (!reported && report(line).contains("op")) {
      t.report = report(line);
      reported = true;
    } else {
      t.log += line;
    }
  }
  if (gate[1] >= 0) close(gate[1]);
  (void)!write(p.pty_master(), "END\n", 4);
  Result r = p.wait();
  t.log += r.out + r.err;
  size_t g = r.out.find("got:");
  if (g != std::string::npos) t.line = r.out.substr(g + 4, r.out.find('\n', g) - g - 4);
  else t.line = "(no line read)";
  return t;
}

class JailTiocsti : public ::testing::Test {
 protected:
  void SetUp() override {
    NEED_JAIL();
    // Since Linux 6.2, TIOCSTI needs CAP_SYS_ADMIN unless this is 1.
    legacy_ = std::make_unique<Sysctl>("/proc/sys/dev/tty/legacy_tiocsti", "1");
    if (legacy_->present && legacy_->value != "1")
      GTEST_SKIP() << "dev.tty.legacy_tiocsti is " << legacy_->was
                   << " and cannot be set to 1 (TIOCSTI then needs CAP_SYS_ADMIN)";
  }
  std::unique_ptr<Sysctl> legacy_;
};

TEST_F(JailTiocsti, InjectedInputNeverReachesTheTerminalInAnyMode) {
  const std::vector<Args> attacks = {
      {"tiocsti", "0", "XYZ"}, {"tiocsti-tty", "XYZ"}, {"tiocsti-hi", "0", "XYZ"}};
  for (const auto& a : attacks) {
    // Control: the same identity, no boxjail, types XYZ in front of END.
    Typed c = on_terminal(sh_join(cat({jail().plain, {kAttack}, a})));
    ASSERT_EQ(c.report.value("ok", false), true) << a[0] << ": " << c.report << c.log;
    ASSERT_EQ(c.line, "XYZEND") << a[0] << ": " << c.log;
  }
  for (const auto& mode : all_modes()) {
    for (const auto& a : attacks) {
      const std::string ctx = mode_label(mode) + " " + a[0];
      Typed t = on_terminal(sh_join(box_argv(mode, {}, a)));
      EXPECT_EQ(t.line, "END") << ctx << ": " << t.report << t.log;
      EXPECT_EQ(t.report.value("ok", true), false) << ctx << ": " << t.log;
      int e = t.report.value("errno", -1);
      if (mode == Args{"--detach"} && a[0] == "tiocsti-tty")
        // A new session: no controlling terminal to open.
        EXPECT_TRUE(e == EPERM || e == ENXIO) << ctx << ": " << t.report;
      else
        EXPECT_EQ(e, EPERM) << ctx << ": " << t.report;
    }
  }
}

TEST_F(JailTiocsti, ADescendantThatOutlivesProgramCannotInjectEither) {
  // PROGRAM leaves a background child waiting on fd 3 and exits; once
  // boxjail has returned, the test lets the child attack. (A background
  // job's stdin is /dev/null in sh: the terminal is kept as fd 5.)
  const std::string inner =
      "exec 5<&0; (read -r go <&3; exec " + sh_quote(kAttack) + " tiocsti 5 XYZ) & exit 0";
  Typed c = on_terminal(sh_join(cat({jail().plain, {"/bin/sh", "-c", inner}})), true);
  ASSERT_EQ(c.report.value("ok", false), true) << c.report << c.log;
  ASSERT_EQ(c.line, "XYZEND") << c.log;
  for (const auto& mode : all_modes()) {
    Args argv = cat({{kBoxjail}, mode, jail().flags, {"--fd", "3", "--", "/bin/sh", "-c", inner}});
    Typed t = on_terminal(sh_join(argv), true);
    EXPECT_EQ(t.line, "END") << mode_label(mode) << ": " << t.report << t.log;
    EXPECT_EQ(t.report.value("errno", -1), EPERM) << mode_label(mode) << ": " << t.report << t.log;
  }
}

TEST_F(JailTiocsti, TioclinuxIsRefusedBeforeTheTerminalAnswers) {
  // No virtual console here: the terminal itself says ENOTTY or EINVAL.
  Typed c = on_terminal(sh_join(cat({jail().plain, {kAttack, "tioclinux", "0"}})));
  int ce = c.report.value("errno", -1);
  ASSERT_NE(ce, EPERM) << c.report << c.log;
  ASSERT_NE(ce, -1) << c.log;
  for (const auto& mode : all_modes()) {
    Typed t = on_terminal(sh_join(box_argv(mode, {}, {"tioclinux", "0"})));
    EXPECT_EQ(t.report.value("errno", -1), EPERM) << mode_label(mode) << ": " << t.report << t.log;
  }
}

// ---- b.  io_uring: system calls the seccomp filter never sees ------------------

TEST(JailUring, OpenatThroughTheRingIsRefusedUnderSeccompDenyOpen) {
  NEED_JAIL();
  OpenDir d;
  Result c = plain({"uring-openat", d.file});
  if (c.code() != 0 && report(c).value("detail", "") == "io_uring_setup")
    GTEST_SKIP() << "io_uring_setup fails here: " << errno_text(report(c).value("errno", 0))
                 << " (kernel.io_uring_disabled?)";
  EXPECT_WORKED(c, "control");
  // Confined, with no deny list and no network rule, the ring stays.
  EXPECT_WORKED(box({}, {"uring-openat", d.file}), "no --seccomp-deny");
  for (const auto& mode : all_modes()) {
    Result r = box({"--seccomp-deny", "@open"}, {"uring-openat", d.file}, mode);
    EXPECT_FAILED_WITH(r, EPERM, mode_label(mode));
    EXPECT_EQ(report(r).value("detail", ""), "io_uring_setup") << mode_label(mode);
  }
  // Asked for by name, the ring is kept, and with it that way round.
  EXPECT_WORKED(box({"--seccomp-deny", "@open", "--seccomp-keep-io-uring"},
                    {"uring-openat", d.file}),
                "--seccomp-keep-io-uring");
}

// The network rules see socket(2) only; a ring makes sockets of its own.
TEST(JailUring, KeepIoUringIsRefusedWithNetworkRules) {
  NEED_JAIL();
  for (const Args& net : {Args{"--net-deny"}, Args{"--net-connect", "80"}, Args{"--net-bind", "80"}}) {
    for (const Args& deny : {Args{}, Args{"--seccomp-deny", "uname"}}) {
      Result r = box(cat({net, deny, {"--seccomp-keep-io-uring"}}), {"pid"});
      const std::string ctx = net[0] + (deny.empty() ? "" : " " + deny[0]);
      EXPECT_EQ(r.code(), 125) << ctx << ": " << show(r);
      EXPECT_EQ(r.err.rfind("boxjail: ", 0), 0u) << ctx << ": " << r.err;
      EXPECT_NE(r.err.find("--seccomp-keep-io-uring"), std::string::npos) << ctx << ": " << r.err;
      EXPECT_NE(r.err.find(net[0]), std::string::npos) << ctx << ": " << r.err;
      EXPECT_EQ(r.out, "") << ctx;
    }
  }
}

TEST(JailUring, ConnectThroughTheRingReachesNoServer) {
  NEED_JAIL();
  Server s(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(s.error, "");
  Server u(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(u.error, "");
  const std::vector<Args> attacks = {{"uring-connect", "127.0.0.1", s.p()},
                                     {"uring-connect-fd", s.p()}};
  for (const auto& a : attacks) {
    Result c = plain(a);
    if (c.code() != 0 && report(c).value("detail", "") == "io_uring_setup")
      GTEST_SKIP() << "io_uring_setup fails here: " << errno_text(report(c).value("errno", 0));
    EXPECT_WORKED(c, "control " + a[0]);
    EXPECT_EQ(s.received(true), "PWNED") << a[0];
  }
  // UDP, which Landlock does not cover at all, from a socket socket(2)
  // never made.
  EXPECT_WORKED(plain({"uring-udp", u.p()}), "control uring-udp");
  EXPECT_EQ(u.received(true), "PWNED") << "control uring-udp";
  for (const Args& net : {Args{"--net-deny"}, Args{"--net-connect", u.other()}}) {
    EXPECT_FAILED_WITH(box(net, {"uring-udp", u.p()}), EPERM, net[0] + " uring-udp");
    EXPECT_EQ(u.received(false), "") << net[0] << " uring-udp";
  }
  for (const auto& a : attacks) {
    Result r = box({"--seccomp-deny", "@connect"}, a);
    EXPECT_FAILED_WITH(r, EPERM, "@connect " + a[0]);
    EXPECT_EQ(s.received(false), "") << "@connect " << a[0];
    r = box({"--net-deny"}, a);
    // uring-connect-fd's own socket() is what --net-deny stops first.
    EXPECT_FAILED_WITH(r, a[0] == "uring-connect" ? EPERM : EAFNOSUPPORT, "--net-deny " + a[0]);
    EXPECT_EQ(s.received(false), "") << "--net-deny " << a[0];
  }
  Result r = box({"--net-connect", s.other()}, {"uring-connect", "127.0.0.1", s.p()});
  EXPECT_FAILED_WITH(r, EPERM, "--net-connect OTHER uring-connect");
  EXPECT_EQ(s.received(false), "") << "--net-connect OTHER";
}

// ---- c.  Families: denying one way of doing something denies them all ----------

TEST(JailFamilies, DenyingOneMemberAloneIsRefused) {
  NEED_JAIL();
  const std::vector<std::pair<std::string, Args>> cases = {
      {"openat", {"open", "openat2", "creat", "open_by_handle_at", "@open"}},
      {"clone", {"clone3", "fork", "vfork", "@clone"}},
      {"connect", {"@connect"}},
      {"rename", {"@rename"}},
      {"chmod", {"@chmod"}},
      {"chown", {"@chown"}},
  };
  for (const auto& [member, named] : cases) {
    Result r = box({"--seccomp-deny", member}, {"pid"});
    EXPECT_EQ(r.code(), 125) << member << ": " << show(r);
    EXPECT_EQ(r.err.rfind("boxjail: ", 0), 0u) << member << ": " << r.err;
    for (const auto& n : named)
      EXPECT_NE(r.err.find(n), std::string::npos) << member << " should name " << n << ": " << r.err;
    EXPECT_EQ(r.out, "") << member;  // PROGRAM never ran
  }
}

TEST(JailFamilies, OpenGroupDeniesEveryMember) {
  NEED_JAIL();
  OpenDir d;
  const std::vector<Args> attacks = {{"open", d.file}, {"openat", d.file}, {"openat2", d.file}};
  for (const auto& a : attacks) EXPECT_WORKED(plain(a), "control " + a[0]);
  EXPECT_WORKED(plain({"creat", d.rw + "/control"}), "control creat");
  ASSERT_FALSE(HasFailure());
  for (const auto& mode : all_modes()) {
    for (const auto& a : attacks)
      EXPECT_FAILED_WITH(box({"--seccomp-deny", "@open"}, a, mode), EPERM,
                         mode_label(mode) + " " + a[0]);
    const std::string made = d.rw + "/jailed-" + mode_label(mode);
    EXPECT_FAILED_WITH(box({"--seccomp-deny", "@open"}, {"creat", made}, mode), EPERM,
                       mode_label(mode) + " creat");
    EXPECT_NE(access(made.c_str(), F_OK), 0) << made << " was created";
  }
}

TEST(JailFamilies, OpenByHandleIsInTheOpenGroup) {
  NEED_JAIL();
  OpenDir d;
  Result c = direct({"open-by-handle", d.file});
  if (c.code() != 0)
    GTEST_SKIP() << "open_by_handle_at needs CAP_DAC_READ_SEARCH in the initial user namespace: "
                 << show(c);
  if (!jail().nobody) {
    // Without --cap-keep PROGRAM lacks the capability anyway: still EPERM.
    EXPECT_FAILED_WITH(box({"--seccomp-deny", "@open"}, {"open-by-handle", d.file}), EPERM, "");
    return;
  }
  // PROGRAM keeps CAP_DAC_READ_SEARCH (boxjail wants that said twice):
  // only the filter stands in the way.
  const Args keep = {"--cap-keep", "dac_read_search", "--cap-keep-root-equivalent"};
  EXPECT_WORKED(box(keep, {"open-by-handle", d.file}), "--cap-keep, no filter");
  EXPECT_FAILED_WITH(box(cat({keep, {"--seccomp-deny", "@open"}}), {"open-by-handle", d.file}),
                     EPERM, "@open");
}

TEST(JailFamilies, CloneGroupDeniesEveryWayToMakeAProcess) {
  NEED_JAIL();
  const std::vector<Args> attacks = {{"fork"}, {"vfork"}, {"clone"}, {"clone3"}};
  for (const auto& a : attacks) EXPECT_WORKED(plain(a), "control " + a[0]);
  ASSERT_FALSE(HasFailure());
  for (const auto& mode : all_modes())
    for (const auto& a : attacks)
      EXPECT_FAILED_WITH(box({"--seccomp-deny", "@clone"}, a, mode), EPERM,
                         mode_label(mode) + " " + a[0]);
}

TEST(JailFamilies, RenameChmodAndChownGroupsCoverTheirVariants) {
  NEED_JAIL();
  OpenDir d;
  const std::string f = d.rw + "/f";
  ASSERT_EQ(plain({"write", f}).code(), 0);  // owned by PROGRAM's uid
  struct stat st {};
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  const std::string uid = std::to_string(st.st_uid), gid = std::to_string(st.st_gid);
  const std::string g = d.rw + "/g";
  // Controls: each variant works (renames go there and back).
  EXPECT_WORKED(plain({"rename", f, g}), "control rename");
  EXPECT_WORKED(plain({"renameat2", g, f}), "control renameat2");
  EXPECT_WORKED(plain({"chmod", f, "600"}), "control chmod");
  EXPECT_WORKED(plain({"fchmodat", f, "644"}), "control fchmodat");
  EXPECT_WORKED(plain({"chown", f, uid, gid}), "control chown");
  EXPECT_WORKED(plain({"fchownat", f, uid, gid}), "control fchownat");
  ASSERT_FALSE(HasFailure());
  for (const auto& [group, attacks] : std::vector<std::pair<std::string, std::vector<Args>>>{
           {"@rename", {{"rename", f, g}, {"renameat2", f, g}}},
           {"@chmod", {{"chmod", f, "600"}, {"fchmodat", f, "600"}}},
           {"@chown", {{"chown", f, uid, gid}, {"fchownat", f, uid, gid}}}}) {
    for (const auto& a : attacks)
      EXPECT_FAILED_WITH(box({"--seccomp-deny", group}, a), EPERM, group + " " + a[0]);
  }
  EXPECT_EQ(access(g.c_str(), F_OK), -1) << "renamed";
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u) << "mode changed";
}

// connect(2) is not the only way to open a TCP connection.
TEST(JailFamilies, ConnectGroupCoversFastOpen) {
  NEED_JAIL();
  Sysctl tfo("/proc/sys/net/ipv4/tcp_fastopen", "3");
  if (!tfo.present || (std::stoi("0" + tfo.value) & 1) == 0)
    GTEST_SKIP() << "net.ipv4.tcp_fastopen is " << (tfo.present ? tfo.was : "missing")
                 << " and cannot be set to 3 (TCP Fast Open clients need bit 1)";
  Server s(AF_INET, SOCK_STREAM, 0, true);
  ASSERT_EQ(s.error, "");
  for (const Args& a : {Args{"tcp", s.p()}, Args{"tfo", s.p()}}) {
    EXPECT_WORKED(plain(a), "control " + a[0]);
    EXPECT_EQ(s.received(true), "PWNED") << "control " << a[0];
    EXPECT_FAILED_WITH(box({"--seccomp-deny", "@connect"}, a), EPERM, "@connect " + a[0]);
    EXPECT_EQ(s.received(false), "") << "@connect " << a[0];
  }
}

// ---- d.  Network: every protocol, not only what Landlock's TCP rules cover ------

// For each box: its flags, the errno the attack must get, and a label.
struct NetCase {
  Args flags;
  int err;
  std::string label;
};

// Control first (the server receives PWNED), then every case: nothing
// arrives.
void net_attack(Server& s, const Args& attack, const std::vector<NetCase>& cases) {
  Result c = plain(attack);
  EXPECT_WORKED(c, "control " + attack[0]);
  ASSERT_EQ(s.received(true), "PWNED") << "control " << attack[0] << ": " << show(c);
  for (const auto& nc : cases) {
    Result r = box(nc.flags, attack);
    EXPECT_FAILED_WITH(r, nc.err, nc.label + " " + attack[0]);
    EXPECT_EQ(s.received(false), "") << nc.label << " " << attack[0];
  }
}

TEST(JailNet, UdpOverIpv4AndIpv6ReachesNoServer) {
  NEED_JAIL();
  Server v4(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(v4.error, "");
  net_attack(v4, {"udp", v4.p()},
             {{{"--net-deny"}, EAFNOSUPPORT, "--net-deny"},
              {{"--net-connect", v4.other()}, EPROTONOSUPPORT, "--net-connect OTHER"},
              {{"--net-bind", v4.other()}, EPROTONOSUPPORT, "--net-bind OTHER"}});
  // Asked for: UDP is let through beside the TCP rule.
  EXPECT_WORKED(box({"--net-connect", v4.other(), "--net-allow-udp"}, {"udp", v4.p()}),
                "--net-allow-udp");
  EXPECT_EQ(v4.received(true), "PWNED") << "--net-allow-udp";
  Server v6(AF_INET6, SOCK_DGRAM, 0);
  if (!v6.error.empty()) GTEST_SKIP() << "no IPv6 loopback: " << v6.error;
  net_attack(v6, {"udp6", v6.p()},
             {{{"--net-deny"}, EAFNOSUPPORT, "--net-deny"},
              {{"--net-connect", v6.other()}, EPROTONOSUPPORT, "--net-connect OTHER"}});
}

TEST(JailNet, MptcpReachesNoServer) {
  NEED_JAIL();
  Server s(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
  if (!s.error.empty()) GTEST_SKIP() << "no MPTCP here (net.mptcp.enabled?): " << s.error;
  net_attack(s, {"mptcp", s.p()},
             {{{"--net-deny"}, EAFNOSUPPORT, "--net-deny"},
              {{"--net-connect", s.other()}, EPROTONOSUPPORT, "--net-connect OTHER"},
              // Even to the granted port: Landlock's rules are for TCP only.
              {{"--net-connect", s.p()}, EPROTONOSUPPORT, "--net-connect PORT"}});
}

TEST(JailNet, SctpReachesNoServer) {
  NEED_JAIL();
  Server s(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
  if (!s.error.empty()) GTEST_SKIP() << "no SCTP in this kernel (module sctp): " << s.error;
  net_attack(s, {"sctp", s.p()},
             {{{"--net-deny"}, EAFNOSUPPORT, "--net-deny"},
              {{"--net-connect", s.p()}, EPROTONOSUPPORT, "--net-connect PORT"}});
}

TEST(JailNet, TcpFastOpenReachesNoServer) {
  NEED_JAIL();
  Sysctl tfo("/proc/sys/net/ipv4/tcp_fastopen", "3");
  if (!tfo.present || (std::stoi("0" + tfo.value) & 1) == 0)
    GTEST_SKIP() << "net.ipv4.tcp_fastopen is " << (tfo.present ? tfo.was : "missing")
                 << " and cannot be set to 3 (TCP Fast Open clients need bit 1)";
  Server s(AF_INET, SOCK_STREAM, 0, true);
  ASSERT_EQ(s.error, "");
  // MSG_FASTOPEN connects without connect(2), where Landlock's TCP rule is.
  net_attack(s, {"tfo", s.p()},
             {{{"--net-deny"}, EAFNOSUPPORT, "--net-deny"},
              {{"--net-connect", s.other()}, EACCES, "--net-connect OTHER"}});
  net_attack(s, {"tfo-sockopt", s.p()},
             {{{"--net-deny"}, EAFNOSUPPORT, "--net-deny"},
              {{"--net-connect", s.other()}, EACCES, "--net-connect OTHER"}});
  Result r = box({"--net-connect", s.other()}, {"tfo", s.p()});
  EXPECT_EQ(report(r).value("detail", ""), "sendto MSG_FASTOPEN") << show(r);
  r = box({"--net-connect", s.other()}, {"tfo-sockopt", s.p()});
  EXPECT_EQ(report(r).value("detail", ""), "setsockopt TCP_FASTOPEN_CONNECT") << show(r);
  EXPECT_EQ(s.received(false), "");
}

TEST(JailNet, PlainTcpToTheGrantedPortStillWorks) {
  NEED_JAIL();
  Server s(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(s.error, "");
  net_attack(s, {"tcp", s.p()},
             {{{"--net-deny"}, EAFNOSUPPORT, "--net-deny"},
              {{"--net-connect", s.other()}, EACCES, "--net-connect OTHER"}});
  for (const auto& mode : all_modes()) {
    EXPECT_WORKED(box({"--net-connect", s.p()}, {"tcp", s.p()}, mode), mode_label(mode));
    EXPECT_EQ(s.received(true), "PWNED") << mode_label(mode);
  }
}

TEST(JailNet, RawAndPacketSocketsAreRefused) {
  NEED_JAIL();
  Result raw = direct({"raw"});
  if (raw.code() != 0)
    GTEST_SKIP() << "raw sockets need CAP_NET_RAW in the network's user namespace: " << show(raw);
  EXPECT_WORKED(direct({"packet"}), "control packet");
  // As nobody, PROGRAM keeps CAP_NET_RAW: only the filter stands in the way.
  const Args keep = jail().nobody ? Args{"--cap-keep", "net_raw"} : Args{};
  if (jail().nobody) {
    EXPECT_WORKED(box(keep, {"raw"}), "--cap-keep net_raw, no network flag");
    EXPECT_WORKED(box(keep, {"packet"}), "--cap-keep net_raw, no network flag");
  }
  struct Case {
    Args net;
    int inet_err, other_err;  // for AF_INET, for other families
  };
  for (const auto& [net, inet_err, other_err] :
       {Case{{"--net-deny"}, EAFNOSUPPORT, EAFNOSUPPORT},
        Case{{"--net-connect", "80"}, EPROTONOSUPPORT, EAFNOSUPPORT}}) {
    Result r = box(cat({keep, net}), {"raw"});
    EXPECT_FAILED_WITH(r, inet_err, net[0] + " raw");
    EXPECT_EQ(report(r).value("detail", ""), "socket") << show(r);
    r = box(cat({keep, net}), {"packet"});
    EXPECT_FAILED_WITH(r, other_err, net[0] + " packet");
    r = box(cat({keep, net}), {"socket", std::to_string(AF_INET), std::to_string(SOCK_RAW),
                               std::to_string(IPPROTO_UDP)});
    EXPECT_FAILED_WITH(r, inet_err, net[0] + " socket AF_INET SOCK_RAW");
  }
  // What stays: unix and netlink sockets.
  for (int family : {AF_UNIX, AF_NETLINK}) {
    Result r = box({"--net-deny"}, {"socket", std::to_string(family), std::to_string(SOCK_DGRAM), "0"});
    EXPECT_WORKED(r, "--net-deny family " + std::to_string(family));
  }
}

// ---- e.  uid 0 ----------------------------------------------------------------

TEST(JailRoot, ConfiningTheHostsRootNeedsAnExplicitUser) {
  if (!host_root()) GTEST_SKIP() << "not the host's uid 0 (euid " << geteuid() << ")";
  // Control: unconfined, PROGRAM is root with every capability.
  Result c = boxjail({"--", kAttack, "ids"});
  EXPECT_WORKED(c, "unconfined");
  EXPECT_EQ(report(c).value("euid", -1), 0);
  for (const Args& flags : std::vector<Args>{{"--fs-ro", "/"},
                                             {"--fs-exec-deps"},
                                             {"--net-deny"},
                                             {"--net-connect", "80"},
                                             {"--net-bind", "80"},
                                             {"--scope", "signal"},
                                             {"--landlock", "require"},
                                             {"--seccomp-deny", "uname"},
                                             {"--cap-drop", "all"},
                                             {"--no-new-privs"}}) {
    for (const auto& mode : all_modes()) {
      Result r = boxjail(cat({mode, flags, {"--", kAttack, "ids"}}));
      const std::string ctx = mode_label(mode) + " " + flags[0];
      EXPECT_EQ(r.code(), 125) << ctx << ": " << show(r);
      EXPECT_EQ(r.err.rfind("boxjail: ", 0), 0u) << ctx << ": " << r.err;
      EXPECT_NE(r.err.find("--user"), std::string::npos) << ctx << ": " << r.err;
      EXPECT_EQ(r.out, "") << ctx;
    }
  }
}

TEST(JailRoot, ExplicitUserRootRunsWithoutCapabilities) {
  if (!host_root()) GTEST_SKIP() << "not the host's uid 0 (euid " << geteuid() << ")";
  if (std::string why = privilege::can_become(0); !why.empty()) GTEST_SKIP() << why;
  for (const std::string user : {"root", "0"}) {
    for (const auto& mode : all_modes()) {
      Result r = boxjail(cat({mode, {"--user", user, "--no-new-privs", "--", kAttack, "ids"}}));
      const std::string ctx = mode_label(mode) + " --user " + user;
      ASSERT_EQ(r.code(), 0) << ctx << ": " << show(r);  // euid 0: the attack "worked"
      json j = report(r);
      EXPECT_EQ(j.value("euid", -1), 0) << ctx;
      EXPECT_EQ(j.value("capeff", ""), "0000000000000000") << ctx;
      EXPECT_EQ(j.value("capprm", ""), "0000000000000000") << ctx;
      EXPECT_EQ(j.value("no_new_privs", -1), 1) << ctx;
    }
  }
}

TEST(JailRoot, RootOfAUserNamespaceOfAnotherUidMayConfine) {
  // A user namespace whose uid 0 is not the host's.
  Args userns;
  if (host_root()) {
    if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
    userns = cat({kSetprivNobody, {"/usr/bin/unshare", "-Ur"}});
  } else if (geteuid() != 0) {
    userns = {"/usr/bin/unshare", "-Ur"};
  }  // else: already root of such a namespace
  Result c = run_argv(cat({userns, {kAttack, "ids"}}));
  if (c.code() != 0 && report(c).empty())
    GTEST_SKIP() << "no unprivileged user namespace here: " << show(c);
  // Control: root of the namespace, with every capability in it.
  EXPECT_WORKED(c, "control");
  EXPECT_EQ(report(c).value("euid", -1), 0);
  EXPECT_NE(report(c).value("capeff", ""), "0000000000000000");
  for (const auto& mode : all_modes()) {
    Result r = run_argv(cat({userns, {kBoxjail}, mode, {"--no-new-privs", "--", kAttack, "ids"}}));
    ASSERT_NE(r.code(), 125) << mode_label(mode) << ": " << show(r);
    json j = report(r);
    EXPECT_EQ(j.value("euid", -1), 0) << mode_label(mode) << ": " << show(r);
    EXPECT_EQ(j.value("capeff", ""), "0000000000000000") << mode_label(mode) << ": " << show(r);
    EXPECT_EQ(j.value("no_new_privs", -1), 1) << mode_label(mode);
  }
}

TEST(JailRoot, AnOrdinaryUserMayConfine) {
  Args as;
  if (geteuid() == 0) {
    if (!host_root()) GTEST_SKIP() << "root of a user namespace (see the test above)";
    if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
    as = kSetprivNobody;
  }
  const std::string uid = std::to_string(geteuid() == 0 ? 65534 : geteuid());
  for (const auto& mode : all_modes()) {
    Result r = run_argv(cat({as, {kBoxjail}, mode, {"--no-new-privs", "--", kAttack, "ids"}}));
    EXPECT_NE(r.code(), 125) << mode_label(mode) << ": " << show(r);
    EXPECT_EQ(std::to_string(report(r).value("euid", -1)), uid) << mode_label(mode) << ": " << show(r);
    EXPECT_EQ(report(r).value("no_new_privs", -1), 1) << mode_label(mode);
  }
}

// ---- f.  Identity: no way back to root through exec ------------------------------

class JailIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!host_root()) GTEST_SKIP() << "needs the host's uid 0 (root-owned setuid files, --user)";
    if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
    ASSERT_EQ(chmod(d_.path.c_str(), 0755), 0);
  }
  // A copy of tests/attack, root's, with `mode`.
  std::string copy(const std::string& name, mode_t mode) {
    const std::string path = d_.path + "/" + name;
    std::filesystem::copy_file(kAttack, path);
    EXPECT_EQ(chown(path.c_str(), 0, 0), 0);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  TempDir d_;
};

TEST_F(JailIdentity, SetuidRootCopyGivesNoRootAfterUserNobody) {
  const std::string suid = copy("suid", 04755);
  Result c = run_argv(cat({kSetprivNobody, {suid, "ids"}}));
  if (report(c).value("euid", -1) != 0)
    GTEST_SKIP() << "set-user-ID bits are ignored here (nosuid mount of " << d_.path << "?): "
                 << show(c);
  EXPECT_EQ(report(c).value("ruid", -1), 65534);
  for (const auto& mode : all_modes()) {
    // Exec'd by PROGRAM, and as PROGRAM itself.
    for (const Args& a : {Args{kAttack, "setuid-exec", suid, "ids"}, Args{suid, "ids"}}) {
      Result r = run_argv(cat({{kBoxjail}, mode, {"--user", "nobody", "--"}, a}));
      json j = report(r);
      const std::string ctx = mode_label(mode) + " " + a[0];
      EXPECT_EQ(j.value("ok", true), false) << ctx << ": " << show(r);
      EXPECT_EQ(j.value("euid", -1), 65534) << ctx << ": " << show(r);
      EXPECT_EQ(j.value("suid", -1), 65534) << ctx;
      EXPECT_EQ(j.value("capeff", ""), "0000000000000000") << ctx;
    }
  }
}

TEST_F(JailIdentity, FileCapabilityCopyCannotReadARootOnlyFile) {
  std::string setcap;
  for (const char* p : {"/usr/sbin/setcap", "/sbin/setcap", "/usr/bin/setcap"})
    if (access(p, X_OK) == 0) setcap = p;
  if (setcap.empty()) GTEST_SKIP() << "needs setcap (Debian: libcap2-bin)";
  const std::string secret = d_.path + "/secret";
  std::ofstream(secret) << "secret\n";
  ASSERT_EQ(chmod(secret.c_str(), 0600), 0);
  const std::string capped = copy("capped", 0755);
  Result sc = run_argv({setcap, "cap_dac_override+ep", capped});
  if (sc.code() != 0) GTEST_SKIP() << "setcap cap_dac_override+ep fails here: " << show(sc);
  // Controls: nobody cannot read it, the capability copy run by nobody can.
  EXPECT_FAILED_WITH(run_argv(cat({kSetprivNobody, {kAttack, "read", secret}})), EACCES, "plain");
  Result c = run_argv(cat({kSetprivNobody, {capped, "read", secret}}));
  EXPECT_WORKED(c, "control");
  EXPECT_EQ(report(c).value("detail", ""), "secret\n");
  ASSERT_FALSE(HasFailure());
  for (const auto& mode : all_modes()) {
    Result r = run_argv(cat({{kBoxjail}, mode,
                             {"--user", "nobody", "--", kAttack, "setuid-exec", capped, "read", secret}}));
    // Either the copy runs without the capability (EACCES from open), or
    // the kernel will not run a capability-dumb +ep file short of it (EPERM
    // from execve).
    json j = report(r);
    EXPECT_EQ(j.value("ok", true), false) << mode_label(mode) << ": " << show(r);
    int e = j.value("errno", -1);
    EXPECT_TRUE((e == EACCES && j["detail"] == "open") || (e == EPERM && j["detail"] == "execv"))
        << mode_label(mode) << ": " << show(r);
  }
}

TEST_F(JailIdentity, NoInheritableOrAmbientCapabilitiesAndLockedSecurebits) {
  // Control: inheritable and ambient capabilities a caller hands down reach
  // a plain PROGRAM (ambient ones only while it stays uid 0).
  const Args hand_down = {"/usr/bin/setpriv", "--inh-caps=+net_admin", "--ambient-caps=+net_admin"};
  const std::string net_admin = "0000000000001000";
  Result c = run_argv(cat({hand_down, {kAttack, "ids"}}));
  ASSERT_EQ(report(c).value("capamb", ""), net_admin) << show(c);
  ASSERT_EQ(report(c).value("capinh", ""), net_admin) << show(c);
  c = run_argv(cat({hand_down, kSetprivNobody, {kAttack, "ids"}}));
  ASSERT_EQ(report(c).value("capinh", ""), net_admin) << show(c);
  EXPECT_EQ(report(c).value("securebits", -1), 0) << show(c);
  // SECBIT_NOROOT, NOROOT_LOCKED, NO_SETUID_FIXUP, NO_SETUID_FIXUP_LOCKED
  // and KEEP_CAPS_LOCKED.
  const int locked = 0x01 | 0x02 | 0x04 | 0x08 | 0x20;
  for (const auto& mode : all_modes()) {
    for (const std::string user : {"nobody", "root"}) {
      const std::string ctx = mode_label(mode) + " --user " + user;
      Result r = run_argv(cat({hand_down, {kBoxjail}, mode, {"--user", user, "--", kAttack, "ids"}}));
      json j = report(r);
      ASSERT_TRUE(j.contains("capinh")) << ctx << ": " << show(r);
      EXPECT_EQ(j.value("capinh", ""), "0000000000000000") << ctx;
      EXPECT_EQ(j.value("capamb", ""), "0000000000000000") << ctx;
      EXPECT_EQ(j.value("capeff", ""), "0000000000000000") << ctx;
      EXPECT_EQ(j.value("capprm", ""), "0000000000000000") << ctx;
      EXPECT_EQ(j.value("no_new_privs", -1), 1) << ctx;
      EXPECT_EQ(j.value("securebits", 0) & locked, locked) << ctx << ": " << j.value("securebits", 0);
    }
  }
}

TEST_F(JailIdentity, AllowNewPrivsIsTheOnlyWayToLeaveNoNewPrivsOff) {
  const std::string suid = copy("suid", 04755);
  Result c = run_argv(cat({kSetprivNobody, {suid, "ids"}}));
  if (report(c).value("euid", -1) != 0)
    GTEST_SKIP() << "set-user-ID bits are ignored here (nosuid mount of " << d_.path << "?)";
  Result r = box({}, {"setuid-exec", suid, "ids"});
  EXPECT_EQ(report(r).value("no_new_privs", -1), 1) << show(r);
  EXPECT_EQ(report(r).value("euid", -1), 65534) << show(r);
  // Opted out, knowingly: the set-user-ID bit works again. (What the
  // capabilities then are is the opt-out's business: not asserted here.)
  r = run_argv({kBoxjail, "--user", "nobody", "--allow-new-privs", "--", kAttack, "setuid-exec",
                suid, "ids"});
  json j = report(r);
  EXPECT_EQ(j.value("no_new_privs", -1), 0) << show(r);
  EXPECT_EQ(j.value("euid", -1), 0) << show(r);
}

TEST_F(JailIdentity, SecurebitsNorootKeepsASetuidRootFileFromGainingCapabilities) {
  const std::string suid = copy("suid", 04755);
  Result c = run_argv(cat({kSetprivNobody, {suid, "ids"}}));
  if (report(c).value("euid", -1) != 0)
    GTEST_SKIP() << "set-user-ID bits are ignored here (nosuid mount of " << d_.path << "?)";
  // Control: with --allow-new-privs a set-user-ID-root file is root with
  // every capability the bounding set still has.
  Result r = run_argv({kBoxjail, "--user", "nobody", "--allow-new-privs", "--", kAttack,
                       "setuid-exec", suid, "ids"});
  json j = report(r);
  ASSERT_EQ(j.value("euid", -1), 0) << show(r);
  ASSERT_NE(j.value("capeff", ""), "0000000000000000") << show(r);
  for (const auto& mode : all_modes()) {
    r = run_argv(cat({{kBoxjail}, mode,
                      {"--user", "nobody", "--allow-new-privs", "--securebits", "noroot,noroot_locked",
                       "--", kAttack, "setuid-exec", suid, "ids"}}));
    j = report(r);
    // Still uid 0 by the file's bit, but uid 0 is ordinary now.
    EXPECT_EQ(j.value("euid", -1), 0) << mode_label(mode) << ": " << show(r);
    EXPECT_EQ(j.value("capeff", ""), "0000000000000000") << mode_label(mode);
    EXPECT_EQ(j.value("capprm", ""), "0000000000000000") << mode_label(mode);
    EXPECT_EQ(j.value("securebits", 0), 0x01 | 0x02) << mode_label(mode);
  }
}

TEST_F(JailIdentity, SecurebitsAddToTheOnesAConfinedProgramGets) {
  const int confined = 0x01 | 0x02 | 0x04 | 0x08 | 0x20;
  const int ambient = 0x40 | 0x80;  // NO_CAP_AMBIENT_RAISE and its lock
  for (const auto& mode : all_modes()) {
    Result r = box({}, {"ids"}, mode);
    EXPECT_EQ(report(r).value("securebits", 0), confined) << mode_label(mode) << ": " << show(r);
    r = run_argv(cat({{kBoxjail}, mode,
                      {"--user", "nobody", "--securebits",
                       "no_cap_ambient_raise,SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED", "--", kAttack,
                       "ids"}}));
    EXPECT_EQ(report(r).value("securebits", 0), confined | ambient) << mode_label(mode) << ": "
                                                                      << show(r);
  }
}

// ---- g.  Domains: one box cannot reach another, nor its supervisor ---------------

// tests/attack sleeping: its pid and the address of a byte to write.
struct Sleeper {
  explicit Sleeper(const Args& prefix) : proc(Spawn{.argv = cat({prefix, {kAttack, "sleep", "60"}})}) {
    json j = report(proc.read_line());
    pid = j.value("pid", -1);
    addr = j.value("addr", "");
  }
  // The byte the attacks try to overwrite, as the test reads it.
  int byte() const {
    int fd = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char c = 0;
    ssize_t n = pread(fd, &c, 1, static_cast<off_t>(std::stoull(addr, nullptr, 16)));
    close(fd);
    return n == 1 ? c : -1;
  }
  ~Sleeper() {
    if (pid > 0 && alive(pid)) kill(pid, SIGKILL);
  }
  Proc proc;
  pid_t pid = -1;
  std::string addr;
};

std::string yama_scope() {
  std::string v = slurp("/proc/sys/kernel/yama/ptrace_scope");
  return v.empty() ? "0" : v.substr(0, v.find('\n'));
}

TEST(JailDomains, ANeighbourBoxCannotTraceOrWriteAnother) {
  NEED_JAIL();
  if (yama_scope() != "0")
    GTEST_SKIP() << "kernel.yama.ptrace_scope is " << yama_scope()
                 << " (the control, a same-uid ptrace, needs 0)";
  {
    // Control: two plain processes with the same uid.
    Sleeper a(jail().plain);
    ASSERT_GT(a.pid, 0);
    ASSERT_EQ(a.byte(), 'A');
    EXPECT_WORKED(plain({"mem", std::to_string(a.pid), a.addr}), "control mem");
    EXPECT_EQ(a.byte(), 'W');
    EXPECT_WORKED(plain({"vmwrite", std::to_string(a.pid), a.addr}), "control vmwrite");
    EXPECT_WORKED(plain({"ptrace", std::to_string(a.pid)}), "control ptrace");
    EXPECT_WORKED(plain({"pidfd-getfd", std::to_string(a.pid), "1"}), "control pidfd-getfd");
  }
  ASSERT_FALSE(HasFailure());
  Sleeper a(cat({{kBoxjail}, jail().flags, {"--"}}));
  ASSERT_GT(a.pid, 0);
  ASSERT_EQ(a.byte(), 'A');
  const std::string pid = std::to_string(a.pid), sup = std::to_string(a.proc.pid());
  for (const auto& mode : all_modes()) {
    const std::string m = mode_label(mode);
    Result r = box({}, {"mem", pid, a.addr}, mode);
    int e = report(r).value("errno", -1);
    EXPECT_TRUE(e == EACCES || e == EPERM) << m << " mem: " << show(r);
    EXPECT_FAILED_WITH(box({}, {"vmwrite", pid, a.addr}, mode), EPERM, m + " vmwrite");
    EXPECT_FAILED_WITH(box({}, {"ptrace", pid}, mode), EPERM, m + " ptrace");
    EXPECT_FAILED_WITH(box({}, {"pidfd-getfd", pid, "1"}, mode), EPERM, m + " pidfd-getfd");
    // Its supervisor (boxjail, in the default mode).
    EXPECT_FAILED_WITH(box({}, {"ptrace", sup}, mode), EPERM, m + " ptrace supervisor");
    r = box({}, {"mem", sup}, mode);
    e = report(r).value("errno", -1);
    EXPECT_TRUE(e == EACCES || e == EPERM) << m << " mem supervisor: " << show(r);
  }
  EXPECT_EQ(a.byte(), 'A');
  EXPECT_TRUE(alive(a.pid));
}

TEST(JailDomains, ANeighbourBoxCannotSignalAnother) {
  NEED_JAIL();
  {
    Sleeper a(jail().plain);
    ASSERT_GT(a.pid, 0);
    EXPECT_WORKED(plain({"kill", std::to_string(a.pid), "0"}), "control kill 0");
    EXPECT_WORKED(plain({"kill", std::to_string(a.pid), "9"}), "control kill 9");
    EXPECT_TRUE(wait_gone(a.pid));
  }
  ASSERT_FALSE(HasFailure());
  Sleeper a(cat({{kBoxjail}, jail().flags, {"--"}}));
  ASSERT_GT(a.pid, 0);
  const std::string pid = std::to_string(a.pid), sup = std::to_string(a.proc.pid());
  for (const auto& mode : all_modes()) {
    for (const std::string sig : {"0", "9"}) {
      EXPECT_FAILED_WITH(box({}, {"kill", pid, sig}, mode), EPERM, mode_label(mode) + " kill " + sig);
      EXPECT_FAILED_WITH(box({}, {"kill", sup, sig}, mode), EPERM,
                         mode_label(mode) + " kill supervisor " + sig);
    }
  }
  EXPECT_TRUE(alive(a.pid));
  EXPECT_TRUE(alive(a.proc.pid()));
  // --scope none gives signals back (same uid: nothing else stops them).
  EXPECT_WORKED(box({"--scope", "none"}, {"kill", pid, "9"}), "--scope none");
  EXPECT_TRUE(wait_gone(a.pid));
}

TEST(JailDomains, ProgramCannotKillItsSupervisor) {
  NEED_JAIL();
  // Control, without the protection: unconfined, PROGRAM kills boxjail.
  Result c = boxjail({"--", kAttack, "kill-parent"});
  ASSERT_EQ(c.signal(), SIGKILL) << show(c);
  // (Only the default mode: there PROGRAM's parent is boxjail. With
  // --no-fork it is this test, with --detach whoever adopted it.)
  Result r = box({}, {"kill-parent"});
  EXPECT_FAILED_WITH(r, EPERM, "jailed");  // and boxjail reported PROGRAM's exit
  // --scope none, with the supervisor's own uid: the kill is PROGRAM's again.
  Args same_uid = host_root() ? Args{"--user", "root"} : Args{"--no-new-privs"};
  r = run_argv(cat({{kBoxjail}, same_uid, {"--scope", "none", "--", kAttack, "kill-parent"}}));
  EXPECT_EQ(r.signal(), SIGKILL) << "--scope none: " << show(r);
}

TEST(JailDomains, KillingTheSupervisorKillsProgram) {
  NEED_JAIL();
  {
    // Control: a plain parent's death leaves its child running.
    Proc p(Spawn{.argv = {"/bin/sh", "-c", "\"$@\" & wait", "sh", kAttack, "sleep", "60"}});
    pid_t child = report(p.read_line()).value("pid", -1);
    ASSERT_GT(child, 0);
    kill(p.pid(), SIGKILL);
    ASSERT_TRUE(wait_gone(p.pid()));  // a zombie, until p.wait()
    EXPECT_TRUE(alive(child));
    kill(child, SIGKILL);  // (it holds the output pipe p.wait() reads to its end)
    EXPECT_TRUE(wait_gone(child));
    p.wait();
  }
  for (const Args& flags : {Args{}, Args{"--net-deny"}, Args{"--seccomp-deny", "@clone"}}) {
    Proc p(Spawn{.argv = box_argv({}, flags, {"sleep", "60"})});
    pid_t program = report(p.read_line()).value("pid", -1);
    ASSERT_GT(program, 0);
    ASSERT_TRUE(alive(program));
    kill(p.pid(), SIGKILL);  // boxjail, from outside
    ASSERT_TRUE(wait_gone(p.pid()));
    EXPECT_TRUE(wait_gone(program)) << (flags.empty() ? "" : flags[0]);
    if (alive(program)) kill(program, SIGKILL);
    p.wait();
  }
}

}  // namespace

// Landlock, end to end: tests/probe attempts accesses under the rules and
// reports the errno each one got; what is asserted is what the kernel let
// the target do.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "guest.h"
#include "harness.h"

namespace {

using namespace harness;
using json = nlohmann::json;

int landlock_abi() {
  long v = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u);
  return v < 0 ? 0 : static_cast<int>(v);
}

// Whether capability `cap` (below 32) is in the effective set.
bool have_cap(int cap) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[0].effective & (1u << cap)) != 0;
}
bool have_cap_sys_admin() { return have_cap(CAP_SYS_ADMIN); }

class Landlock : public ::testing::Test {
 protected:
  void SetUp() override {
    abi_ = landlock_abi();
    if (abi_ < 7) GTEST_SKIP() << "needs Landlock ABI 7 (this kernel has " << abi_ << ")";
    dir_ = tmp_.path;
    for (const char* sub : {"ro", "rw", "rw2", "rx", "other"})
      ASSERT_EQ(mkdir((dir_ + "/" + sub).c_str(), 0755), 0);
    for (const char* f : {"ro/file", "rw/file", "rw/long", "other/file", "ro/sibling"})
      std::ofstream(dir_ + "/" + f) << "content\n";
  }

  // boxjail [mode] FLAGS... -- probe ATTEMPTS..., the probe's report.
  json probe(const std::vector<std::string>& flags, const std::vector<std::string>& attempts,
             const std::vector<std::string>& mode = {}, Result* out = nullptr,
             std::vector<std::string> env = {}) {
    Spawn s{.argv = {kBoxjail}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), opt_in_.begin(), opt_in_.end());
    s.argv.insert(s.argv.end(), flags.begin(), flags.end());
    s.argv.push_back("--");
    s.argv.push_back(kProbe);
    s.argv.insert(s.argv.end(), attempts.begin(), attempts.end());
    s.env = std::move(env);
    Result r = run(s);
    if (out) *out = r;
    EXPECT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    return parse_probe(r.out);
  }

  // The errno the probe reported for attempt OP ARG (-1 if absent).
  static int err(const json& j, const std::string& op, const std::string& arg) {
    return attempt_errno(j, op, arg.c_str());
  }

  TempDir tmp_;
  std::string dir_;
  int abi_ = 0;
  const std::vector<std::string> opt_in_ = root_opt_in();
};

// boxjail with root_opt_in() in front of ARGS.
Result box(std::vector<std::string> args) {
  std::vector<std::string> v = root_opt_in();
  v.insert(v.end(), args.begin(), args.end());
  return boxjail(v);
}

TEST_F(Landlock, ReadsOnlyBeneathTheGrantedPathsInEveryMode) {
  for (const auto& mode : all_modes()) {
    json j = probe({"--fs-exec-deps", "--fs-ro", dir_ + "/ro"},
                   {"--read", dir_ + "/ro/file", "--read", dir_ + "/other/file", "--read",
                    "/etc/passwd", "--list", dir_ + "/ro", "--list", dir_ + "/other"},
                   mode);
    EXPECT_EQ(err(j, "read", dir_ + "/ro/file"), 0) << mode_label(mode);
    EXPECT_EQ(err(j, "read", dir_ + "/other/file"), EACCES) << mode_label(mode);
    EXPECT_EQ(err(j, "read", "/etc/passwd"), EACCES) << mode_label(mode);
    EXPECT_EQ(err(j, "list", dir_ + "/ro"), 0) << mode_label(mode);
    EXPECT_EQ(err(j, "list", dir_ + "/other"), EACCES) << mode_label(mode);
  }
}

TEST_F(Landlock, WriteNeedsRwAndRenameWorksAcrossTwoRwTrees) {
  json j = probe({"--fs-exec-deps", "--fs-ro", dir_ + "/ro", "--fs-rw", dir_ + "/rw", "--fs-rw",
                  dir_ + "/rw2"},
                 {"--write", dir_ + "/ro/new", "--write", dir_ + "/rw/new", "--truncate",
                  dir_ + "/ro/file", "--truncate", dir_ + "/rw/long", "--rename",
                  dir_ + "/rw/file", dir_ + "/rw2/moved", "--rename", dir_ + "/ro/sibling",
                  dir_ + "/rw/stolen"});
  EXPECT_EQ(err(j, "write", dir_ + "/ro/new"), EACCES);
  EXPECT_EQ(err(j, "write", dir_ + "/rw/new"), 0);
  EXPECT_EQ(err(j, "truncate", dir_ + "/ro/file"), EACCES);
  EXPECT_EQ(err(j, "truncate", dir_ + "/rw/long"), 0);
  EXPECT_EQ(err(j, "rename", dir_ + "/rw/file"), 0);        // REFER on both trees
  EXPECT_EQ(err(j, "rename", dir_ + "/ro/sibling"), EACCES);  // out of a read-only tree
  struct stat st {};
  EXPECT_EQ(stat((dir_ + "/rw2/moved").c_str(), &st), 0);
  EXPECT_EQ(stat((dir_ + "/rw/long").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(stat((dir_ + "/ro/new").c_str(), &st), -1);
}

TEST_F(Landlock, ExecuteNeedsRxAndAFileRuleCoversOnlyThatFile) {
  // boxjail is a static binary: exec'ing a copy needs no libraries.
  for (const char* d : {"/ro/tool", "/rx/tool"})
    std::filesystem::copy_file(kBoxjail, dir_ + d);
  json j = probe({"--fs-exec-deps", "--fs-ro", dir_ + "/ro", "--fs-rx", dir_ + "/rx",
                  "--fs-ro", dir_ + "/other/file"},
                 {"--exec", dir_ + "/ro/tool", "--exec", dir_ + "/rx/tool", "--read",
                  dir_ + "/other/file", "--list", dir_ + "/other", "--read",
                  dir_ + "/ro/sibling"});
  EXPECT_EQ(err(j, "exec", dir_ + "/ro/tool"), EACCES);
  EXPECT_EQ(err(j, "exec", dir_ + "/rx/tool"), 0);
  EXPECT_EQ(err(j, "read", dir_ + "/other/file"), 0);
  EXPECT_EQ(err(j, "list", dir_ + "/other"), EACCES);  // the file, not its directory
}

TEST_F(Landlock, FileRuleGetsOnlyFileRightsAndTheSamePathTwiceGetsTheUnion) {
  Result r = box({"--dry-run", "--fs-rwx", dir_ + "/ro/file", "--fs-ro", dir_ + "/rw",
                  "--fs-rw", dir_ + "/rw", "--", "/bin/true"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json l = json::parse(r.out)["landlock"];
  ASSERT_EQ(l["rules"].size(), 2u) << r.out;
  json dir = l["rules"][0], file = l["rules"][1];
  EXPECT_EQ(dir["type"], "directory");
  EXPECT_EQ(dir["from"], "--fs-ro --fs-rw");
  EXPECT_EQ(dir["access"].size(), 15u);  // every right but execute
  EXPECT_EQ(file["type"], "file");
  EXPECT_EQ(file["from"], "--fs-rwx");
  EXPECT_EQ(file["access"], (json{"execute", "write_file", "read_file", "truncate", "ioctl_dev"}));
}

TEST_F(Landlock, TcpBindAndConnectOnlyToTheGivenPorts) {
  // A listener outside the sandbox, on a port the kernel picks.
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(listen(ls, 8), 0);
  socklen_t len = sizeof sa;
  getsockname(ls, reinterpret_cast<sockaddr*>(&sa), &len);
  const int port = ntohs(sa.sin_port);
  const std::string p = std::to_string(port);
  // Ports for bind: a free range from the ephemeral listener's own port up.
  const std::string b0 = std::to_string(port + 1), b1 = std::to_string(port + 2),
                    b2 = std::to_string(port + 3);
  json j = probe({"--fs-exec-deps", "--net-connect", p, "--net-bind", b0 + "-" + b1},
                 {"--connect", p, "--connect", b2, "--bind", b0, "--bind", b1, "--bind", b2});
  EXPECT_EQ(err(j, "connect", p), 0);
  EXPECT_EQ(err(j, "connect", b2), EACCES);
  EXPECT_EQ(err(j, "bind", b0), 0);
  EXPECT_EQ(err(j, "bind", b1), 0);
  EXPECT_EQ(err(j, "bind", b2), EACCES);
  // --net-deny: Landlock denies every port, and before that the box's
  // seccomp filter refuses the AF_INET socket itself.
  j = probe({"--fs-exec-deps", "--net-deny"}, {"--connect", p, "--bind", b0});
  EXPECT_EQ(err(j, "connect", p), EAFNOSUPPORT);
  EXPECT_EQ(err(j, "bind", b0), EAFNOSUPPORT);
  j = probe({"--fs-exec-deps"}, {"--connect", p});  // no network rule: untouched
  EXPECT_EQ(err(j, "connect", p), 0);
  close(ls);
}

TEST_F(Landlock, ScopesStopAbstractUnixSocketsAndSignalsBeyondTheSandbox) {
  // Real peers outside: an abstract unix listener and a sleeping process.
  const std::string name = "boxjail-test-" + std::to_string(getpid());
  int us = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path + 1, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(bind(us, reinterpret_cast<sockaddr*>(&sa), len), 0);
  ASSERT_EQ(listen(us, 8), 0);
  pid_t sleeper = fork();
  if (sleeper == 0) {
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string pid = std::to_string(sleeper);
  json free =
      probe({"--fs-exec-deps", "--scope", "none"}, {"--unix-connect", name, "--signal", pid});
  EXPECT_EQ(err(free, "unix-connect", name), 0);
  EXPECT_EQ(err(free, "signal", pid), 0);
  // Without --scope, a confined box is scoped for both.
  json plain = probe({"--fs-exec-deps"}, {"--unix-connect", name, "--signal", pid});
  EXPECT_EQ(err(plain, "unix-connect", name), EPERM);
  EXPECT_EQ(err(plain, "signal", pid), EPERM);
  json unix_only = probe({"--fs-exec-deps", "--scope", "unix"}, {"--unix-connect", name, "--signal", pid});
  EXPECT_EQ(err(unix_only, "unix-connect", name), EPERM);
  EXPECT_EQ(err(unix_only, "signal", pid), 0);
  json both = probe({"--scope", "unix,signal"}, {"--unix-connect", name, "--signal", pid});
  EXPECT_EQ(err(both, "unix-connect", name), EPERM);
  EXPECT_EQ(err(both, "signal", pid), EPERM);
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);
  close(us);
}

// require refuses, before anything starts, whatever the believed ABI lacks;
// best-effort drops exactly that, says so, and still enforces the rest.
TEST_F(Landlock, RequireAndBestEffortAtEveryAbiThreshold) {
  struct Case {
    int abi;
    std::vector<std::string> flags;
    std::string refusal;  // the require message after "boxjail: "
  };
  const std::string rw = dir_ + "/rw";
  const std::vector<Case> cases = {
      {0, {"--fs-ro", dir_ + "/ro"},
       "--fs-ro: Landlock is not available: simulated: BOXJAIL_LANDLOCK_ABI=0"},
      {1, {"--fs-rw", rw}, "--fs-rw " + rw + ": refer,truncate,ioctl_dev need Landlock ABI 5, "
                            "this kernel has ABI 1"},
      {2, {"--fs-rw", rw}, "--fs-rw " + rw + ": truncate,ioctl_dev need Landlock ABI 5, "
                            "this kernel has ABI 2"},
      {4, {"--fs-rw", rw}, "--fs-rw " + rw + ": ioctl_dev needs Landlock ABI 5, this kernel has ABI 4"},
      // (--net-deny is not here: its socket rules are seccomp's, at every ABI.)
      {3, {"--net-connect", "443"},
       "--net-connect: TCP rules need Landlock ABI 4, this kernel has ABI 3"},
      {5, {"--scope", "signal"}, "--scope signal needs Landlock ABI 6, this kernel has ABI 5"},
      {6, {"--landlock-log", "--fs-ro", "/"},
       "--landlock-log needs Landlock ABI 7, this kernel has ABI 6"},
  };
  const std::string hint = " (--landlock=best-effort would drop it with a warning)\n";
  for (const auto& c : cases) {
    const std::string env = "BOXJAIL_LANDLOCK_ABI=" + std::to_string(c.abi);
    Spawn s{.argv = {kBoxjail}, .env = {env}};
    s.argv.insert(s.argv.end(), opt_in_.begin(), opt_in_.end());
    s.argv.insert(s.argv.end(), c.flags.begin(), c.flags.end());
    s.argv.insert(s.argv.end(), {"--fs-exec-deps", "--", kProbe});
    Result r = run(s);
    EXPECT_EQ(r.code(), 125) << env;
    EXPECT_EQ(r.err, "boxjail: " + c.refusal + hint) << env;
    EXPECT_EQ(r.out, "") << env;
    // One step above the threshold, require accepts the same flags.
    s.env = {"BOXJAIL_LANDLOCK_ABI=" + std::to_string(c.abi == 3 ? 4 : c.abi == 5 ? 6 : c.abi == 6 ? 7 : 5)};
    EXPECT_EQ(run(s).code(), 0) << env << " + 1";
    s.argv.insert(s.argv.begin() + 1, "--landlock=best-effort");
    s.env = {env};
    r = run(s);
    EXPECT_EQ(r.code(), 0) << env << ": " << r.err;
    EXPECT_NE(r.err.find("boxjail: --landlock=best-effort: "), std::string::npos) << env;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << env << ": " << r.err;
  }
  // What best-effort keeps is enforced; what it drops is not.
  Result r;
  json j = probe({"--landlock=best-effort", "--fs-exec-deps", "--fs-rw", rw, "--net-bind", "1"},
                 {"--read", "/etc/passwd", "--truncate", dir_ + "/ro/file", "--bind", "0"}, {}, &r,
                 {"BOXJAIL_LANDLOCK_ABI=2"});
  EXPECT_EQ(err(j, "read", "/etc/passwd"), EACCES);
  EXPECT_EQ(err(j, "truncate", dir_ + "/ro/file"), 0);  // truncate is ABI 3: dropped
  EXPECT_EQ(err(j, "bind", "0"), 0);                    // TCP rules are ABI 4: dropped
  EXPECT_NE(r.err.find("dropped every TCP rule"), std::string::npos) << r.err;
  // --net-deny is seccomp's (no socket but AF_UNIX and AF_NETLINK), so
  // nothing of it is dropped below ABI 4.
  j = probe({"--landlock=best-effort", "--fs-exec-deps", "--net-deny"}, {"--bind", "0"}, {}, &r,
            {"BOXJAIL_LANDLOCK_ABI=2"});
  EXPECT_EQ(err(j, "bind", "0"), EAFNOSUPPORT);
  EXPECT_EQ(r.err, "") << r.err;
  // No Landlock at all: best-effort runs PROGRAM without it, and says so.
  j = probe({"--landlock=best-effort", "--fs-ro", dir_ + "/ro"}, {"--read", "/etc/passwd"}, {}, &r,
            {"BOXJAIL_LANDLOCK_ABI=0"});
  EXPECT_EQ(err(j, "read", "/etc/passwd"), 0);
  EXPECT_EQ(j["nnp"], 1);  // still set: the box's own seccomp filter needs it
  EXPECT_EQ(r.err, "boxjail: --landlock=best-effort: every Landlock rule: Landlock is not "
                   "available: simulated: BOXJAIL_LANDLOCK_ABI=0\n");
}

TEST_F(Landlock, ExecDepsAloneRunsDynamicProgramsScriptsAndRunpathLibraries) {
  // A dynamically linked C++ program (the probe).
  json j = probe({"--fs-exec-deps"}, {"--read", "/etc/passwd"});
  EXPECT_EQ(err(j, "read", "/etc/passwd"), EACCES);
  // A binary whose library is found only through DT_RUNPATH $ORIGIN/lib.
  Result r = box({"--fs-exec-deps", "--", RPATH_PROBE_BIN, "/etc/passwd"});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "{\"answer\": 42, \"read_errno\": 13}\n");
  // A #! script: its interpreter's files are granted, nothing else.
  const std::string script = dir_ + "/script";
  std::ofstream(script) << "#!/bin/sh\necho ran\nif read x < /etc/passwd; then echo read; else "
                           "echo denied; fi\n";
  chmod(script.c_str(), 0755);
  r = box({"--fs-exec-deps", "--", script});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "ran\ndenied\n");
  // Without the rules, the same script cannot even start.
  r = box({"--fs-ro", dir_ + "/other", "--", script});
  EXPECT_EQ(r.code(), 126);
  EXPECT_EQ(r.err, "boxjail: cannot execute '" + script +
                       "': Permission denied by the Landlock rules (PROGRAM needs read+execute "
                       "on itself, its interpreter and its libraries: --fs-exec-deps, or --fs-rx "
                       "/usr)\n");
}

TEST_F(Landlock, NoNewPrivsIsSetAndNoLandlockDescriptorIsInherited) {
  // Implied by Landlock. A confined PROGRAM loses CAP_SYS_ADMIN with every
  // other capability, so it is set even where boxjail has that; as root,
  // drop it from the bounding set to see the case without it too.
  std::vector<std::pair<std::vector<std::string>, int>> wrappers = {{{}, 1}};
  if (have_cap_sys_admin() && geteuid() == 0)
    wrappers.push_back({{"/usr/bin/setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"}, 1});
  for (const auto& [wrapper, nnp] : wrappers) {
    for (const auto& mode : all_modes()) {
      for (bool keep : {false, true}) {
        Spawn s{.argv = wrapper};
        s.argv.push_back(kBoxjail);
        s.argv.insert(s.argv.end(), mode.begin(), mode.end());
        s.argv.insert(s.argv.end(), opt_in_.begin(), opt_in_.end());
        s.argv.insert(s.argv.end(), {"--fs-exec-deps", "--fs-ro", "/proc"});
        if (keep) s.argv.push_back("--keep-fds");
        s.argv.insert(s.argv.end(), {"--", kProbe});
        Result r = run(s);
        ASSERT_EQ(r.code(), 0) << r.err;
        json j = parse_probe(r.out);
        const std::string where = mode_label(mode) + (keep ? " --keep-fds" : "") +
                                  (wrapper.empty() ? "" : " without CAP_SYS_ADMIN");
        EXPECT_EQ(j["nnp"], nnp) << where;
        EXPECT_EQ(j["status_nnp"], std::to_string(nnp)) << where;
        for (const auto& f : j["fds"])
          EXPECT_EQ(f["target"].get<std::string>().find("landlock"), std::string::npos)
              << where << ": " << f;
        EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2})) << where;
      }
    }
  }
}

TEST_F(Landlock, ErrorsComeBeforeAnythingStarts) {
  const std::string pidfile = dir_ + "/box.pid";
  for (const auto& [flags, msg] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--fs-ro", dir_ + "/missing"},
            "--fs-ro " + dir_ + "/missing: No such file or directory (the path must exist)"},
           {{"--net-bind", "70000"},
            "--net-bind 70000: not a port or a range (PORT or FIRST-LAST, 0 to 65535)"},
           {{"--net-connect", "9-8"},
            "--net-connect 9-8: not a port or a range (PORT or FIRST-LAST, 0 to 65535)"},
           {{"--net-deny", "--net-bind", "80"},
            "--net-deny cannot be combined with --net-bind (--net-deny denies every TCP bind "
            "and connect)"},
           {{"--scope", "files"},
            "--scope files: unknown scope 'files' (use unix, signal or none)"},
           {{"--landlock=maybe", "--fs-ro", "/"},
            "--landlock=maybe: unknown mode (use require or best-effort)"},
       }) {
    std::vector<std::string> args = {"--pidfile", pidfile};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--", kProbe});
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, "boxjail: " + msg + "\n");
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(access(pidfile.c_str(), F_OK), -1);
  }
}

TEST_F(Landlock, DryRunShowsTheNegotiatedRuleset) {
  Result r = box({"--dry-run", "--fs-ro", dir_ + "/ro", "--net-bind", "8000-8002",
                      "--net-connect", "443", "--scope", "signal", "--landlock-log", "--",
                      "/bin/true"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = json::parse(r.out);
  json l = j["landlock"];
  EXPECT_EQ(l["abi"], abi_);
  EXPECT_EQ(l["domain"], "its own");
  EXPECT_EQ(l["mode"], "require");
  EXPECT_EQ(l["handled_fs"].size(), 16u);
  EXPECT_EQ(l["handled_net"], (json{"bind_tcp", "connect_tcp"}));
  EXPECT_EQ(l["scoped"], (json{"signal"}));
  EXPECT_EQ(l["rules"][0]["path"], dir_ + "/ro");
  EXPECT_EQ(l["rules"][0]["access"], (json{"read_file", "read_dir"}));
  EXPECT_EQ(l["ports"], (json::parse(R"([{"ports":"443","access":["connect_tcp"]},
                                          {"ports":"8000-8002","access":["bind_tcp"]}])")));
  EXPECT_EQ(l["log_new_exec"], true);
  EXPECT_EQ(l["dropped"], json::array());
  // Set even where boxjail has CAP_SYS_ADMIN: PROGRAM drops it (and the
  // box's own filter is seccomp's). As root, --user root implies it too;
  // without CAP_SETPCAP, so does the bounding set that cannot shrink.
  EXPECT_EQ(j["no_new_privs"]["set"], true);
  const std::string why = j["no_new_privs"]["why"];
  const std::string tail = "implied by Landlock; implied by seccomp";
  EXPECT_EQ(why.substr(why.size() - std::min(why.size(), tail.size())), tail) << why;
  if (!opt_in_.empty()) {
    EXPECT_EQ(why.rfind("implied by --user (--allow-new-privs opts out); ", 0), 0u) << why;
  }
  EXPECT_EQ(why.find("without CAP_SETPCAP the bounding set cannot shrink") != std::string::npos,
            !have_cap(CAP_SETPCAP))
      << why;
  Spawn s{.argv = {kBoxjail, "--dry-run", "--landlock=best-effort", "--fs-rw", dir_ + "/rw",
                   "--", "/bin/true"},
          .env = {"BOXJAIL_LANDLOCK_ABI=2"}};
  s.argv.insert(s.argv.begin() + 1, opt_in_.begin(), opt_in_.end());
  r = run(s);
  l = json::parse(r.out)["landlock"];
  EXPECT_EQ(l["abi"], 2);
  EXPECT_EQ(l["mode"], "best-effort");
  EXPECT_EQ(l["dropped"],
            (json{"--fs-rw " + dir_ + "/rw: truncate,ioctl_dev need Landlock ABI 5, this kernel "
                  "has ABI 2; dropped truncate,ioctl_dev"}));
}

// The working order with bubblewrap: bwrap outside, Landlock inside. The
// other order cannot work, since a Landlock domain forbids mount().
TEST_F(Landlock, ComposesInsideBubblewrap) {
  if (access("/usr/bin/bwrap", X_OK) != 0) GTEST_SKIP() << "needs bwrap (Debian package bubblewrap)";
  Result plain = run({.argv = {"/usr/bin/bwrap", "--bind", "/", "/", "--dev", "/dev",
                               "--unshare-pid", "--", "/bin/true"}});
  if (plain.code() != 0) GTEST_SKIP() << "bwrap cannot make its namespaces here: " << plain.err;
  Spawn inside{.argv = {"/usr/bin/bwrap", "--bind", "/", "/", "--dev", "/dev", "--unshare-pid",
                        "--", kBoxjail, "--no-fork", "--fs-exec-deps", "--", kProbe, "--read",
                        "/etc/passwd"}};
  // bwrap keeps the caller's uid (and, as root, its user namespace).
  inside.argv.insert(inside.argv.begin() + 9, opt_in_.begin(), opt_in_.end());
  Result r = run(inside);
  EXPECT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  EXPECT_EQ(err(j, "read", "/etc/passwd"), EACCES);
  EXPECT_EQ(j["pid"], 2);  // in bwrap's pid namespace, under its init
  Spawn outside{.argv = {kBoxjail, "--fs-rx", "/", "--", "/usr/bin/bwrap", "--bind", "/", "/",
                         "--dev", "/dev", "--unshare-pid", "--", "/bin/true"}};
  outside.argv.insert(outside.argv.begin() + 1, opt_in_.begin(), opt_in_.end());
  r = run(outside);
  EXPECT_NE(r.code(), 0);  // bwrap's mount() is refused inside the domain
  EXPECT_NE(r.err.find("bwrap: "), std::string::npos) << r.err;  // bwrap's refusal, not boxjail's
}

// The kernel audit status (AUDIT_GET), and with `set` the audit switch
// (AUDIT_SET, needs CAP_AUDIT_CONTROL), through the audit netlink socket.
// Returns the previous state, or -errno.
int audit_request(bool set, int enabled, audit_status* status) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (s < 0) return -errno;
  struct {
    nlmsghdr h;
    audit_status st;
  } req{};
  auto exchange = [&](uint16_t type) -> int {
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(s, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
      return -errno;
    for (int i = 0; i < 4; ++i) {
      char buf[8192];
      ssize_t n = recv(s, buf, sizeof buf, 0);
      if (n < static_cast<ssize_t>(sizeof(nlmsghdr))) return -EIO;
      auto* h = reinterpret_cast<nlmsghdr*>(buf);
      if (h->nlmsg_type == NLMSG_ERROR) {
        int e = reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
        if (e != 0 || type == AUDIT_SET) return e;
        continue;  // the ACK of a GET; the status follows or came first
      }
      if (h->nlmsg_type == AUDIT_GET) {
        memcpy(&req.st, NLMSG_DATA(h), sizeof req.st);
        return 0;
      }
    }
    return -EIO;
  };
  int e = exchange(AUDIT_GET);
  int previous = static_cast<int>(req.st.enabled);
  if (status != nullptr) *status = req.st;
  if (e == 0 && set) {
    req.st = {};
    req.st.mask = AUDIT_STATUS_ENABLED;
    req.st.enabled = static_cast<uint32_t>(enabled);
    e = exchange(AUDIT_SET);
  }
  close(s);
  return e < 0 ? e : previous;
}

int set_audit(int enabled) { return audit_request(true, enabled, nullptr); }

// The kernel's audit status (lost counter, backlog limit), or false.
bool audit_status_now(audit_status* st) { return audit_request(false, 0, st) >= 0; }

// --landlock-log: PROGRAM's denials (after exec) reach the audit log only
// when asked. Needs the kernel's audit records: the test switches audit on
// for its duration where it may (root), and reads them from the audit
// socket's read-only multicast group (CAP_AUDIT_READ), which gets every
// record. /dev/kmsg would not do: kauditd prints there only without an
// audit daemon, and at most 10 lines in 5 s, which the switch and the
// probe's own first denials (/proc) use up before the one looked for.
TEST_F(Landlock, LogSendsDeniedAccessesAfterExecToTheAuditLog) {
  int log = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (log < 0) GTEST_SKIP() << "no audit netlink socket: " << strerror(errno);
  sockaddr_nl group{};
  group.nl_family = AF_NETLINK;
  group.nl_groups = AUDIT_NLGRP_READLOG;
  if (bind(log, reinterpret_cast<sockaddr*>(&group), sizeof group) != 0) {
    int e = errno;
    close(log);
    GTEST_SKIP() << "cannot read the audit records (needs CAP_AUDIT_READ): " << strerror(e);
  }
  int previous = set_audit(1);
  if (previous < 0) {
    close(log);
    GTEST_SKIP() << "cannot switch kernel audit on (needs CAP_AUDIT_CONTROL): "
                 << strerror(-previous);
  }
  // Records of the whole machine (other tests log too) come through this
  // socket: room for a burst, and a count of the times it overflowed.
  const int room = 8 << 20;
  if (setsockopt(log, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) != 0)
    setsockopt(log, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  int overflowed = 0;
  audit_status before{};
  const bool counted = audit_status_now(&before);
  // "type=N TEXT" for each record received since the last call that
  // contains `needle`.
  auto records_with = [&](const std::string& needle) {
    std::string found;
    char buf[16384];
    for (ssize_t n; (n = recv(log, buf, sizeof buf, 0)) > 0 || (n < 0 && errno == ENOBUFS);) {
      if (n < 0) ++overflowed;
      if (n < static_cast<ssize_t>(sizeof(nlmsghdr))) continue;
      const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
      const size_t len = std::min<size_t>(h->nlmsg_len, static_cast<size_t>(n));
      if (len < NLMSG_HDRLEN) continue;
      const std::string text(static_cast<const char*>(NLMSG_DATA(h)), len - NLMSG_HDRLEN);
      if (text.find(needle) != std::string::npos)
        found += "type=" + std::to_string(h->nlmsg_type) + " " + text + "\n";
    }
    return found;
  };
  // The needle is this test's own path (dir_ is a fresh directory): a
  // record of another test, run beside this one, never matches.
  const std::string denied = dir_ + "/other/file";
  Result quiet = box({"--fs-exec-deps", "--", kProbe, "--read", denied});
  usleep(200000);  // kauditd sends asynchronously
  std::string without = records_with(denied);
  Result logged = box({"--landlock-log", "--fs-exec-deps", "--", kProbe, "--read", denied});
  std::string with;
  for (int i = 0; i < 100 && with.empty(); ++i) {
    usleep(100000);
    with = records_with(denied);
  }
  audit_status after{};
  const bool counted_after = counted && audit_status_now(&after);
  set_audit(previous);
  close(log);
  // Under load the kernel may drop records (its backlog limit or rate
  // limit, counted in audit_lost; kmsg says "callbacks suppressed"), or
  // this socket may overflow: then the record's absence proves nothing.
  if (with.empty() && logged.code() == 0 && counted_after && after.lost != before.lost)
    GTEST_SKIP() << "the kernel dropped " << after.lost - before.lost
                 << " audit records during the test (audit_lost " << before.lost << " -> "
                 << after.lost << ", backlog limit " << after.backlog_limit
                 << "): the record may be among them";
  if (with.empty() && logged.code() == 0 && overflowed > 0)
    GTEST_SKIP() << "the audit multicast socket overflowed " << overflowed
                 << " times (ENOBUFS) under the machine's audit traffic: the record may be lost";
  ASSERT_EQ(quiet.code(), 0) << quiet.err;
  ASSERT_EQ(logged.code(), 0) << logged.err;
  EXPECT_EQ(err(parse_probe(logged.out), "read", denied), EACCES);
  EXPECT_EQ(without, "") << "logged without --landlock-log";
  EXPECT_NE(with.find("type=1423"), std::string::npos) << with;  // LANDLOCK_ACCESS
  EXPECT_NE(with.find("fs.read_file"), std::string::npos) << with;
}

class LandlockGuest : public Landlock {
 protected:
  void SetUp() override {
    Landlock::SetUp();
    if (IsSkipped()) return;
    if (std::string why = guest::unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
};

// qemu under only the rules it needs: its own files, its TCG module
// directory, its firmware, the guest's kernel and initramfs, /dev/null.
TEST_F(LandlockGuest, QemuBootsUnderTightRulesAndFailsWithoutTheKernelRule) {
  const std::string kernel_dir = guest::kernel().substr(0, guest::kernel().rfind('/'));
  const std::string initrd_dir = guest::initrd().substr(0, guest::initrd().rfind('/'));
  auto flags = [&](bool with_kernel) {
    std::vector<std::string> f = {kBoxjail, "--fs-exec-deps", "--fs-rw", "/dev/null",
                                  "--fs-ro", initrd_dir, "--net-deny", "--scope", "signal"};
    f.insert(f.begin() + 1, opt_in_.begin(), opt_in_.end());
    // qemu's dlopen()ed TCG module and its firmware, where this qemu has them.
    for (const char* d : {"/usr/lib/x86_64-linux-gnu/qemu", "/usr/share/qemu",
                          "/usr/share/seabios"})
      if (access(d, F_OK) == 0) f.insert(f.end(), {"--fs-rx", d});
    if (with_kernel) f.insert(f.end(), {"--fs-ro", kernel_dir});
    f.push_back("--");
    for (auto& a : guest::argv()) f.push_back(a);
    return f;
  };
  Result r = run({.argv = flags(true), .timeout_ms = guest::kBootTimeoutMs});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find(guest::kMarker), std::string::npos) << r.out;
  r = run({.argv = flags(false), .timeout_ms = guest::kBootTimeoutMs});
  EXPECT_EQ(r.code(), 1) << r.err;  // qemu's own status, passed on
  EXPECT_NE(r.err.find("could not open kernel file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find(guest::kMarker), std::string::npos);
}

}  // namespace

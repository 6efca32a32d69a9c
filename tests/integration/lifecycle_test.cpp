// Detached boxes: --ready (each kind, qemu's QMP socket as the real case,
// a death before ready, the deadline) and --stop (a box in cgroups stopped
// with nothing left, a box that ignores SIGTERM, a stale record, someone
// else's record). Every assertion is on what is there afterwards: /proc,
// kill(pid, 0), the files and the cgroup directories; never on timing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "guest.h"
#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;
using json = nlohmann::json;

bool exists(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0;
}

// Every JSON line of the status descriptor.
std::vector<json> lines_of(const std::string& piped) {
  std::vector<json> v;
  std::istringstream in(piped);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) v.push_back(json::parse(l));
  return v;
}

// A unix socket listening at `path` (held by the test), or -1.
int listen_at(const std::string& path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 4) != 0) {
    close(s);
    return -1;
  }
  return s;
}

class Lifecycle : public ::testing::Test {
 protected:
  std::string pidfile() const { return dir_.path + "/box.pid"; }
  std::string state() const { return pidfile() + ".state"; }
  std::string at(const std::string& name) const { return dir_.path + "/" + name; }

  // boxjail ARGS... with PROGRAM's 1 and 2 on /dev/null, so that a
  // detached PROGRAM does not hold the test's pipes; --status-fd 4 is
  // captured into `*status` when given.
  Result box(std::vector<std::string> args, std::string* status = nullptr) {
    Spawn s{.argv = {kBoxjail}};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    s.fds = {{3, null_}};
    if (status) return run_with_pipe(s, 4, status);
    return run(s);
  }
  std::vector<std::string> detached(std::vector<std::string> flags, std::vector<std::string> cmd) {
    std::vector<std::string> a = {"--detach", "--pidfile", pidfile(), "--fd", "1=3", "--fd", "2=3"};
    a.insert(a.end(), flags.begin(), flags.end());
    a.push_back("--");
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }
  pid_t recorded_pid() const { return std::atoi(slurp(pidfile()).c_str()); }
  void remember(pid_t pid) {
    if (pid > 1) pids_.push_back(pid);
  }
  void TearDown() override {
    for (pid_t p : pids_)
      if (alive(p)) kill(p, SIGKILL);
    close(null_);
  }

  TempDir dir_;
  int null_ = open("/dev/null", O_RDWR | O_CLOEXEC);
  std::vector<pid_t> pids_;
};

TEST_F(Lifecycle, ReadyFileWaitsUntilThePathExists) {
  const std::string f = at("up");
  std::string status;
  Result r = box(detached({"--ready", "file:" + f, "--status-fd", "4"},
                          {"/bin/sh", "-c", "sleep 0.3; : > " + f + "; exec sleep 1000"}),
                 &status);
  remember(recorded_pid());
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(exists(f)) << "boxjail exited before PATH existed";
  auto l = lines_of(status);
  ASSERT_EQ(l.size(), 2u) << status;
  EXPECT_EQ(l[0]["child-pid"].get<pid_t>(), recorded_pid());
  EXPECT_EQ(l[1]["event"], "ready");
  EXPECT_TRUE(l[1]["ms"].is_number_integer());
  EXPECT_TRUE(alive(recorded_pid()));
}

TEST_F(Lifecycle, ReadyFdWaitsForALineOnDescriptorN) {
  const std::string f = at("before-the-line");
  Result r = box(detached({"--ready", "fd:5"},
                          {"/bin/sh", "-c",
                           "sleep 0.3; : > " + f + "; echo READY >&5; exec 5>&-; exec sleep 1000"}));
  remember(recorded_pid());
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_TRUE(exists(f)) << "boxjail exited before PROGRAM wrote its line";
  EXPECT_TRUE(alive(recorded_pid()));
}

TEST_F(Lifecycle, ReadyFdClosedWithoutALineEndsProgram) {
  std::string status;
  Result r = box(detached({"--ready", "fd:5", "--status-fd", "4"},
                          {"/bin/sh", "-c", "exec 5>&-; exec sleep 1000"}),
                 &status);
  auto l = lines_of(status);
  ASSERT_GE(l.size(), 1u) << status;
  const pid_t pid = l[0]["child-pid"].get<pid_t>();
  remember(pid);
  EXPECT_EQ(r.code(), 125) << r.err;
  EXPECT_EQ(r.err, "boxjail: --ready fd:5: PROGRAM closed descriptor 5 before writing a line: "
                   "SIGTERM, then SIGKILL after 2000 ms\n");
  EXPECT_FALSE(alive(pid));
  EXPECT_FALSE(exists(pidfile()));
  ASSERT_EQ(l.size(), 2u) << status;
  EXPECT_EQ(l[1]["event"], "not-ready");
  EXPECT_EQ(l[1]["reason"], "closed");
}

TEST_F(Lifecycle, ReadyUnixWaitsUntilThePathAcceptsAConnection) {
  // A stale socket file at PATH (bound, then its listener gone) is not
  // ready; PROGRAM puts a listening socket there (the test's, renamed).
  const std::string sock = at("qmp.sock"), live = at("live.sock");
  int stale = listen_at(sock);
  ASSERT_GE(stale, 0);
  close(stale);
  int listener = listen_at(live);
  ASSERT_GE(listener, 0);
  Result r = box(detached({"--ready", "unix:" + sock},
                          {"/bin/sh", "-c", "sleep 0.3; mv " + live + " " + sock + "; exec sleep 1000"}));
  remember(recorded_pid());
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_FALSE(exists(live)) << "boxjail took the stale socket file for a listener";
  close(listener);
}

TEST_F(Lifecycle, DeathBeforeReadyExitsWithProgramsStatusAndLeavesNothing) {
  Result r = box(detached({"--ready", "file:" + at("never")}, {"/bin/sh", "-c", "exit 3"}));
  EXPECT_EQ(r.code(), 3);
  EXPECT_NE(r.err.find("boxjail: --ready file:" + at("never") + ": PROGRAM (pid "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(") exited with status 3 before it was ready\n"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(exists(pidfile()));
  EXPECT_FALSE(exists(state()));

  r = box(detached({"--ready", "file:" + at("never")}, {"/bin/sh", "-c", "kill -9 $$"}));
  EXPECT_EQ(r.code(), 128 + SIGKILL);
  EXPECT_NE(r.err.find("was killed by signal 9 (Killed) before it was ready"), std::string::npos)
      << r.err;
}

TEST_F(Lifecycle, TheDeadlineEndsProgramEvenIfItIgnoresTerm) {
  std::string status;
  Result r = box(detached({"--ready", "file:" + at("never"), "--ready-timeout", "0.3",
                           "--reap-grace", "0.2", "--status-fd", "4"},
                          {"/bin/sh", "-c", "trap '' TERM; exec sleep 1000"}),
                 &status);
  auto l = lines_of(status);
  ASSERT_EQ(l.size(), 2u) << status;
  const pid_t pid = l[0]["child-pid"].get<pid_t>();
  remember(pid);
  EXPECT_EQ(r.code(), 124) << r.err;
  EXPECT_EQ(r.err, "boxjail: --ready file:" + at("never") + ": PROGRAM (pid " +
                       std::to_string(pid) +
                       ") was not ready within 300 ms (--ready-timeout 0.3): SIGTERM, then "
                       "SIGKILL after 200 ms\n");
  EXPECT_FALSE(alive(pid));
  EXPECT_FALSE(exists(pidfile()));
  EXPECT_EQ(l[1]["event"], "not-ready");
  EXPECT_EQ(l[1]["reason"], "timeout");
  EXPECT_EQ(l[1]["exit-code"], 124);
}

TEST_F(Lifecycle, DefaultModeReportsReadyAndKeepsSupervising) {
  std::string status;
  Result r = box({"--status-fd", "4", "--ready", "fd:5", "--fd", "1=3", "--", "/bin/sh", "-c",
                  "echo >&5; exec 5>&-; sleep 0.2; exit 7"},
                 &status);
  EXPECT_EQ(r.code(), 7) << r.err;
  EXPECT_EQ(r.err, "");
  auto l = lines_of(status);
  ASSERT_EQ(l.size(), 3u) << status;
  EXPECT_EQ(l[1]["event"], "ready");
  EXPECT_EQ(l[2]["exit-code"], 7);
  EXPECT_EQ(l[2]["ready"], true);
}

TEST_F(Lifecycle, DefaultModeDeadlineAndDeath) {
  std::string status;
  Result r = box({"--status-fd", "4", "--ready", "file:" + at("never"), "--ready-timeout", "0.2",
                  "--", "sleep", "1000"},
                 &status);
  EXPECT_EQ(r.code(), 124) << r.err;
  auto l = lines_of(status);
  ASSERT_EQ(l.size(), 2u) << status;
  EXPECT_EQ(l[1]["signal"], SIGTERM);
  EXPECT_EQ(l[1]["ready"], false);
  EXPECT_FALSE(alive(l[0]["child-pid"].get<pid_t>()));
  EXPECT_NE(r.err.find("was not ready within 200 ms (--ready-timeout 0.2): SIGTERM"),
            std::string::npos)
      << r.err;

  r = box({"--status-fd", "4", "--ready", "file:" + at("never"), "--", "/bin/sh", "-c", "exit 4"},
          &status);
  EXPECT_EQ(r.code(), 4);
  EXPECT_NE(r.err.find(") exited with status 4 before it was ready\n"), std::string::npos) << r.err;
}

TEST_F(Lifecycle, RefusalsNameWhy) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--no-fork", "--ready", "fd:3", "true"},
       "--ready cannot be combined with --no-fork (boxjail becomes PROGRAM: no one stays to wait "
       "for it)"},
      {{"--ready", "fd:3", "true"},
       "--ready needs --detach, or --status-fd in the default mode (where the ready event goes)"},
      {{"--detach", "--ready", "tcp:1234", "true"},
       "--ready tcp:1234: expected unix:PATH, file:PATH or fd:N"},
      {{"--detach", "--ready", "fd:2", "true"},
       "--ready fd:2: descriptors 0, 1 and 2 are PROGRAM's; use one from 3 up"},
      {{"--detach", "--ready", "fd:3", "--fd", "3=0", "true"},
       "--ready fd:3 cannot be combined with --fd 3=0: both give PROGRAM descriptor 3"},
      {{"--detach", "--ready", "file:/x", "--ready-timeout", "soon", "true"},
       "--ready-timeout soon: not a duration (seconds, more than 0, up to three decimals, or with "
       "a unit: 30, 1.5, 500ms, 2m)"},
      {{"--detach", "--ready-timeout", "3", "true"}, "--ready-timeout needs --ready (what to wait for)"},
      {{"--stop-timeout", "3", "true"}, "--stop-timeout needs --stop (the box to stop)"},
      {{"--stop", "/x.pid", "true"}, "--stop takes no PROGRAM"},
      {{"--detach", "--ready", "unix:/" + std::string(120, 'x'), "true"},
       "--ready unix:/" + std::string(120, 'x') + ": the path /" + std::string(120, 'x') +
           " is longer than a unix socket address (107 bytes)"},
  };
  for (const auto& [args, msg] : cases) {
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125) << msg;
    EXPECT_EQ(r.err, "boxjail: " + msg + "\n");
  }
  // --stop is the command line's, never a config file's (where config
  // files can be read at all: a rootless user namespace refuses them).
  const std::string config = at("box.toml");
  if (std::string why = privilege::policy_files_refused_in(dir_.path); !why.empty())
    GTEST_SKIP() << "the refusals above passed; the config-file case cannot run: " << why;
  std::ofstream(config) << "stop = \"" << pidfile() << "\"\n";
  Result c = boxjail({"--config", config, "true"});
  EXPECT_EQ(c.code(), 125);
  EXPECT_NE(c.err.find(": key 'stop': not allowed in a config file (give --stop on the command "
                       "line)"),
            std::string::npos)
      << c.err;
  // The plan shows the wait, a relative PATH made absolute.
  Result r = boxjail({"--dry-run", "--detach", "--ready", "file:up", "true"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = json::parse(r.out);
  char cwd[4096];
  ASSERT_TRUE(getcwd(cwd, sizeof cwd));
  EXPECT_EQ(j["ready"]["kind"], "file");
  EXPECT_EQ(j["ready"]["path"], std::string(cwd) + "/up");
  EXPECT_EQ(j["ready"]["timeout_ms"], 30000);
}

// --stop in cgroups: on this host v1 hierarchies (pids, memory, ...) beside
// v2 at /sys/fs/cgroup/unified.
class Stop : public Lifecycle {
 protected:
  // Without cgroups here, the tests that are about them skip (naming why);
  // the others stop boxes without.
  void SetUp() override {
    why_ = cgroups_unavailable();
    if (!why_.empty()) {
      std::printf("without cgroups: %s\n", why_.c_str());
      v2_.clear();
      pids_.clear();
    }
  }
  // "" when the test's cgroups can be made here, else why not.
  std::string cgroups_unavailable() {
    v2_ = cgroup_mount("");
    pids_ = cgroup_mount("pids");
    top_ = "boxjail-life-" + std::to_string(getpid());
    name_ = top_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    if (v2_.empty() && pids_.empty()) return "no cgroup hierarchy is mounted here";
    const std::string probe = (v2_.empty() ? pids_ : v2_) + "/boxjail-write-check";
    if (mkdir(probe.c_str(), 0755) != 0)
      return std::string("needs write access to the cgroup hierarchy (") + strerror(errno) +
             "; root, or a delegated subtree)";
    rmdir(probe.c_str());
    return "";
  }
  void TearDown() override {
    Lifecycle::TearDown();
    for (const auto& m : {v2_, pids_}) {
      if (m.empty()) continue;
      rmdir((m + "/" + name_).c_str());
      rmdir((m + "/" + top_).c_str());
    }
  }
  // Every directory the state record lists.
  std::vector<std::string> state_dirs() const {
    std::vector<std::string> v;
    std::istringstream in(slurp(state()));
    std::string l;
    while (std::getline(in, l))
      if (l.rfind("cgroup ", 0) == 0 || l.rfind("parent ", 0) == 0) v.push_back(l.substr(7));
    return v;
  }
  // Starts `cmd` detached in the test's cgroup, with a child of its own.
  pid_t start(std::vector<std::string> cmd, std::vector<std::string> extra = {}) {
    std::vector<std::string> flags;
    if (why_.empty()) flags = {"--cgroup", name_};
    if (!pids_.empty()) flags.insert(flags.end(), {"--cgroup-set", "pids.max=50"});
    flags.insert(flags.end(), extra.begin(), extra.end());
    Result r = box(detached(flags, cmd));
    EXPECT_EQ(r.code(), 0) << r.err;
    remember(recorded_pid());
    return recorded_pid();
  }
  void expect_nothing_left(const std::vector<std::string>& dirs) {
    EXPECT_FALSE(exists(pidfile()));
    EXPECT_FALSE(exists(state()));
    for (const auto& d : dirs) EXPECT_FALSE(exists(d)) << d;
    for (const auto& m : {v2_, pids_})
      if (!m.empty()) {
        EXPECT_FALSE(exists(m + "/" + top_)) << m;
      }
  }
  std::string v2_, pids_, top_, name_, why_;
};

TEST_F(Stop, StopsTheBoxAndRemovesEverythingItLeft) {
  if (!why_.empty()) GTEST_SKIP() << why_;
  const pid_t pid = start({"/bin/sh", "-c", "sleep 1000 & echo $! > " + at("child") + "; wait"});
  ASSERT_TRUE(alive(pid));
  for (int i = 0; i < 500 && slurp(at("child")).empty(); ++i) usleep(10000);
  const pid_t child = std::atoi(slurp(at("child")).c_str());
  remember(child);
  ASSERT_GT(child, 1);
  const std::vector<std::string> dirs = state_dirs();
  ASSERT_FALSE(dirs.empty()) << slurp(state());
  for (const auto& d : dirs) EXPECT_TRUE(exists(d)) << d;
  EXPECT_EQ(slurp(state()).rfind("boxjail-state 1\npid " + std::to_string(pid) + "\n", 0), 0u)
      << slurp(state());
  struct stat st {};
  ASSERT_EQ(stat(state().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  Result r = boxjail({"--stop", pidfile()});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(wait_gone(pid));
  EXPECT_TRUE(wait_gone(child)) << "what PROGRAM started in its cgroup is left";
  expect_nothing_left(dirs);

  r = boxjail({"--stop", pidfile()});
  EXPECT_EQ(r.code(), 1);
  EXPECT_EQ(r.err, "boxjail: --stop " + pidfile() + ": no box is recorded there\n");
}

TEST_F(Stop, ABoxThatIgnoresTermIsKilledAfterTheTimeout) {
  // Ready once SIGTERM is ignored, so that --stop cannot come first.
  const pid_t pid = start({"/bin/sh", "-c", "trap '' TERM; : > " + at("up") + "; exec sleep 1000"},
                          {"--ready", "file:" + at("up")});
  ASSERT_TRUE(alive(pid));
  const std::vector<std::string> dirs = state_dirs();
  Result r = boxjail({"--stop", pidfile(), "--stop-timeout", "0.3"});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.err, "boxjail: --stop " + pidfile() + ": pid " + std::to_string(pid) +
                       " did not end within 0.3 s (--stop-timeout) of SIGTERM: SIGKILL\n");
  EXPECT_FALSE(alive(pid));
  expect_nothing_left(dirs);
}

TEST_F(Stop, AStaleRecordIsCleanedUpByStopAndByCheckPidfile) {
  for (const char* how : {"--stop", "--check-pidfile"}) {
    const pid_t pid = start({"sleep", "1000"});
    const std::vector<std::string> dirs = state_dirs();
    EXPECT_EQ(dirs.empty(), !why_.empty());
    kill(pid, SIGKILL);
    ASSERT_TRUE(wait_gone(pid));
    Result r = boxjail({how, pidfile()});
    EXPECT_EQ(r.code(), 1) << how << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "boxjail: " + std::string(how) + " " + pidfile() + ": a stale record (pid " +
                         std::to_string(pid) + " is not running): removed it" +
                         (dirs.empty() ? std::string()
                                       : ", its state record and " + std::to_string(dirs.size()) +
                                             " cgroup directories") +
                         "\n")
        << how;
    expect_nothing_left(dirs);
  }
}

TEST_F(Stop, ANewStartReplacesAStaleRecordAndItsCgroups) {
  if (!why_.empty()) GTEST_SKIP() << why_;
  const pid_t old = start({"sleep", "1000"});
  const std::vector<std::string> dirs = state_dirs();
  kill(old, SIGKILL);
  ASSERT_TRUE(wait_gone(old));
  // The same cgroup again: made anew, so this box's to remove.
  const pid_t pid = start({"sleep", "1000"});
  EXPECT_EQ(state_dirs(), dirs);
  Result r = boxjail({"--stop", pidfile()});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_FALSE(alive(pid));
  expect_nothing_left(dirs);
}

TEST_F(Lifecycle, SomeoneElsesRecordIsRefusedAndNothingIsSignalled) {
  Result r = box(detached({}, {"sleep", "1000"}));
  ASSERT_EQ(r.code(), 0) << r.err;
  const pid_t pid = recorded_pid();
  remember(pid);
  // Writable by others.
  ASSERT_EQ(chmod(pidfile().c_str(), 0666), 0);
  r = boxjail({"--stop", pidfile()});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --stop " + pidfile() +
                       ": writable by others (mode 666); refusing to trust or replace it\n");
  EXPECT_TRUE(alive(pid));
  ASSERT_EQ(chmod(pidfile().c_str(), 0644), 0);
  // A state record that is a symbolic link.
  ASSERT_EQ(symlink("/etc/passwd", state().c_str()), 0);
  r = boxjail({"--stop", pidfile()});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --stop " + pidfile() + ": the state record box.pid.state is a "
                   "symbolic link; refusing to follow it\n");
  EXPECT_TRUE(alive(pid));
  unlink(state().c_str());
  // A state record that lists a directory outside the cgroup file systems.
  std::ofstream(state()) << "boxjail-state 1\npid " << pid << "\nstart-time "
                         << start_time_of(pid) << "\ncgroup " << dir_.path << "\n";
  chmod(state().c_str(), 0644);
  r = boxjail({"--stop", pidfile()});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --stop " + pidfile() + ": the state record box.pid.state lists " +
                       dir_.path + ", which is not on a cgroup file system; refusing to act on it\n");
  EXPECT_TRUE(alive(pid));
  unlink(state().c_str());
  // Owned by another uid.
  const uid_t other = geteuid() == 65534 ? 65533 : 65534;
  if (std::string why = privilege::give_away(pidfile(), other, other); !why.empty()) {
    kill(pid, SIGKILL);
    GTEST_SKIP() << why;
  }
  r = boxjail({"--stop", pidfile()});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --stop " + pidfile() + ": owned by uid " + std::to_string(other) +
                       ", not by uid " +
                       std::to_string(geteuid()) + "; refusing to trust or replace it\n");
  EXPECT_TRUE(alive(pid));
  EXPECT_TRUE(exists(pidfile()));
}

// qemu: the QMP socket is the readiness source, and a wrong -kernel path
// is a death before ready. In cgroups where they can be made here (else
// without, and the --stop part is Stop's).
class QemuLifecycle : public Stop {
 protected:
  void SetUp() override {
    if (std::string why = guest::unavailable(); !why.empty()) GTEST_SKIP() << why;
    if (std::string why = cgroups_unavailable(); !why.empty()) {
      std::printf("without cgroups: %s\n", why.c_str());
      v2_.clear();
      pids_.clear();
    }
  }
  std::vector<std::string> cgroup_flags(const std::string& pids_max) const {
    if (v2_.empty() && pids_.empty()) return {};
    std::vector<std::string> f = {"--cgroup", name_};
    if (!pids_.empty()) f.insert(f.end(), {"--cgroup-set", "pids.max=" + pids_max});
    return f;
  }
  std::vector<std::string> qemu(const std::string& kernel) {
    guest::Boot b;
    b.wait = true;
    b.serial = "null";
    b.kernel = kernel;
    std::vector<std::string> a = guest::argv(b);
    a.insert(a.end(), {"-qmp", "unix:" + at("qmp") + ",server=on,wait=off"});
    return a;
  }
};

TEST_F(QemuLifecycle, DetachedQemuIsReadyOnItsQmpSocketAndStopsCleanly) {
  std::string status;
  std::vector<std::string> flags = cgroup_flags("200");
  flags.insert(flags.end(), {"--ready", "unix:" + at("qmp"), "--ready-timeout", "120",
                             "--status-fd", "4"});
  Result r = box(detached(flags, qemu(guest::kernel())), &status);
  remember(recorded_pid());
  ASSERT_EQ(r.code(), 0) << r.err;
  auto l = lines_of(status);
  ASSERT_EQ(l.size(), 2u) << status;
  EXPECT_EQ(l[1]["event"], "ready");
  // The socket accepts a connection now, and greets as QMP does.
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", at("qmp").c_str());
  ASSERT_EQ(connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  char buf[256] = {};
  ASSERT_GT(read(s, buf, sizeof buf - 1), 0);
  EXPECT_NE(std::string(buf).find("\"QMP\""), std::string::npos) << buf;
  close(s);

  const pid_t pid = recorded_pid();
  const std::vector<std::string> dirs = state_dirs();
  EXPECT_EQ(dirs.empty(), cgroup_flags("1").empty());
  r = boxjail({"--stop", pidfile()});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_FALSE(alive(pid));
  expect_nothing_left(dirs);
}

TEST_F(QemuLifecycle, AWrongKernelPathIsADeathBeforeReady) {
  std::vector<std::string> flags = cgroup_flags("200");
  flags.insert(flags.end(), {"--ready", "unix:" + at("qmp"), "--ready-timeout", "120"});
  Result r = box(detached(flags, qemu("/wrong/dir/vmlinuz")));
  EXPECT_EQ(r.code(), 1) << r.err;
  EXPECT_NE(r.err.find(") exited with status 1 before it was ready\n"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(pidfile()));
  EXPECT_FALSE(exists(state()));
  for (const auto& m : {v2_, pids_})
    if (!m.empty()) {
      EXPECT_FALSE(exists(m + "/" + top_)) << m;
    }
}

}  // namespace

// --pidfile and --check-pidfile, observed through the file system and /proc,
// and checked with a real client (start-stop-daemon).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cstring>

#include "harness.h"

using namespace harness;

namespace {

class Pidfile : public ::testing::Test {
 protected:
  std::string pidfile() const { return dir_.path + "/box.pid"; }
  std::vector<std::string> entries() const {
    std::vector<std::string> v;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path))
      v.push_back(e.path().filename());
    std::sort(v.begin(), v.end());
    return v;
  }
  // In the default mode the record is written once the exec has happened,
  // so it can trail the target's first output by a moment.
  void wait_for_record() const {
    for (int i = 0; i < 1000 && slurp(pidfile()).empty(); ++i) usleep(10000);
  }
  // The record as two numbers, checked for form.
  std::pair<pid_t, std::string> record() const {
    std::string text = slurp(pidfile());
    size_t nl = text.find('\n');
    EXPECT_NE(nl, std::string::npos) << text;
    EXPECT_EQ(text.back(), '\n') << text;
    if (nl == std::string::npos) return {0, ""};
    return {std::stoi(text.substr(0, nl)), text.substr(nl + 1, text.size() - nl - 2)};
  }
  // Starts a long-running probe in `mode` with --pidfile; returns its pid.
  pid_t start_detached(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--detach", "--pidfile", pidfile(), "--fd", "1=3",
                                      "--fd", "2=3"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {kProbe, "--wait"});
    Spawn s{.argv = {kBoxjail}};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    s.fds = {{3, null_}};
    Result r = run(s);
    EXPECT_EQ(r.code(), 0) << r.err;
    return record().first;
  }
  void TearDown() override {
    close(null_);
    std::string text = slurp(pidfile());
    if (!text.empty()) {
      pid_t pid = std::atoi(text.c_str());
      if (pid > 1 && alive(pid)) kill(pid, SIGKILL);
    }
  }

  TempDir dir_;
  int null_ = open("/dev/null", O_RDWR | O_CLOEXEC);
};

TEST_F(Pidfile, DefaultModeRecordsTheTargetAndRemovesTheFileAtTheEnd) {
  Proc p({.argv = {kBoxjail, "--pidfile", pidfile(), kProbe, "--wait"}});
  auto j = parse_probe(p.read_line());
  wait_for_record();
  auto [pid, start] = record();
  EXPECT_EQ(pid, j["pid"].get<pid_t>());
  EXPECT_NE(pid, p.pid());
  EXPECT_EQ(start, start_time_of(pid));
  EXPECT_EQ(entries(), std::vector<std::string>{"box.pid"});  // no lock or temporary left
  EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2}));
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 100 + SIGTERM);
  EXPECT_TRUE(entries().empty());
}

TEST_F(Pidfile, DetachWritesTheFileBeforeExiting) {
  pid_t pid = start_detached();
  // boxjail has exited; the record is already complete (systemd reads it now).
  ASSERT_GT(pid, 1);
  EXPECT_TRUE(alive(pid));
  EXPECT_EQ(record().second, start_time_of(pid));
  EXPECT_EQ(getsid(pid), pid);
  EXPECT_EQ(entries(), std::vector<std::string>{"box.pid"});
}

TEST_F(Pidfile, NoForkRecordsBoxjailsOwnPid) {
  Proc p({.argv = {kBoxjail, "--no-fork", "--pidfile", pidfile(), kProbe, "--wait"}});
  auto j = parse_probe(p.read_line());
  auto [pid, start] = record();
  EXPECT_EQ(pid, p.pid());
  EXPECT_EQ(j["pid"], p.pid());
  EXPECT_EQ(start, start_time_of(pid));
  // PROGRAM must not have inherited any of the PID file's descriptors.
  EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2}));
  kill(p.pid(), SIGKILL);
  p.wait();
}

TEST_F(Pidfile, NoPidfileDescriptorReachesTheTargetEvenWithKeepFds) {
  for (const auto& mode : all_modes()) {
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--keep-fds", "--pidfile", pidfile(), kProbe});
    Result r = boxjail(args);
    ASSERT_EQ(r.code(), 0) << r.err;
    EXPECT_EQ(fd_numbers(parse_probe(r.out)), (std::vector<int>{0, 1, 2})) << mode_label(mode);
    unlink(pidfile().c_str());
  }
}

TEST_F(Pidfile, RelativePathIsResolvedAgainstTheWorkingDirectory) {
  Result r = run({.argv = {"/bin/sh", "-c", "cd \"$0\" && exec \"$1\" --pidfile box.pid "
                                            "--dry-run true",
                           dir_.path, kBoxjail}});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["pidfile"], pidfile());
}

TEST_F(Pidfile, FailedStartsLeaveNothingBehind) {
  for (const auto& mode : all_modes()) {
    // A failed exec ...
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--pidfile", pidfile(), "/nonexistent/shim"});
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 127) << mode_label(mode);
    EXPECT_TRUE(entries().empty()) << mode_label(mode);
    // ... an exec that fails only in the kernel ...
    args = mode;
    args.insert(args.end(), {"--pidfile", pidfile(), "/etc/passwd/x"});
    r = boxjail(args);
    EXPECT_NE(r.code(), 0);
    EXPECT_TRUE(entries().empty()) << mode_label(mode);
    // ... and a failed setup step.
    Spawn s{.argv = {kSysdeny, "--no-setrlimit", "--", kBoxjail}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {"--pidfile", pidfile(), "--rlimit", "nofile=64", kProbe});
    r = run(s);
    EXPECT_EQ(r.code(), 125) << mode_label(mode) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(entries().empty()) << mode_label(mode);
  }
}

TEST_F(Pidfile, SymlinksAndNonRegularFilesAreRefused) {
  std::string victim = dir_.path + "/victim";
  std::ofstream(victim) << "precious\n";
  ASSERT_EQ(symlink(victim.c_str(), pidfile().c_str()), 0);
  for (const auto& mode : all_modes()) {
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--pidfile", pidfile(), kProbe});
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, "boxjail: --pidfile " + pidfile() +
                         ": is a symbolic link; refusing to follow it\n");
    EXPECT_EQ(r.out, "");  // nothing started
  }
  EXPECT_EQ(slurp(victim), "precious\n");
  unlink(pidfile().c_str());
  ASSERT_EQ(mkdir(pidfile().c_str(), 0755), 0);
  Result r = boxjail({"--pidfile", pidfile(), kProbe});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --pidfile " + pidfile() + ": exists and is not a regular file\n");
}

TEST_F(Pidfile, StaleRecordsAreReplacedWithANote) {
  const std::pair<std::string, std::string> cases[] = {
      {"garbage\n", "it does not hold a valid record"},
      {"", "it does not hold a valid record"},
      {"2147483000\n1\n", "pid 2147483000 is not running"},
      {std::to_string(getpid()) + "\n1\n",
       "pid " + std::to_string(getpid()) + " now belongs to another process"},
  };
  for (const auto& [content, why] : cases) {
    std::ofstream(pidfile()) << content;
    Result r = boxjail({"-v", "--pidfile", pidfile(), kProbe});
    ASSERT_EQ(r.code(), 0) << r.err;
    EXPECT_NE(r.err.find("boxjail: replacing stale pid file " + pidfile() + ": " + why + "\n"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(entries().empty());  // and removed again at the end
  }
}

TEST_F(Pidfile, AlreadyRunningIsRefused) {
  pid_t pid = start_detached();
  for (const auto& mode : all_modes()) {
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--pidfile", pidfile(), kProbe});
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, "boxjail: already running as pid " + std::to_string(pid) + " (" +
                         pidfile() + ")\n");
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(record().first, pid);
}

TEST_F(Pidfile, ConcurrentStartsStartExactlyOneProgram) {
  constexpr int kStarts = 12;
  std::vector<std::unique_ptr<Proc>> procs;
  for (int i = 0; i < kStarts; ++i) {
    Spawn s{.argv = {kBoxjail, "--detach", "--pidfile", pidfile(), "--fd", "1=3", "--fd",
                     "2=3", "/bin/sleep", "60"}};
    s.fds = {{3, null_}};
    procs.push_back(std::make_unique<Proc>(s));
  }
  int started = 0, refused = 0;
  for (auto& p : procs) {
    Result r = p->wait();
    if (r.code() == 0) ++started;
    if (r.code() == 125 && r.err.find("already running as pid") != std::string::npos) ++refused;
  }
  EXPECT_EQ(started, 1);
  EXPECT_EQ(refused, kStarts - 1);
  // And only one sleep 60 is running with that pid file's session.
  pid_t pid = record().first;
  EXPECT_TRUE(alive(pid));
  EXPECT_EQ(entries(), std::vector<std::string>{"box.pid"});
}

TEST_F(Pidfile, ReadersNeverSeeAnEmptyOrPartialRecord) {
  // The reader is a process, not a thread: the harness forks, and forking a
  // multi-threaded test would be unsafe.
  int stop[2], report[2];
  ASSERT_EQ(pipe2(stop, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  pid_t reader = fork();
  if (reader == 0) {
    close(stop[1]);
    fcntl(stop[0], F_SETFL, O_NONBLOCK);
    long reads = 0, bad = 0;
    char last_bad[64] = "";
    char c;
    while (read(stop[0], &c, 1) < 0 && errno == EAGAIN) {
      int fd = open(pidfile().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;  // no file: fine
      char buf[64];
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      ++reads;
      buf[n > 0 ? n : 0] = '\0';
      char* nl = strchr(buf, '\n');
      if (n <= 0 || !nl || buf[n - 1] != '\n' || nl == buf + n - 1) {
        ++bad;
        memcpy(last_bad, buf, sizeof last_bad);
      }
    }
    dprintf(report[1], "%ld %ld %s", reads, bad, last_bad);
    _exit(0);
  }
  close(stop[0]);
  close(report[1]);
  // PROGRAM sleeps 10 ms with its record in place: the CPU is then idle,
  // so the reader runs even where there is one CPU (with /bin/true it could
  // miss every record there, and prove nothing).
  for (int round = 0; round < 25; ++round) {
    std::vector<std::unique_ptr<Proc>> procs;
    for (int i = 0; i < 4; ++i)
      procs.push_back(std::make_unique<Proc>(
          Spawn{.argv = {kBoxjail, "--pidfile", pidfile(), "/bin/sleep", "0.01"}}));
    for (auto& p : procs) p->wait();
  }
  close(stop[1]);
  char buf[256] = "";
  ssize_t n = read(report[0], buf, sizeof buf - 1);
  close(report[0]);
  waitpid(reader, nullptr, 0);
  ASSERT_GT(n, 0);
  long reads = 0, bad = 0;
  sscanf(buf, "%ld %ld", &reads, &bad);
  EXPECT_EQ(bad, 0) << buf;
  EXPECT_GT(reads, 0);
  EXPECT_TRUE(entries().empty());
}

TEST_F(Pidfile, SupervisorLeavesAFileThatIsNoLongerItsRecord) {
  Proc p({.argv = {kBoxjail, "--pidfile", pidfile(), kProbe, "--wait"}});
  parse_probe(p.read_line());
  wait_for_record();
  std::ofstream(pidfile()) << "1\n1\n";  // someone else's record now
  kill(p.pid(), SIGTERM);
  p.wait();
  EXPECT_EQ(slurp(pidfile()), "1\n1\n");
  unlink(pidfile().c_str());
}

TEST_F(Pidfile, CheckPidfile) {
  Result r = boxjail({"--check-pidfile", pidfile()});
  EXPECT_EQ(r.code(), 1);  // absent
  EXPECT_EQ(r.out, "");
  pid_t pid = start_detached();
  r = boxjail({"--check-pidfile", pidfile()});
  EXPECT_EQ(r.code(), 0);
  EXPECT_EQ(r.out, std::to_string(pid) + "\n");
  kill(pid, SIGKILL);
  ASSERT_TRUE(wait_gone(pid));
  r = boxjail({"--check-pidfile", pidfile()});
  EXPECT_EQ(r.code(), 1);  // stale
  unlink(pidfile().c_str());
  ASSERT_EQ(symlink("/etc/hostname", pidfile().c_str()), 0);
  r = boxjail({"--check-pidfile", pidfile()});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --check-pidfile " + pidfile() +
                       ": is a symbolic link; refusing to follow it\n");
  r = boxjail({"--check-pidfile", pidfile(), "true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --check-pidfile takes no PROGRAM\n");
}

TEST_F(Pidfile, StartStopDaemonAgrees) {
  const std::string ssd = "/sbin/start-stop-daemon";
  if (access(ssd.c_str(), X_OK) != 0) GTEST_SKIP() << "start-stop-daemon not installed";
  pid_t pid = start_detached();
  Result r = run({.argv = {ssd, "--status", "--pidfile", pidfile()}});
  EXPECT_EQ(r.code(), 0) << "running";
  r = run({.argv = {ssd, "--stop", "--pidfile", pidfile(), "--retry", "TERM/5/KILL/5"}});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_TRUE(wait_gone(pid));
  r = run({.argv = {ssd, "--status", "--pidfile", pidfile()}});
  EXPECT_EQ(r.code(), 1) << "not running, pid file exists";
  r = boxjail({"--check-pidfile", pidfile()});
  EXPECT_EQ(r.code(), 1);
}

TEST_F(Pidfile, KillingTheProcessGroupReapsGrandchildren) {
  Proc p({.argv = {kBoxjail, "--pidfile", pidfile(), kProbe, "--spawn", "2", "--wait"}});
  auto j = parse_probe(p.read_line());
  auto spawned = nlohmann::json::parse(p.read_line())["spawned"];
  ASSERT_EQ(spawned.size(), 2u);
  wait_for_record();
  pid_t leader = record().first;
  ASSERT_EQ(leader, j["pid"].get<pid_t>());
  // kill -- -$(head -1 PATH)
  Result k = run({.argv = {"/bin/sh", "-c", "kill -s KILL -- -$(head -1 \"$0\")", pidfile()}});
  EXPECT_EQ(k.code(), 0) << k.err;
  Result r = p.wait();
  EXPECT_EQ(r.signal(), SIGKILL);
  for (const auto& g : spawned) EXPECT_TRUE(wait_gone(g.get<pid_t>()));
  EXPECT_TRUE(entries().empty());
}

}  // namespace

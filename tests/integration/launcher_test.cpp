// Launcher hand-off: --status-fd, --die-with-parent, systemd socket
// activation.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "harness.h"

using namespace harness;

namespace {

// Everything a pipe's writers wrote until they all closed it.
std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> v;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    v.push_back(nlohmann::json::parse(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return v;
}

struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fd, O_CLOEXEC), 0); }
  ~Pipe() {
    if (fd[0] >= 0) close(fd[0]);
    if (fd[1] >= 0) close(fd[1]);
  }
  void close_write() {
    close(fd[1]);
    fd[1] = -1;
  }
  int fd[2];
};

TEST(StatusFd, DefaultModeReportsStartAndExit) {
  Pipe st;
  Proc p({.argv = {kBoxjail, "--status-fd", "3", kProbe, "--exit", "7"}, .fds = {{3, st.fd[1]}}});
  st.close_write();
  std::string text = read_to_eof(st.fd[0]);
  Result r = p.wait();
  ASSERT_EQ(r.code(), 7) << r.err;
  auto j = parse_probe(r.out);
  auto lines = json_lines(text);
  ASSERT_EQ(lines.size(), 2u) << text;
  EXPECT_EQ(lines[0]["child-pid"], j["pid"]);
  EXPECT_EQ(std::to_string(lines[0]["start-time"].get<uint64_t>()).size() > 0, true);
  EXPECT_EQ(lines[1]["exit-code"], 7);
  for (const char* field : {"elapsed-s", "user-cpu-s", "sys-cpu-s", "max-rss-kib"})
    EXPECT_TRUE(lines[1].contains(field)) << field << ": " << text;
  EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2}));  // never inherited
}

TEST(StatusFd, StartTimeMatchesProc) {
  Pipe st;
  Proc p({.argv = {kBoxjail, "--status-fd", "3", "--keep-fds", kProbe, "--wait"},
          .fds = {{3, st.fd[1]}}});
  st.close_write();
  auto j = parse_probe(p.read_line());
  // The first line is there while the target runs.
  char buf[256];
  ssize_t n = read(st.fd[0], buf, sizeof buf);
  ASSERT_GT(n, 0);
  auto line = nlohmann::json::parse(std::string(buf, static_cast<size_t>(n)));
  EXPECT_EQ(line["child-pid"], j["pid"]);
  EXPECT_EQ(std::to_string(line["start-time"].get<uint64_t>()), start_time_of(j["pid"]));
  // Even with --keep-fds the status descriptor is not PROGRAM's.
  EXPECT_TRUE(fd_entry(j, 3).is_null());
  kill(j["pid"].get<pid_t>(), SIGKILL);
  Result r = p.wait();
  EXPECT_EQ(r.signal(), SIGKILL);
  auto last = json_lines(read_to_eof(st.fd[0]));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0]["signal"], SIGKILL);
  EXPECT_EQ(last[0]["core-dumped"], false);
}

TEST(StatusFd, DetachAndNoForkReportTheStartOnly) {
  for (const auto& mode : {std::string("--detach"), std::string("--no-fork")}) {
    Pipe st;
    Proc p({.argv = {kBoxjail, mode, "--status-fd", "3", kProbe}, .fds = {{3, st.fd[1]}}});
    st.close_write();
    auto lines = json_lines(read_to_eof(st.fd[0]));
    Result r = p.wait();
    ASSERT_EQ(r.code(), 0) << r.err;
    auto j = parse_probe(r.out);
    ASSERT_EQ(lines.size(), 1u) << mode;
    EXPECT_EQ(lines[0]["child-pid"], j["pid"]) << mode;
    if (mode == "--no-fork") {
      EXPECT_EQ(j["pid"], p.pid());
    }
    EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2})) << mode;
  }
}

TEST(StatusFd, NothingIsReportedWhenTheStartFails) {
  for (const auto& mode : all_modes()) {
    Pipe st;
    Spawn s{.argv = {kBoxjail}, .fds = {{3, st.fd[1]}}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {"--status-fd", "3", "/etc/passwd/nope"});
    Proc p(s);
    st.close_write();
    EXPECT_EQ(read_to_eof(st.fd[0]), "") << mode_label(mode);
    EXPECT_NE(p.wait().code(), 0);
  }
}

// The process that started boxjail is a shell; killing it must take the
// target with it.
TEST(DieWithParent, TargetDiesWithTheStarter) {
  for (const auto& mode : {std::vector<std::string>{}, std::vector<std::string>{"--no-fork"}}) {
    Spawn s{.argv = {"/bin/sh", "-c", "\"$@\"; :", "sh", kBoxjail, "--die-with-parent"}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {kProbe, "--wait"});
    Proc p(s);
    auto j = parse_probe(p.read_line());
    pid_t target = j["pid"].get<pid_t>();
    ASSERT_TRUE(alive(target));
    kill(p.pid(), SIGKILL);  // the starting shell
    EXPECT_TRUE(wait_gone(target)) << mode_label(mode);
    p.wait();
  }
}

TEST(DieWithParent, TargetDiesWithTheSupervisor) {
  Proc p({.argv = {kBoxjail, "--die-with-parent", kProbe, "--wait"}});
  auto j = parse_probe(p.read_line());
  pid_t target = j["pid"].get<pid_t>();
  kill(p.pid(), SIGKILL);  // the supervisor itself
  EXPECT_TRUE(wait_gone(target));
  p.wait();
}

TEST(DieWithParent, WithoutTheFlagTheTargetSurvives) {
  Proc p({.argv = {kBoxjail, kProbe, "--wait"}});
  auto j = parse_probe(p.read_line());
  pid_t target = j["pid"].get<pid_t>();
  kill(p.pid(), SIGKILL);
  usleep(100000);
  EXPECT_TRUE(alive(target));
  kill(target, SIGKILL);
  p.wait();
}

TEST(DieWithParent, ChosenSignalArrives) {
  // The starting shell exits once the target runs (it writes READY), so the
  // prctl has been made by then; the target must get SIGTERM. (The race of
  // a parent that dies between boxjail's start and the prctl is covered
  // deterministically in unit_tests, ChildSteps.ParentDeath*.)
  TempDir d;
  for (const auto& mode : {std::vector<std::string>{}, std::vector<std::string>{"--no-fork"}}) {
    std::string note = d.path + "/note" + mode_label(mode);
    std::string ready = d.path + "/ready" + mode_label(mode);
    Spawn s{.argv = {"/bin/sh", "-c",
                     "\"$@\" & while [ ! -e \"" + ready + "\" ]; do sleep 0.01; done; exit 0",
                     "sh", kBoxjail, "--die-with-parent=TERM"}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {kProbe, "--wait", "--note", note, "--out", ready});
    Result r = run(s);
    EXPECT_EQ(r.code(), 0);
    std::string got;
    for (int i = 0; i < 1000 && (got = slurp(note)).empty(); ++i) usleep(10000);
    EXPECT_EQ(got, std::to_string(SIGTERM) + "\n") << mode_label(mode);
  }
}

TEST(SocketActivation, ListenPidFollowsTheTargetAndListenFdsAreKept) {
  for (const auto& mode : all_modes()) {
    Pipe a, b;
    Spawn s{.argv = {kBoxjail}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {"--fd", "5=1", kProbe});
    s.fds = {{3, a.fd[0]}, {4, b.fd[0]}, {6, a.fd[1]}};
    s.listen_fds = 2;
    Result r = run(s);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << r.err;
    auto j = parse_probe(r.out);
    EXPECT_EQ(j["env"]["LISTEN_PID"], std::to_string(j["pid"].get<int>())) << mode_label(mode);
    EXPECT_EQ(j["env"]["LISTEN_FDS"], "2");
    EXPECT_EQ(j["env"]["LISTEN_FDNAMES"], "s0:s1");
    EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2, 3, 4, 5})) << mode_label(mode);
    EXPECT_EQ(fd_entry(j, 3)["ino"], inode_of(a.fd[0]));
  }
}

TEST(SocketActivation, RemappingAListenFdIsRefused) {
  Pipe a;
  Spawn s{.argv = {kBoxjail, "--fd", "3=1", kProbe}, .fds = {{3, a.fd[0]}}};
  s.listen_fds = 1;
  Result r = run(s);
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --fd 3=1 would replace socket-activation descriptor 3 "
                   "(LISTEN_FDS=1); use a target from 4 up\n");
}

TEST(SocketActivation, SomeoneElsesListenPidChangesNothing) {
  Result r = run({.argv = {kBoxjail, kProbe}, .env = {"LISTEN_PID=1", "LISTEN_FDS=3"}});
  ASSERT_EQ(r.code(), 0);
  auto j = parse_probe(r.out);
  EXPECT_EQ(j["env"]["LISTEN_PID"], "1");
  EXPECT_EQ(j["env"]["LISTEN_FDS"], "3");
  EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2}));
  r = run({.argv = {kBoxjail, kProbe}});
  EXPECT_FALSE(parse_probe(r.out)["env"].contains("LISTEN_PID"));
}

}  // namespace

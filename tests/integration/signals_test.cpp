// Signal forwarding, exit-status propagation and terminal job control.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

class Forwarding : public ::testing::TestWithParam<int> {};

TEST_P(Forwarding, SignalToBoxjailReachesTheTarget) {
  const int sig = GetParam();
  Proc p({.argv = {kBoxjail, kProbe, "--wait"}});
  auto j = parse_probe(p.read_line());  // the probe runs and has blocked everything
  ASSERT_TRUE(j.contains("pid"));
  ASSERT_EQ(kill(p.pid(), sig), 0);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 100 + sig) << "signal " << sig << " stderr: " << r.err;
}

INSTANTIATE_TEST_SUITE_P(Signals, Forwarding,
                         ::testing::Values(SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM,
                                           SIGALRM, SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGURG,
                                           SIGPIPE, SIGSEGV, SIGRTMIN + 2, SIGRTMAX));

class Death : public ::testing::TestWithParam<int> {};

TEST_P(Death, TargetKilledBySignalKillsBoxjailTheSameWay) {
  const int sig = GetParam();
  for (const auto& mode : {std::vector<std::string>{}, std::vector<std::string>{"--no-fork"}}) {
    Spawn s{.argv = {kBoxjail}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {kProbe, "--kill", std::to_string(sig)});
    Result r = run(s);
    EXPECT_TRUE(WIFSIGNALED(r.status)) << mode_label(mode) << " status " << r.status;
    EXPECT_EQ(r.signal(), sig) << mode_label(mode);
    EXPECT_FALSE(WCOREDUMP(r.status)) << "boxjail must not dump core";
  }
}

INSTANTIATE_TEST_SUITE_P(Signals, Death,
                         ::testing::Values(SIGTERM, SIGKILL, SIGSEGV, SIGABRT, SIGINT, SIGHUP,
                                           SIGBUS, SIGUSR1));

TEST(Supervisor, ExternalKillOfTheTargetIsPassedOn) {
  Proc p({.argv = {kBoxjail, kProbe, "--wait"}});
  auto j = parse_probe(p.read_line());
  ASSERT_EQ(kill(j["pid"].get<pid_t>(), SIGKILL), 0);
  Result r = p.wait();
  EXPECT_EQ(r.signal(), SIGKILL);
}

TEST(Supervisor, ForwardsSeveralSignalsInARow) {
  // A shell that acknowledges each USR1 it receives and exits on TERM with
  // the count; each signal is sent after the previous one was acknowledged,
  // so none can merge with another.
  Proc p({.argv = {kBoxjail, "/bin/sh", "-c",
                   "n=0; trap 'n=$((n+1)); echo got' USR1; trap 'exit $((n+10))' TERM; "
                   "echo ready; while :; do sleep 0.01; done"}});
  ASSERT_EQ(p.read_line(), "ready\n");
  for (int i = 0; i < 3; ++i) {
    kill(p.pid(), SIGUSR1);
    ASSERT_EQ(p.read_line(), "got\n");
  }
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 13) << r.err;
}

// boxjail in the foreground of a terminal hands it to the target's group.
TEST(Terminal, TargetGetsTheForegroundAndBoxjailTakesItBack) {
  // sh is the session leader and owns the terminal; boxjail runs in its
  // process group, as a non-interactive shell would run it.
  Proc p({.argv = {"/bin/sh", "-c",
                   kBoxjail + " " + kProbe + "; cut -d' ' -f5,8 /proc/$$/stat"},
          .pty = true});
  Result r = p.wait();
  ASSERT_EQ(r.code(), 0) << r.err;
  auto j = parse_probe(r.out);
  EXPECT_EQ(j["tpgid"], j["pgid"]);  // the target's group is in the foreground
  // Afterwards the shell's group is in the foreground again.
  std::string after = r.out.substr(r.out.find('\n') + 1);
  std::string pgrp = after.substr(0, after.find(' '));
  std::string tpgid = after.substr(after.find(' ') + 1);
  EXPECT_EQ(pgrp + "\n", tpgid);
}

TEST(Terminal, CtrlCReachesTheTargetNotBoxjail) {
  Proc p({.argv = {kBoxjail, kProbe, "--wait"}, .pty = true});
  auto j = parse_probe(p.read_line());
  ASSERT_EQ(j["tpgid"], j["pgid"]);
  ASSERT_EQ(write(p.pty_master(), "\x03", 1), 1);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 100 + SIGINT) << r.err;
}

TEST(Terminal, CtrlZStopsTheJobAndContinueResumesIt) {
  Proc p({.argv = {kBoxjail, "/bin/sh", "-c", "echo ready; exec sleep 30"}, .pty = true});
  ASSERT_EQ(p.read_line(), "ready\n");
  const int master = p.pty_master();
  ASSERT_NE(tcgetpgrp(master), p.pid());  // the target has the terminal
  ASSERT_EQ(write(master, "\x1a", 1), 1);
  // The target stops, so boxjail takes the terminal back and stops too,
  // which is what the shell that started it waits for.
  ASSERT_TRUE(p.wait_stopped());
  EXPECT_EQ(tcgetpgrp(master), p.pid());
  // "fg": continue boxjail; it hands the terminal back to the target.
  kill(p.pid(), SIGCONT);
  pid_t fg = -1;
  for (int i = 0; i < 500 && (fg = tcgetpgrp(master)) == p.pid(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_NE(fg, p.pid());
  ASSERT_EQ(write(master, "\x03", 1), 1);  // Ctrl-C now reaches sleep
  Result r = p.wait();
  EXPECT_EQ(r.signal(), SIGINT) << r.status;
}

}  // namespace

namespace {

// boxjail -- bash -i behaves at a prompt as bash alone would: Ctrl-C ends
// the foreground command, Ctrl-Z stops it into a job, and exit passes on.
TEST(Terminal, InteractiveBashAtAPrompt) {
  if (access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "no bash";
  // PROMPT_COMMAND marks each prompt on stdout, so the test types only when
  // bash is waiting for input, as a person at the terminal would.
  Proc p({.argv = {kBoxjail, "--", "/bin/bash", "--norc", "--noprofile", "-i"},
          .pty = true,
          .env = {"PS1=$ ", "TERM=dumb", "PROMPT_COMMAND=echo PROMPT"}});
  const int master = p.pty_master();
  auto say = [&](const std::string& text) {
    ASSERT_EQ(write(master, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  };
  // bash writes a bare newline to stdout after an interrupt; skip those.
  auto line = [&] {
    std::string l;
    while ((l = p.read_line()) == "\n") {
    }
    return l;
  };
  auto prompt = [&] {
    ASSERT_EQ(line(), "PROMPT\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  // Drain the terminal: bash echoes what is typed there.
  std::thread drain([master] {
    char buf[4096];
    while (read(master, buf, sizeof buf) > 0) {
    }
  });
  // Starts a foreground sleep at the prompt and types `key` at it.
  auto sleep_then = [&](const char* key) {
    prompt();
    say("echo sleeping; sleep 30\n");
    ASSERT_EQ(line(), "sleeping\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    say(key);
    prompt();
  };
  prompt();
  say("echo started\n");
  ASSERT_EQ(line(), "started\n");
  // Ctrl-C interrupts the running command, not bash and not boxjail.
  sleep_then("\x03");
  say("echo after-sleep $?\n");
  EXPECT_EQ(line(), "after-sleep 130\n");
  // Ctrl-Z stops it; bash takes it as a job.
  sleep_then("\x1a");
  say("jobs -s | wc -l; kill -KILL %1; echo killed\n");
  EXPECT_EQ(line(), "1\n");
  EXPECT_EQ(line(), "killed\n");
  prompt();
  say("exit 3\n");
  Result r = p.wait();
  EXPECT_EQ(r.code(), 3) << r.status;
  drain.join();  // the terminal hangs up once bash is gone
}

}  // namespace

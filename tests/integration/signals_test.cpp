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

// An interactive bash on a fresh pseudo-terminal, as a person's shell:
// PROMPT_COMMAND marks each prompt on stdout, so a test types only when bash
// is waiting for input. `argv` starts it (possibly under boxjail).
class Shell {
 public:
  explicit Shell(std::vector<std::string> argv)
      : p_({.argv = std::move(argv),
            .pty = true,
            .env = {"PS1=$ ", "TERM=dumb", "PROMPT_COMMAND=echo PROMPT"}}) {
    // Drain the terminal: bash echoes what is typed there.
    drain_ = std::thread([m = p_.pty_master()] {
      char buf[4096];
      while (read(m, buf, sizeof buf) > 0) {
      }
    });
  }
  ~Shell() {
    if (drain_.joinable()) {
      p_.wait();
      drain_.join();
    }
  }
  void say(const std::string& text) {
    ASSERT_EQ(write(p_.pty_master(), text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }
  // The next line on stdout; bash writes a bare newline after an interrupt.
  std::string line() {
    std::string l;
    while ((l = p_.read_line()) == "\n") {
    }
    return l;
  }
  // Lines until one contains `text`; that line ("" at EOF).
  std::string line_with(const std::string& text) {
    for (int i = 0; i < 50; ++i) {
      std::string l = line();
      if (l.empty() || l.find(text) != std::string::npos) return l;
    }
    return "";
  }
  void prompt() {
    ASSERT_EQ(line_with("PROMPT"), "PROMPT\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Result finish() {
    Result r = p_.wait();
    drain_.join();  // the terminal hangs up once bash is gone
    return r;
  }

 private:
  Proc p_;
  std::thread drain_;
};

const std::vector<std::string> kBash = {"/bin/bash", "--norc", "--noprofile", "-i"};

// boxjail -- bash -i behaves at a prompt as bash alone would: Ctrl-C ends
// the foreground command, Ctrl-Z stops it into a job, and exit passes on.
TEST(Terminal, InteractiveBashAtAPrompt) {
  if (access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "no bash";
  std::vector<std::string> argv = {kBoxjail, "--"};
  argv.insert(argv.end(), kBash.begin(), kBash.end());
  Shell sh(argv);
  // Starts a foreground sleep at the prompt and types `key` at it.
  auto sleep_then = [&](const char* key) {
    sh.prompt();
    sh.say("echo sleeping; sleep 30\n");
    ASSERT_EQ(sh.line(), "sleeping\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    sh.say(key);
    sh.prompt();
  };
  sh.prompt();
  sh.say("echo started\n");
  ASSERT_EQ(sh.line(), "started\n");
  // Ctrl-C interrupts the running command, not bash and not boxjail.
  sleep_then("\x03");
  sh.say("echo after-sleep $?\n");
  EXPECT_EQ(sh.line(), "after-sleep 130\n");
  // Ctrl-Z stops it; bash takes it as a job.
  sleep_then("\x1a");
  // Until bash has reaped it: a loaded machine may take longer to run the
  // killed job to its end than bash takes to read `exit`, which it then
  // refuses once ("There are stopped jobs").
  sh.say("jobs -s | wc -l; p=$(jobs -p %1); kill -KILL %1; "
         "while kill -0 $p 2>/dev/null; do sleep 0.05; done; echo killed\n");
  EXPECT_EQ(sh.line(), "1\n");
  EXPECT_EQ(sh.line(), "killed\n");
  sh.prompt();
  sh.say("exit 3\n");
  Result r = sh.finish();
  EXPECT_EQ(r.code(), 3) << r.status;
}

// Job control from a plain interactive bash, with boxjail as the job: every
// path must behave as the program alone would.
class JobControl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "no bash";
  }
  const std::string b_ = kBoxjail + " -- ";
};

TEST_F(JobControl, BackgroundReaderStopsAsItselfAndFgResumesIt) {
  Shell sh(kBash);
  sh.prompt();
  // cat & stops on SIGTTIN; so must boxjail, or the shell sees it running.
  sh.say(b_ + "cat & sleep 1; jobs\n");
  EXPECT_NE(sh.line_with("Stopped"), "");
  sh.prompt();
  sh.say("fg\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sh.say("hello\n");
  EXPECT_EQ(sh.line_with("hello"), "hello\n");  // the terminal reaches cat
  sh.say("\x04");                                // Ctrl-D ends it
  sh.prompt();
  sh.say("echo rc $?; exit\n");
  EXPECT_EQ(sh.line(), "rc 0\n");
  sh.finish();
}

TEST_F(JobControl, CtrlZThenBgThenFg) {
  Shell sh(kBash);
  sh.prompt();
  sh.say(b_ + "cat\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sh.say("one\n");
  EXPECT_EQ(sh.line_with("one"), "one\n");
  sh.say("\x1a");  // Ctrl-Z
  sh.prompt();
  // bg: cat reads again in the background, and stops again, as cat would.
  sh.say("bg; sleep 1; jobs\n");
  EXPECT_NE(sh.line_with("Stopped"), "");
  sh.prompt();
  sh.say("fg\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sh.say("two\n");
  EXPECT_EQ(sh.line_with("two"), "two\n");
  sh.say("\x04");
  sh.prompt();
  sh.say("echo rc $?; exit\n");
  EXPECT_EQ(sh.line(), "rc 0\n");
  sh.finish();
}

TEST_F(JobControl, BackgroundWriterWithTostop) {
  Shell sh(kBash);
  sh.prompt();
  sh.say("stty tostop; " + b_ + "sh -c 'echo to-terminal >/dev/tty; echo w$((1+1))' & sleep 1; jobs\n");
  EXPECT_NE(sh.line_with("Stopped"), "");
  sh.prompt();
  sh.say("fg\n");
  EXPECT_EQ(sh.line_with("w2"), "w2\n");  // the write went through, then the rest
  sh.prompt();
  sh.say("echo rc $?; exit\n");
  EXPECT_EQ(sh.line(), "rc 0\n");
  sh.finish();
}

TEST_F(JobControl, BgOnAJobThatDoesNotRead) {
  Shell sh(kBash);
  sh.prompt();
  sh.say(b_ + "sh -c 'sleep 1; echo finished'\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sh.say("\x1a");
  sh.prompt();
  sh.say("bg; jobs; wait; echo rc $?\n");
  EXPECT_NE(sh.line_with("Running"), "");
  EXPECT_EQ(sh.line_with("finished"), "finished\n");
  EXPECT_EQ(sh.line(), "rc 0\n");
  sh.prompt();
  sh.say("exit\n");
  sh.finish();
}

}  // namespace

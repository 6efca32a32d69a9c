// The supervisor's hand-over to boxjail-wait (handover.h) and the resume:
// what the kernel shows of the supervisor while PROGRAM runs, and that the
// box ends as it does when boxjail supervises in place. Each PROGRAM here
// first waits until its parent's comm says boxjail-wait, so that what
// follows happens under boxjail-wait, not before the hand-over.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace {

using namespace harness;
using json = nlohmann::json;

const std::string kWait = kBoxjail.substr(0, kBoxjail.rfind('/') + 1) + "boxjail-wait";

// sh: wait (up to `tries` × 50 ms) for the parent to be boxjail-wait, then
// print the parent's comm.
std::string await_waiter(int tries = 200) {
  return "i=0; while [ \"$(cat /proc/$PPID/comm)\" != boxjail-wait ] && [ $i -lt " +
         std::to_string(tries) + " ]; do sleep 0.05; i=$((i+1)); done; cat /proc/$PPID/comm; ";
}

// The same with shell builtins only, for a PROGRAM that may not exec.
std::string await_waiter_builtin() {
  return "i=0; while read c < /proc/$PPID/comm && [ \"$c\" != boxjail-wait ] && "
         "[ $i -lt 200000 ]; do i=$((i+1)); done; echo $c; ";
}

std::string comm_of(pid_t pid) {
  std::string c = slurp("/proc/" + std::to_string(pid) + "/comm");
  if (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

void copy_file(const std::string& from, const std::string& to, mode_t mode) {
  ASSERT_EQ(run({.argv = {"/bin/cp", from, to}}).code(), 0) << from;
  ASSERT_EQ(chmod(to.c_str(), mode), 0) << to;
}

class Handover : public ::testing::Test {
 protected:
  void SetUp() override {
    // boxjail-wait is part of boxjail: a build without it is a failure.
    ASSERT_TRUE(exists(kWait)) << kWait << " is not built beside boxjail";
  }
};

TEST_F(Handover, TheWaitingSupervisorIsBoxjailWaitAndTheEndIsReported) {
  // PROGRAM burns some CPU after the hand-over: the end event's rusage is
  // what wait4() gave boxjail-wait, carried over to the resumed boxjail.
  std::string piped;
  Result r = run_with_pipe(
      {.argv = {kBoxjail, "-v", "--status-fd", "3", "--", "/bin/sh", "-c",
                await_waiter() +
                    "t=0; while [ $t -lt 300000 ]; do t=$((t+1)); done; exit 7"}},
      3, &piped);
  EXPECT_EQ(r.code(), 7) << r.err;
  EXPECT_EQ(r.out, "boxjail-wait\n") << r.err;
  const size_t nl = piped.find('\n');
  ASSERT_NE(nl, std::string::npos) << piped;
  json start = json::parse(piped.substr(0, nl));
  json end = json::parse(piped.substr(nl + 1));
  EXPECT_GT(start["child-pid"].get<int>(), 0);
  EXPECT_EQ(end["exit-code"], 7) << piped;
  EXPECT_GT(end["user-cpu-s"].get<double>() + end["sys-cpu-s"].get<double>(), 0.0) << piped;
  EXPECT_GT(end["max-rss-kib"].get<long>(), 0) << piped;
  EXPECT_NE(r.err.find("exited with status 7"), std::string::npos) << r.err;
}

TEST_F(Handover, WithoutBoxjailWaitBesideItTheSupervisorStaysBoxjail) {
  // The control: the same boxjail, copied alone into a directory.
  TempDir d;
  copy_file(kBoxjail, d.path + "/boxjail", 0755);
  Result r =
      run({.argv = {d.path + "/boxjail", "--", "/bin/sh", "-c", await_waiter(10) + "exit 4"}});
  EXPECT_EQ(r.code(), 4) << r.err;
  EXPECT_EQ(r.out, "boxjail\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(Handover, AnUntrustedBoxjailWaitIsNotRun) {
  TempDir d;
  copy_file(kBoxjail, d.path + "/boxjail", 0755);
  // Writable by its group: anyone in it could make the supervisor run
  // their code.
  copy_file(kWait, d.path + "/boxjail-wait", 0775);
  Result r = run({.argv = {d.path + "/boxjail", "-v", "--", "/bin/sh", "-c",
                           await_waiter(10) + "exit 0"}});
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "boxjail\n");
  EXPECT_NE(r.err.find(d.path + "/boxjail-wait is writable by its group or others"),
            std::string::npos)
      << r.err;
  // A symlink is not followed.
  ASSERT_EQ(unlink((d.path + "/boxjail-wait").c_str()), 0);
  ASSERT_EQ(symlink(kWait.c_str(), (d.path + "/boxjail-wait").c_str()), 0);
  r = run({.argv = {d.path + "/boxjail", "-v", "--", "/bin/sh", "-c",
                    await_waiter(10) + "exit 0"}});
  EXPECT_EQ(r.out, "boxjail\n");
  EXPECT_NE(r.err.find(d.path + "/boxjail-wait is not a regular file"), std::string::npos)
      << r.err;
}

TEST_F(Handover, VeryVerboseSupervisesInPlaceToShowEachSignal) {
  Proc p({.argv = {kBoxjail, "-vv", "--", "/bin/sh", "-c",
                   "trap 'echo got HUP; exit 5' HUP; " + await_waiter(10) +
                       "while :; do sleep 0.05; done"}});
  EXPECT_EQ(p.read_line(), "boxjail\n");
  kill(p.pid(), SIGHUP);
  EXPECT_EQ(p.read_line(), "got HUP\n");
  Result r = p.wait();
  EXPECT_EQ(r.code(), 5);
  EXPECT_NE(r.err.find("supervising in place"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("forwarding signal " + std::to_string(SIGHUP)), std::string::npos) << r.err;
}

TEST_F(Handover, EverySignalIsForwardedByBoxjailWait) {
  Proc p({.argv = {kBoxjail, "--", "/bin/sh", "-c",
                   "for s in HUP INT QUIT USR1 USR2 ALRM; do trap \"echo got $s\" $s; done; "
                   "trap 'echo got TERM; exit 3' TERM; " +
                       await_waiter() + "while :; do sleep 0.05; done"}});
  ASSERT_EQ(p.read_line(), "boxjail-wait\n");
  for (auto [sig, name] : std::vector<std::pair<int, std::string>>{{SIGHUP, "HUP"},
                                                                   {SIGINT, "INT"},
                                                                   {SIGQUIT, "QUIT"},
                                                                   {SIGUSR1, "USR1"},
                                                                   {SIGUSR2, "USR2"},
                                                                   {SIGALRM, "ALRM"}}) {
    kill(p.pid(), sig);
    EXPECT_EQ(p.read_line(), "got " + name + "\n");
  }
  EXPECT_EQ(comm_of(p.pid()), "boxjail-wait");
  kill(p.pid(), SIGTERM);
  EXPECT_EQ(p.read_line(), "got TERM\n");
  Result r = p.wait();
  EXPECT_EQ(r.code(), 3) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(Handover, AProgramKilledByASignalEndsBoxjailTheSameWay) {
  Result r =
      run({.argv = {kBoxjail, "-v", "--", "/bin/sh", "-c", await_waiter() + "kill -USR2 $$"}});
  EXPECT_EQ(r.signal(), SIGUSR2) << r.status << r.err;
  EXPECT_EQ(r.out, "boxjail-wait\n");
  EXPECT_NE(r.err.find("was killed by signal " + std::to_string(SIGUSR2)), std::string::npos)
      << r.err;
}

TEST_F(Handover, ReapEndsWhatProgramLeftAfterTheHandOver) {
  // A child that ignores SIGTERM, left running: boxjail (resumed) sends
  // TERM, then KILL after the grace, and reaps it.
  Proc p({.argv = {kBoxjail, "--reap", "--reap-grace", "0.3", "--", "/bin/sh", "-c",
                   "sh -c 'trap \"\" TERM; while :; do sleep 0.05; done' & echo $!; " +
                       await_waiter() + "exit 0"}});
  const pid_t left = static_cast<pid_t>(std::stol(p.read_line()));
  EXPECT_EQ(p.read_line(), "boxjail-wait\n");
  Result r = p.wait();
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_TRUE(wait_gone(left));
  EXPECT_FALSE(alive(left));
}

TEST_F(Handover, ThePidFileIsRemovedAtTheEnd) {
  TempDir d;
  const std::string pidfile = d.path + "/box.pid";
  Proc p({.argv = {kBoxjail, "--pidfile", pidfile, "--", "/bin/sh", "-c",
                   await_waiter() + "while :; do sleep 0.05; done"}});
  EXPECT_EQ(p.read_line(), "boxjail-wait\n");
  const std::string rec = slurp(pidfile);
  ASSERT_FALSE(rec.empty());
  const pid_t program = static_cast<pid_t>(std::stol(rec));
  EXPECT_TRUE(alive(program));
  kill(program, SIGTERM);  // sh dies of it
  Result r = p.wait();
  EXPECT_EQ(r.signal(), SIGTERM) << r.err;
  EXPECT_FALSE(exists(pidfile));
  // Nothing else is left in the directory (the lock, the temporary).
  EXPECT_EQ(run({.argv = {"/bin/sh", "-c", "ls -A " + d.path}}).out, "");
}

TEST_F(Handover, TheCgroupIsRemovedAtTheEnd) {
  std::vector<std::string> mounts;
  for (const auto& m : {cgroup_mount(""), cgroup_mount("pids")})
    if (!m.empty()) mounts.push_back(m);
  if (mounts.empty()) GTEST_SKIP() << "no cgroup hierarchy is mounted here";
  const std::string top = "boxjail-test-" + std::to_string(getpid());
  if (mkdir((mounts[0] + "/" + top + "-check").c_str(), 0755) != 0)
    GTEST_SKIP() << "needs write access to the cgroup hierarchy (" << strerror(errno)
                 << "; root, or a delegated subtree)";
  rmdir((mounts[0] + "/" + top + "-check").c_str());
  const std::string name = top + "/handover";
  Proc p({.argv = {kBoxjail, "--cgroup", name, "--cgroup-set", "pids.max=50", "--", "/bin/sh",
                   "-c", await_waiter() + "echo $$; while :; do sleep 0.05; done"}});
  EXPECT_EQ(p.read_line(), "boxjail-wait\n");
  const pid_t program = static_cast<pid_t>(std::stol(p.read_line()));
  const std::string procs = slurp(mounts[0] + "/" + name + "/cgroup.procs");
  EXPECT_NE(procs.find(std::to_string(program) + "\n"), std::string::npos) << procs;
  for (const auto& m : mounts) EXPECT_TRUE(exists(m + "/" + name)) << m;
  kill(program, SIGTERM);
  Result r = p.wait();
  EXPECT_EQ(r.signal(), SIGTERM) << r.err;
  for (const auto& m : mounts) {
    EXPECT_FALSE(exists(m + "/" + name)) << m << r.err;
    EXPECT_FALSE(exists(m + "/" + top)) << m << r.err;
    rmdir((m + "/" + name).c_str());
    rmdir((m + "/" + top).c_str());
  }
}

TEST_F(Handover, CtrlZStopsTheJobUnderBoxjailWaitAndFgResumesIt) {
  Proc p({.argv = {kBoxjail, "/bin/sh", "-c", await_waiter() + "exec sleep 30"}, .pty = true});
  ASSERT_EQ(p.read_line(), "boxjail-wait\n");
  const int master = p.pty_master();
  ASSERT_NE(tcgetpgrp(master), p.pid());
  ASSERT_EQ(write(master, "\x1a", 1), 1);
  ASSERT_TRUE(p.wait_stopped());
  EXPECT_EQ(tcgetpgrp(master), p.pid());
  EXPECT_EQ(comm_of(p.pid()), "boxjail-wait");
  kill(p.pid(), SIGCONT);
  pid_t fg = -1;
  for (int i = 0; i < 500 && (fg = tcgetpgrp(master)) == p.pid(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_NE(fg, p.pid());
  ASSERT_EQ(write(master, "\x03", 1), 1);
  Result r = p.wait();
  EXPECT_EQ(r.signal(), SIGINT) << r.status;
}

// A call the filter denies waits in the listener that boxjail-wait
// watches: boxjail comes back, names it, fails it, and stays.
TEST_F(Handover, ANamedDenialBringsBoxjailBackToNameIt) {
  std::vector<std::string> argv = {kBoxjail};
  for (auto& f : root_opt_in()) argv.push_back(f);
  std::string piped;
  argv.insert(argv.end(), {"--status-fd", "3", "--seccomp-deny", "@chmod", "--",
                           "/bin/sh", "-c",
                           await_waiter() + "chmod 600 /dev/null; echo $?; cat /proc/$PPID/comm"});
  Result r = run_with_pipe({.argv = argv}, 3, &piped);
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "boxjail-wait\n1\nboxjail\n") << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("called fchmodat"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("denied by --seccomp-deny @chmod"), std::string::npos) << r.err;
  const json end = json::parse(piped.substr(piped.find('\n') + 1));
  EXPECT_EQ(end["seccomp"]["syscall"], "fchmodat") << piped;
  EXPECT_EQ(end["seccomp"]["denials"], 1) << piped;
}

TEST_F(Handover, ExecOnceHoldsAfterTheHandOver) {
  std::vector<std::string> argv = {kBoxjail};
  for (auto& f : root_opt_in()) argv.push_back(f);
  argv.insert(argv.end(), {"--exec-once", "--", "/bin/sh", "-c",
                           await_waiter_builtin() +
                               "/bin/true; echo $?; read c < /proc/$PPID/comm; echo $c"});
  Result r = run({.argv = argv});
  EXPECT_EQ(r.out, "boxjail-wait\n126\nboxjail\n") << r.err;
  EXPECT_NE(r.err.find("/bin/true: Operation not permitted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("denied by --exec-once"), std::string::npos) << r.err;
}

TEST_F(Handover, TheTimeLimitBringsBoxjailBackToEnforceIt) {
  Result r = run({.argv = {kBoxjail, "--timeout", "1s", "--", "/bin/sh", "-c",
                           "trap 'cat /proc/$PPID/comm; exit 9' TERM; " + await_waiter() +
                               "while :; do sleep 0.05; done"}});
  EXPECT_EQ(r.code(), 124) << r.err;
  // Under boxjail-wait until the limit; boxjail sent the TERM.
  EXPECT_EQ(r.out, "boxjail-wait\nboxjail\n") << r.err;
  EXPECT_NE(r.err.find("reached its time limit"), std::string::npos) << r.err;
}

// --ready in the default mode keeps boxjail until PROGRAM is ready, then
// hands over.
TEST_F(Handover, OnceReadyTheSupervisorIsBoxjailWait) {
  std::string piped;
  Result r = run_with_pipe(
      {.argv = {kBoxjail, "--status-fd", "3", "--ready", "fd:5", "--", "/bin/sh", "-c",
                "cat /proc/$PPID/comm; echo up >&5; " + await_waiter() + "exit 3"}},
      3, &piped);
  EXPECT_EQ(r.code(), 3) << r.err;
  EXPECT_EQ(r.out, "boxjail\nboxjail-wait\n") << r.err;
  std::vector<json> events;
  for (size_t at = 0, nl; (nl = piped.find('\n', at)) != std::string::npos; at = nl + 1)
    events.push_back(json::parse(piped.substr(at, nl - at)));
  ASSERT_EQ(events.size(), 3u) << piped;
  EXPECT_EQ(events[1]["event"], "ready") << piped;
  EXPECT_EQ(events[2]["exit-code"], 3) << piped;
  EXPECT_EQ(events[2]["ready"], true) << piped;
}

TEST_F(Handover, ResumeWaitIsNotForUse) {
  Result r = run({.argv = {kBoxjail, "--resume-wait", "0"}});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("--resume-wait: descriptor 0 is not a sealed hand-over record"),
            std::string::npos)
      << r.err;
  // A sealed memfd that boxjail-wait did not finish.
  const int m = static_cast<int>(syscall(SYS_memfd_create, "x", MFD_ALLOW_SEALING));
  ASSERT_GE(m, 0);
  ASSERT_EQ(write(m, "garbage", 7), 7);
  ASSERT_EQ(fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
  r = run({.argv = {kBoxjail, "--resume-wait", "3"}, .fds = {{3, m}}});
  close(m);
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("--resume-wait: descriptor 3 holds no finished hand-over"),
            std::string::npos)
      << r.err;
}

}  // namespace

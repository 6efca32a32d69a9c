// The descriptor table around the child's start: shared with the
// supervisor (CLONE_FILES) until the child's first step unshares the part
// it needs, and the supervisor letting go of what it inherited once
// PROGRAM runs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "harness.h"

namespace {

using namespace harness;

// strace -f of boxjail ARGS, the trace in `trace`; "" if strace is missing
// or cannot trace here.
std::string strace_unavailable() {
  if (access("/usr/bin/strace", X_OK) != 0) return "needs strace (Debian package strace)";
  Result r = run({.argv = {"/usr/bin/strace", "-qq", "-o", "/dev/null", "/bin/true"}});
  if (r.code() != 0) return "strace cannot trace here: " + r.err;
  return "";
}

// close() calls in a trace: a few from the dynamic loader of the target,
// never one per inherited descriptor (1,000 here).
size_t closes(const std::string& t) {
  size_t n = 0;
  for (size_t at = t.find(" close("); at != std::string::npos; at = t.find(" close(", at + 1)) ++n;
  return n;
}

std::string traced(std::vector<std::string> argv, const std::vector<std::string>& wrapper = {}) {
  TempDir d;
  const std::string out = d.path + "/trace";
  Spawn s{.argv = wrapper};
  s.argv.insert(s.argv.end(), {"/usr/bin/strace", "-f", "-qq", "-e",
                               "trace=clone,clone3,close,close_range", "-o", out});
  s.argv.insert(s.argv.end(), argv.begin(), argv.end());
  // 1,000 inherited descriptors where the limit allows (fewer under a low
  // one; strace needs a few of its own).
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  s.scatter = static_cast<int>(std::min<rlim_t>(1000, nofile.rlim_max / 2));
  Result r = run(s);
  EXPECT_EQ(r.code(), 0) << r.err;
  return slurp(out);
}

TEST(FdTable, ChildSharesTheTableAndUnsharesOnlyWhatItNeeds) {
  if (std::string why = strace_unavailable(); !why.empty()) GTEST_SKIP() << why;
#ifdef BOXJAIL_SANITIZED
  // A sanitized boxjail starts its child with fork() (child.h): only the
  // --no-fork half applies.
  const std::vector<std::string> forking = {};
#else
  const std::vector<std::string> forking = {"", "--detach"};
#endif
  for (const std::string& mode : forking) {
    std::vector<std::string> argv = {kBoxjail};
    if (!mode.empty()) argv.push_back(mode);
    argv.insert(argv.end(), {"--fd", "3=1", "--", "/bin/true"});
    std::string t = traced(argv);
    EXPECT_NE(t.find("CLONE_VM|CLONE_FILES|CLONE_VFORK"), std::string::npos) << t;
    EXPECT_NE(t.find(", 4294967295, CLOSE_RANGE_UNSHARE) = 0"), std::string::npos) << t;
    // Nothing is closed one by one, whatever was inherited.
    EXPECT_LT(closes(t), 20u) << t;
  }
  std::string t;
  if (!forking.empty()) {
    // Without close_range() the child starts with a copy, as before.
    t = traced({kBoxjail, "--", "/bin/true"}, {kSysdeny, "--no-close-range", "--"});
    EXPECT_NE(t.find("CLONE_VM|CLONE_VFORK"), std::string::npos) << t;
    EXPECT_EQ(t.find("CLONE_FILES"), std::string::npos) << t;
  }
  // --no-fork: one close_range over the gaps, nothing per descriptor.
  t = traced({kBoxjail, "--no-fork", "--fd", "5=2", "--", "/bin/true"});
#ifndef BOXJAIL_SANITIZED
  EXPECT_LT(closes(t), 20u) << t;  // (ASan's own start-up closes dozens)
#endif
  EXPECT_EQ(t.find("clone"), std::string::npos) << t;
  EXPECT_NE(t.find("close_range(6, 4294967295, 0)"), std::string::npos) << t;
}

// A swap and a 3-cycle among 0, 1, 2 and inherited descriptors, done by the
// child, must not move anything in the supervisor's table: its own log line
// (-v, after exec) still goes to its own stderr, and PROGRAM sees the moves.
TEST(FdTable, SupervisorsDescriptorsAreUntouchedBySwapsAndCycles) {
  int extra[2];
  ASSERT_EQ(pipe2(extra, O_CLOEXEC), 0);
  Spawn s{.argv = {kBoxjail, "-v", "--fd", "1=2", "--fd", "2=1", "--fd", "3=4", "--fd", "4=5",
                   "--fd", "5=3", "--", kProbe}};
  s.fds = {{3, extra[0]}, {4, extra[1]}, {5, extra[1]}};
  Result r = run(s);
  close(extra[0]);
  close(extra[1]);
  ASSERT_EQ(r.code(), 0) << r.err;
  // The probe's report went to its fd 1, which is boxjail's fd 2 ...
  ASSERT_NE(r.err.find("{\"argv\""), std::string::npos) << r.err;
  nlohmann::json j = parse_probe(r.err.substr(r.err.find("{\"argv\"")));
  EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  // ... and boxjail's own lines, written after the child ran, still went to
  // its fd 2 and nothing to its fd 1.
  EXPECT_NE(r.err.find("boxjail: started '" + kProbe + "' as pid"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" exited with status 0"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// Once PROGRAM runs, the supervisor holds none of the launcher's pipes: the
// launcher sees EOF as soon as PROGRAM closes its end, while PROGRAM runs.
TEST(FdTable, SupervisorLetsGoOfInheritedDescriptors) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  Spawn s{.argv = {kBoxjail, "--fd", "3", "--", "/bin/sh", "-c",
                   "exec 3>&-; echo closed; exec sleep 30"}};
  s.fds = {{3, p[1]}};
  Proc proc(s);
  close(p[1]);
  EXPECT_EQ(proc.read_line(), "closed\n");
  pollfd pf{p[0], POLLIN, 0};
  ASSERT_EQ(poll(&pf, 1, 10000), 1) << "no EOF while PROGRAM runs";
  char c;
  EXPECT_EQ(read(p[0], &c, 1), 0);  // EOF, not data
  kill(proc.pid(), SIGTERM);
  Result r = proc.wait();
  EXPECT_EQ(r.signal(), SIGTERM);
  close(p[0]);
}

}  // namespace

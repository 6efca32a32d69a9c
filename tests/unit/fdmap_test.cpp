// The descriptor planner, checked by running its steps on a model table.
#include "boxjail/fdmap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>

#include "../fd_model.h"

namespace boxjail {
namespace {

using fdmodel::Slot;
using fdmodel::Table;

void expect_plan(const std::vector<FdMapping>& maps, const Table& before) {
  std::string desc;
  for (const auto& m : maps) desc += std::to_string(m.target) + "=" + std::to_string(m.source) + " ";
  ASSERT_EQ(fdmodel::check(maps, before), "") << desc;
}

Table initial(int n, int extra_at = -1) {
  Table t;
  for (int fd = 0; fd < n; ++fd) t[fd] = {100 + fd, fd >= 3};  // 3+ start CLOEXEC
  if (extra_at >= 0) t[extra_at] = {999, true};  // boxjail's own, e.g. the status pipe
  return t;
}

TEST(FdPlanner, Swap) {
  std::vector<FdMapping> m{{3, 4}, {4, 3}};
  expect_plan(m, initial(5));
  FdProgram p = plan_fd_moves(m);
  EXPECT_EQ(p.temp_count, 1);
}

TEST(FdPlanner, ThreeCycleUsesOneTemporary) {
  std::vector<FdMapping> m{{3, 4}, {4, 5}, {5, 3}};
  expect_plan(m, initial(6));
  EXPECT_EQ(plan_fd_moves(m).temp_count, 1);
}

TEST(FdPlanner, ChainNeedsNoTemporary) {
  // 3 <- 4 <- 5: write 3 first, then 4.
  std::vector<FdMapping> m{{4, 5}, {3, 4}};
  expect_plan(m, initial(6));
  EXPECT_EQ(plan_fd_moves(m).temp_count, 0);
}

TEST(FdPlanner, SameSourceToTargetClearsCloexec) {
  std::vector<FdMapping> m{{3, 3}};
  FdProgram p = plan_fd_moves(m);
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].op, FdOp::kClearCloexec);
  expect_plan(m, initial(4));
}

TEST(FdPlanner, FanOutAndStdio) {
  expect_plan({{1, 5}, {2, 5}, {7, 5}, {0, 6}}, initial(8));
  expect_plan({{1, 2}, {2, 1}}, initial(3));  // swap stdout and stderr
}

TEST(FdPlanner, TemporarySkipsBusyDescriptors) {
  // The first free number at temp_floor is taken by boxjail's own fd.
  std::vector<FdMapping> m{{3, 4}, {4, 3}};
  expect_plan(m, initial(5, /*extra_at=*/5));
}

// Every assignment of up to 5 targets drawn from {0..4}, each fed from any
// of {0..4}: 6^5 = 7776 cases, all permutations and cycles among them.
TEST(FdPlanner, ExhaustiveSmall) {
  const int kRange = 5;
  int cases = 0;
  for (int mask = 0; mask < (1 << kRange); ++mask) {
    std::vector<int> targets;
    for (int fd = 0; fd < kRange; ++fd)
      if (mask & (1 << fd)) targets.push_back(fd);
    std::vector<int> src(targets.size(), 0);
    for (;;) {
      std::vector<FdMapping> m;
      for (size_t i = 0; i < targets.size(); ++i) m.push_back({targets[i], src[i]});
      expect_plan(m, initial(kRange, kRange));
      if (HasFatalFailure()) return;
      ++cases;
      size_t i = 0;
      while (i < src.size() && ++src[i] == kRange) src[i++] = 0;
      if (i == src.size()) break;
    }
  }
  EXPECT_EQ(cases, 7776);
}

TEST(FdPlanner, RandomOverlapping) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 20000; ++iter) {
    int range = 3 + static_cast<int>(rng() % 30);
    int n = 1 + static_cast<int>(rng() % 12);
    std::set<int> used;
    std::vector<FdMapping> m;
    for (int i = 0; i < n; ++i) {
      int t = static_cast<int>(rng() % static_cast<unsigned>(range));
      if (!used.insert(t).second) continue;
      int s = rng() % 4 == 0 ? t : static_cast<int>(rng() % static_cast<unsigned>(range));
      m.push_back({t, s});
    }
    Table t = initial(range);
    for (int k = 0; k < 3; ++k) t.erase(static_cast<int>(rng() % static_cast<unsigned>(range)));
    bool sources_open = true;
    for (const auto& x : m) sources_open &= t.count(x.source) > 0;
    if (!sources_open) continue;
    expect_plan(m, t);
    if (HasFatalFailure()) return;
  }
}

// The real thing, in a forked child: swap two pipes and a 3-cycle.
TEST(FdRunner, RunsOnRealDescriptors) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int p1[2], p2[2];
    if (pipe(p1) || pipe(p2)) _exit(10);
    ino_t a = 0, b = 0;
    struct stat st {};
    fstat(p1[0], &st);
    a = st.st_ino;
    fstat(p2[0], &st);
    b = st.st_ino;
    FdProgram prog = plan_fd_moves({{p1[0], p2[0]}, {p2[0], p1[0]}});
    std::vector<int> temps(static_cast<size_t>(prog.temp_count));
    size_t failed = 0;
    if (run_fd_program(prog.steps.data(), prog.steps.size(), prog.temp_floor, temps.data(),
                       &failed) != 0)
      _exit(11);
    fstat(p1[0], &st);
    if (st.st_ino != b) _exit(12);
    fstat(p2[0], &st);
    if (st.st_ino != a) _exit(13);
    if (fcntl(temps[0], F_GETFD) >= 0) _exit(14);  // temporary closed
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(FdRunner, ClearsCloexecOnKeptDescriptor) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  FdProgram prog = plan_fd_moves({{fd, fd}});
  size_t failed = 0;
  ASSERT_EQ(run_fd_program(prog.steps.data(), prog.steps.size(), prog.temp_floor, nullptr,
                           &failed),
            0);
  EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  close(fd);
}

// Each closing method on its own, in a forked child with descriptors
// scattered up to the hard limit.
class CloserTest : public ::testing::TestWithParam<CloseMethod> {};

TEST_P(CloserTest, ClosesEverythingNotKept) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    int top = static_cast<int>(std::min<rlim_t>(r.rlim_cur, 1 << 20)) - 1;
    int base = open("/dev/null", O_RDONLY);
    const int kept_fds[] = {0, 1, 2, 5, 9, 10, top / 2};
    std::vector<int> opened;
    for (int fd : {4, 5, 6, 9, 10, 11, 12, top / 2 - 1, top / 2, top / 2 + 1, top}) {
      if (dup2(base, fd) < 0) _exit(20);
      opened.push_back(fd);
    }
    CloseMethod used{};
    if (close_fds_except(kept_fds, std::size(kept_fds), GetParam(), &used) != 0) _exit(21);
    if (used != GetParam()) _exit(22);
    for (int fd : opened) {
      bool keep = std::find(std::begin(kept_fds), std::end(kept_fds), fd) != std::end(kept_fds);
      if ((fcntl(fd, F_GETFD) >= 0) != keep) _exit(30 + (fd % 50));
    }
    if (fcntl(base, F_GETFD) >= 0) _exit(23);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

INSTANTIATE_TEST_SUITE_P(Methods, CloserTest,
                         ::testing::Values(CloseMethod::kCloseRange, CloseMethod::kProcFd,
                                           CloseMethod::kLoop),
                         [](const auto& p) { return std::string(close_method_name(p.param)); });

}  // namespace
}  // namespace boxjail

// --fd remapping and closing of inherited descriptors, observed from inside
// the target in every mode.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "harness.h"

using namespace harness;

namespace {

class Fds : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    for (auto* p : {&a_, &b_, &c_, &d_}) ASSERT_EQ(pipe2(p->fd, O_CLOEXEC), 0);
    fcntl(d_.fd[0], F_SETFL, O_NONBLOCK);
  }
  void TearDown() override {
    for (auto* p : {&a_, &b_, &c_, &d_}) {
      close(p->fd[0]);
      close(p->fd[1]);
    }
  }
  using Set = std::vector<int>;
  const std::vector<std::string>& mode() const { return all_modes()[static_cast<size_t>(GetParam())]; }

  // boxjail [mode] FLAGS... probe, with `fds` inherited.
  nlohmann::json probe(std::vector<std::string> flags, std::map<int, int> fds,
                       std::vector<std::string> wrapper = {}, Spawn extra = {}) {
    extra.argv = wrapper;
    extra.argv.push_back(kBoxjail);
    extra.argv.insert(extra.argv.end(), mode().begin(), mode().end());
    extra.argv.insert(extra.argv.end(), flags.begin(), flags.end());
    extra.argv.push_back(kProbe);
    extra.fds = std::move(fds);
    Result r = run(extra);
    EXPECT_EQ(r.code(), 0) << mode_label(mode()) << ": " << r.err;
    EXPECT_EQ(without_sanitizer_warnings(r.err), "");
    return parse_probe(r.out);
  }
  ino_t ino(int fd) const { return inode_of(fd); }
  static ino_t seen(const nlohmann::json& j, int fd) {
    auto e = fd_entry(j, fd);
    return e.is_null() ? 0 : e["ino"].get<ino_t>();
  }

  // Swaps 3 and 4 among 500 inherited descriptors, under each wrapper.
  void check_closing_with(const std::vector<std::vector<std::string>>& wrappers) {
    for (const auto& w : wrappers) {
      Spawn s;
      s.scatter = 500;
      auto j = probe({"--fd", "3=4", "--fd", "4=3"}, {{3, a_.fd[0]}, {4, b_.fd[0]}}, w, s);
      EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, 3, 4})) << w[1] << " " << w[2];
      EXPECT_EQ(seen(j, 3), ino(b_.fd[0]));
    }
  }

  struct Pipe {
    int fd[2];
  } a_, b_, c_, d_;
};

using Set = std::vector<int>;

TEST_P(Fds, NothingButStdioByDefault) {
  auto j = probe({}, {{3, a_.fd[0]}, {4, b_.fd[0]}, {10, c_.fd[0]}});
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2}));
}

TEST_P(Fds, Swap) {
  auto j = probe({"--fd", "3=4", "--fd", "4=3"}, {{3, a_.fd[0]}, {4, b_.fd[0]}, {5, c_.fd[0]}});
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, 3, 4}));
  EXPECT_EQ(seen(j, 3), ino(b_.fd[0]));
  EXPECT_EQ(seen(j, 4), ino(a_.fd[0]));
  EXPECT_EQ(fd_entry(j, 3)["cloexec"], false);
  EXPECT_EQ(fd_entry(j, 4)["cloexec"], false);
}

TEST_P(Fds, ThreeCycle) {
  auto j = probe({"--fd", "3=4", "--fd", "4=5", "--fd", "5=3"},
                 {{3, a_.fd[0]}, {4, b_.fd[0]}, {5, c_.fd[0]}});
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(seen(j, 3), ino(b_.fd[0]));
  EXPECT_EQ(seen(j, 4), ino(c_.fd[0]));
  EXPECT_EQ(seen(j, 5), ino(a_.fd[0]));
}

TEST_P(Fds, FanOutFromASourceThatIsAlsoATarget) {
  auto j = probe({"--fd", "7=3", "--fd", "8=3", "--fd", "3=4"}, {{3, a_.fd[0]}, {4, b_.fd[0]}});
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, 3, 7, 8}));
  EXPECT_EQ(seen(j, 7), ino(a_.fd[0]));
  EXPECT_EQ(seen(j, 8), ino(a_.fd[0]));
  EXPECT_EQ(seen(j, 3), ino(b_.fd[0]));
}

// A descriptor named as its own source reaches PROGRAM. (One that is
// close-on-exec in the caller never reaches boxjail at all; clearing
// FD_CLOEXEC for SOURCE == TARGET is covered on real descriptors in
// fdmap_test's FdRunner.ClearsCloexecOnKeptDescriptor.)
TEST_P(Fds, DescriptorKeptAsItself) {
  auto j = probe({"--fd", "5"}, {{5, c_.fd[0]}, {6, a_.fd[0]}});
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, 5}));
  EXPECT_EQ(seen(j, 5), ino(c_.fd[0]));
  EXPECT_EQ(fd_entry(j, 5)["cloexec"], false);
}

TEST_P(Fds, GapBelowTheHighestTargetIsClosed) {
  std::map<int, int> fds;
  for (int fd = 3; fd <= 9; ++fd) fds[fd] = a_.fd[0];
  auto j = probe({"--fd", "9"}, fds);
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, 9}));
}

TEST_P(Fds, StdioCanBeRemapped) {
  auto j = probe({"--fd", "0=3", "--fd", "2=1"}, {{3, a_.fd[0]}});
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2}));
  EXPECT_EQ(seen(j, 0), ino(a_.fd[0]));
  EXPECT_EQ(seen(j, 2), seen(j, 1));
}

TEST_P(Fds, FileStatusFlagsComeFromTheSource) {
  auto j = probe({"--fd", "3=4"}, {{4, d_.fd[0]}});
  EXPECT_EQ(fd_entry(j, 3)["nonblock"], true);
  EXPECT_EQ(seen(j, 3), ino(d_.fd[0]));
}

TEST_P(Fds, KeepFdsLeavesInheritedOnesButNotBoxjailsOwn) {
  auto j = probe({"--keep-fds", "--fd", "6=3"}, {{3, a_.fd[0]}, {4, b_.fd[0]}, {5, c_.fd[0]}});
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(seen(j, 6), ino(a_.fd[0]));
}

TEST_P(Fds, TargetAboveTheInheritedSoftLimitWhenNofileRaisesIt) {
  // Lower the soft limit first so the target only fits after the raise
  // (100, 1000 and 500 where the hard limit allows; scaled down under it).
  rlimit cur{};
  getrlimit(RLIMIT_NOFILE, &cur);
  const rlim_t raise = std::min<rlim_t>(1000, cur.rlim_max), target = raise / 2,
               low = std::min<rlim_t>(100, target / 2);
  std::string cmd = "ulimit -Sn " + std::to_string(low) + " && exec";
  auto j = probe({"--rlimit", "nofile=" + std::to_string(raise) + ":", "--fd",
                  std::to_string(target) + "=1"},
                 {}, {"/bin/sh", "-c", cmd + " \"$0\" \"$@\""});
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, static_cast<int>(target)}));
  EXPECT_EQ(j["rlimits"]["nofile"][0], raise);
}

// Each fallback of the closer, forced by taking away what it relies on.
TEST_P(Fds, ClosingFallbackWithoutCloseRange) {
  check_closing_with({{kSysdeny, "--no-close-range", "--"}});
}

TEST_P(Fds, ClosingFallbacksWithoutProc) {
#ifdef BOXJAIL_SANITIZED
  // ASan and LeakSanitizer cannot run without /proc; the sanitized build
  // covers those two methods in unit_tests (CloserTest) instead.
  GTEST_SKIP() << "a sanitized boxjail cannot run without /proc (unit_tests cover it)";
#endif
  if (std::string why = sysdeny_unavailable({"--no-proc"}); !why.empty()) GTEST_SKIP() << why;
  check_closing_with({{kSysdeny, "--no-proc", "--"},
                            {kSysdeny, "--no-close-range", "--no-proc", "--"}});
}

TEST_P(Fds, TenThousandInheritedUpToTheHardLimit) {
  Spawn s;
  s.scatter = 10000;
  auto j = probe({"--fd", "3=4", "--fd", "4=3"}, {{3, a_.fd[0]}, {4, b_.fd[0]}}, {}, s);
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2, 3, 4}));
}

TEST_P(Fds, TenThousandInheritedAtOneMillion) {
  if (!have_cap_sys_resource()) GTEST_SKIP() << "needs CAP_SYS_RESOURCE to raise the hard limit";
  Spawn s;
  s.scatter = 10000;
  s.nofile_hard = 1048576;
  auto j = probe({}, {{3, a_.fd[0]}}, {}, s);
  EXPECT_EQ(fd_numbers(j), (Set{0, 1, 2}));
}

INSTANTIATE_TEST_SUITE_P(Modes, Fds, ::testing::Values(0, 1, 2), [](const auto& p) {
  std::string l = mode_label(all_modes()[static_cast<size_t>(p.param)]);
  l.erase(std::remove(l.begin(), l.end(), '-'), l.end());
  return l;
});

TEST(FdErrors, RefusedBeforeAnythingStarts) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--fd", "3=9"}, "boxjail: --fd 3=9: descriptor 9 is not open in boxjail\n"},
      {{"--fd", "3=1", "--fd", "3=2"}, "boxjail: --fd 3=2: target 3 is already given by --fd 3=1\n"},
      {{"--rlimit", "nofile=10", "--fd", "10=1"},
       "boxjail: --fd 10=1: target 10 is at or above PROGRAM's soft RLIMIT_NOFILE 10 (set by "
       "--rlimit nofile=10)\n"},
      {{"--fd", "x"}, "boxjail: --fd x: not a descriptor number 'x' (expected TARGET=SOURCE or N)\n"},
  };
  for (const auto& [flags, want] : cases) {
    std::vector<std::string> args = flags;
    args.push_back(kProbe);
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, want);
    EXPECT_EQ(r.out, "");  // the probe never ran
  }
}

}  // namespace

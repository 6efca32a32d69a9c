// --timeout DURATION[:SIGNAL]: the grammar, the mode refusals, --reap-grace
// beside it, and the dry run.
#include "boxjail/timeout.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "boxjail/plan.h"
#include "fake_system.h"

namespace boxjail {
namespace {

constexpr int64_t kMs = 1000000, kS = 1000 * kMs;

TEST(Duration, Grammar) {
  const std::pair<const char*, int64_t> good[] = {
      {"30", 30 * kS},         {"1.5", 1500 * kMs},  {"0.001", kMs},      {"500ms", 500 * kMs},
      {"1.5ms", 1500000},      {"2m", 120 * kS},     {"0.25h", 900 * kS}, {"1d", 86400 * kS},
      {"10s", 10 * kS},        {"1.05s", 1050 * kMs}, {"10000d", 10000LL * 86400 * kS},
      {"007", 7 * kS},
  };
  for (const auto& [text, ns] : good) {
    int64_t got = -1;
    EXPECT_TRUE(timeout::parse_duration(text, &got)) << text;
    EXPECT_EQ(got, ns) << text;
  }
  for (const char* bad : {"", "0", "0s", "0.0", "0.0001", "1.2345", "1.", ".5", "-1", "+1", "1e3",
                          "1 s", "s", "1S", "1sec", "1us", "1ns", "1w", "10001d", "1..5", "1.5.5",
                          "99999999999999999999", "0x10"}) {
    int64_t got = -1;
    EXPECT_FALSE(timeout::parse_duration(bad, &got)) << bad;
    EXPECT_EQ(got, -1) << bad;
  }
}

struct Built {
  bool ok;
  std::string msg;
};

Built build(Options o, LaunchPlan* plan) {
  testing::FakeSystem sys;
  if (o.command.empty()) o.command = {"/bin/true"};
  PlanError err;
  bool ok = build_plan(o, sys, "/usr/bin:/bin", nullptr, plan, &err);
  if (!ok) {
    EXPECT_EQ(err.exit_code, 125) << err.msg;
  }
  return {ok, err.msg};
}

Options with_timeout(const std::string& spec) {
  Options o;
  o.timeout = spec;
  o.has_timeout = true;
  return o;
}

TEST(Timeout, SignalDefaultsToTermAndMayBeNamed) {
  const std::pair<const char*, int> cases[] = {
      {"2s", SIGTERM}, {"2s:INT", SIGINT}, {"2s:sigkill", SIGKILL}, {"2s:9", SIGKILL},
      {"1.5:HUP", SIGHUP}, {"500ms:RTMIN+1", SIGRTMIN + 1}};
  for (const auto& [spec, sig] : cases) {
    LaunchPlan plan;
    ASSERT_TRUE(build(with_timeout(spec), &plan).ok) << spec;
    EXPECT_TRUE(plan.timeout.active);
    EXPECT_EQ(plan.timeout.signal, sig) << spec;
    EXPECT_EQ(plan.timeout.spec, spec);
  }
  LaunchPlan plan;
  ASSERT_TRUE(build(Options{}, &plan).ok);
  EXPECT_FALSE(plan.timeout.active);
}

TEST(Timeout, ErrorsNameTheFlagWithAHint) {
  const std::pair<const char*, std::string> cases[] = {
      {"", "--timeout : not a duration (more than 0 and at most 10000d, up to three decimals: "
           "30, 1.5, 500ms, 2m, 1h, 1d)"},
      {"0", "--timeout 0: not a duration (more than 0 and at most 10000d, up to three decimals: "
            "30, 1.5, 500ms, 2m, 1h, 1d)"},
      {"5x:TERM", "--timeout 5x:TERM: not a duration (more than 0 and at most 10000d, up to three "
                  "decimals: 30, 1.5, 500ms, 2m, 1h, 1d)"},
      {"5s:", "--timeout 5s:: unknown signal '' (use a name such as TERM or INT, or a number)"},
      {"5s:NOPE", "--timeout 5s:NOPE: unknown signal 'NOPE' (use a name such as TERM or INT, or a "
                  "number)"},
      {"5s:0", "--timeout 5s:0: unknown signal '0' (use a name such as TERM or INT, or a number)"},
  };
  for (const auto& [spec, msg] : cases) {
    LaunchPlan plan;
    Built b = build(with_timeout(spec), &plan);
    EXPECT_FALSE(b.ok) << spec;
    EXPECT_EQ(b.msg, msg);
  }
}

TEST(Timeout, RefusedWithoutASupervisor) {
  for (auto [detach, flag] : {std::pair{true, "--detach"}, std::pair{false, "--no-fork"}}) {
    Options o = with_timeout("2s");
    (detach ? o.detach : o.no_fork) = true;
    LaunchPlan plan;
    Built b = build(o, &plan);
    EXPECT_FALSE(b.ok);
    EXPECT_EQ(b.msg, std::string("--timeout cannot be combined with ") + flag +
                         " (no supervisor stays to end PROGRAM; --rlimit cpu=SECONDS limits CPU "
                         "time, not wall-clock time)");
  }
}

TEST(Timeout, ReapGraceGoesWithIt) {
  Options o = with_timeout("2s");
  o.reap_grace = "0.5";
  o.has_reap_grace = true;
  LaunchPlan plan;
  ASSERT_TRUE(build(o, &plan).ok);
  EXPECT_EQ(plan.grace_ms, 500);
  o = {};
  o.reap_grace = "0.5";
  o.has_reap_grace = true;
  LaunchPlan without;
  EXPECT_EQ(build(o, &without).msg, "--reap-grace needs --reap, --signal-group, --timeout or --ready");
}

TEST(Timeout, DryRunSaysWhoGetsWhatAndWhen) {
  LaunchPlan plan;
  ASSERT_TRUE(build(with_timeout("1.5m:INT"), &plan).ok);
  std::string j = plan_to_json(plan);
  EXPECT_NE(j.find(",\"timeout\":{\"ms\":90000,\"signal\":\"SIGINT\",\"to\":\"PROGRAM\","
                   "\"then\":\"SIGKILL\",\"grace_ms\":2000,\"exit_code\":124},"),
            std::string::npos)
      << j;
  Options o = with_timeout("500ms");
  o.signal_group = true;
  LaunchPlan group;
  ASSERT_TRUE(build(o, &group).ok);
  EXPECT_NE(plan_to_json(group).find("\"timeout\":{\"ms\":500,\"signal\":\"SIGTERM\","
                                     "\"to\":\"process group\","),
            std::string::npos);
  LaunchPlan none;
  ASSERT_TRUE(build(Options{}, &none).ok);
  EXPECT_EQ(plan_to_json(none).find("\"timeout\""), std::string::npos);
}

TEST(Timeout, TimerIsArmedCloseOnExecAndNonBlocking) {
  std::string err;
  int fd = timeout::start_timer(3600 * kS, &err);
  ASSERT_GE(fd, 0) << err;
  itimerspec t{};
  ASSERT_EQ(timerfd_gettime(fd, &t), 0);
  EXPECT_GT(t.it_value.tv_sec, 3500);
  EXPECT_EQ(t.it_interval.tv_sec, 0);  // once
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  uint64_t n = 0;
  EXPECT_EQ(read(fd, &n, sizeof n), -1);  // not due: no wait
  close(fd);
}

}  // namespace
}  // namespace boxjail

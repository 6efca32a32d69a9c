// Limits as the target sees them, in every mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <sys/resource.h>

#include "harness.h"

using namespace harness;

namespace {

nlohmann::json lim(rlim_t v) {
  return v == RLIM_INFINITY ? nlohmann::json("unlimited") : nlohmann::json(v);
}

TEST(Rlimits, TargetSeesWhatWasAsked) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  // Both nofile values lower than what we have (4096 and 512 on most
  // machines), so that a low inherited hard limit still allows them.
  const rlim_t hard = std::min<rlim_t>(nofile.rlim_max, 4096), soft = hard / 8;
  const std::string nofile_spec = "nofile=" + std::to_string(soft) + ":" + std::to_string(hard);
  for (const auto& mode : all_modes()) {
    Spawn s;
    s.argv = {kBoxjail, "--rlimit", nofile_spec, "--rlimit", "as=4G:unlimited",
              "--rlimit", "cpu=1h", "--rlimit", "RLIMIT_CORE=0", "--rlimit", "nice=0",
              "--rlimit", "stack=8MiB:", "--rlimit", "rttime=50ms", "--rlimit", "nproc=:1000"};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.push_back(kProbe);
    Result r = run(s);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    auto j = parse_probe(r.out)["rlimits"];
    EXPECT_EQ(j["nofile"], (nlohmann::json{soft, hard})) << mode_label(mode);
    EXPECT_EQ(j["as"], (nlohmann::json{4ull << 30, "unlimited"}));
    EXPECT_EQ(j["cpu"], (nlohmann::json{3600, 3600}));
    EXPECT_EQ(j["core"], (nlohmann::json{0, 0}));
    EXPECT_EQ(j["nice"], (nlohmann::json{0, 0}));
    EXPECT_EQ(j["stack"][0], 8 << 20);
    EXPECT_EQ(j["rttime"], (nlohmann::json{50000, 50000}));
    rlimit nproc{};
    getrlimit(RLIMIT_NPROC, &nproc);
    EXPECT_EQ(j["nproc"][1], 1000);
    EXPECT_EQ(j["nproc"][0], lim(std::min<rlim_t>(nproc.rlim_cur, 1000)));
  }
}

TEST(Rlimits, SupervisorKeepsItsOwnLimits) {
  // The supervisor stays as it was; only the child is limited. The target
  // reads its parent's (the supervisor's) limits through /proc.
  Result r = run({.argv = {kBoxjail, "--rlimit", "nofile=100", "/bin/sh", "-c",
                           "grep 'Max open files' /proc/$PPID/limits; "
                           "grep 'Max open files' /proc/self/limits"}});
  ASSERT_EQ(r.code(), 0) << r.err;
  rlimit cur{};
  getrlimit(RLIMIT_NOFILE, &cur);
  EXPECT_NE(r.out.find(std::to_string(cur.rlim_cur)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("100                  100"), std::string::npos) << r.out;
}

TEST(Rlimits, HardRaiseNeedsTheCapability) {
  rlimit cur{};
  getrlimit(RLIMIT_NOFILE, &cur);
  std::string above = std::to_string(cur.rlim_max + 1);
  Result r = boxjail({"--rlimit", "nofile=" + above, kProbe});
  if (have_cap_sys_resource()) {
    EXPECT_EQ(r.code(), 0) << r.err;
    EXPECT_EQ(parse_probe(r.out)["rlimits"]["nofile"][1], cur.rlim_max + 1);
  } else {
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, "boxjail: --rlimit nofile=" + above + ": raising the hard limit above " +
                         std::to_string(cur.rlim_max) +
                         " needs CAP_SYS_RESOURCE, which boxjail does not have\n");
    EXPECT_EQ(r.out, "");
  }
}

// Inside a user namespace the effective set shows CAP_SYS_RESOURCE, but the
// kernel checks it in the initial namespace: the raise must still be refused
// up front, with the hint, and not fail later in the child.
TEST(Rlimits, HardRaiseInsideAUserNamespaceIsRefusedUpFront) {
  Result ns = run({.argv = {"/usr/bin/unshare", "-Ur", "/bin/true"}});
  if (ns.code() != 0) {
    while (!ns.err.empty() && ns.err.back() == '\n') ns.err.pop_back();
    GTEST_SKIP() << "needs user namespaces (unshare -Ur /bin/true failed: " << ns.err << ")";
  }
  rlimit cur{};
  getrlimit(RLIMIT_NOFILE, &cur);
  const std::string above = std::to_string(cur.rlim_max + 1);
  for (const auto& mode : all_modes()) {
    Spawn s{.argv = {"/usr/bin/unshare", "-Ur", kBoxjail}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {"--rlimit", "nofile=:" + above, kProbe});
    Result r = run(s);
    EXPECT_EQ(r.code(), 125) << mode_label(mode);
    EXPECT_EQ(r.err, "boxjail: --rlimit nofile=:" + above + ": raising the hard limit above " +
                         std::to_string(cur.rlim_max) +
                         " needs CAP_SYS_RESOURCE, which boxjail does not have\n")
        << mode_label(mode);
    EXPECT_EQ(r.out, "") << mode_label(mode);
  }
}

TEST(Rlimits, NofileAboveNrOpenIsCaughtUpFront) {
  Result r = boxjail({"--rlimit", "nofile=1073741824", kProbe});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("above fs.nr_open"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Rlimits, FailingSetrlimitIsReportedAndNothingStarts) {
  for (const auto& mode : all_modes()) {
    Spawn s;
    s.argv = {kSysdeny, "--no-setrlimit", "--", kBoxjail, "--rlimit", "as=1G",
              "--rlimit", "nofile=100"};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.push_back(kProbe);
    Result r = run(s);
    EXPECT_EQ(r.code(), 125) << mode_label(mode);
    EXPECT_EQ(r.err, "boxjail: --rlimit as=1G: setrlimit: Operation not permitted\n")
        << mode_label(mode);
    EXPECT_EQ(r.out, "") << mode_label(mode);
  }
}

}  // namespace

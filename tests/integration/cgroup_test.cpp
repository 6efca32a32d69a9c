// --cgroup, --cgroup-set, scheduling and the resource report, end to end on
// this host's hierarchies: what the probe saw in /proc/self/cgroup and
// what the cgroup filesystem shows before and after.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "guest.h"
#include "harness.h"

namespace {

using namespace harness;
using json = nlohmann::json;

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

class Cgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    v2_ = cgroup_mount("");
    pids_ = cgroup_mount("pids");
    memory_ = cgroup_mount("memory");
    if (v2_.empty() && pids_.empty()) GTEST_SKIP() << "no cgroup hierarchy is mounted here";
    const std::string probe = (v2_.empty() ? pids_ : v2_) + "/boxjail-write-check";
    if (mkdir(probe.c_str(), 0755) != 0)
      GTEST_SKIP() << "needs write access to the cgroup hierarchy (" << strerror(errno)
                   << "; root, or a delegated subtree)";
    rmdir(probe.c_str());
    name_ = "boxjail-test-" + std::to_string(getpid()) + "/" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  // Any hierarchy's copy of the test's cgroup, removed if left over.
  void TearDown() override {
    for (const auto& m : {v2_, pids_, memory_}) {
      if (m.empty()) continue;
      rmdir((m + "/" + name_).c_str());
      rmdir((m + "/" + name_.substr(0, name_.find('/'))).c_str());
    }
  }
  // The probe's cgroup line for `hierarchy` ("0::" for v2, "N:pids:").
  static std::string line_of(const json& j, const std::string& key) {
    std::istringstream in(j["cgroup"].get<std::string>());
    std::string l;
    while (std::getline(in, l))
      if (key.empty() ? l.rfind("0::", 0) == 0 : l.find(":" + key + ":") != std::string::npos)
        return l.substr(l.rfind(':') + 1);
    return "";
  }
  std::string v2_, pids_, memory_, name_;
};

TEST_F(Cgroup, ProgramIsInItsCgroupFromTheStartInEveryModeAndItIsRemovedAfter) {
  for (const auto& mode : all_modes()) {
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--cgroup", name_, "--cgroup-set", "pids.max=50", "--", kProbe});
    if (mode.size() && mode[0] == "--detach") args.push_back("--wait");
    Proc p({.argv = [&] {
      std::vector<std::string> a = {kBoxjail};
      a.insert(a.end(), args.begin(), args.end());
      return a;
    }()});
    json j = parse_probe(p.read_line());
    if (!v2_.empty()) {
      EXPECT_EQ(line_of(j, ""), "/" + name_) << mode_label(mode);
    }
    if (!pids_.empty()) {
      EXPECT_EQ(line_of(j, "pids"), "/" + name_) << mode_label(mode);
    }
    if (mode.size() && mode[0] == "--detach") {
      // Left in place, with PROGRAM in it.
      EXPECT_TRUE(exists(pids_ + "/" + name_));
      kill(j["pid"].get<pid_t>(), SIGKILL);
      EXPECT_TRUE(wait_gone(j["pid"].get<pid_t>()));
    }
    Result r = p.wait();
    EXPECT_EQ(r.code(), mode.size() && mode[0] == "--detach" ? 0 : 0) << r.err;
    if (mode.empty()) {
      // The default mode removes what it created, parents included.
      EXPECT_FALSE(exists(pids_ + "/" + name_)) << mode_label(mode);
      if (!v2_.empty()) {
        EXPECT_FALSE(exists(v2_ + "/" + name_.substr(0, name_.find('/'))));
      }
    }
    TearDown();
  }
}

TEST_F(Cgroup, Clone3IsUsedAndTheFallbackJoinsToo) {
  if (v2_.empty()) GTEST_SKIP() << "no cgroup v2 hierarchy here";
  if (access("/usr/bin/strace", X_OK) != 0) GTEST_SKIP() << "needs strace";
  TempDir d;
  Result r;
#ifndef BOXJAIL_SANITIZED  // a sanitized boxjail starts its child with fork() (child.h)
  r = run({.argv = {"/usr/bin/strace", "-f", "-qq", "-e", "trace=clone,clone3", "-o",
                    d.path + "/t", kBoxjail, "--cgroup", name_, "--", kProbe}});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(slurp(d.path + "/t").find("CLONE_INTO_CGROUP"), std::string::npos) << slurp(d.path + "/t");
  EXPECT_EQ(line_of(parse_probe(r.out), ""), "/" + name_);
#endif
  // clone3 denied (a kernel before 5.3): the child's first step joins.
  r = run({.argv = {kSysdeny, "--no-clone3", "--", kBoxjail, "--cgroup", name_, "--", kProbe}});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(line_of(parse_probe(r.out), ""), "/" + name_);
  EXPECT_FALSE(exists(v2_ + "/" + name_));
}

TEST_F(Cgroup, PidsMaxStopsAForkLoop) {
  Result r = boxjail({"--cgroup", name_, "--cgroup-set", "pids.max=5", "--", kProbe,
                      "--fork-until-fail"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  EXPECT_EQ(j["access"][0]["errno"], EAGAIN);
  EXPECT_EQ(j["forked"], 4);  // the probe and four children: five
}

TEST_F(Cgroup, MemoryLimitEndsProgramAndTheReportShowsThePeak) {
  if (memory_.empty() && v2_.empty()) GTEST_SKIP() << "no memory controller";
  const std::string limit = memory_.empty() ? "memory.max=32M" : "memory.limit_in_bytes=32M";
  std::string status;
  Result r = run_with_pipe({.argv = {kBoxjail, "-v", "--status-fd", "3", "--cgroup", name_,
                                     "--cgroup-set", limit, "--", kProbe, "--alloc", "512"}},
                           3, &status);
  EXPECT_EQ(r.signal(), SIGKILL) << r.status << r.err;  // the OOM killer's
  json end = json::parse(status.substr(status.find('\n') + 1));
  EXPECT_EQ(end["signal"], SIGKILL) << status;
  EXPECT_GT(end["cgroup-peak-memory-bytes"].get<int64_t>(), 16ll << 20) << status;
  EXPECT_LE(end["cgroup-peak-memory-bytes"].get<int64_t>(), 33ll << 20) << status;
  EXPECT_NE(r.err.find("was killed by signal 9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("; peak memory "), std::string::npos) << r.err;
}

TEST_F(Cgroup, LeftoversAreKilledAndAPreexistingCgroupIsKept) {
  TempDir d;
  const std::string pidfile = d.path + "/bg";
  Result r = boxjail({"--cgroup", name_, "--cgroup-set", "pids.max=20", "--", "/bin/sh", "-c",
                      "sleep 300 & echo $! > " + pidfile + "; exit 0"});
  ASSERT_EQ(r.code(), 0) << r.err;
  const pid_t bg = std::stoi(slurp(pidfile));
  EXPECT_TRUE(wait_gone(bg));  // killed with the cgroup
  EXPECT_FALSE(exists(pids_ + "/" + name_));
  // A cgroup that already existed stays, and so does what it holds.
  const std::string parent = pids_ + "/" + name_.substr(0, name_.find('/'));
  ASSERT_EQ(mkdir(parent.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((pids_ + "/" + name_).c_str(), 0755), 0);
  r = boxjail({"--cgroup", name_, "--cgroup-set", "pids.max=20", "--", kProbe});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_TRUE(exists(pids_ + "/" + name_));
  EXPECT_EQ(slurp(pids_ + "/" + name_ + "/pids.max"), "20\n");
}

TEST_F(Cgroup, RefusalsLeaveNothingBehind) {
  for (const auto& [set, msg] : std::vector<std::pair<std::string, std::string>>{
           {"pids.max=many", "--cgroup-set pids.max=many: the kernel refused many for "},
           {"pids.nosuchfile=1", "--cgroup-set pids.nosuchfile=1: there is no "},
           {"rdma.max=1", "--cgroup-set rdma.max=1: the rdma controller is not available to "},
           {"memory.limit_in_bytes=12Q", "--cgroup-set memory.limit_in_bytes=12Q: '12Q' is not a "
                                         "byte count"},
       }) {
    Result r = boxjail({"--cgroup", name_, "--cgroup-set", set, "--", kProbe});
    EXPECT_EQ(r.code(), 125) << set;
    EXPECT_NE(r.err.find("boxjail: " + msg), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    for (const auto& m : {v2_, pids_, memory_})
      if (!m.empty()) {
        EXPECT_FALSE(exists(m + "/" + name_.substr(0, name_.find('/')))) << set << m;
      }
  }
}

// Every child step failing, in each mode where it runs: the cgroups
// boxjail created are gone afterwards, even where the child had joined.
TEST_F(Cgroup, FailingStepsLeaveNoCgroup) {
  Result fi = run({.argv = {kBoxjail, "--dry-run", "true"}, .env = {"BOXJAIL_FAIL_STEP=nonsense"}});
  if (fi.code() != 125) GTEST_SKIP() << "boxjail built without BOXJAIL_FAULT_INJECTION";
  const std::vector<std::string> forking = {"default", "detach"}, all = {"default", "detach", "no-fork"};
  std::vector<std::pair<std::string, std::vector<std::string>>> steps = {
      {"unshare descriptors", forking}, {"cgroup", all},        {"session", forking},
      {"die-with-parent", {"default", "no-fork"}},              {"rlimits (early)", all},
      {"descriptors", all},             {"close descriptors", all}, {"rlimits", all},
      {"scheduling", all},              {"chdir", all},         {"no-new-privs", all},
      {"landlock", all},                {"environment", forking}, {"signals", {"default"}},
      {"status report", {"no-fork"}},   {"seccomp", all},       {"exec", all}};
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  const std::vector<std::string> opt_in = root_opt_in();
  int cases = 0;
  for (const auto& [step, modes] : steps) {
    for (const auto& mode : modes) {
      int st[2];
      ASSERT_EQ(pipe2(st, O_CLOEXEC), 0);
      // Every flag switches one step on; the soft limit is lowered so that
      // --rlimit nofile=HARD: raises it first.
      Spawn s{.argv = {"/bin/sh", "-c", "ulimit -Sn " + std::to_string(nofile.rlim_max / 2) +
                                            " && exec \"$@\"", "sh", kBoxjail},
              .env = {"BOXJAIL_FAIL_STEP=" + step}};
      if (mode != "default") s.argv.push_back("--" + mode);
      if (mode != "detach") s.argv.push_back("--die-with-parent");
      for (const auto& a : opt_in) s.argv.push_back(a);  // confined, as root
      s.argv.insert(s.argv.end(),
                    {"--rlimit", "nofile=" + std::to_string(nofile.rlim_max) + ":", "--rlimit",
                     "core=0", "--fd", "5=1",
                     "--nice", "1", "--chdir", "/", "--no-new-privs", "--fs-exec-deps", "--fs-rw",
                     "/tmp", "--status-fd", "7", "--cgroup", name_,
                     "--cgroup-set", "pids.max=9", "--", kProbe});
      // A filter in the default mode hands a listener over (named
      // denials), and that child starts with a copy of the descriptor
      // table, not sharing it: no unshare step then.
      if (step != "unshare descriptors" || mode != "default")
        s.argv.insert(s.argv.end() - 2 - 6, {"--seccomp-deny", "uname"});
      s.fds = {{7, st[1]}};
      s.listen_fds = 0;  // socket activation: the environment step
      Proc p(s);
      close(st[1]);
      read_to_eof(st[0]);
      close(st[0]);
      Result r = p.wait();
      const std::string where = step + " in " + mode;
      EXPECT_EQ(r.out, "") << where;  // the step was active: the probe never ran
      EXPECT_NE(r.code(), 0) << where;
      // --no-fork after the restriction steps is the one exception (man
      // page, PLACEMENT): the process is already under its own Landlock
      // rules, which do not let it remove directories, and it exits; the
      // cgroup stays, empty. So it is after the identity step (--user root,
      // as root), which comes before chdir and drops CAP_DAC_OVERRIDE: the
      // hierarchy's root, where the top directory is, has mode 0555.
      const bool after_identity =
          !opt_in.empty() && (step == "chdir" || step == "no-new-privs" || step == "landlock");
      const bool restricted =
          mode == "no-fork" &&
          (step == "status report" || step == "seccomp" || step == "exec" || after_identity);
      for (const auto& m : {v2_, pids_}) {
        if (m.empty()) continue;
        const std::string top = m + "/" + name_.substr(0, name_.find('/'));
        EXPECT_EQ(exists(top), restricted) << where << ": " << r.err;
        if (restricted) {
          EXPECT_EQ(slurp(m + "/" + name_ + "/cgroup.procs"), "") << where;
        }
      }
      TearDown();
      ++cases;
    }
  }
  EXPECT_EQ(cases, 43);
}

TEST(Scheduling, CpusNiceAndOomScoreAdjAreWhatTheProbeSees) {
  Result r = boxjail({"--cpus", "0", "--nice", "7", "--oom-score-adj", "300", "--", kProbe});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  EXPECT_EQ(j["affinity"], (json{0}));
  EXPECT_EQ(j["nice"], 7);
  EXPECT_EQ(j["oom_score_adj"], "300");
  r = boxjail({"--cpus", "4096", "--", kProbe});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --cpus 4096: not a CPU list (such as 0-3,6)\n");
  r = boxjail({"--cpus", "0-1023", "--", kProbe});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("is not among the CPUs boxjail may use"), std::string::npos) << r.err;
  r = boxjail({"--nice", "20", "--", kProbe});
  EXPECT_EQ(r.err, "boxjail: --nice 20: not a nice value (-20 to 19)\n");
  if (!have_cap_sys_resource()) {
    r = boxjail({"--oom-score-adj", "-500", "--", kProbe});
    EXPECT_EQ(r.code(), 125);
    EXPECT_NE(r.err.find("needs CAP_SYS_RESOURCE, which boxjail does not have"), std::string::npos)
        << r.err;
  }
}

TEST(Report, StatusLineCarriesPlausibleUsage) {
  std::string status;
  Result r = run_with_pipe({.argv = {kBoxjail, "--status-fd", "3", "--", kProbe, "--burn", "300"}},
                           3, &status);
  ASSERT_EQ(r.code(), 0) << r.err;
  json end = json::parse(status.substr(status.find('\n') + 1));
  const double user = end["user-cpu-s"], sys = end["sys-cpu-s"], elapsed = end["elapsed-s"];
  EXPECT_GE(user + sys, 0.29) << status;
  EXPECT_LE(user + sys, elapsed + 0.05) << status;
  EXPECT_GT(end["max-rss-kib"].get<long>(), 100) << status;
  EXPECT_FALSE(end.contains("cgroup-peak-memory-bytes"));
}

TEST_F(Cgroup, QemuBootsInACgroupWithLimitsAndTheReportShowsItsPeak) {
  if (std::string why = guest::unavailable(); !why.empty()) GTEST_SKIP() << why;
  if (memory_.empty()) GTEST_SKIP() << "needs the memory controller (v1 here)";
  Spawn s{.argv = {kBoxjail, "-v", "--cgroup", name_, "--cgroup-set", "pids.max=64",
                   "--cgroup-set", "memory.limit_in_bytes=1G", "--"},
          .timeout_ms = guest::kBootTimeoutMs};
  for (auto& a : guest::argv()) s.argv.push_back(a);
  Result r = run(s);
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find(guest::kMarker), std::string::npos);
  for (const auto& m : {v2_, pids_, memory_})
    if (!m.empty()) {
      EXPECT_FALSE(exists(m + "/" + name_));
    }
  size_t at = r.err.find("; peak memory ");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_GT(std::stol(r.err.substr(at + 14)), 16) << r.err;  // MiB: qemu and its 128 MiB guest
}

// The v2 names on this hybrid host: what PROGRAM's v1 cgroups hold while
// it runs (read by a shell inside them), and the file --dry-run names.
TEST_F(Cgroup, V2NamesAreTranslatedIntoTheV1Files) {
  const std::string cpu = cgroup_mount("cpu"), cpuset = cgroup_mount("cpuset");
  if (memory_.empty() || pids_.empty() || cpu.empty() || cpuset.empty())
    GTEST_SKIP() << "needs the memory, pids, cpu and cpuset controllers as cgroup v1 hierarchies";
  const std::vector<std::string> sets = {
      "memory.max=64M", "memory.swap.max=16M", "memory.high=32M", "pids.max=7",
      "cpu.max=50000 200000", "cpu.weight=50", "cpuset.cpus=0", "cpuset.mems=0"};
  std::vector<std::string> args = {"--cgroup", name_};
  for (const auto& s : sets) args.insert(args.end(), {"--cgroup-set", s});
  // Each file as PROGRAM's cgroup has it.
  const std::vector<std::pair<std::string, std::string>> want = {
      {memory_ + "/" + name_ + "/memory.limit_in_bytes", "67108864"},
      {memory_ + "/" + name_ + "/memory.memsw.limit_in_bytes", "83886080"},
      {memory_ + "/" + name_ + "/memory.soft_limit_in_bytes", "33554432"},
      {pids_ + "/" + name_ + "/pids.max", "7"},
      {cpu + "/" + name_ + "/cpu.cfs_period_us", "200000"},
      {cpu + "/" + name_ + "/cpu.cfs_quota_us", "50000"},
      {cpu + "/" + name_ + "/cpu.shares", "512"},
      {cpuset + "/" + name_ + "/cpuset.cpus", "0"},
      {cpuset + "/" + name_ + "/cpuset.mems", "0"}};
  std::vector<std::string> dry = {"--dry-run"};
  dry.insert(dry.end(), args.begin(), args.end());
  dry.insert(dry.end(), {"--", kProbe});
  Result r = boxjail(dry);
  ASSERT_EQ(r.code(), 0) << r.err;
  const json settings = json::parse(r.out)["cgroup"]["settings"];
  ASSERT_EQ(settings.size(), want.size()) << settings;
  for (const auto& [file, value] : want) {
    bool found = false;
    for (const auto& st : settings) found |= st["file"] == file && st["value"] == value;
    EXPECT_TRUE(found) << file << "=" << value << " in " << settings;
  }
  std::string script = "cat";
  for (const auto& [file, value] : want) script += " " + file;
  args.insert(args.end(), {"--", "/bin/sh", "-c", script + "; cat /proc/self/status"});
  r = boxjail(args);
  ASSERT_EQ(r.code(), 0) << r.err;
  std::string expected;
  for (const auto& [file, value] : want) expected += value + "\n";
  EXPECT_EQ(r.out.substr(0, expected.size()), expected) << r.out;
  EXPECT_NE(r.out.find("Cpus_allowed_list:\t0\n"), std::string::npos) << r.out;  // it joined the cpuset
  for (const auto& m : {cpu, cpuset, memory_, pids_}) EXPECT_FALSE(exists(m + "/" + name_)) << m;
}

TEST_F(Cgroup, TranslationRefusalsNameTheFlag) {
  if (memory_.empty() || pids_.empty()) GTEST_SKIP() << "needs the v1 memory and pids hierarchies";
  for (const auto& [sets, msg] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"memory.swap.max=1G"},
            "boxjail: --cgroup-set memory.swap.max=1G: on cgroup v1 this is "
            "memory.memsw.limit_in_bytes, which counts memory and swap together: give memory.max "
            "too (boxjail writes their sum)\n"},
           {{"cpu.weight=0"}, "boxjail: --cgroup-set cpu.weight=0: not a weight (1 to 10000)\n"},
       }) {
    std::vector<std::string> args = {"--cgroup", name_};
    for (const auto& s : sets) args.insert(args.end(), {"--cgroup-set", s});
    args.insert(args.end(), {"--", kProbe});
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, msg);
    EXPECT_FALSE(exists(memory_ + "/" + name_.substr(0, name_.find('/'))));
  }
  // A translated file this kernel lacks: the message says which and why.
  if (!cgroup_mount("blkio").empty() && !exists(cgroup_mount("blkio") + "/blkio.weight")) {
    Result r = boxjail({"--cgroup", name_, "--cgroup-set", "io.weight=100", "--", kProbe});
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, "boxjail: --cgroup-set io.weight=100: there is no " + cgroup_mount("blkio") +
                         "/" + name_ + "/blkio.weight (Linux 5.0 removed CFQ, the I/O scheduler "
                         "it was for; with BFQ, set blkio.bfq.weight)\n");
    EXPECT_FALSE(exists(cgroup_mount("blkio") + "/" + name_.substr(0, name_.find('/'))));
  }
}

// --cgroup naming a v1 memory cgroup, and a pids setting: the same path in
// the pids hierarchy.
TEST_F(Cgroup, AnAbsolutePathInOneHierarchyPlacesOtherSettingsAtTheSamePath) {
  if (memory_.empty() || pids_.empty()) GTEST_SKIP() << "needs the v1 memory and pids hierarchies";
  const std::string abs = memory_ + "/" + name_;
  Result r = boxjail({"--dry-run", "--cgroup", abs, "--cgroup-set", "pids.max=5", "--", kProbe});
  ASSERT_EQ(r.code(), 0) << r.err;
  const json h = json::parse(r.out)["cgroup"]["hierarchies"];
  ASSERT_EQ(h.size(), 2u) << h;
  EXPECT_EQ(h[1]["dir"], pids_ + "/" + name_);
  EXPECT_EQ(h[1]["why"], "--cgroup-set pids.max=5: " + name_ +
                             " in the pids hierarchy, the same path as --cgroup's");
  r = boxjail({"--cgroup", abs, "--cgroup-set", "pids.max=5", "--", kProbe, "--fork-until-fail"});
  ASSERT_EQ(r.code(), 0) << r.err;
  const json j = parse_probe(r.out);
  EXPECT_EQ(line_of(j, "pids"), "/" + name_);
  EXPECT_EQ(line_of(j, "memory"), "/" + name_);
  EXPECT_EQ(j["forked"], 4);  // pids.max=5 held
}

// A chroot's `mount --rbind /sys` (Debian's build tools make one): the
// hierarchies mounted again before and after the real ones, in a private
// mount namespace. boxjail takes /sys/fs/cgroup's, and lists each once.
TEST_F(Cgroup, OtherMountsOfTheHierarchiesAreNotTaken) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, for mount(2) in a private mount namespace";
  Result can = run({.argv = {"/usr/bin/unshare", "-m", "--propagation", "private", "true"}});
  if (can.code() != 0) GTEST_SKIP() << "cannot make a private mount namespace: " << can.err;
  TempDir d;
  const std::string script =
      "set -e; mkdir " + d.path + "/before " + d.path + "/after; "
      "mount --rbind /sys/fs/cgroup " + d.path + "/before; "
      "umount -l /sys/fs/cgroup; mount --rbind " + d.path + "/before /sys/fs/cgroup; "
      "mount --rbind /sys/fs/cgroup " + d.path + "/after; "
      "grep -c ' - cgroup' /proc/self/mountinfo >&2; "
      "\"$0\" --features; echo ===; "
      "exec \"$0\" --dry-run --cgroup " + name_ + " --cgroup-set pids.max=5 -- /bin/true";
  Result r = run({.argv = {"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                           script, kBoxjail}});
  ASSERT_EQ(r.code(), 0) << r.err;
  const std::string features = r.out.substr(0, r.out.find("==="));
  const json plan = json::parse(r.out.substr(r.out.find("===") + 4));
  // The other mounts were there: three times as many cgroup mounts.
  EXPECT_GE(std::stoi(r.err), 3) << r.err;
  EXPECT_EQ(features.find(d.path), std::string::npos) << features;
  std::istringstream in(features);
  std::set<std::string> rows;
  int hierarchies = 0;
  for (std::string l; std::getline(in, l);)
    if (l.rfind("cgroup v", 0) == 0) {
      ++hierarchies;
      EXPECT_TRUE(rows.insert(l).second) << "listed twice: " << l;
      EXPECT_NE(l.find("/sys/fs/cgroup"), std::string::npos) << l;
    }
  EXPECT_GT(hierarchies, 0) << features;
  for (const auto& h : plan["cgroup"]["hierarchies"])
    EXPECT_EQ(h["dir"].get<std::string>().rfind("/sys/fs/cgroup/", 0), 0u) << h;
}

}  // namespace

// --features and --version: each line of the report checked against what
// this test observes itself, with the same system calls and files.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

json features(std::vector<std::string> prefix = {}) {
  Spawn s;
  s.argv = prefix;
  s.argv.insert(s.argv.end(), {kBoxjail, "--features=json"});
  Result r = run(s);
  EXPECT_EQ(r.code(), 0) << r.err;
  return json::parse(r.out);
}

bool effective_cap(int cap) {
  std::istringstream in(slurp("/proc/self/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("CapEff:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> cap) & 1;
  return false;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

TEST(Features, MatchWhatTheTestSees) {
  json f = features();
  // Landlock: the ABI landlock_create_ruleset() returns here.
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u);
  EXPECT_EQ(f["landlock"]["abi"], abi < 0 ? 0 : abi);
  if (abi >= 1) {
    EXPECT_EQ(f["landlock"]["fs"].size(), abi >= 5 ? 16u : abi >= 3 ? 15u : abi >= 2 ? 14u : 13u);
    EXPECT_EQ(f["landlock"]["net"].size(), abi >= 4 ? 2u : 0u);
    EXPECT_EQ(f["landlock"]["scopes"].size(), abi >= 6 ? 2u : 0u);
    EXPECT_EQ(f["landlock"]["logging"], abi >= 7);
  }
  // close_range and pidfd_open, called the same way.
  EXPECT_EQ(f["close_range"]["available"], syscall(SYS_close_range, ~0U, ~0U, 0) == 0);
  long pidfd = syscall(SYS_pidfd_open, getpid(), 0);
  EXPECT_EQ(f["pidfd_open"]["available"], pidfd >= 0);
  if (pidfd >= 0) close(static_cast<int>(pidfd));
  errno = 0;
  const bool clone3 = syscall(SYS_clone3, nullptr, 0) < 0 && errno == EINVAL;
  EXPECT_EQ(f["clone3"]["available"], clone3);
  // seccomp: each action the kernel says it has.
  std::set<std::string> actions;
  const std::pair<const char*, uint32_t> all[] = {
      {"kill_process", SECCOMP_RET_KILL_PROCESS}, {"kill_thread", SECCOMP_RET_KILL_THREAD},
      {"trap", SECCOMP_RET_TRAP},                 {"errno", SECCOMP_RET_ERRNO},
      {"user_notif", SECCOMP_RET_USER_NOTIF},     {"trace", SECCOMP_RET_TRACE},
      {"log", SECCOMP_RET_LOG},                   {"allow", SECCOMP_RET_ALLOW}};
  for (auto [name, act] : all)
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) == 0) actions.insert(name);
  EXPECT_EQ(f["seccomp"]["actions"].get<std::set<std::string>>(), actions);
  // The nofile limits, and the capabilities.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  EXPECT_EQ(f["nofile"]["soft"], nofile.rlim_cur);
  EXPECT_EQ(f["nofile"]["hard"], nofile.rlim_max);
  EXPECT_EQ(f["nofile"]["nr_open"], std::stoull(slurp("/proc/sys/fs/nr_open")));
  EXPECT_EQ(f["capabilities"]["CAP_SYS_ADMIN"], effective_cap(21));
  EXPECT_EQ(f["capabilities"]["CAP_SYS_RESOURCE"], have_cap_sys_resource());
}

TEST(Features, CgroupHierarchiesAreTheMountedOnes) {
  json f = features();
  // Read /proc/self/mountinfo here: every cgroup2 mount, with its
  // cgroup.controllers, and every v1 mount of the memory, pids or cpu
  // controller, must be reported.
  std::istringstream in(slurp("/proc/self/mountinfo"));
  std::string line;
  bool v1 = false, v2 = false;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    std::vector<std::string> pre = words(line.substr(0, dash)), post = words(line.substr(dash + 3));
    if (post.size() < 3) continue;
    const std::string& mount = pre[4];
    if (post[0] == "cgroup2") {
      v2 = true;
      json want = {{"version", 2}, {"mount", mount}, {"controllers", words(slurp(mount + "/cgroup.controllers"))}};
      bool found = false;
      for (const json& h : f["cgroup"]["hierarchies"]) found = found || h == want;
      EXPECT_TRUE(found) << want.dump() << " in " << f["cgroup"].dump();
    } else if (post[0] == "cgroup") {
      for (const char* c : {"memory", "pids", "cpu"}) {
        if (("," + post[2] + ",").find(std::string(",") + c + ",") == std::string::npos) continue;
        v1 = true;
        bool found = false;
        for (const json& h : f["cgroup"]["hierarchies"])
          if (h["version"] == 1 && h["mount"] == mount)
            for (const json& ctl : h["controllers"]) found = found || ctl == c;
        EXPECT_TRUE(found) << c << " at " << mount << " in " << f["cgroup"].dump();
      }
    }
  }
  EXPECT_EQ(f["cgroup"]["layout"], v1 && v2 ? "hybrid" : v2 ? "v2" : v1 ? "v1" : "none");
}

TEST(Features, ProbedAtRunTimeNotCompiledIn) {
  // With close_range and clone3 taken away by a seccomp filter, the same
  // binary reports them missing, with the errno the calls got.
  const std::string why = sysdeny_unavailable({"--no-close-range", "--no-clone3"});
  if (!why.empty()) GTEST_SKIP() << why;
  json f = features({kSysdeny, "--no-close-range", "--no-clone3", "--"});
  EXPECT_EQ(f["close_range"]["available"], false);
  EXPECT_EQ(f["close_range"]["available_errno"], "ENOSYS");
  EXPECT_EQ(f["clone3"]["available"], false);
  EXPECT_EQ(f["clone3"]["into_cgroup"], false);
  EXPECT_EQ(f["seccomp"]["mode"], 2);  // boxjail now runs under a filter
  EXPECT_EQ(features()["close_range"]["available"], syscall(SYS_close_range, ~0U, ~0U, 0) == 0);
}

TEST(Features, TextIsAlignedAndSaysTheSame) {
  Result r = boxjail({"--features"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json f = features();
  std::istringstream in(r.out);
  std::string line;
  size_t column = 0, rows = 0;
  std::map<std::string, std::string> row;
  while (std::getline(in, line)) {
    if (line.rfind("WARNING:", 0) == 0) continue;
    size_t gap = line.find("  ");
    ASSERT_NE(gap, std::string::npos) << line;
    size_t value = line.find_first_not_of(' ', gap);
    if (column == 0) column = value;
    EXPECT_EQ(value, column) << line;
    row[line.substr(0, gap)] = line.substr(value);
    ++rows;
  }
  EXPECT_GT(rows, 12u);
  for (const char* key : {"version", "kernel", "close_range", "clone3", "CLONE_INTO_CGROUP",
                          "pidfd_open", "landlock", "seccomp", "cgroup layout", "CAP_SYS_RESOURCE",
                          "CAP_SYS_ADMIN", "nofile"})
    EXPECT_TRUE(row.count(key)) << key << "\n" << r.out;
  const int abi = f["landlock"]["abi"];
  if (abi > 0) {
    EXPECT_EQ(row["landlock"], "ABI " + std::to_string(abi));
  }
  EXPECT_EQ(row["cgroup layout"], f["cgroup"]["layout"]);
  EXPECT_EQ(row["CAP_SYS_ADMIN"], f["capabilities"]["CAP_SYS_ADMIN"].get<bool>() ? "yes" : "no");
}

TEST(Features, Refusals) {
  Result r = boxjail({"--features=xml"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --features=xml: unknown format (use text or json)\n");
  r = boxjail({"--features", "--", "true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --features takes no PROGRAM\n");
}

std::string git_rev() {
  // safe.directory: the test may run as another user than the tree's owner.
  std::string cmd = "git -c safe.directory='*' -C '" TESTS_SOURCE_DIR
                    "' rev-parse --short=12 HEAD 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  char buf[64] = {};
  std::string rev = fgets(buf, sizeof buf, p) ? buf : "";
  pclose(p);
  while (!rev.empty() && rev.back() == '\n') rev.pop_back();
  return rev;
}

TEST(Version, NamesTheRevisionAndTheBuild) {
  Result r = boxjail({"--version"});
  ASSERT_EQ(r.code(), 0);
  EXPECT_EQ(r.out.rfind("boxjail " BOXJAIL_TEST_VERSION " (", 0), 0u) << r.out;
  const std::string rev = git_rev();
  if (!rev.empty()) {
    EXPECT_NE(r.out.find("(git " + rev), std::string::npos) << r.out;
  } else {
    // No git here (a chroot without it, a tarball): the form only.
    EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(^boxjail \S+ \((git [0-9a-f]{12}(-dirty)?|not built from git)\)\n)")))
        << r.out;
  }
#ifdef BOXJAIL_TEST_FAULT_INJECTION
  EXPECT_NE(r.out.find("fault injection: ON"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("WARNING: this is a test build with fault injection"), std::string::npos);
  EXPECT_NE(boxjail({"--features"}).out.find("WARNING: a fault-injection test build"),
            std::string::npos);
#else
  EXPECT_NE(r.out.find("fault injection: off"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("WARNING"), std::string::npos) << r.out;
#endif
#ifdef BOXJAIL_SANITIZED
  EXPECT_NE(r.out.find("sanitizers: address,undefined"), std::string::npos) << r.out;
#else
  EXPECT_NE(r.out.find("static-pie, sanitizers: none"), std::string::npos) << r.out;
#endif
  EXPECT_EQ(boxjail({"-V"}).out, r.out);
}

}  // namespace

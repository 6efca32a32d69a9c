// --user, --groups, --cap-drop, --cap-keep and --no-new-privs, end to end:
// the probe reports its ids and capability sets from /proc/self/status.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "guest.h"
#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;
using json = nlohmann::json;

int err(const json& j, const std::string& op) { return attempt_errno(j, op); }
Result box(std::vector<std::string> args) { return boxjail(std::move(args)); }

class Identity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
  }
};

TEST_F(Identity, UserGroupsAndNoWayBackInEveryMode) {
  for (const auto& mode : all_modes()) {
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--user", "nobody", "--", kProbe, "--setuid-root"});
    Result r = box(args);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    json j = parse_probe(r.out);
    EXPECT_EQ(j["ids"]["Uid"], "65534\t65534\t65534\t65534") << mode_label(mode);
    EXPECT_EQ(j["ids"]["Gid"], "65534\t65534\t65534\t65534") << mode_label(mode);
    EXPECT_EQ(j["ids"]["Groups"], "65534") << mode_label(mode);  // nobody's from the database
    EXPECT_EQ(j["ids"]["CapEff"], "0000000000000000");
    EXPECT_EQ(j["ids"]["CapPrm"], "0000000000000000");
    EXPECT_EQ(err(j, "setuid-root"), EPERM);
  }
  // Numbers, an explicit group, and --groups.
  Result r = box({"--user", "65534:100", "--groups", "65534,users", "--", kProbe});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  EXPECT_EQ(j["ids"]["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(j["ids"]["Gid"], "100\t100\t100\t100");
  EXPECT_EQ(j["ids"]["Groups"], "100 65534");
  r = box({"--user", "65534", "--", kProbe});
  EXPECT_EQ(parse_probe(r.out)["ids"]["Groups"], "");  // a number: no database groups
}

TEST_F(Identity, CapKeepLeavesNetAdminAmbientAndUsable) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_NET_ADMIN to keep)";
  Result r = box({"--user", "nobody", "--cap-keep", "net_admin", "--", kProbe, "--so-mark"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  const std::string net_admin = "0000000000001000";  // bit 12
  EXPECT_EQ(j["ids"]["CapAmb"], net_admin);
  EXPECT_EQ(j["ids"]["CapEff"], net_admin);
  EXPECT_EQ(j["ids"]["CapPrm"], net_admin);
  EXPECT_EQ(err(j, "so-mark"), 0);
  r = box({"--user", "nobody", "--", kProbe, "--so-mark"});  // without it: refused
  EXPECT_EQ(err(parse_probe(r.out), "so-mark"), EPERM);
}

TEST_F(Identity, CapDropAllForRootShrinksEverySet) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (capabilities to drop)";
  // A confined PROGRAM keeps uid 0 only when asked to.
  Result r = box({"--user", "root", "--cap-drop", "all", "--", kProbe, "--so-mark"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  EXPECT_EQ(j["ids"]["Uid"], "0\t0\t0\t0");
  for (const char* set : {"CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"})
    EXPECT_EQ(j["ids"][set], "0000000000000000") << set;
  EXPECT_EQ(err(j, "so-mark"), EPERM);
  // SO_MARK takes CAP_NET_ADMIN or CAP_NET_RAW.
  r = box({"--user", "root", "--cap-drop", "NET_ADMIN,cap_sys_ptrace,Net_Raw", "--", kProbe,
           "--so-mark"});
  ASSERT_EQ(r.code(), 0) << r.err;
  j = parse_probe(r.out);
  uint64_t bnd = std::stoull(j["ids"]["CapBnd"].get<std::string>(), nullptr, 16);
  EXPECT_EQ((bnd >> 12) & 1, 0u);
  EXPECT_EQ((bnd >> 19) & 1, 0u);
  EXPECT_EQ((bnd >> 21) & 1, 0u);  // CAP_SYS_ADMIN too: a confined PROGRAM keeps only --cap-keep's
  EXPECT_EQ(bnd, 0u);
  EXPECT_EQ(err(j, "so-mark"), EPERM);
}

TEST_F(Identity, WorksWithLimitsPidFileAndDieWithParent) {
  // A root-owned PID file directory: boxjail writes the file with its own
  // credentials, PROGRAM runs as nobody.
  TempDir d;
  const std::string pidfile = d.path + "/box.pid";
  Result r = box({"--user", "nobody", "--rlimit", "nofile=100", "--pidfile", pidfile, "--",
                  kProbe});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  EXPECT_EQ(j["rlimits"]["nofile"], (json{100, 100}));
  EXPECT_EQ(j["ids"]["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(access(pidfile.c_str(), F_OK), -1);  // removed at the end
  if (have_cap_sys_resource()) {
    rlimit cur{};
    getrlimit(RLIMIT_NOFILE, &cur);
    const std::string up = std::to_string(cur.rlim_max + 1);
    r = box({"--user", "nobody", "--rlimit", "nofile=" + up, "--", kProbe});
    ASSERT_EQ(r.code(), 0) << r.err;
    EXPECT_EQ(parse_probe(r.out)["rlimits"]["nofile"][1], cur.rlim_max + 1);
  }
  // The uid change clears PR_SET_PDEATHSIG; boxjail sets it again.
  for (const auto& mode : {std::vector<std::string>{}, std::vector<std::string>{"--no-fork"}}) {
    Spawn s{.argv = {"/bin/sh", "-c", "\"$@\"; :", "sh", kBoxjail, "--die-with-parent", "--user",
                     "nobody"}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {kProbe, "--wait"});
    Proc p(s);
    auto probe = parse_probe(p.read_line());
    pid_t target = probe["pid"].get<pid_t>();
    ASSERT_TRUE(alive(target));
    kill(p.pid(), SIGKILL);  // the starting shell
    EXPECT_TRUE(wait_gone(target)) << mode_label(mode);
    p.wait();
  }
}

TEST_F(Identity, NoNewPrivsFlag) {
  std::vector<std::string> flags = root_opt_in();
  flags.push_back("--no-new-privs");
  std::vector<std::string> args = flags;
  args.insert(args.end(), {"--", kProbe});
  Result r = box(args);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(parse_probe(r.out)["nnp"], 1);
  // The flag itself is the reason given first (--user root, as root, and
  // the box's Landlock domain and filter imply it too).
  args = flags;
  args.insert(args.end(), {"--dry-run", "--", kProbe});
  r = box(args);
  ASSERT_EQ(r.code(), 0) << r.err;
  json why = json::parse(r.out)["no_new_privs"]["why"];
  EXPECT_EQ(why.get<std::string>().rfind("--no-new-privs; ", 0), 0u) << why;
  r = box({"--", kProbe});
  EXPECT_EQ(parse_probe(r.out)["nnp"], 0);
}

TEST_F(Identity, DryRunListsIdsGroupsAndCapabilities) {
  Result r = box({"--dry-run", "--user", "nobody", "--cap-keep", "net_admin", "--no-new-privs",
                  "--", "/bin/true"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["identity"]["uid"], 65534);
  EXPECT_EQ(j["identity"]["user"], "nobody");
  EXPECT_EQ(j["identity"]["gid"], 65534);
  EXPECT_EQ(j["identity"]["groups"][0]["gid"], 65534);
  EXPECT_EQ(j["identity"]["capabilities"]["ambient"], (json{"cap_net_admin"}));
  EXPECT_EQ(j["identity"]["capabilities"]["effective"], (json{"cap_net_admin"}));
  // A confined box is a Landlock domain of its own with a filter of its own.
  EXPECT_EQ(j["no_new_privs"], (json{{"set", true},
                                     {"why", "--no-new-privs; implied by Landlock; implied by "
                                             "seccomp"}}));
}

TEST(IdentityErrors, RefusedBeforeAnythingStarts) {
  for (const auto& [flags, msg] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--user", "no-such-user-here"},
            "--user no-such-user-here: no user 'no-such-user-here' in /etc/passwd"},
           {{"--user", "nobody:no-such-group"},
            "--user nobody:no-such-group: no group 'no-such-group' in /etc/group"},
           {{"--user", "nobody:"}, "--user 'nobody:': expected USER or USER:GROUP"},
           {{"--groups", "users"}, "--groups needs --user (it sets PROGRAM's supplementary groups)"},
           {{"--cap-drop", "net_admin,flying"},
            "--cap-drop net_admin,flying: unknown capability 'flying' (a name such as NET_ADMIN "
            "or cap_net_admin, or all)"},
           {{"--cap-keep", "net_admin"},
            "--cap-keep needs --user (it keeps capabilities across the uid change)"},
       }) {
    std::vector<std::string> args = flags;
    args.insert(args.end(), {"--", kProbe});
    Result r = box(args);
    EXPECT_EQ(r.code(), 125) << msg;
    EXPECT_EQ(r.err, "boxjail: " + msg + "\n");
    EXPECT_EQ(r.out, "");
  }
  if (geteuid() == 0) {
    Result r = box({"--user", "nobody", "--cap-keep", "setuid", "--", kProbe});
    EXPECT_EQ(r.err, "boxjail: --cap-keep cap_setuid would let PROGRAM become root again\n");
  } else {
    Result r = box({"--user", "nobody", "--", kProbe});
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, "boxjail: --user nobody: changing uid and gid needs CAP_SETUID and "
                     "CAP_SETGID, which boxjail does not have\n");
  }
}

// The guest boot under a tight identity and filter: qemu as nobody, with
// calls it does not need denied, no capabilities, no new privileges.
TEST_F(Identity, QemuBootsAsNobodyUnderAFilterWithoutCapabilities) {
  if (std::string why = guest::unavailable(); !why.empty()) GTEST_SKIP() << why;
  Spawn s{.argv = {kBoxjail, "--user", "nobody", "--cap-drop", "all", "--no-new-privs",
                   "--seccomp-deny",
                   "@ptrace,@kexec,bpf,userfaultfd,perf_event_open,@keyring,@module",
                   "--"},
          .timeout_ms = guest::kBootTimeoutMs};
  for (auto& a : guest::argv()) s.argv.push_back(a);
  Result r = run(s);
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find(guest::kMarker), std::string::npos) << r.out;
}

}  // namespace

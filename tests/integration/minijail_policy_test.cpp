// A minijail-syntax policy file (tests/seccomp/probe.policy, written the
// way crosvm's .policy files are) given to --seccomp-profile, end to end:
// the probe runs under it, a condition fails a call with the chosen errno
// while the same call with other arguments works, and a line boxjail
// cannot read is refused with its place.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <string>

#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;
using json = nlohmann::json;

const std::string kPolicy = std::string(TESTS_SOURCE_DIR) + "/seccomp/probe.policy";

std::string file_refused(const std::string& path) {
  return privilege::policy_files_refused_in(path.substr(0, path.rfind('/')));
}

std::vector<std::string> under(const std::vector<std::string>& mode, const std::string& policy,
                               std::vector<std::string> probe) {
  std::vector<std::string> v = mode;
  for (const auto& a : root_opt_in()) v.push_back(a);
  v.insert(v.end(), {"--seccomp-profile", policy, "--", kProbe});
  v.insert(v.end(), probe.begin(), probe.end());
  return v;
}

// What tests/seccomp/probe.policy does to the probe's attempts: socket:
// arg0 == AF_UNIX; return 97 fails an AF_INET socket with EAFNOSUPPORT,
// while an AF_UNIX one is made (its connect to a name nobody listens on
// gets the kernel's ECONNREFUSED); uname: return ENOSYS; the ioctl
// conditions let the probe's own terminal queries through.
void expect_policy_held(const json& j, const std::string& mode) {
  EXPECT_EQ(attempt_errno(j, "connect", "1"), EAFNOSUPPORT) << mode;
  EXPECT_EQ(attempt_errno(j, "unix-connect", "bj-mj-none"), ECONNREFUSED) << mode;
  EXPECT_EQ(attempt_errno(j, "uname"), ENOSYS) << mode;
  EXPECT_GT(j["fds"].size(), 0u) << mode;
}

TEST(MinijailPolicy, ConditionsFailOnlyTheCallsTheyName) {
  if (std::string why = file_refused(kPolicy); !why.empty()) GTEST_SKIP() << why;
  for (const auto& mode : all_modes()) {
    Result r = boxjail(under(mode, kPolicy, {"--connect", "1", "--unix-connect", "bj-mj-none",
                                             "--uname"}));
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    expect_policy_held(parse_probe(r.out), mode_label(mode));
    if (mode.empty()) {  // named denials: the supervisor names the line
      EXPECT_NE(r.err.find("called socket (41) with 0x2"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("denied by " + kPolicy + ":"), std::string::npos) << r.err;
    }
  }
}

// The same policy as profile keys: the calls it allows whole in
// seccomp-allow, its lines with conditions or returns in seccomp-rule.
TEST(MinijailPolicy, AProfileCarriesTheSameConditions) {
  TempDir d;
  const std::string profile = d.path + "/probe.toml";
  if (std::string why = file_refused(profile); !why.empty()) GTEST_SKIP() << why;
  std::ifstream in(kPolicy);
  std::string line, allow, rules;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (line.substr(colon) == ": 1")
      allow += (allow.empty() ? "\"" : ", \"") + line.substr(0, colon) + "\"";
    else
      rules += "  \"" + line + "\",\n";
  }
  ASSERT_NE(rules.find("arg1 == TCGETS"), std::string::npos) << rules;
  std::ofstream(profile) << "seccomp-allow = [" << allow << "]\nseccomp-rule = [\n" << rules << "]\n";
  for (const auto& mode : all_modes()) {
    std::vector<std::string> v = mode;
    for (const auto& a : root_opt_in()) v.push_back(a);
    v.insert(v.end(), {"--profile", profile, "--", kProbe, "--connect", "1", "--unix-connect",
                       "bj-mj-none", "--uname"});
    Result r = boxjail(v);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    expect_policy_held(parse_probe(r.out), mode_label(mode));
  }
  // A condition alone makes an allowlist, and says how to finish it.
  std::ofstream(profile) << "seccomp-rule = \"socket: arg0 == AF_UNIX\"\n";
  std::vector<std::string> v = root_opt_in();
  v.insert(v.end(), {"--profile", profile, "--", kProbe});
  Result r = boxjail(v);
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: profile " + profile +
                       ": key 'seccomp-rule': --seccomp-rule: the allowlist lacks execve, which boxjail needs to "
                   "exec PROGRAM (a rule that allows a call on a condition makes an allowlist: "
                   "add --seccomp-allow execve,... or 'execve: 1')\n");
}

TEST(MinijailPolicy, DryRunShowsTheConditions) {
  if (std::string why = file_refused(kPolicy); !why.empty()) GTEST_SKIP() << why;
  std::vector<std::string> args = {"--dry-run"};
  for (const auto& a : root_opt_in()) args.push_back(a);
  args.insert(args.end(), {"--seccomp-profile", kPolicy, "--", kProbe});
  Result r = boxjail(args);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find("\"when\":\"(int)args[1] == 21505\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"when\":\"args[0] != 1\",\"action\":\"errno:EAFNOSUPPORT\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"when\":\"(args[2] & 0x4) == 0\""), std::string::npos) << r.out;
}

TEST(MinijailPolicy, AnUnreadableLineIsRefusedWithItsPlace) {
  TempDir d;
  const std::string bad = d.path + "/bad.policy";
  std::ofstream(bad) << "# crosvm-like\nexecve: 1\n@include /usr/share/policy/common.policy\n";
  if (std::string why = file_refused(bad); !why.empty()) GTEST_SKIP() << why;
  Result r = boxjail(under({}, bad, {}));
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: " + bad +
                       ":3: @include is not supported (paste the lines it would bring in, or "
                       "give them as another --seccomp-profile line list)\n");
  EXPECT_EQ(r.out, "");
}

}  // namespace

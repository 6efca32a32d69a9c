// environ.h: PROGRAM's environment from the flags and boxjail's own, with
// the exact refusals; the account lookup is a fake.
#include "boxjail/environ.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "boxjail/cli.h"
#include "boxjail/plan.h"
#include "fake_system.h"

namespace boxjail {
namespace {

using environment::Account;
using environment::EnvPlan;

bool fake_lookup(const std::string& user, Account* out) {
  if (user == "nobody" || user == "65534") {
    *out = {"nobody", "/nonexistent", "/usr/sbin/nologin"};
    return true;
  }
  if (user == "bare") {  // empty home and shell fields
    *out = {"bare", "", ""};
    return true;
  }
  return false;
}

// boxjail's environment, as main() gets it.
struct Env {
  explicit Env(std::vector<std::string> entries) : strings(std::move(entries)) {
    for (auto& s : strings) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  char** data() { return ptrs.data(); }
  std::vector<std::string> strings;
  std::vector<char*> ptrs;
};

Env boxjails() {
  return Env({"PATH=/usr/bin:/bin", "HOME=/root", "SECRET_TOKEN=hunter2", "LISTEN_PID=4242",
              "LISTEN_FDS=1", "LISTEN_FDNAMES=s0", "TERM=xterm"});
}

std::vector<std::string> strings_of(const EnvPlan& p) {
  std::vector<std::string> v;
  EXPECT_FALSE(p.envp.empty());
  EXPECT_EQ(p.envp.back(), nullptr);
  for (char* e : p.envp)
    if (e) v.emplace_back(e);
  return v;
}

std::string refusal(const Options& o) {
  Env env = boxjails();
  EnvPlan p;
  std::string err;
  EXPECT_FALSE(environment::check(o, env.data(), fake_lookup, &p, &err));
  return err;
}

std::vector<std::string> result(const Options& o, EnvPlan* p) {
  static Env env = boxjails();
  std::string err;
  EXPECT_TRUE(environment::check(o, env.data(), fake_lookup, p, &err)) << err;
  return strings_of(*p);
}

TEST(Environ, NoFlagsPassTheEnvironmentAsItIs) {
  EnvPlan p;
  Env env = boxjails();
  std::string err;
  ASSERT_TRUE(environment::check(Options{}, env.data(), fake_lookup, &p, &err));
  EXPECT_FALSE(p.active);
  EXPECT_EQ(strings_of(p), env.strings);
  EXPECT_EQ(p.envp[2], env.ptrs[2]);  // boxjail's own strings, not copies
  EnvPlan none;
  ASSERT_TRUE(environment::check(Options{}, nullptr, fake_lookup, &none, &err));
  EXPECT_EQ(none.envp, std::vector<char*>{nullptr});
}

TEST(Environ, ClearKeepSetUnset) {
  {
    EnvPlan p;
    Options o;
    o.clear_env = true;
    EXPECT_EQ(result(o, &p), std::vector<std::string>{});
    EXPECT_TRUE(p.active);
    EXPECT_TRUE(p.clear);
    EXPECT_EQ(p.removed.size(), 7u);
    EXPECT_TRUE(p.inherited.empty());
  }
  {
    EnvPlan p;
    Options o;
    o.clear_env = true;
    o.keep_env = {"LISTEN_FDS,LISTEN_PID", "LISTEN_FDNAMES", "PATH,NOT_THERE"};
    o.set_env = {"B=2", "A=x=y", "EMPTY="};
    EXPECT_EQ(result(o, &p),
              (std::vector<std::string>{"PATH=/usr/bin:/bin", "LISTEN_PID=4242", "LISTEN_FDS=1",
                                        "LISTEN_FDNAMES=s0", "B=2", "A=x=y", "EMPTY="}));
    EXPECT_EQ(p.keep, (std::vector<std::string>{"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                                "PATH", "NOT_THERE"}));
    EXPECT_EQ(p.removed, (std::vector<std::string>{"HOME", "SECRET_TOKEN", "TERM"}));
  }
  {
    // Without --clear-env: a --setenv replaces an inherited value, and the
    // order of the flags changes nothing.
    Options o1, o2;
    o1.set_env = {"HOME=/tmp", "X=1"};
    o1.unset_env = {"SECRET_TOKEN", "TERM", "SECRET_TOKEN"};
    o2.unset_env = {"TERM", "SECRET_TOKEN"};
    o2.set_env = {"HOME=/tmp", "X=1"};
    EnvPlan p1, p2;
    const std::vector<std::string> want = {"PATH=/usr/bin:/bin", "LISTEN_PID=4242",
                                           "LISTEN_FDS=1", "LISTEN_FDNAMES=s0", "HOME=/tmp",
                                           "X=1"};
    EXPECT_EQ(result(o1, &p1), want);
    EXPECT_EQ(result(o2, &p2), want);
    EXPECT_EQ(p1.unset, (std::vector<std::string>{"SECRET_TOKEN", "TERM"}));
  }
}

TEST(Environ, UserEnvFromThePasswdEntry) {
  {
    EnvPlan p;
    Options o;
    o.user = "nobody:nogroup";
    o.has_user = true;
    o.user_env = true;
    auto got = result(o, &p);
    EXPECT_EQ(got, (std::vector<std::string>{"PATH=/usr/bin:/bin", "SECRET_TOKEN=hunter2",
                                             "LISTEN_PID=4242", "LISTEN_FDS=1",
                                             "LISTEN_FDNAMES=s0", "TERM=xterm",
                                             "HOME=/nonexistent", "USER=nobody",
                                             "LOGNAME=nobody", "SHELL=/usr/sbin/nologin"}));
    EXPECT_EQ(p.user_env, "nobody");
  }
  {
    // A number, and the per-name flags win over --user-env.
    EnvPlan p;
    Options o;
    o.user = "65534";
    o.has_user = true;
    o.user_env = true;
    o.clear_env = true;
    o.set_env = {"SHELL=/bin/sh"};
    o.keep_env = {"HOME"};
    o.unset_env = {"LOGNAME"};
    EXPECT_EQ(result(o, &p), (std::vector<std::string>{"HOME=/root", "SHELL=/bin/sh",
                                                       "USER=nobody"}));
  }
  {
    EnvPlan p;
    Options o;
    o.user = "bare";
    o.has_user = true;
    o.user_env = true;
    o.clear_env = true;
    EXPECT_EQ(result(o, &p), (std::vector<std::string>{"HOME=/", "USER=bare", "LOGNAME=bare",
                                                       "SHELL=/bin/sh"}));
  }
  {
    // Without --user-env, --user changes nothing here.
    EnvPlan p;
    Options o;
    o.user = "nobody";
    o.has_user = true;
    o.set_env = {"X=1"};
    auto got = result(o, &p);
    EXPECT_EQ(got[1], "HOME=/root");
  }
}

TEST(Environ, Refusals) {
  Options o;
  o.set_env = {"NOVALUE"};
  EXPECT_EQ(refusal(o), "--setenv NOVALUE: expected NAME=VALUE (an empty VALUE is NAME=)");
  o.set_env = {"1X=y"};
  EXPECT_EQ(refusal(o), "--setenv 1X=y: '1X' is not a variable name (letters, digits and _, not "
                        "starting with a digit)");
  o.set_env = {"=y"};
  EXPECT_EQ(refusal(o), "--setenv =y: empty variable name");
  o.set_env = {"A-B=1"};
  EXPECT_EQ(refusal(o), "--setenv A-B=1: 'A-B' is not a variable name (letters, digits and _, "
                        "not starting with a digit)");
  o.set_env = {"A=1", "A=2"};
  EXPECT_EQ(refusal(o), "--setenv A=2: A is already set by --setenv A=1");
  o = {};
  o.unset_env = {"A=1"};
  EXPECT_EQ(refusal(o), "--unsetenv A=1: takes a NAME, not NAME=VALUE (--setenv sets one)");
  o.unset_env = {"A B"};
  EXPECT_EQ(refusal(o), "--unsetenv A B: 'A B' is not a variable name (letters, digits and _, "
                        "not starting with a digit)");
  o = {};
  o.clear_env = true;
  o.keep_env = {"A,,B"};
  EXPECT_EQ(refusal(o), "--keep-env A,,B: empty variable name");
  o.keep_env = {"A,9"};
  EXPECT_EQ(refusal(o), "--keep-env A,9: '9' is not a variable name (letters, digits and _, not "
                        "starting with a digit)");
  o = {};
  o.keep_env = {"PATH"};
  EXPECT_EQ(refusal(o), "--keep-env needs --clear-env (without it every variable is kept; "
                        "--unsetenv NAME removes one)");
  // The same NAME set and unset, in either order.
  for (bool flip : {false, true}) {
    o = {};
    if (flip) {
      o.unset_env = {"A"};
      o.set_env = {"A=1"};
    } else {
      o.set_env = {"A=1"};
      o.unset_env = {"A"};
    }
    EXPECT_EQ(refusal(o), "--setenv A=1 cannot be combined with --unsetenv A");
  }
  o = {};
  o.clear_env = true;
  o.keep_env = {"B,A"};
  o.set_env = {"A=1"};
  EXPECT_EQ(refusal(o), "--setenv A=1 cannot be combined with --keep-env B,A (one sets A, the "
                        "other keeps boxjail's)");
  o.set_env = {};
  o.unset_env = {"A"};
  EXPECT_EQ(refusal(o), "--keep-env B,A cannot be combined with --unsetenv A");
  o = {};
  o.user_env = true;
  EXPECT_EQ(refusal(o), "--user-env needs --user (it sets HOME, USER, LOGNAME and SHELL from "
                        "that user's passwd entry)");
  o.user = "12345:0";
  o.has_user = true;
  EXPECT_EQ(refusal(o), "--user-env: --user 12345:0 has no entry in /etc/passwd (set HOME and "
                        "the others with --setenv)");
}

TEST(Environ, FlagsParseIntoOptions) {
  const char* argv[] = {"boxjail",    "--setenv",  "A=1",   "--clear-env", "--unsetenv",
                        "B",          "--keep-env", "C,D",  "--setenv",    "E=",
                        "--keep-env", "F",          "--user-env", "--",    "env"};
  Options o;
  CliResult r = parse_cli(static_cast<int>(std::size(argv)), argv, &o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(o.clear_env);
  EXPECT_TRUE(o.user_env);
  EXPECT_EQ(o.set_env, (std::vector<std::string>{"A=1", "E="}));
  EXPECT_EQ(o.unset_env, (std::vector<std::string>{"B"}));
  EXPECT_EQ(o.keep_env, (std::vector<std::string>{"C,D", "F"}));
  EXPECT_EQ(o.command, (std::vector<std::string>{"env"}));
  // A value is one word: PROGRAM is not swallowed.
  const char* two[] = {"boxjail", "--unsetenv", "X", "env", "--unsetenv", "Y"};
  Options p;
  ASSERT_EQ(parse_cli(6, two, &p).exit_code, 0);
  EXPECT_EQ(p.unset_env, (std::vector<std::string>{"X"}));
  EXPECT_EQ(p.command, (std::vector<std::string>{"env", "--unsetenv", "Y"}));
}

TEST(Environ, ValidNames) {
  for (const char* ok : {"A", "_", "a1", "LISTEN_FDS", "lower_case", "_9"})
    EXPECT_TRUE(environment::valid_name(ok)) << ok;
  for (const char* bad : {"", "1", "9A", "A=B", "A-B", "A.B", "A B", "BASH_FUNC_f%%"})
    EXPECT_FALSE(environment::valid_name(bad)) << bad;
}

TEST(Environ, RealPasswdLookup) {
  Account a;
  ASSERT_TRUE(environment::passwd_account("root", &a));
  EXPECT_EQ(a.name, "root");
  EXPECT_FALSE(a.home.empty());
  Account b;
  ASSERT_TRUE(environment::passwd_account("0", &b));
  EXPECT_EQ(b.name, "root");
  EXPECT_FALSE(environment::passwd_account("no-such-user-boxjail", &b));
  EXPECT_FALSE(environment::passwd_account("4294967294", &b));
}

TEST(Environ, JsonNeverShowsInheritedValues) {
  EnvPlan p;
  Options o;
  o.clear_env = true;
  o.keep_env = {"PATH"};
  o.set_env = {"GREETING=say \"hi\""};
  o.unset_env = {"TERM"};
  result(o, &p);
  const std::string j = environment::to_json(p);
  EXPECT_EQ(j, "{\"clear\":true,\"set\":{\"GREETING\":\"say \\\"hi\\\"\"},\"unset\":[\"TERM\"],"
               "\"keep\":[\"PATH\"],\"user_env\":null,\"inherited\":[\"PATH\"],"
               "\"removed\":[\"HOME\",\"SECRET_TOKEN\",\"LISTEN_PID\",\"LISTEN_FDS\","
               "\"LISTEN_FDNAMES\",\"TERM\"]}");
  EXPECT_EQ(j.find("hunter2"), std::string::npos);
  EXPECT_EQ(j.find("/usr/bin"), std::string::npos);
}

// Through build_plan: the plan's env is PROGRAM's, socket activation reads
// it, and the dry run shows the names.
TEST(Environ, PlanSocketActivationFollowsProgramsEnvironment) {
  testing::FakeSystem sys;  // pid 4242
  sys.open_fds = {0, 1, 2, 3};
  Env env = boxjails();
  auto build = [&](Options o, LaunchPlan* plan) {
    o.command = {"/bin/true"};
    PlanError err;
    bool ok = build_plan(o, sys, "/usr/bin:/bin", env.data(), plan, &err);
    EXPECT_TRUE(ok) << err.msg;
  };
  {
    LaunchPlan plan;
    Options o;
    o.clear_env = true;
    o.keep_env = {"LISTEN_FDS,LISTEN_PID,LISTEN_FDNAMES"};
    build(o, &plan);
    EXPECT_TRUE(plan.socket_activation);
    EXPECT_EQ(plan.listen_fds, 1);
    ASSERT_EQ(plan.listen_pid_index, 0);
    EXPECT_STREQ(plan.env[0], "LISTEN_PID=4242");
    EXPECT_EQ(plan.keep, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_TRUE(plan.warnings.empty());
    const std::string j = plan_to_json(plan);
    EXPECT_NE(j.find("\"environment\":{\"clear\":true,"), std::string::npos) << j;
    EXPECT_EQ(j.find("hunter2"), std::string::npos);
  }
  {
    LaunchPlan plan;
    Options o;
    o.clear_env = true;
    build(o, &plan);
    EXPECT_FALSE(plan.socket_activation);
    EXPECT_EQ(plan.keep, (std::vector<int>{0, 1, 2}));
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_EQ(plan.warnings[0], "socket activation: PROGRAM does not get LISTEN_PID, so "
                                "descriptors 3 and up are not handed on; --keep-env "
                                "LISTEN_FDS,LISTEN_PID,LISTEN_FDNAMES keeps them");
  }
  {
    LaunchPlan plan;
    build(Options{}, &plan);
    EXPECT_TRUE(plan.socket_activation);
    EXPECT_EQ(plan.listen_pid_index, 3);
    EXPECT_EQ(plan_to_json(plan).find("\"environment\""), std::string::npos);
  }
}

}  // namespace
}  // namespace boxjail

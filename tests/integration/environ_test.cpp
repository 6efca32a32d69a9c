// PROGRAM's environment end to end: --clear-env, --setenv, --unsetenv,
// --keep-env and --user-env in every mode, as env(1) and tests/probe see
// it; socket activation through --clear-env; the refusals; --dry-run and a
// config file.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;
using json = nlohmann::json;
using Vars = std::map<std::string, std::string>;

const std::string kEnv = "/usr/bin/env";

// env(1)'s output, one NAME=VALUE a line.
Vars vars_of(const std::string& out) {
  Vars v;
  size_t start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    if (nl == std::string::npos) nl = out.size();
    std::string line = out.substr(start, nl - start);
    start = nl + 1;
    size_t eq = line.find('=');
    if (eq != std::string::npos) v[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return v;
}

// boxjail MODE FLAGS... -- env, with SECRET_TOKEN and HOME in its environment.
Result run_env(const std::vector<std::string>& mode, const std::vector<std::string>& flags,
               std::vector<std::string> extra_env = {}) {
  Spawn s{.argv = {kBoxjail}};
  s.argv.insert(s.argv.end(), mode.begin(), mode.end());
  s.argv.insert(s.argv.end(), flags.begin(), flags.end());
  s.argv.insert(s.argv.end(), {"--", kEnv});
  s.env = {"SECRET_TOKEN=hunter2", "HOME=/home/caller", "KEEP_ME=kept"};
  s.env.insert(s.env.end(), extra_env.begin(), extra_env.end());
  return run(s);
}

// --user nobody where this process can become it; else nothing (an
// ordinary user cannot change uid, and the rest of each test still holds).
std::vector<std::string> user_nobody() {
  if (privilege::can_become(65534).empty()) return {"--user", "nobody"};
  return {};
}

TEST(Environ, EachCombinationInEveryMode) {
  struct Case {
    std::vector<std::string> flags;
    Vars want;                       // exactly these, when `exact`
    std::vector<std::string> absent;
    bool exact;
  };
  const Case cases[] = {
      {{"--clear-env"}, {}, {}, true},
      {{"--clear-env", "--keep-env", "KEEP_ME,PATH"},
       {{"KEEP_ME", "kept"}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}}, {}, true},
      {{"--clear-env", "--setenv", "A=1", "--setenv", "B=x=y", "--setenv", "EMPTY="},
       {{"A", "1"}, {"B", "x=y"}, {"EMPTY", ""}}, {}, true},
      {{"--setenv", "A=1", "--clear-env", "--keep-env", "HOME", "--keep-env", "KEEP_ME"},
       {{"A", "1"}, {"HOME", "/home/caller"}, {"KEEP_ME", "kept"}}, {}, true},
      {{"--unsetenv", "SECRET_TOKEN", "--setenv", "HOME=/elsewhere"},
       {{"HOME", "/elsewhere"}, {"KEEP_ME", "kept"}}, {"SECRET_TOKEN"}, false},
      {{"--setenv", "KEEP_ME=changed"}, {{"KEEP_ME", "changed"}, {"SECRET_TOKEN", "hunter2"}},
       {}, false},
  };
  for (const auto& mode : all_modes()) {
    for (const auto& c : cases) {
      std::string label = mode_label(mode);
      for (const auto& f : c.flags) label += " " + f;
      Result r = run_env(mode, c.flags);
      ASSERT_EQ(r.code(), 0) << label << ": " << r.err;
      const Vars got = vars_of(r.out);
      if (c.exact) {
        EXPECT_EQ(got, c.want) << label << "\n" << r.out;
      } else {
        for (const auto& [k, v] : c.want) EXPECT_EQ(got.count(k) ? got.at(k) : "<unset>", v) << label << " " << k;
      }
      for (const auto& k : c.absent) EXPECT_EQ(got.count(k), 0u) << label << " " << k;
    }
  }
}

TEST(Environ, TheIssuesAttack) {
  // SECRET_TOKEN=hunter2 boxjail --user nobody --cap-drop all --clear-env -- env
  std::vector<std::string> flags = user_nobody();
  flags.insert(flags.end(), {"--cap-drop", "all"});
  Result control = run_env({}, flags);
  ASSERT_EQ(control.code(), 0) << control.err;
  EXPECT_EQ(vars_of(control.out)["SECRET_TOKEN"], "hunter2");  // without --clear-env
  flags.push_back("--clear-env");
  for (const auto& mode : all_modes()) {
    Result r = run_env(mode, flags);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    EXPECT_EQ(r.out.find("SECRET_TOKEN"), std::string::npos) << mode_label(mode) << r.out;
    EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << mode_label(mode);
    EXPECT_EQ(r.out, "") << mode_label(mode);
  }
}

TEST(Environ, UserKeepsHomeUnlessUserEnv) {
  // --user needs CAP_SETUID and CAP_SETGID, even to one's own uid: nobody,
  // or root where only uid 0 is mapped (an ordinary user's `unshare -Urm`).
  std::string account = "nobody";
  if (std::string why = privilege::can_become(65534); !why.empty()) {
    if (!privilege::can_become(0).empty()) GTEST_SKIP() << why;
    account = "root";
  }
  const std::vector<std::string> user = {"--user", account};
  const passwd* pw = getpwnam(account.c_str());
  ASSERT_NE(pw, nullptr);
  const std::string name = pw->pw_name, home = pw->pw_dir,
                    shell = *pw->pw_shell ? pw->pw_shell : "/bin/sh";
  for (const auto& mode : all_modes()) {
    Result r = run_env(mode, user, {"USER=caller", "LOGNAME=caller"});
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    Vars got = vars_of(r.out);
    EXPECT_EQ(got["HOME"], "/home/caller") << mode_label(mode);
    EXPECT_EQ(got["USER"], "caller");
    EXPECT_EQ(got["LOGNAME"], "caller");

    std::vector<std::string> flags = user;
    flags.push_back("--user-env");
    r = run_env(mode, flags, {"USER=caller", "LOGNAME=caller"});
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    got = vars_of(r.out);
    EXPECT_EQ(got["HOME"], home) << mode_label(mode);
    EXPECT_EQ(got["USER"], name);
    EXPECT_EQ(got["LOGNAME"], name);
    EXPECT_EQ(got["SHELL"], shell);
    EXPECT_EQ(got["SECRET_TOKEN"], "hunter2");  // --user-env clears nothing

    // A per-name flag wins over --user-env, and --clear-env leaves only them.
    flags.insert(flags.end(), {"--clear-env", "--setenv", "HOME=/tmp"});
    r = run_env(mode, flags);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    EXPECT_EQ(vars_of(r.out),
              (Vars{{"HOME", "/tmp"}, {"USER", name}, {"LOGNAME", name}, {"SHELL", shell}}))
        << mode_label(mode);
  }
}

struct Pipe {
  Pipe() { EXPECT_EQ(pipe(fd), 0); }
  ~Pipe() {
    close(fd[0]);
    close(fd[1]);
  }
  int fd[2];
};

TEST(Environ, SocketActivationThroughClearEnv) {
  for (const auto& mode : all_modes()) {
    Pipe a;
    Spawn s{.argv = {kBoxjail}};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(),
                  {"--clear-env", "--keep-env", "LISTEN_FDS,LISTEN_PID,LISTEN_FDNAMES", kProbe});
    s.fds = {{3, a.fd[0]}};
    s.listen_fds = 1;
    Result r = run(s);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << r.err;
    json j = parse_probe(r.out);
    EXPECT_EQ(j["env"]["LISTEN_PID"], std::to_string(j["pid"].get<int>())) << mode_label(mode);
    EXPECT_EQ(j["env"]["LISTEN_FDS"], "1");
    EXPECT_EQ(j["env"]["LISTEN_FDNAMES"], "s0");
    EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2, 3})) << mode_label(mode);
    EXPECT_EQ(fd_entry(j, 3)["ino"], inode_of(a.fd[0]));
    EXPECT_EQ(r.err, "");

    // Not kept: PROGRAM is not socket-activated, so the descriptors go too,
    // and boxjail says so.
    s.argv = {kBoxjail};
    s.argv.insert(s.argv.end(), mode.begin(), mode.end());
    s.argv.insert(s.argv.end(), {"--clear-env", kProbe});
    r = run(s);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << r.err;
    j = parse_probe(r.out);
    EXPECT_EQ(j["env"], json::object()) << mode_label(mode);
    EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2})) << mode_label(mode);
    EXPECT_EQ(without_sanitizer_warnings(r.err),
              "boxjail: socket activation: PROGRAM does not get LISTEN_PID, so descriptors 3 "
              "and up are not handed on; --keep-env LISTEN_FDS,LISTEN_PID,LISTEN_FDNAMES keeps "
              "them\n")
        << mode_label(mode);
  }
}

TEST(Environ, ConflictsAreRefusedUpFront) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--setenv", "A=1", "--unsetenv", "A"}, "--setenv A=1 cannot be combined with --unsetenv A"},
      {{"--unsetenv", "A", "--setenv", "A=1"}, "--setenv A=1 cannot be combined with --unsetenv A"},
      {{"--setenv", "A=1", "--setenv", "A=2"}, "--setenv A=2: A is already set by --setenv A=1"},
      {{"--setenv", "A"}, "--setenv A: expected NAME=VALUE (an empty VALUE is NAME=)"},
      {{"--setenv", "1A=x"},
       "--setenv 1A=x: '1A' is not a variable name (letters, digits and _, not starting with a "
       "digit)"},
      {{"--unsetenv", "A=1"}, "--unsetenv A=1: takes a NAME, not NAME=VALUE (--setenv sets one)"},
      {{"--keep-env", "PATH"},
       "--keep-env needs --clear-env (without it every variable is kept; --unsetenv NAME removes "
       "one)"},
      {{"--clear-env", "--keep-env", "PATH,A", "--setenv", "A=1"},
       "--setenv A=1 cannot be combined with --keep-env PATH,A (one sets A, the other keeps "
       "boxjail's)"},
      {{"--clear-env", "--keep-env", "A", "--unsetenv", "A"},
       "--keep-env A cannot be combined with --unsetenv A"},
      {{"--user-env"},
       "--user-env needs --user (it sets HOME, USER, LOGNAME and SHELL from that user's passwd "
       "entry)"},
  };
  for (const auto& [flags, msg] : cases) {
    for (const auto& mode : all_modes()) {
      std::vector<std::string> args = mode;
      args.insert(args.end(), flags.begin(), flags.end());
      args.insert(args.end(), {"--", kEnv});
      Result r = boxjail(args);
      EXPECT_EQ(r.code(), 125) << msg;
      EXPECT_EQ(r.err, "boxjail: " + msg + "\n");
      EXPECT_EQ(r.out, "");  // PROGRAM never ran
    }
  }
}

TEST(Environ, DryRunShowsNamesNotInheritedValues) {
  Spawn s{.argv = {kBoxjail, "--dry-run", "--clear-env", "--keep-env", "KEEP_ME",
                   "--setenv", "GREETING=hello", "--unsetenv", "OTHER", "--", kEnv}};
  s.env = {"SECRET_TOKEN=hunter2", "KEEP_ME=also-secret"};
  Result r = run(s);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos);
  EXPECT_EQ(r.out.find("also-secret"), std::string::npos);
  json e = json::parse(r.out)["environment"];
  EXPECT_EQ(e["clear"], true);
  EXPECT_EQ(e["set"], (json{{"GREETING", "hello"}}));
  EXPECT_EQ(e["keep"], (json{"KEEP_ME"}));
  EXPECT_EQ(e["unset"], (json{"OTHER"}));
  EXPECT_EQ(e["user_env"], nullptr);
  EXPECT_EQ(e["inherited"], (json{"KEEP_ME"}));
  const auto removed = e["removed"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(removed.begin(), removed.end(), "SECRET_TOKEN"), removed.end());
  EXPECT_NE(std::find(removed.begin(), removed.end(), "PATH"), removed.end());
  // Without an environment flag there is nothing to show.
  r = boxjail({"--dry-run", "--", kEnv});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_FALSE(json::parse(r.out).contains("environment"));
}

TEST(Environ, ConfigFileKeys) {
  TempDir dir;
  if (std::string why = privilege::policy_files_refused_in(dir.path); !why.empty())
    GTEST_SKIP() << why;
  const std::string file = dir.path + "/env.toml";
  std::ofstream(file) << "clear-env = true\n"
                         "keep-env = [\"KEEP_ME\"]\n"
                         "setenv = [\"A=1\", \"B=two words\"]\n"
                         "unsetenv = \"OTHER\"\n"
                         "command = [\"" + kEnv + "\"]\n";
  Spawn s{.argv = {kBoxjail, "--config", file}};
  s.env = {"SECRET_TOKEN=hunter2", "KEEP_ME=kept"};
  Result r = run(s);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(vars_of(r.out), (Vars{{"KEEP_ME", "kept"}, {"A", "1"}, {"B", "two words"}}));
  // A refusal names the file and the key.
  std::ofstream(file) << "keep-env = \"PATH\"\ncommand = [\"" + kEnv + "\"]\n";
  r = boxjail({"--config", file});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: " + file + ": key 'keep-env': --keep-env needs --clear-env (without "
                   "it every variable is kept; --unsetenv NAME removes one)\n");
}

}  // namespace

// --learn and named denials, end to end: what the learned file says, what a
// replay lets PROGRAM do (the errno it saw), which call a denial names
// (beside what strace saw the call return), and what a PROGRAM with odd
// habits does to the supervisor (nothing).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>

#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;

const std::string kLearnee = LEARNEE_BIN;

// As root the learning and replaying runs are nobody's (and the files
// they use readable by nobody); as anyone else, the caller's.
std::vector<std::string> as_user() {
  if (!root_opt_in().empty()) return {"--user", "nobody"};  // the host's root
  return {};
}

class Learn : public ::testing::Test {
 protected:
  void SetUp() override {
    chmod(d_.path.c_str(), 0755);
    file_ = d_.path + "/learned.toml";
    // The learned file is replayed with --config, a policy file.
    if (std::string why = privilege::policy_files_refused_in(d_.path); replays_ && !why.empty())
      GTEST_SKIP() << why;
  }
  bool replays_ = true;
  // boxjail FLAGS... --learn FILE -- ARGV...
  Result learn(std::vector<std::string> argv, std::vector<std::string> flags = {}) {
    Spawn s{.argv = {kBoxjail}};
    for (auto& f : as_user()) s.argv.push_back(f);
    for (auto& f : flags) s.argv.push_back(f);
    s.argv.insert(s.argv.end(), {"--learn", file_, "--"});
    s.argv.insert(s.argv.end(), argv.begin(), argv.end());
    return run(s);
  }
  Result replay(std::vector<std::string> argv, std::vector<std::string> flags = {},
                std::string* status = nullptr) {
    Spawn s{.argv = {kBoxjail, "--config", file_}};
    for (auto& f : flags) s.argv.push_back(f);
    s.argv.push_back("--");
    s.argv.insert(s.argv.end(), argv.begin(), argv.end());
    if (!status) return run(s);
    s.argv.insert(s.argv.begin() + 1, {"--status-fd", "9"});
    return run_with_pipe(s, 9, status);
  }
  std::string learned() const { return slurp(file_); }
  // FILE without the line that holds exactly `entry` ("  \"getdents64\",").
  void remove_line(const std::string& entry) {
    std::string text = learned(), out;
    size_t pos = 0;
    bool removed = false;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (line == entry) {
        removed = true;
        continue;
      }
      out += line + "\n";
    }
    ASSERT_TRUE(removed) << entry << " not in\n" << text;
    std::ofstream(file_, std::ios::trunc) << out;
  }
  std::string make_file(const std::string& name) {
    std::string p = d_.path + "/" + name;
    std::ofstream(p) << "data\n";
    chmod(p.c_str(), 0644);
    return p;
  }
  TempDir d_;
  std::string file_;
};

// Learning runs that replay nothing: they run where policy files cannot be
// read back, too (a rootless user namespace).
class LearnRun : public Learn {
 protected:
  LearnRun() { replays_ = false; }
};

TEST_F(Learn, LearnsAReplayableConfigThatEnforcesWhatWasLearnedAndNoMore) {
  const std::string data = make_file("data"), other = make_file("other");
  Result r = learn({kProbe, "--read", data});
  ASSERT_EQ(r.code(), 0) << r.err;
  struct stat st{};
  ASSERT_EQ(stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = learned();
  EXPECT_NE(text.find("\"" + data + "\""), std::string::npos) << text;
  EXPECT_EQ(text.find("\"" + other + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"openat\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"exit_group\""), std::string::npos) << text;
  EXPECT_NE(text.find("net-deny = true"), std::string::npos) << text;
  EXPECT_NE(text.find("fs-exec-deps = true"), std::string::npos) << text;
  if (!as_user().empty()) {
    EXPECT_NE(text.find("user = \"nobody\""), std::string::npos) << text;
  }

  // Replayed under enforcement, the learned read works...
  r = replay({kProbe, "--read", data});
  ASSERT_EQ(r.code(), 0) << r.err << text;
  EXPECT_EQ(attempt_errno(parse_probe(r.out), "read", data.c_str()), 0);
  // ... and a file the run never touched is out of reach (Landlock).
  r = replay({kProbe, "--read", other});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(attempt_errno(parse_probe(r.out), "read", other.c_str()), EACCES);
  // The control: without the file, the same read works.
  r = run({.argv = {kProbe, "--read", other}});
  EXPECT_EQ(attempt_errno(parse_probe(r.out), "read", other.c_str()), 0);
}

TEST_F(Learn, ARemovedPathIsDeniedAndARemovedCallIsNamed) {
  const std::string data = make_file("data");
  ASSERT_EQ(learn({kProbe, "--read", data}).code(), 0);
  const std::string text = learned();
  // The probe lists its descriptors through getdents64.
  ASSERT_NE(text.find("  \"getdents64\","), std::string::npos) << text;

  remove_line("  \"" + data + "\",");
  Result r = replay({kProbe, "--read", data});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(attempt_errno(parse_probe(r.out), "read", data.c_str()), EACCES);

  remove_line("  \"getdents64\",");
  std::string status;
  r = replay({kProbe}, {}, &status);
  EXPECT_EQ(r.signal(), SIGSYS) << r.err;
  // One line names exactly that call, with its number and the process.
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex(R"(seccomp: PROGRAM \(pid [0-9]+, probe\) called getdents64 \(217\) with 0x)")))
      << r.err;
  EXPECT_NE(r.err.find("not in the allowlist; killed it (kill-process)"), std::string::npos) << r.err;
  EXPECT_NE(status.find("\"seccomp\": {\"syscall\": \"getdents64\", \"nr\": 217"), std::string::npos)
      << status;
  EXPECT_NE(status.find("\"signal\": 31"), std::string::npos) << status;
}

TEST_F(Learn, ThreadsAndDescendantsAreLearnedToo) {
  const std::string by_thread = make_file("thread"), by_child = make_file("child");
  ASSERT_EQ(learn({kLearnee, "thread-open", by_thread}).code(), 0);
  Result r = learn({kLearnee, "fork-open", by_child});
  ASSERT_EQ(r.code(), 0) << r.err;
  const std::string text = learned();
  EXPECT_NE(text.find("\"" + by_thread + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"" + by_child + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"wait4\""), std::string::npos) << text;  // the second run's
  EXPECT_NE(text.find("boxjail-learn-runs: 2"), std::string::npos) << text;
  // Both runs replay from the merged file.
  EXPECT_EQ(replay({kLearnee, "thread-open", by_thread}).code(), 0);
  r = replay({kLearnee, "fork-open", by_child});
  EXPECT_EQ(r.code(), 0) << r.err;
}

TEST_F(Learn, MergingKeepsBothRunsAndTheFlagsTheyWereGiven) {
  const std::string a = make_file("a"), b = make_file("b");
  ASSERT_EQ(learn({kProbe, "--read", a}, {"--rlimit", "core=0"}).code(), 0);
  ASSERT_EQ(learn({kProbe, "--read", b}, {"--nice", "3"}).code(), 0);
  const std::string text = learned();
  EXPECT_NE(text.find("\"" + a + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"" + b + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("rlimit = \"core=0\""), std::string::npos) << text;
  EXPECT_NE(text.find("nice = \"3\""), std::string::npos) << text;
  Result r = replay({kProbe, "--read", a, "--read", b});
  ASSERT_EQ(r.code(), 0) << r.err;
  nlohmann::json p = parse_probe(r.out);
  EXPECT_EQ(attempt_errno(p, "read", a.c_str()), 0);
  EXPECT_EQ(attempt_errno(p, "read", b.c_str()), 0);
  EXPECT_EQ(p["rlimits"]["core"][0], 0);
  EXPECT_EQ(p["nice"], 3);
}

TEST_F(Learn, MadeFilesGiveTheirDirectoryAndPortsAreLearned) {
  const std::string dir = d_.path + "/work";
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  chmod(dir.c_str(), 0777);
  ASSERT_EQ(learn({kLearnee, "make", dir}).code(), 0);
  std::string text = learned();
  // The directory gets the rule (the file is gone), as a write rule.
  EXPECT_NE(text.find("fs-rw = [\n  \"" + dir + "\""), std::string::npos) << text;
  EXPECT_EQ(replay({kLearnee, "make", dir}).code(), 0);

  // A TCP port: a listener outside the jail.
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  socklen_t len = sizeof sa;
  getsockname(srv, reinterpret_cast<sockaddr*>(&sa), &len);
  listen(srv, 8);
  const std::string port = std::to_string(ntohs(sa.sin_port));
  unlink(file_.c_str());
  ASSERT_EQ(learn({kLearnee, "connect", port}).code(), 0);
  text = learned();
  EXPECT_NE(text.find("net-connect = [\n  \"" + port + "\""), std::string::npos) << text;
  EXPECT_EQ(text.find("net-deny"), std::string::npos) << text;
  EXPECT_EQ(replay({kLearnee, "connect", port}).code(), 0);
  close(srv);
}

TEST_F(Learn, AKilledDescendantIsNamedAndPROGRAMGoesOn) {
  ASSERT_EQ(learn({kLearnee, "fork-uname"}).code(), 0);
  remove_line("  \"uname\",");
  Result r = replay({kLearnee, "fork-uname"});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(SIGKILL) + "\n") << r.err;  // the child's wait status
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex(R"(a descendant \(pid [0-9]+, learnee\) called uname \(63\).*killed it)")))
      << r.err;
}

TEST_F(Learn, ADenialFloodIsCountedNotLogged) {
  ASSERT_EQ(learn({kLearnee, "flood", "0"}).code(), 0);
  Result r = learn({kLearnee, "flood", "3"});  // a second run: unknown numbers
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(learned().find("# PROGRAM also called numbers no system call here has"),
            std::string::npos)
      << learned();
  EXPECT_EQ(learned().find("\"#2000\""), std::string::npos);
  remove_line("  \"uname\",");
  r = replay({kLearnee, "flood", "400"}, {"--seccomp-default", "errno:ENOSYS"});
  ASSERT_EQ(r.code(), 0) << r.err;
  size_t lines = 0;
  for (char ch : r.err) lines += ch == '\n';
  EXPECT_LE(lines, 101u) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("further uname denials are counted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("seccomp: 800 calls denied in all (uname 400, unknown numbers 400)"),
            std::string::npos)
      << r.err.substr(r.err.size() > 500 ? r.err.size() - 500 : 0);
}

TEST_F(Learn, ASeccompRuleWithAConditionFailsOnlyWhatItSays) {
  ASSERT_EQ(learn({kLearnee, "socket", std::to_string(AF_UNIX)}).code(), 0);
  remove_line("  \"socket\",");
  const std::vector<std::string> rule = {"--seccomp-rule",
                                         "socket: arg0 == AF_UNIX; return EAFNOSUPPORT"};
  // The control: the learned run's socket works.
  Result r = replay({kLearnee, "socket", std::to_string(AF_UNIX)}, rule);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "0\n") << r.err;
  // Another family fails with the rule's errno, named (netlink: the one
  // family beside unix that the learned net-deny lets through).
  r = replay({kLearnee, "socket", std::to_string(AF_NETLINK)}, rule);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(EAFNOSUPPORT) + "\n") << r.err;
  EXPECT_NE(r.err.find("called socket (41)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("denied by --seccomp-rule 'socket: arg0 == AF_UNIX; return EAFNOSUPPORT'"),
            std::string::npos)
      << r.err;
  r = replay({kLearnee, "socket", "1"}, {"--seccomp-rule", "socket arg0 == 1"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("--seccomp-rule 'socket arg0 == 1': expected NAME: EXPR"), std::string::npos)
      << r.err;
}

TEST_F(LearnRun, OddProgramsNeverHangOrCrashTheSupervisor) {
  for (const char* mode : {"long-path", "bad-pointer", "thread-exit"}) {
    Result r = learn({kLearnee, mode});
    EXPECT_EQ(r.code(), 0) << mode << ": " << r.err;
    EXPECT_NE(learned().find("seccomp-allow"), std::string::npos) << mode;
  }
}

TEST_F(LearnRun, RefusedWhereNobodyCouldAnswerAndWithSeccompFlags) {
  for (const auto& [flag, word] :
       {std::pair{"--no-fork", "--learn needs the default mode, not --no-fork"},
        std::pair{"--detach", "--learn needs the default mode, not --detach"}}) {
    Result r = learn({kProbe}, {flag});
    EXPECT_EQ(r.code(), 125);
    EXPECT_NE(r.err.find(word), std::string::npos) << r.err;
  }
  Result r = learn({kProbe}, {"--seccomp-deny", "uname"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("--learn cannot be combined with --seccomp-allow"), std::string::npos)
      << r.err;
  EXPECT_EQ(access(file_.c_str(), F_OK), -1);
}

// Named denials without --learn.
class Named : public ::testing::Test {
 protected:
  static Result boxed(std::vector<std::string> flags, std::vector<std::string> argv,
                      std::string* status = nullptr) {
    Spawn s{.argv = {kBoxjail}};
    for (auto& f : root_opt_in()) s.argv.push_back(f);
    s.argv.insert(s.argv.end(), flags.begin(), flags.end());
    s.argv.push_back("--");
    s.argv.insert(s.argv.end(), argv.begin(), argv.end());
    if (!status) return run(s);
    s.argv.insert(s.argv.begin() + 1, {"--status-fd", "9"});
    return run_with_pipe(s, 9, status);
  }
};

TEST_F(Named, AnErrnoDenialIsNamedAndTheCallSeesTheErrnoStraceSees) {
  // The control: uname works.
  Result r = boxed({}, {kProbe, "--uname"});
  EXPECT_EQ(attempt_errno(parse_probe(r.out), "uname"), 0);
  EXPECT_EQ(r.err.find("seccomp:"), std::string::npos);

  std::string status;
  r = boxed({"--seccomp-deny", "uname:EACCES"}, {kProbe, "--uname"}, &status);
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(attempt_errno(parse_probe(r.out), "uname"), EACCES);
  EXPECT_NE(r.err.find("called uname (63)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("denied by --seccomp-deny uname:EACCES; failed it with EACCES"),
            std::string::npos)
      << r.err;
  EXPECT_NE(status.find("\"seccomp\": {\"syscall\": \"uname\", \"nr\": 63"), std::string::npos)
      << status;
  EXPECT_NE(status.find("\"action\": \"errno:EACCES\", \"denials\": 1"), std::string::npos)
      << status;

  // strace, outside, sees the same call return the same error.
  if (access("/usr/bin/strace", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/strace";
  TempDir d;
  Spawn s{.argv = {"/usr/bin/strace", "-f", "-qq", "-e", "trace=uname", "-o", d.path + "/trace",
                   kBoxjail}};
  for (auto& f : root_opt_in()) s.argv.push_back(f);
  s.argv.insert(s.argv.end(), {"--seccomp-deny", "uname:EACCES", "--", kProbe, "--uname"});
  r = run(s);
  if (r.err.find("Operation not permitted") != std::string::npos)
    GTEST_SKIP() << "strace cannot trace here: " << r.err;
  const std::string trace = slurp(d.path + "/trace");
  EXPECT_NE(trace.find("uname(0x"), std::string::npos) << trace;
  EXPECT_NE(trace.find("= -1 EACCES"), std::string::npos) << trace;
  EXPECT_NE(r.err.find("called uname (63)"), std::string::npos) << r.err;
}

TEST_F(Named, TheKernelActsWhereNoSupervisorIsLeft) {
  // --no-fork and --detach: the kernel's own action, nothing named.
  for (const char* mode : {"--no-fork", "--detach"}) {
    TempDir d;
    Result r = boxed({mode, "--seccomp-deny", "uname:EACCES"},
                     {kProbe, "--uname", "--out", d.path + "/p.json"});
    ASSERT_EQ(r.code(), 0) << r.err;
    for (int i = 0; i < 200 && slurp(d.path + "/p.json").empty(); ++i) usleep(10000);
    usleep(50000);
    EXPECT_EQ(attempt_errno(parse_probe(slurp(d.path + "/p.json")), "uname"), EACCES) << mode;
    EXPECT_EQ(r.err.find("seccomp:"), std::string::npos) << r.err;
  }
  // A descendant that outlives its supervisor: the call fails with ENOSYS
  // (the listener is gone), never allowed.
  TempDir d;
  chmod(d.path.c_str(), 0777);
  const std::string out = d.path + "/errno";
  Result r = boxed({"--seccomp-deny", "uname:EACCES", "--fs-exec-deps", "--fs-rw", d.path},
                   {kLearnee, "orphan-uname", out});
  ASSERT_EQ(r.code(), 0) << r.err;
  for (int i = 0; i < 2500 && slurp(out).empty(); ++i) usleep(10000);
  EXPECT_EQ(slurp(out), std::to_string(ENOSYS) + "\n");
}

}  // namespace

namespace {

// --landlock-log: the supervisor reads PROGRAM's Landlock denials from the
// audit log and names them at the end, on the terminal and --status-fd.
TEST(LandlockDenials, NamedAtTheEndFromTheAuditLog) {
  TempDir d;
  chmod(d.path.c_str(), 0755);
  const std::string secret = d.path + "/secret";
  std::ofstream(secret) << "x\n";
  chmod(secret.c_str(), 0644);
  Spawn s{.argv = {kBoxjail, "-v", "--status-fd", "9"}};
  for (auto& f : root_opt_in()) s.argv.push_back(f);
  s.argv.insert(s.argv.end(), {"--landlock-log", "--fs-exec-deps", "--", "/bin/cat", secret});
  std::string status;
  Result r = run_with_pipe(s, 9, &status);
  // What cat saw: the kernel refused the read.
  EXPECT_NE(r.err.find(secret + ": Permission denied"), std::string::npos) << r.err;
  if (size_t at = r.err.find("cannot read the audit log here"); at != std::string::npos)
    GTEST_SKIP() << r.err.substr(at, r.err.find('\n', at) - at);
  if (r.err.find("Landlock ABI") != std::string::npos && r.err.find("--landlock-log") != std::string::npos)
    GTEST_SKIP() << "--landlock-log needs Landlock ABI 7: " << r.err;
  EXPECT_NE(r.err.find("landlock: PROGRAM was denied fs.read_file " + secret + " (once)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(status.find("{\"blockers\":\"fs.read_file\",\"path\":\"" + secret + "\",\"count\":1}"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("\"landlock\": [{"), std::string::npos) << status;
}

}  // namespace

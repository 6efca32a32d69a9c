// learn.h's rules and file, and seccomp::decide(): what the supervisor
// answers a notified call with.
#include "boxjail/learn.h"

#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "boxjail/child.h"
#include "boxjail/cli.h"
#include "boxjail/plan.h"
#include "boxjail/seccomp.h"

namespace boxjail {
namespace {

using learn::kExec;
using learn::kMake;
using learn::kRead;
using learn::kWrite;

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

struct Dir {
  Dir() {
    char tmpl[] = "/tmp/boxjail-learn-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Dir() { EXPECT_EQ(std::system(("rm -rf " + path).c_str()), 0); }
  std::string file(const std::string& name) {
    std::string p = path + "/" + name;
    std::ofstream(p) << "x";
    return p;
  }
  std::string path;
};

TEST(LearnRules, FilesBecomeTheirKindOfRule) {
  Dir d, e;  // two files under one directory stay two rules
  std::map<std::string, unsigned> paths = {{d.file("r"), kRead},
                                           {e.file("x"), kRead | kExec},
                                           {d.file("w"), kRead | kWrite}};
  learn::FsRules r = learn::fs_rules(paths);
  EXPECT_EQ(r.ro, std::vector<std::string>{d.path + "/r"});
  EXPECT_EQ(r.rx, std::vector<std::string>{e.path + "/x"});
  EXPECT_EQ(r.rw, std::vector<std::string>{d.path + "/w"});
  EXPECT_TRUE(r.rwx.empty());
}

TEST(LearnRules, ThreeFilesUnderOneDirectoryBecomeOneRuleOnIt) {
  Dir d;
  std::map<std::string, unsigned> two = {{d.file("a"), kRead}, {d.file("b"), kRead}};
  EXPECT_EQ(learn::fs_rules(two).ro.size(), 2u);
  std::map<std::string, unsigned> three = two;
  three[d.file("c")] = kRead | kExec;
  learn::FsRules r = learn::fs_rules(three);
  EXPECT_TRUE(r.ro.empty());
  EXPECT_EQ(r.rx, std::vector<std::string>{d.path});  // the union of the kinds seen
}

TEST(LearnRules, MadeEntriesGiveTheDirectoryAWriteRule) {
  Dir d;
  learn::FsRules r = learn::fs_rules({{d.path, kMake}});
  EXPECT_EQ(r.rw, std::vector<std::string>{d.path});
}

TEST(LearnRules, NeverTheRootAHomeOrADirectoryUnderEtcProcSysDev) {
  learn::FsRules r = learn::fs_rules({{"/", kRead}, {"/root", kRead}});
  EXPECT_TRUE(r.ro.empty());
  EXPECT_EQ(r.notes.size(), 2u);
  // Three files under /etc stay three files.
  std::map<std::string, unsigned> etc;
  for (const char* f : {"/etc/passwd", "/etc/group", "/etc/hostname", "/etc/hosts"})
    if (access(f, F_OK) == 0) etc[f] = kRead;
  if (etc.size() >= 3) {
    r = learn::fs_rules(etc);
    EXPECT_EQ(r.ro.size(), etc.size());
    EXPECT_FALSE(has(r.ro, "/etc"));
  }
  std::map<std::string, unsigned> proc = {
      {"/proc/cpuinfo", kRead}, {"/proc/meminfo", kRead}, {"/proc/stat", kRead}};
  r = learn::fs_rules(proc);
  EXPECT_EQ(r.ro.size(), 3u);
  EXPECT_FALSE(has(r.ro, "/proc"));
}

TEST(LearnRules, APathGoneSinceTheRunIsLeftOutWithANote) {
  Dir d;
  learn::FsRules r = learn::fs_rules({{d.path + "/gone", kRead}});
  EXPECT_TRUE(r.ro.empty());
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("gone since the run"), std::string::npos);
}

TEST(LearnFile, WrittenOwnerOnlyAndMergedWithWhatItHeld) {
  Dir d;
  const std::string file = d.path + "/l.toml";
  learn::Learned one;
  one.syscalls = {"read", "openat"};
  one.paths[d.file("a")] = kRead;
  std::string err;
  ASSERT_TRUE(learn::write_config(file, one, {{"user", {"nobody"}}, {"learn", {file}}},
                                  "/bin/prog", &err))
      << err;
  struct stat st{};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  learn::Learned two;
  two.syscalls = {"write"};
  two.paths[d.file("b")] = kRead;
  two.connect_ports = {443};
  two.inet = true;
  ASSERT_TRUE(learn::write_config(file, two, {{"rlimit", {"core=0", "nofile=64"}}}, "/bin/prog",
                                  &err))
      << err;
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  for (const char* want : {"\"read\"", "\"openat\"", "\"write\"", "\"exit_group\"",
                           "\"rt_sigreturn\"", "user = \"nobody\"",
                           "rlimit = [\n  \"core=0\",\n  \"nofile=64\",\n]", "net-connect = [\n  \"443\"",
                           "boxjail-learn-runs: 2", "fs-exec-deps = true"})
    EXPECT_NE(text.find(want), std::string::npos) << want << " in\n" << text;
  EXPECT_NE(text.find("\"" + d.path + "/a\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"" + d.path + "/b\""), std::string::npos) << text;
  EXPECT_EQ(text.find("learn ="), std::string::npos) << text;
  EXPECT_EQ(text.find("net-deny"), std::string::npos) << text;  // the second run used TCP
  // No temporary is left beside it.
  EXPECT_EQ(std::system(("test $(ls " + d.path + " | grep -c l.toml) -eq 1").c_str()), 0);
}

TEST(LearnFile, AFileItCannotReadBackIsNotOverwritten) {
  Dir d;
  const std::string file = d.path + "/l.toml";
  std::ofstream(file) << "this is not = [ toml\n";
  std::string err;
  EXPECT_FALSE(learn::write_config(file, learn::Learned{}, {}, "/bin/prog", &err));
  EXPECT_NE(err.find("--learn " + file + ": cannot merge into it"), std::string::npos) << err;
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "this is not = [ toml");
}

seccomp::SeccompPlan plan_of(std::vector<std::string> args) {
  std::vector<const char*> argv = {"boxjail"};
  for (auto& a : args) argv.push_back(a.c_str());
  argv.push_back("--");
  argv.push_back("/bin/true");
  Options o;
  CliResult res = parse_cli(static_cast<int>(argv.size()), argv.data(), &o);
  EXPECT_EQ(res.kind, CliResult::kRun) << res.err;
  seccomp::SeccompPlan p;
  std::string err;
  EXPECT_TRUE(seccomp::check(o, &p, &err)) << err;
  return p;
}

TEST(NamedDenials, TheSupervisorAnswersAsTheFilterWould) {
  seccomp::SeccompPlan deny = plan_of({"--seccomp-deny", "uname:EACCES,@mount"});
  ASSERT_TRUE(deny.named);
  uint64_t args[6] = {};
  seccomp::Verdict v = seccomp::decide(deny, 63 /* uname */, args);
  EXPECT_FALSE(v.kill);
  EXPECT_EQ(v.err, EACCES);
  ASSERT_NE(v.rule, nullptr);
  EXPECT_EQ(v.rule->name, "uname");
  v = seccomp::decide(deny, 165 /* mount */, args);
  EXPECT_EQ(v.err, EPERM);
  // The hand-over call always gets ENOSYS.
  EXPECT_EQ(seccomp::decide(deny, kHandoverSyscall, args).err, ENOSYS);

  seccomp::SeccompPlan allow = plan_of({"--seccomp-allow", "read,write,execve,exit_group"});
  v = seccomp::decide(allow, 39 /* getpid */, args);
  EXPECT_TRUE(v.kill);
  EXPECT_EQ(v.rule, nullptr);
  allow = plan_of({"--seccomp-allow", "read,execve", "--seccomp-default", "errno:ENOSYS"});
  v = seccomp::decide(allow, 39, args);
  EXPECT_FALSE(v.kill);
  EXPECT_EQ(v.err, ENOSYS);

  // A conditional member (sendto with MSG_FASTOPEN, in @connect) is
  // judged on its argument.
  seccomp::SeccompPlan conn = plan_of({"--seccomp-deny", "@connect:EACCES"});
  uint64_t fastopen[6] = {3, 0, 0, 0x20000000, 0, 0};
  EXPECT_EQ(seccomp::decide(conn, 44 /* sendto */, fastopen).err, EACCES);
}

TEST(NamedDenials, TheNotifyingFilterSendsWhatItDeniesAndOnlyThat) {
  seccomp::SeccompPlan p = plan_of({"--seccomp-deny", "uname"});
  auto returns = [](const std::vector<sock_filter>& prog, uint32_t action) {
    int n = 0;
    for (const auto& i : prog)
      if (i.code == (BPF_RET | BPF_K) && (i.k & SECCOMP_RET_ACTION_FULL) == action) ++n;
    return n;
  };
  EXPECT_EQ(returns(p.program, SECCOMP_RET_USER_NOTIF), 0);
  EXPECT_GT(returns(p.program, SECCOMP_RET_ERRNO), 0);
  EXPECT_GT(returns(p.notify_program, SECCOMP_RET_USER_NOTIF), 0);
  EXPECT_EQ(returns(p.notify_program, SECCOMP_RET_ERRNO), 0);
  EXPECT_EQ(returns(p.notify_program, SECCOMP_RET_TRACE), 0);  // no placeholder left
  // Other ABIs are still killed by the kernel itself.
  EXPECT_GT(returns(p.notify_program, SECCOMP_RET_KILL_PROCESS), 0);
  // Not in --no-fork or --detach, which have no supervisor.
  EXPECT_FALSE(plan_of({"--no-fork", "--seccomp-deny", "uname"}).named);
  EXPECT_FALSE(plan_of({"--detach", "--seccomp-deny", "uname"}).named);
}

}  // namespace
}  // namespace boxjail

// seccomp filters, end to end: what the probe's system calls really got.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <seccomp.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;
using json = nlohmann::json;

const std::string kProfile = std::string(TESTS_SOURCE_DIR) + "/seccomp/probe.profile";

int err(const json& j, const std::string& op) { return attempt_errno(j, op); }
Result box(std::vector<std::string> args) { return boxjail(std::move(args)); }

// Filters (FLAGS) confine PROGRAM: as root, with --user root in front.
std::vector<std::string> with_mode(const std::vector<std::string>& mode,
                                   std::vector<std::string> flags, std::vector<std::string> probe) {
  std::vector<std::string> v = mode;
  if (!flags.empty())
    for (const auto& a : root_opt_in()) v.push_back(a);
  v.insert(v.end(), flags.begin(), flags.end());
  v.push_back("--");
  v.push_back(kProbe);
  v.insert(v.end(), probe.begin(), probe.end());
  return v;
}

TEST(Seccomp, DeniedCallGetsTheChosenErrnoAndEverythingElseWorks) {
  for (const auto& mode : all_modes()) {
    Result r = box(with_mode(mode, {"--seccomp-deny", "uname:ENOSYS,@ptrace"}, {"--uname"}));
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    json j = parse_probe(r.out);
    EXPECT_EQ(err(j, "uname"), ENOSYS) << mode_label(mode);
    EXPECT_GT(j["fds"].size(), 0u);  // the rest of the report worked
    r = box(with_mode(mode, {"--seccomp-deny", "uname"}, {"--uname"}));
    EXPECT_EQ(err(parse_probe(r.out), "uname"), EPERM) << mode_label(mode);  // the default errno
    r = box(with_mode(mode, {"--seccomp-deny", "uname:13"}, {"--uname"}));
    EXPECT_EQ(err(parse_probe(r.out), "uname"), EACCES) << mode_label(mode);
  }
}

// "" if boxjail accepts the policy file `path` here, else why not.
std::string file_refused(const std::string& path) {
  return privilege::policy_files_refused_in(path.substr(0, path.rfind('/')));
}

TEST(Seccomp, AllowlistRunsTheProbeAndKillsItOnAnythingElse) {
  if (std::string why = file_refused(kProfile); !why.empty()) GTEST_SKIP() << why;
  for (const auto& mode : {std::vector<std::string>{}, std::vector<std::string>{"--no-fork"}}) {
    Result r = box(with_mode(mode, {"--seccomp-profile", kProfile}, {}));
    EXPECT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    EXPECT_EQ(parse_probe(r.out)["pid"].is_number(), true);
    r = box(with_mode(mode, {"--seccomp-profile", kProfile}, {"--uname"}));
    // Killed by SIGSYS; in the default mode boxjail re-raises it on itself.
    EXPECT_EQ(r.signal(), SIGSYS) << mode_label(mode) << ": " << r.status << " " << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(Seccomp, TrapLogAndErrnoDefaultActions) {
  if (std::string why = file_refused(kProfile); !why.empty()) GTEST_SKIP() << why;
  const std::vector<std::string> allow = {"--seccomp-profile", kProfile};
  auto flags = [&](const std::string& action) {
    std::vector<std::string> f = allow;
    f.insert(f.end(), {"--seccomp-default", action});
    return f;
  };
  // trap: SIGSYS, which the probe catches and counts; the call is not made.
  Result r = box(with_mode({}, flags("trap"), {"--catch-sigsys", "--uname"}));
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(parse_probe(r.out)["sigsys"], 1);
  // log: allowed (and logged).
  r = box(with_mode({}, flags("log"), {"--uname"}));
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(err(parse_probe(r.out), "uname"), 0);
  // errno: the call fails with it.
  r = box(with_mode({}, flags("errno:EACCES"), {"--uname"}));
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(err(parse_probe(r.out), "uname"), EACCES);
  // The command line's default wins over the profile's.
  r = box(with_mode({}, flags("errno:5"), {"--uname"}));
  EXPECT_EQ(err(parse_probe(r.out), "uname"), EIO);
}

TEST(Seccomp, ReadyBpfExportedByLibseccomp) {
  TempDir d;
  if (std::string why = file_refused(d.path + "/filter.bpf"); !why.empty()) GTEST_SKIP() << why;
  const std::string file = d.path + "/filter.bpf";
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  ASSERT_NE(ctx, nullptr);
  ASSERT_EQ(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(uname), 0), 0);
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_EQ(seccomp_export_bpf(ctx, fd), 0);
  close(fd);
  seccomp_release(ctx);
  Result r = box(with_mode({}, {"--seccomp-bpf", file}, {"--uname"}));
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(err(parse_probe(r.out), "uname"), ENOSYS);
  // Files that are not a filter.
  std::ofstream(d.path + "/empty");
  std::ofstream(d.path + "/odd") << "1234567";
  std::ofstream(d.path + "/long") << std::string(8 * 4097, '\0');
  for (const auto& [name, msg] : std::vector<std::pair<std::string, std::string>>{
           {"empty", "empty (no BPF instructions)"},
           {"odd", "7 bytes is not a whole number of 8-byte BPF instructions"},
           {"long", "4097 instructions, more than BPF_MAXINSNS (4096)"}}) {
    r = box({"--seccomp-bpf", d.path + "/" + name, "--", kProbe});
    EXPECT_EQ(r.code(), 125);
    EXPECT_EQ(r.err, "boxjail: --seccomp-bpf " + d.path + "/" + name + ": " + msg + "\n");
    EXPECT_EQ(r.out, "");
  }
}

// A filter written in native numbers is bypassed through another ABI of the
// CPU unless the filter checks the architecture: boxjail's kills.
TEST(Seccomp, Int80BypassIsKilled) {
  Result control = box(with_mode({}, {}, {"--int80-getppid"}));
  ASSERT_EQ(control.code(), 0) << control.err;
  if (err(parse_probe(control.out), "int80-getppid") != 0)
    GTEST_SKIP() << "this kernel does not run i386 system calls (int $0x80)";
  Result r = box(with_mode({}, {"--seccomp-deny", "getppid"}, {"--int80-getppid"}));
  EXPECT_EQ(r.signal(), SIGSYS) << r.status << ": " << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Seccomp, RulesAreCheckedBeforeAnythingStarts) {
  TempDir d;
  const std::string pidfile = d.path + "/box.pid";
  std::ofstream(d.path + "/bad.profile") << "# comment\nallow read\nallow write\npermit open\n";
  std::ofstream(d.path + "/bpf") << std::string(16, '\0');
  const std::string refused = file_refused(d.path + "/bad.profile");
  for (const auto& [flags, msg] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--seccomp-deny", "no_such_call"},
            "--seccomp-deny no_such_call: unknown system call 'no_such_call' on this architecture"},
           {{"--seccomp-deny", "execveat"},
            "--seccomp-deny execveat: boxjail execs PROGRAM after the filter is in place; "
            "execveat cannot be denied"},
           {{"--seccomp-allow", "read,write"},
            "--seccomp-allow: the allowlist lacks execve, which boxjail needs to exec PROGRAM"},
           {{"--seccomp-allow", "execve,uname", "--seccomp-deny", "uname"},
            "--seccomp-allow execve,uname: uname is both allowed and denied (--seccomp-deny "
            "uname)"},
           {{"--seccomp-deny", "uname:EPERM", "--seccomp-deny", "uname:ENOSYS"},
            "--seccomp-deny uname:ENOSYS: uname is already denied with EPERM (--seccomp-deny "
            "uname:EPERM)"},
           {{"--seccomp-deny", "uname:EWHAT"},
            "--seccomp-deny uname:EWHAT: 'EWHAT' is not an errno (a name such as EPERM or "
            "ENOSYS, or a number from 1 to 4095)"},
           {{"--seccomp-default", "trap"},
            "--seccomp-default trap needs an allowlist (--seccomp-allow, or allow lines in "
            "--seccomp-profile): it is the action for the calls not listed"},
           {{"--seccomp-allow", "execve", "--seccomp-default", "explode"},
            "--seccomp-default explode: unknown action (use kill-process, trap, log or "
            "errno:NAME)"},
           {{"--seccomp-profile", d.path + "/bad.profile"},
            d.path + "/bad.profile:4: unknown rule 'permit' (use allow, deny or default)"},
           {{"--seccomp-bpf", d.path + "/bpf", "--seccomp-deny", "uname"},
            "--seccomp-bpf cannot be combined with --seccomp-allow, --seccomp-deny, "
            "--seccomp-default or --seccomp-profile (it is a whole filter)"},
       }) {
    // The profile's own error needs a profile boxjail reads at all; the
    // other cases still run, and the test is marked skipped at the end.
    if (flags[0] == "--seccomp-profile" && !refused.empty()) continue;
    std::vector<std::string> args = {"--pidfile", pidfile};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--", kProbe});
    Result r = box(args);
    EXPECT_EQ(r.code(), 125) << msg;
    EXPECT_EQ(r.err, "boxjail: " + msg + "\n");
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(access(pidfile.c_str(), F_OK), -1);
  }
  if (!refused.empty()) GTEST_SKIP() << "the --seccomp-profile case: " << refused;
}

TEST(Seccomp, DryRunShowsTheResolvedFilter) {
  std::vector<std::string> args = root_opt_in();
  args.insert(args.end(), {"--dry-run", "--seccomp-allow", "execve,read", "--seccomp-deny",
                           "uname:ENOSYS", "--seccomp-default", "errno:EPERM", "--", "/bin/true"});
  Result r = box(args);
  ASSERT_EQ(r.code(), 0) << r.err;
  json s = json::parse(r.out)["seccomp"];
  EXPECT_EQ(s["default"], "errno:EPERM");
  EXPECT_EQ(s["other_abis"], "kill-process");
  EXPECT_EQ(s["rules"], json::parse(R"([{"syscall":"uname","nr":63,"action":"errno:ENOSYS"},
      {"syscall":"execve","nr":59,"action":"allow"},{"syscall":"read","nr":0,"action":"allow"}])"));
  EXPECT_GT(s["instructions"].get<int>(), 5);
}

// The supervisor keeps boxjail's uid and no filter: a same-uid PROGRAM
// confined only by seccomp must not reach it through ptrace or its memory.
TEST(Seccomp, SupervisorIsOutOfTheConfinedProgramsReach) {
  std::vector<std::string> as_user;
  if (geteuid() == 0) {
    if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
    as_user = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  }
  auto run_as = [&](std::vector<std::string> argv) {
    Spawn s{.argv = as_user};
    s.argv.insert(s.argv.end(), argv.begin(), argv.end());
    return run(s);
  };
  // Control: a plain same-uid parent is within reach, so the check can fail.
  Result control = run_as({"/bin/sh", "-c", "\"$@\"; :", "sh", kProbe, "--ptrace-parent"});
  ASSERT_EQ(control.code(), 0) << control.err;
  ASSERT_EQ(err(parse_probe(control.out), "ptrace-parent"), 0);
  // (--oom-score-adj: the child makes the shared memory dumpable for that
  // write; the supervisor must be non-dumpable again by exec.)
  Result r = run_as({kBoxjail, "--seccomp-deny", "bind", "--oom-score-adj", "100", "--", kProbe,
                     "--ptrace-parent", "--mem-parent"});
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  EXPECT_EQ(err(j, "ptrace-parent"), EPERM);
  int mem = err(j, "mem-parent");
  EXPECT_TRUE(mem == EACCES || mem == EPERM) << mem;
}

}  // namespace

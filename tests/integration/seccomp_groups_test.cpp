// System call groups, end to end: what a program confined by a group
// really got, and --list-syscall-groups.
#include <gtest/gtest.h>
#include <seccomp.h>
#include <signal.h>

#include <string>

#include "harness.h"

namespace {

using namespace harness;
using json = nlohmann::json;

// boxjail [--user root] MODE FLAGS -- PROGRAM ARGS.
Result run_in(const std::vector<std::string>& mode, const std::vector<std::string>& flags,
              const std::string& program, const std::vector<std::string>& args = {}) {
  std::vector<std::string> v = mode;
  if (!flags.empty())
    for (const auto& a : root_opt_in()) v.push_back(a);
  v.insert(v.end(), flags.begin(), flags.end());
  v.push_back("--");
  v.push_back(program);
  v.insert(v.end(), args.begin(), args.end());
  return boxjail(v);
}

const std::vector<std::vector<std::string>> kModes = {{}, {"--no-fork"}};

TEST(SeccompGroups, SystemServiceRunsADynamicallyLinkedProgram) {
  // /bin/true through the dynamic loader: it opens, maps and protects its
  // libraries before main.
  if (slurp("/bin/true").find("ld-linux") == std::string::npos)
    GTEST_SKIP() << "/bin/true is not dynamically linked here";
  for (const auto& mode : kModes) {
    Result r = run_in(mode, {"--seccomp-allow", "@system-service"}, "/bin/true");
    EXPECT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.status << " " << r.err;
    // The allowlist is enforced: @default alone cannot even load libc.
    r = run_in(mode, {"--seccomp-allow", "@default"}, "/bin/true");
    EXPECT_EQ(r.signal(), SIGSYS) << mode_label(mode) << ": " << r.status << " " << r.err;
    // The probe, dynamically linked too, reports through it all.
    r = run_in(mode, {"--seccomp-allow", "@system-service"}, kProbe, {"--uname"});
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.status << " " << r.err;
    json j = parse_probe(r.out);
    EXPECT_TRUE(j["pid"].is_number());
    EXPECT_GT(j["fds"].size(), 0u);
    EXPECT_EQ(attempt_errno(j, "uname"), 0);
  }
}

TEST(SeccompGroups, DenyMountMakesMountFailWithTheErrno) {
  TempDir d;
  // A target that does not exist: the kernel answers ENOENT before it asks
  // for privilege, and never mounts anything.
  const std::string missing = d.path + "/missing";
  Result control = run_in({}, {}, kProbe, {"--mount", missing});
  ASSERT_EQ(control.code(), 0) << control.err;
  ASSERT_EQ(attempt_errno(parse_probe(control.out), "mount"), ENOENT);
  for (const auto& mode : kModes) {
    Result r = run_in(mode, {"--seccomp-deny", "@mount"}, kProbe, {"--mount", missing});
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    EXPECT_EQ(attempt_errno(parse_probe(r.out), "mount"), EPERM) << mode_label(mode);
    r = run_in(mode, {"--seccomp-deny", "@mount:EXDEV"}, kProbe, {"--mount", missing});
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    EXPECT_EQ(attempt_errno(parse_probe(r.out), "mount"), EXDEV) << mode_label(mode);
    // A group that does not hold mount leaves it to the kernel.
    r = run_in(mode, {"--seccomp-deny", "@swap"}, kProbe, {"--mount", missing});
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << ": " << r.err;
    EXPECT_EQ(attempt_errno(parse_probe(r.out), "mount"), ENOENT) << mode_label(mode);
  }
}

TEST(SeccompGroups, ListSyscallGroups) {
  Result r = boxjail({"--list-syscall-groups"});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.err, "");
  size_t lines = 0;
  for (size_t at = 0; at < r.out.size(); at = r.out.find('\n', at) + 1) {
    EXPECT_EQ(r.out[at], '@') << r.out.substr(at, 40);
    ++lines;
  }
  EXPECT_GT(lines, 50u);
  EXPECT_NE(r.out.find("\n@system-service: @default "), std::string::npos);
  EXPECT_NE(r.out.find("\n@clock: @time\n"), std::string::npos);
  r = boxjail({"--list-syscall-groups=@reboot"});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(r.out, "kexec_file_load\nkexec_load\nreboot\n");
  r = boxjail({"--list-syscall-groups=@nope"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err,
            "boxjail: --list-syscall-groups=@nope: unknown group (boxjail --list-syscall-groups "
            "lists them)\n");
  EXPECT_EQ(r.out, "");
  r = boxjail({"--list-syscall-groups", "--", "/bin/true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --list-syscall-groups takes no PROGRAM\n");
}

TEST(SeccompGroups, OtherArchitecturesCallsAreRefusedAlone) {
  if (seccomp_arch_native() != SCMP_ARCH_X86_64) GTEST_SKIP() << "checks x86-64's names";
  Result r = run_in({}, {"--seccomp-deny", "socketcall"}, kProbe);
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err,
            "boxjail: --seccomp-deny socketcall: socketcall does not exist on x86_64 (it is a "
            "system call of other architectures); leave it out\n");
  EXPECT_EQ(r.out, "");
  // Inside a group, skipped: @network-io names socketcall for i386.
  r = run_in({}, {"--seccomp-deny", "@network-io:ENOSYS"}, kProbe, {"--connect", "1"});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_EQ(attempt_errno(parse_probe(r.out), "connect", "1"), ENOSYS);
}

}  // namespace

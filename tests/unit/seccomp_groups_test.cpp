// System call groups (seccomp_groups.h): the table, its expansion on this
// architecture, the names of other architectures, the listing and the man
// page's table, and what --seccomp-deny and --seccomp-allow make of a
// group, through build_plan() with a fake system. What a group does to a
// real process is tested in tests/integration/seccomp_groups_test.cpp.
#include "boxjail/seccomp_groups.h"

#include <gtest/gtest.h>
#include <seccomp.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "boxjail/plan.h"
#include "fake_system.h"

namespace boxjail {
namespace {

bool build(Options o, testing::FakeSystem& sys, LaunchPlan* plan, PlanError* err) {
  if (o.command.empty()) o.command = {"/bin/true"};
  return build_plan(o, sys, "/usr/bin:/bin", nullptr, plan, err);
}

std::string error_of(const Options& o) {
  testing::FakeSystem sys;
  LaunchPlan plan;
  PlanError err;
  EXPECT_FALSE(build(o, sys, &plan, &err));
  EXPECT_EQ(err.exit_code, 125) << err.msg;
  return err.msg;
}

std::vector<std::string> words(const char* list) {
  std::vector<std::string> w;
  std::istringstream in(list);
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

std::set<std::string> names_of(const std::vector<seccomp::GroupCall>& calls) {
  std::set<std::string> s;
  for (const auto& c : calls) s.insert(c.name);
  return s;
}

std::set<std::string> expanded(const std::string& group) {
  std::vector<seccomp::GroupCall> calls;
  EXPECT_TRUE(seccomp::expand_group(group, &calls)) << group;
  return names_of(calls);
}

bool on_x86_64() { return seccomp_arch_native() == SCMP_ARCH_X86_64; }

TEST(SyscallGroups, EveryGroupIsRealX86_64SystemCalls) {
  if (!on_x86_64()) GTEST_SKIP() << "the numbers checked here are x86-64's";
  std::vector<std::string> names = seccomp::group_names();
  ASSERT_GT(names.size(), 50u);
  for (const std::string& g : names) {
    std::vector<seccomp::GroupCall> calls;
    ASSERT_TRUE(seccomp::expand_group(g, &calls)) << g;
    EXPECT_FALSE(calls.empty()) << g;
    std::set<std::string> once;
    for (const auto& c : calls) {
      EXPECT_TRUE(once.insert(c.name).second) << g << " has " << c.name << " twice";
      // A native number of the 6.18 table: below the x32 range (512), and
      // the one libseccomp gives, or one from the table past libseccomp.
      EXPECT_GE(c.nr, 0) << g << " " << c.name;
      EXPECT_LT(c.nr, 470) << g << " " << c.name;
      EXPECT_EQ(c.nr, seccomp::resolve_syscall(c.name));
      char* known = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, c.nr);
      if (known) {
        EXPECT_EQ(std::string(known), c.name) << g;
        free(known);
      } else {
        EXPECT_TRUE(c.nr == 335 || c.nr == 336 || c.nr >= 457) << g << " " << c.name << " " << c.nr;
      }
    }
  }
  // The calls past Debian's libseccomp, by the kernel's numbers.
  EXPECT_EQ(seccomp::resolve_syscall("uretprobe"), 335);
  EXPECT_EQ(seccomp::resolve_syscall("statmount"), 457);
  EXPECT_EQ(seccomp::resolve_syscall("lsm_list_modules"), 461);
  EXPECT_EQ(seccomp::resolve_syscall("file_setattr"), 469);
}

TEST(SyscallGroups, EveryNameInTheTableIsAGroupOrACallSomewhere) {
  size_t n = 0;
  const seccomp::SyscallGroup* g = seccomp::syscall_groups(&n);
  ASSERT_GE(n, 24u);
  std::set<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(names.insert(g[i].name).second) << g[i].name << " twice";
    if (i > 0) {
      EXPECT_LT(std::string(g[i - 1].name), g[i].name) << "not in alphabetical order";
    }
    EXPECT_NE(std::string(g[i].what), "");
    for (const std::string& w : words(g[i].members)) {
      if (w[0] == '@') {
        std::vector<seccomp::GroupCall> calls;
        EXPECT_TRUE(seccomp::expand_group(w, &calls)) << "@" << g[i].name << ": " << w;
      } else {
        EXPECT_NE(seccomp::classify_syscall(w), seccomp::Known::kUnknown)
            << "@" << g[i].name << ": " << w << " is no system call libseccomp knows";
      }
    }
  }
  for (const char* must : {"default", "file-system", "io-event", "ipc", "memory", "network-io",
                           "process", "signal", "timer", "privileged", "mount", "module",
                           "reboot", "swap", "raw-io", "obsolete", "basic-io", "sync",
                           "resources", "clock", "debug", "cpu-emulation", "aio",
                           "system-service"})
    EXPECT_TRUE(names.count(must)) << must;
  // Families are groups too.
  std::vector<std::string> all = seccomp::group_names();
  for (const char* must : {"@keyring", "@setuid", "@chown", "@open", "@connect", "@mount"})
    EXPECT_EQ(std::count(all.begin(), all.end(), must), 1) << must;
}

TEST(SyscallGroups, NestedGroupsExpand) {
  const std::set<std::string> service = expanded("@system-service");
  for (const char* inner : {"@default", "@basic-io", "@file-system", "@io-event", "@ipc",
                            "@memory", "@network-io", "@process", "@signal", "@timer", "@sync",
                            "@aio", "@resources", "@chown", "@keyring", "@setuid", "@setgid"})
    for (const std::string& c : expanded(inner))
      EXPECT_TRUE(service.count(c)) << "@system-service lacks " << c << " of " << inner;
  // Two levels down: @system-service > @file-system > @open, > @default > @exec.
  for (const char* c : {"openat", "open_by_handle_at", "execve", "exit_group", "rt_sigreturn",
                        "wait4", "newfstatat", "mprotect", "pkey_mprotect"})
    EXPECT_TRUE(service.count(c)) << c;
  // Never reached: io_uring bypasses seccomp; the rest needs privilege.
  for (const char* c : {"io_uring_setup", "mount", "init_module", "reboot", "ptrace", "bpf",
                        "kexec_load", "swapon", "iopl", "settimeofday"})
    EXPECT_FALSE(service.count(c)) << c;
  // A group with a family's name is the family and more.
  EXPECT_EQ(expanded("@clock"), expanded("@time"));
  EXPECT_EQ(expanded("@reboot"),
            (std::set<std::string>{"reboot", "kexec_load", "kexec_file_load"}));
  std::set<std::string> mount = expanded("@mount");
  for (const char* c : {"mount", "umount2", "fsopen", "fsmount", "fspick", "open_tree_attr",
                        "pivot_root", "chroot"})
    EXPECT_TRUE(mount.count(c)) << c;
  EXPECT_EQ(expanded("@module"),
            (std::set<std::string>{"init_module", "finit_module", "delete_module"}));
  std::set<std::string> privileged = expanded("@privileged");
  for (const std::string& c : mount) EXPECT_TRUE(privileged.count(c)) << c;
  for (const char* c : {"setuid", "setgroups", "fchown", "acct", "swapoff", "ioperm"})
    EXPECT_TRUE(privileged.count(c)) << c;
}

// A group denied alone must be accepted: so it must hold a family whole
// (seccomp::check refuses to deny part of one).
TEST(SyscallGroups, GroupsHoldWholeFamilies) {
  for (const std::string& g : seccomp::group_names()) {
    const std::set<std::string> calls = expanded(g);
    for (const std::string& c : calls) {
      const seccomp::Group* fam = seccomp::family_of(c);
      if (!fam) continue;
      for (size_t m = 0; m < fam->n; ++m)
        EXPECT_TRUE(calls.count(fam->members[m].name))
            << g << " has " << c << " but not " << fam->members[m].name << " (@" << fam->name
            << ")";
    }
  }
}

TEST(SyscallGroups, EveryGroupCanBeDeniedOrAllowed) {
  testing::FakeSystem sys;
  for (const std::string& g : seccomp::group_names()) {
    const std::set<std::string> calls = expanded(g);
    Options o;
    o.seccomp_deny = {g};
    if (calls.count("execve")) {
      EXPECT_EQ(error_of(o),
                "--seccomp-deny " + g +
                    ": boxjail execs PROGRAM after the filter is in place; execve cannot be "
                    "denied" +
                    (g == "@exec" ? "" : " (" + g + " holds it: deny the group's other calls by "
                                         "name, from boxjail --list-syscall-groups=" + g + ")"));
    } else {
      LaunchPlan plan;
      PlanError err;
      ASSERT_TRUE(build(o, sys, &plan, &err)) << g << ": " << err.msg;
      std::set<std::string> denied;
      for (const auto& r : plan.seccomp.rules)
        if (!r.allow && r.from == "--seccomp-deny " + g) denied.insert(r.name);
      EXPECT_EQ(denied, calls) << g;
    }
    Options a;
    a.seccomp_allow = {"execve," + g};
    LaunchPlan plan;
    PlanError err;
    ASSERT_TRUE(build(a, sys, &plan, &err)) << g << ": " << err.msg;
    std::set<std::string> allowed, want;
    for (const auto& r : plan.seccomp.rules)
      if (r.allow && r.from == "--seccomp-allow execve," + g) allowed.insert(r.name);
    std::vector<seccomp::GroupCall> members;
    ASSERT_TRUE(seccomp::expand_group(g, &members));
    for (const auto& c : members)
      if (c.arg < 0) want.insert(c.name);  // a conditional member is not allowed whole
    want.insert("execve");
    EXPECT_EQ(allowed, want) << g;
  }
}

TEST(SyscallGroups, OtherArchitecturesNamesAreSkippedInAGroupAndRefusedAlone) {
  if (!on_x86_64()) GTEST_SKIP() << "the names of other architectures checked here are x86-64's";
  // libseccomp knows these from i386 and arm, not on x86-64.
  for (const char* c : {"socketcall", "ugetrlimit", "waitpid", "send", "mmap2", "_llseek"}) {
    EXPECT_EQ(seccomp::classify_syscall(c), seccomp::Known::kOtherArch) << c;
    EXPECT_EQ(seccomp::resolve_syscall(c), -1) << c;
  }
  EXPECT_EQ(seccomp::classify_syscall("getpid"), seccomp::Known::kNative);
  EXPECT_EQ(seccomp::classify_syscall("statmount"), seccomp::Known::kNative);
  EXPECT_EQ(seccomp::classify_syscall("no_such_call"), seccomp::Known::kUnknown);
  EXPECT_STREQ(seccomp::native_arch(), "x86_64");

  // A table of our own, through the same expansion the flags use.
  const seccomp::SyscallGroup table[] = {
      {"test", "a test", "getpid socketcall ugetrlimit waitpid @wait @inner"},
      {"inner", "nested", "send gettid"},
      {"loop", "nests itself", "getpid @loop2"},
      {"loop2", "and back", "@loop"},
  };
  std::vector<seccomp::GroupCall> calls;
  ASSERT_TRUE(seccomp::expand_group("@test", table, 4, &calls));
  std::vector<std::string> order;
  for (const auto& c : calls) order.push_back(c.name);
  EXPECT_EQ(order, (std::vector<std::string>{"getpid", "wait4", "waitid", "gettid"}));
  EXPECT_FALSE(seccomp::expand_group("@loop", table, 4, &calls));
  EXPECT_FALSE(seccomp::expand_group("@nope", table, 4, &calls));

  // The built-in table names them too, and skips them here.
  size_t n = 0;
  const seccomp::SyscallGroup* g = seccomp::syscall_groups(&n);
  auto table_has = [&](const char* group, const char* call) {
    for (size_t i = 0; i < n; ++i)
      if (std::string(g[i].name) == group) {
        std::vector<std::string> w = words(g[i].members);
        return std::find(w.begin(), w.end(), call) != w.end();
      }
    return false;
  };
  ASSERT_TRUE(table_has("network-io", "socketcall"));
  ASSERT_TRUE(table_has("default", "ugetrlimit"));
  ASSERT_TRUE(table_has("process", "waitpid"));
  EXPECT_FALSE(expanded("@network-io").count("socketcall"));
  EXPECT_FALSE(expanded("@default").count("ugetrlimit"));
  EXPECT_FALSE(expanded("@process").count("waitpid"));
  Options o;
  o.seccomp_deny = {"@network-io:ENOSYS"};
  testing::FakeSystem sys;
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  std::set<std::string> denied;
  for (const auto& r : plan.seccomp.rules)
    if (!r.allow && r.err == ENOSYS) denied.insert(r.name);
  EXPECT_TRUE(denied.count("socket"));
  EXPECT_TRUE(denied.count("recvmmsg"));
  EXPECT_FALSE(denied.count("socketcall"));

  // Named alone, each is refused, naming the flag.
  Options d;
  d.seccomp_deny = {"socketcall"};
  EXPECT_EQ(error_of(d),
            "--seccomp-deny socketcall: socketcall does not exist on x86_64 (it is a system call "
            "of other architectures); leave it out");
  Options a;
  a.seccomp_allow = {"execve,ugetrlimit"};
  EXPECT_EQ(error_of(a),
            "--seccomp-allow execve,ugetrlimit: ugetrlimit does not exist on x86_64 (it is a "
            "system call of other architectures); leave it out");
  d.seccomp_deny = {"waitpid:ENOSYS"};
  EXPECT_EQ(error_of(d),
            "--seccomp-deny waitpid:ENOSYS: waitpid does not exist on x86_64 (it is a system call "
            "of other architectures); leave it out");
  d.seccomp_deny = {"no_such_call"};
  EXPECT_EQ(error_of(d),
            "--seccomp-deny no_such_call: unknown system call 'no_such_call' on this architecture");
}

TEST(SyscallGroups, UnknownGroupsAreRefusedNamingTheFlag) {
  Options d;
  d.seccomp_deny = {"@nope"};
  EXPECT_EQ(error_of(d),
            "--seccomp-deny @nope: unknown group '@nope' (boxjail --list-syscall-groups lists the "
            "groups and families)");
  Options a;
  a.seccomp_allow = {"execve,@file-systems"};
  EXPECT_EQ(error_of(a),
            "--seccomp-allow execve,@file-systems: unknown group '@file-systems'; did you mean "
            "@file-system?");
  std::string out, err;
  EXPECT_FALSE(seccomp::list_groups("@nope", &out, &err));
  EXPECT_EQ(err,
            "--list-syscall-groups=@nope: unknown group (boxjail --list-syscall-groups lists "
            "them)");
  EXPECT_FALSE(seccomp::list_groups("", &out, &err));
}

TEST(SyscallGroups, ListingShowsEveryGroupOnceAndExpandsOne) {
  std::string out, err;
  ASSERT_TRUE(seccomp::list_groups("all", &out, &err)) << err;
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  const std::vector<std::string> names = seccomp::group_names();
  ASSERT_EQ(lines.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_EQ(lines[i].rfind(names[i] + ": ", 0), 0u) << lines[i];
  auto line_of = [&](const std::string& name) {
    for (const auto& l : lines)
      if (l.rfind(name + ":", 0) == 0) return l;
    return std::string();
  };
  EXPECT_EQ(line_of("@clock"), "@clock: @time");  // stime is i386's
  EXPECT_EQ(line_of("@reboot"), "@reboot: reboot @kexec");
  EXPECT_EQ(line_of("@module"), "@module: init_module finit_module delete_module");
  EXPECT_EQ(line_of("@connect"),
            "@connect: connect sendto(MSG_FASTOPEN) sendmsg(MSG_FASTOPEN) sendmmsg(MSG_FASTOPEN)");
  EXPECT_EQ(line_of("@network-io").find("socketcall"), std::string::npos);
  EXPECT_NE(line_of("@system-service").find(" @default "), std::string::npos);

  ASSERT_TRUE(seccomp::list_groups("@reboot", &out, &err));
  EXPECT_EQ(out, "kexec_file_load\nkexec_load\nreboot\n");
  ASSERT_TRUE(seccomp::list_groups("reboot", &out, &err));
  EXPECT_EQ(out, "kexec_file_load\nkexec_load\nreboot\n");
  ASSERT_TRUE(seccomp::list_groups("@connect", &out, &err));
  EXPECT_EQ(out, "connect\nsendmmsg(MSG_FASTOPEN)\nsendmsg(MSG_FASTOPEN)\nsendto(MSG_FASTOPEN)\n");
  // Nested groups come out as plain calls, each once.
  ASSERT_TRUE(seccomp::list_groups("@system-service", &out, &err));
  EXPECT_EQ(out.find('@'), std::string::npos);
  EXPECT_NE(out.find("\nopenat\n"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'),
            static_cast<long>(expanded("@system-service").size()));
}

TEST(SyscallGroups, TheManPageHasTheGroupTable) {
  std::ifstream in(std::string(BOXJAIL_SOURCE_DIR) + "/man/boxjail.1");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string man;
  for (char c : ss.str())  // "\-" is "-", "\(aq" is "'"
    if (c != '\\') man += c;
  const size_t section = man.find(".SS System call groups\n");
  ASSERT_NE(section, std::string::npos);
  const size_t end = man.find("\n.S", section + 1);
  const std::string table = man.substr(section, end - section);
  size_t n = 0;
  const seccomp::SyscallGroup* g = seccomp::syscall_groups(&n);
  for (size_t i = 0; i < n; ++i) {
    const std::string head = std::string(".TP\n.B @") + g[i].name + "\n";
    size_t at = table.find(head);
    ASSERT_NE(at, std::string::npos) << g[i].name;
    size_t next = table.find(".TP", at + 1);
    const std::string entry = table.substr(at, next == std::string::npos ? next : next - at);
    if (seccomp::find_group(g[i].name)) {
      EXPECT_NE(entry.find(std::string("@") + g[i].name + " family"), std::string::npos)
          << "@" << g[i].name << " does not say it extends the family";
    }
    for (const std::string& w : words(g[i].members)) {
      if (w[0] != '@' && seccomp::resolve_syscall(w) < 0) continue;  // not a call here
      EXPECT_NE(entry.find(" " + w), std::string::npos) << "@" << g[i].name << " lacks " << w;
    }
  }
  // The families under their own heading, the groups under this one.
  EXPECT_LT(man.find(".SS Families of system calls"), section);
}

}  // namespace
}  // namespace boxjail

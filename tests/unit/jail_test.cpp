// The jail's decisions (jail.h), the system call families and groups
// (seccomp_groups.h) and what a confined plan holds, through build_plan()
// with a fake system. What the filters do to a real process is tested in
// tests/integration/jail_test.cpp.
#include "boxjail/jail.h"

#include <gtest/gtest.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/socket.h>

#include <fstream>
#include <set>
#include <sstream>

#include "boxjail/plan.h"
#include "boxjail/seccomp_groups.h"
#include "fake_system.h"

namespace boxjail {
namespace {

bool build(Options o, testing::FakeSystem& sys, LaunchPlan* plan, PlanError* err) {
  if (o.command.empty()) o.command = {"/bin/true"};
  return build_plan(o, sys, "/usr/bin:/bin", nullptr, plan, err);
}

std::string error_of(const Options& o, testing::FakeSystem& sys) {
  LaunchPlan plan;
  PlanError err;
  EXPECT_FALSE(build(o, sys, &plan, &err));
  EXPECT_EQ(err.exit_code, 125) << err.msg;
  return err.msg;
}

bool has_rule(const std::vector<seccomp::Rule>& rules, const std::string& text) {
  for (const auto& r : rules)
    if (seccomp::describe(r) + " -> " + seccomp::errno_name(r.err) == text) return true;
  return false;
}

TEST(Jail, OnlyConfiningFlagsConfine) {
  Options o;
  o.rlimits = {"nofile=64"};
  o.has_pidfile = true;
  o.detach = true;
  EXPECT_FALSE(jail::confines(o));
  for (auto set : std::vector<void (*)(Options&)>{
           [](Options& x) { x.fs_ro = {"/"}; }, [](Options& x) { x.net_deny = true; },
           [](Options& x) { x.scopes = {"signal"}; },
           [](Options& x) { x.seccomp_deny = {"bpf"}; },
           [](Options& x) { x.has_user = true; }, [](Options& x) { x.cap_drop = {"all"}; },
           [](Options& x) { x.no_new_privs = true; }}) {
    Options c;
    set(c);
    EXPECT_TRUE(jail::confines(c));
  }
}

TEST(Jail, PreparingOnlyAddsNothing) {
  testing::FakeSystem sys;
  Options o;
  o.rlimits = {"nofile=64"};
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  EXPECT_FALSE(plan.jail.active);
  EXPECT_FALSE(plan.landlock.active);
  EXPECT_FALSE(plan.identity.active);
  EXPECT_FALSE(plan.no_new_privs);
  EXPECT_FALSE(plan.pdeath_supervisor);
}

TEST(Jail, ConfinedPlanHoldsEveryDefault) {
  testing::FakeSystem sys;  // an ordinary user, Landlock ABI 7
  Options o;
  o.no_new_privs = true;
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  EXPECT_TRUE(plan.jail.active);
  EXPECT_TRUE(has_rule(plan.jail.rules, "ioctl if (int)args[1] == 21522 -> EPERM"));  // TIOCSTI
  EXPECT_TRUE(has_rule(plan.jail.rules, "ioctl if (int)args[1] == 21532 -> EPERM"));  // TIOCLINUX
  EXPECT_FALSE(plan.jail.io_uring);  // no deny list, no network rules
  EXPECT_FALSE(plan.jail.program.empty());
  // A domain of its own, scoped.
  EXPECT_TRUE(plan.landlock.active);
  EXPECT_EQ(plan.landlock.scoped, landlock::kScopeAbstractUnix | landlock::kScopeSignal);
  EXPECT_TRUE(plan.pdeath_supervisor);
  // Every capability is dropped.
  EXPECT_NE(plan.identity.child.drop, 0u);
  EXPECT_EQ(plan.identity.child.keep, 0u);
  EXPECT_TRUE(plan.no_new_privs);
}

// The errno of a raw ioctl(fd, request) in a child that first loads
// `program` (when given): the kernel's own answer, not the rule list's.
int ioctl_errno_under(const std::vector<sock_filter>* program, unsigned long request) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    if (program) {
      sock_fprog prog{static_cast<unsigned short>(program->size()),
                      const_cast<sock_filter*>(program->data())};
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
          syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        _exit(255);
    }
    char c = 'x';
    long rc = syscall(SYS_ioctl, fds[0], request, &c);
    _exit(rc == 0 ? 0 : errno);
  }
  close(fds[0]);
  close(fds[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Jail, TheExportedFilterDeniesTiocstiAndTioclinuxWhateverTheUpperHalf) {
  testing::FakeSystem sys;
  Options o;
  o.no_new_privs = true;
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  // TIOCLINUX needs a virtual console and TIOCSTI a terminal: on a pipe
  // the kernel answers ENOTTY without the filter, and the filter answers
  // EPERM before the driver is asked.
  for (unsigned long req : {0x5412UL, 0x541CUL, 0xdeadbeef00005412UL, 0xdeadbeef0000541CUL}) {
    EXPECT_EQ(ioctl_errno_under(nullptr, req), ENOTTY) << std::hex << req;
    EXPECT_EQ(ioctl_errno_under(&plan.jail.program, req), EPERM) << std::hex << req;
  }
  // Every other request reaches the driver as before.
  EXPECT_EQ(ioctl_errno_under(&plan.jail.program, 0x5413UL /* TIOCGWINSZ */), ENOTTY);
  EXPECT_EQ(ioctl_errno_under(&plan.jail.program, 0x1005412UL), ENOTTY);
}

TEST(Jail, DomainWithoutScopesOnOlderAbi) {
  testing::FakeSystem sys;
  sys.abi = 2;  // Debian 12's 6.1
  Options o;
  o.no_new_privs = true;
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  EXPECT_TRUE(plan.landlock.active);
  EXPECT_TRUE(plan.landlock.domain_only);
  EXPECT_EQ(plan.landlock.scoped, 0u);
  EXPECT_EQ(plan.landlock.handled_fs, landlock::kMakeBlock);
  // No Landlock at all: no domain, and no refusal (nothing was asked of it).
  sys.abi = -38;
  LaunchPlan none;
  ASSERT_TRUE(build(o, sys, &none, &err)) << err.msg;
  EXPECT_FALSE(none.landlock.active);
}

TEST(Jail, ScopeNoneAndExplicitScopes) {
  testing::FakeSystem sys;
  Options o;
  o.scopes = {"none"};
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  EXPECT_EQ(plan.landlock.scoped, 0u);
  EXPECT_TRUE(plan.landlock.domain_only);
  o.scopes = {"none", "signal"};
  EXPECT_EQ(error_of(o, sys), "--scope none cannot be combined with --scope signal");
}

TEST(Jail, UidZero) {
  EXPECT_TRUE(jail::is_host_root(0, "         0          0 4294967295\n"));
  EXPECT_TRUE(jail::is_host_root(0, ""));
  EXPECT_FALSE(jail::is_host_root(0, "         0       1000          1\n"));
  EXPECT_FALSE(jail::is_host_root(0, "      1000          0          1\n"));  // 0 unmapped
  EXPECT_TRUE(jail::is_host_root(5, "         0          0          1\n         5          0          1\n"));

  testing::FakeSystem sys;
  sys.euid_value = 0;
  Options o;
  o.fs_ro = {"/"};
  const std::string msg = error_of(o, sys);
  EXPECT_EQ(msg.rfind("--fs-ro: PROGRAM would run as root (uid 0)", 0), 0u) << msg;
  EXPECT_NE(msg.find("--user USER"), std::string::npos);
  EXPECT_NE(msg.find("--user root"), std::string::npos);
  // Inside a user namespace that maps 0 to an ordinary uid: allowed.
  sys.uid_map_text = "         0       1000          1\n";
  LaunchPlan plan;
  PlanError err;
  EXPECT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  // Preparing only, as root: allowed.
  sys.uid_map_text = "         0          0 4294967295\n";
  Options prep;
  prep.rlimits = {"nofile=64"};
  LaunchPlan p2;
  EXPECT_TRUE(build(prep, sys, &p2, &err)) << err.msg;
}

TEST(Jail, NetworkRules) {
  testing::FakeSystem sys;
  Options o;
  o.net_deny = true;
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  EXPECT_EQ(plan.jail.net, jail::Net::kDeny);
  EXPECT_TRUE(plan.jail.io_uring);
  // Every family but unix (1) and netlink (16): 0, 2..15, and 17 up (which
  // also takes any value with an upper bit set).
  EXPECT_TRUE(has_rule(plan.jail.rules, "socket if (int)args[0] == 0 -> EAFNOSUPPORT"));
  EXPECT_TRUE(has_rule(plan.jail.rules, "socket if (int)args[0] == 2 -> EAFNOSUPPORT"));
  EXPECT_TRUE(has_rule(plan.jail.rules, "socket if (int)args[0] == 10 -> EAFNOSUPPORT"));
  EXPECT_TRUE(has_rule(plan.jail.rules, "socket if (int)args[0] == 15 -> EAFNOSUPPORT"));
  EXPECT_TRUE(has_rule(plan.jail.rules, "socket if args[0] >= 17 -> EAFNOSUPPORT"));
  EXPECT_FALSE(has_rule(plan.jail.rules, "socket if (int)args[0] == 1 -> EAFNOSUPPORT"));
  EXPECT_FALSE(has_rule(plan.jail.rules, "socket if (int)args[0] == 16 -> EAFNOSUPPORT"));
  EXPECT_TRUE(has_rule(plan.jail.rules, "sendto if args[3] & 0x20000000 -> EACCES"));
  EXPECT_TRUE(has_rule(plan.jail.rules, "sendmsg if args[2] & 0x20000000 -> EACCES"));
  EXPECT_TRUE(has_rule(plan.jail.rules,
                       "setsockopt if (int)args[1] == 6 && (int)args[2] == 30 -> EACCES"));
  EXPECT_TRUE(has_rule(plan.jail.rules, "io_uring_setup -> EPERM"));

  Options t;
  t.net_connect = {"443"};
  LaunchPlan tcp;
  ASSERT_TRUE(build(t, sys, &tcp, &err)) << err.msg;
  EXPECT_EQ(tcp.jail.net, jail::Net::kTcp);
  EXPECT_FALSE(has_rule(tcp.jail.rules, "socket if (int)args[0] == 2 -> EAFNOSUPPORT"));
  // AF_INET: stream only, TCP only (MPTCP is 262, SCTP 132).
  EXPECT_TRUE(has_rule(tcp.jail.rules,
                       "socket if (int)args[0] == 2 && (args[1] & 0xf) == 2 -> EPROTONOSUPPORT"));
  EXPECT_TRUE(has_rule(tcp.jail.rules, "socket if (int)args[0] == 10 && (args[1] & 0xf) == 3 -> "
                                       "EPROTONOSUPPORT"));
  EXPECT_TRUE(has_rule(tcp.jail.rules, "socket if (int)args[0] == 2 && (args[1] & 0xf) == 1 && "
                                       "args[2] >= 7 -> EPROTONOSUPPORT"));
  EXPECT_TRUE(has_rule(tcp.jail.rules, "socket if (int)args[0] == 2 && (args[1] & 0xf) == 1 && "
                                       "(int)args[2] == 1 -> EPROTONOSUPPORT"));
  t.net_allow_udp = true;
  LaunchPlan udp;
  ASSERT_TRUE(build(t, sys, &udp, &err)) << err.msg;
  EXPECT_FALSE(has_rule(udp.jail.rules,
                        "socket if (int)args[0] == 2 && (args[1] & 0xf) == 2 -> EPROTONOSUPPORT"));
  EXPECT_TRUE(has_rule(udp.jail.rules, "socket if (int)args[0] == 2 && (args[1] & 0xf) == 2 && "
                                       "args[2] >= 18 -> EPROTONOSUPPORT"));

  Options bad;
  bad.net_allow_udp = true;
  bad.net_deny = true;
  EXPECT_EQ(error_of(bad, sys),
            "--net-allow-udp needs --net-bind or --net-connect (--net-deny allows no network at "
            "all)");
  Options keep;
  keep.net_deny = true;
  keep.seccomp_deny = {"bpf"};
  keep.seccomp_keep_io_uring = true;
  EXPECT_EQ(error_of(keep, sys),
            "--seccomp-keep-io-uring cannot be combined with --net-deny: io_uring makes sockets "
            "(IORING_OP_SOCKET) that the socket rules do not see");
}

TEST(Jail, IoUringGoesWithDenyLists) {
  testing::FakeSystem sys;
  Options o;
  o.seccomp_deny = {"bpf"};
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err)) << err.msg;
  EXPECT_TRUE(plan.jail.io_uring);
  o.seccomp_keep_io_uring = true;
  LaunchPlan kept;
  ASSERT_TRUE(build(o, sys, &kept, &err)) << err.msg;
  EXPECT_FALSE(kept.jail.io_uring);
  Options alone;
  alone.seccomp_keep_io_uring = true;
  EXPECT_EQ(error_of(alone, sys),
            "--seccomp-keep-io-uring needs a deny list (--seccomp-deny, or deny lines in "
            "--seccomp-profile): io_uring is only denied along with one");
  // An allowlist that allows io_uring keeps it; one that does not kills it.
  Options allow;
  allow.seccomp_allow = {"execve,exit_group,io_uring_setup"};
  LaunchPlan a;
  ASSERT_TRUE(build(allow, sys, &a, &err)) << err.msg;
  EXPECT_FALSE(a.jail.io_uring);
}

TEST(SyscallGroups, EveryMemberResolvesAndBelongsOnce) {
  size_t n = 0;
  const seccomp::Group* g = seccomp::groups(&n);
  ASSERT_GT(n, 20u);
  std::set<std::string> seen;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(seccomp::find_group(std::string("@") + g[i].name), &g[i]);
    EXPECT_GE(g[i].n, 2u) << g[i].name;
    for (size_t m = 0; m < g[i].n; ++m) {
      const auto& mem = g[i].members[m];
      EXPECT_GE(seccomp::resolve_syscall(mem.name), 0) << mem.name;
      if (mem.arg >= 0) continue;
      EXPECT_TRUE(seen.insert(mem.name).second) << mem.name << " in two families";
      EXPECT_EQ(seccomp::family_of(mem.name), &g[i]);
    }
  }
  EXPECT_EQ(seccomp::resolve_syscall("setxattrat"), 463);  // newer than libseccomp 2.5.4
  EXPECT_EQ(seccomp::resolve_syscall("no_such_call"), -1);
  EXPECT_EQ(seccomp::find_group("@nope"), nullptr);
}

TEST(SyscallGroups, TheManPageListsEveryGroupAndItsMembers) {
  std::ifstream in(std::string(BOXJAIL_SOURCE_DIR) + "/man/boxjail.1");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string man;
  for (char c : ss.str())  // "\-" is "-", "\(aq" is "'"
    if (c != '\\') man += c;
  ASSERT_FALSE(man.empty());
  size_t n = 0;
  const seccomp::Group* g = seccomp::groups(&n);
  for (size_t i = 0; i < n; ++i) {
    const std::string head = std::string(".B @") + g[i].name + "\n";
    size_t at = man.find(head);
    ASSERT_NE(at, std::string::npos) << g[i].name;
    const std::string entry = man.substr(at, man.find(".TP", at) - at);
    for (size_t m = 0; m < g[i].n; ++m)
      EXPECT_NE(entry.find(g[i].members[m].name), std::string::npos)
          << "@" << g[i].name << " lacks " << g[i].members[m].name;
  }
}

TEST(Jail, LeftoversWarningAsRoot) {
  testing::FakeSystem sys;
  sys.euid_value = 0;
  Options o;
  o.has_user = true;
  o.user = "0";
  o.signal_group = true;
  LaunchPlan plan;
  PlanError err;
  if (!build(o, sys, &plan, &err)) GTEST_SKIP() << "--user 0 needs CAP_SETUID: " << err.msg;
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0],
            "--signal-group does not hold a PROGRAM that calls setpgid() or ignores SIGTERM; "
            "--cgroup PATH holds every descendant");
  o.has_cgroup = false;
  sys.euid_value = 1000;
  LaunchPlan plain;
  o.has_user = false;
  o.no_new_privs = true;
  ASSERT_TRUE(build(o, sys, &plain, &err)) << err.msg;
  EXPECT_TRUE(plain.warnings.empty());
}

TEST(SyscallGroups, DenyListsTakeWholeFamilies) {
  testing::FakeSystem sys;
  Options o;
  o.seccomp_deny = {"openat"};
  EXPECT_EQ(error_of(o, sys),
            "--seccomp-deny openat: open, openat2, creat, open_by_handle_at also open a file; deny "
            "them too, or deny the whole family as @open");
  o.seccomp_deny = {"clone,clone3"};
  EXPECT_EQ(error_of(o, sys),
            "--seccomp-deny clone,clone3: fork, vfork also create a process or thread; deny them "
            "too, or deny the whole family as @clone");
  o.seccomp_deny = {"connect"};
  EXPECT_EQ(error_of(o, sys),
            "--seccomp-deny connect: sendto (with MSG_FASTOPEN), sendmsg (with MSG_FASTOPEN), "
            "sendmmsg (with MSG_FASTOPEN) also open a connection (TCP Fast Open connects through "
            "sendto and sendmsg); deny them too, or deny the whole family as @connect");
  o.seccomp_deny = {"@nothing"};
  EXPECT_EQ(error_of(o, sys),
            "--seccomp-deny @nothing: unknown group '@nothing' (boxjail --list-syscall-groups "
            "lists the groups and families)");
  // The whole family, by name or as a group; sendto alone is no family.
  for (const char* ok : {"open,openat,openat2,creat,open_by_handle_at", "@open", "@open:EACCES",
                         "sendto", "@connect", "@clone"}) {
    o.seccomp_deny = {ok};
    LaunchPlan plan;
    PlanError err;
    EXPECT_TRUE(build(o, sys, &plan, &err)) << ok << ": " << err.msg;
  }
  o.seccomp_deny = {"@connect"};
  LaunchPlan plan;
  PlanError err;
  ASSERT_TRUE(build(o, sys, &plan, &err));
  EXPECT_TRUE(has_rule(plan.seccomp.rules, "connect -> EPERM"));
  EXPECT_TRUE(has_rule(plan.seccomp.rules, "sendto if args[3] & 0x20000000 -> EPERM"));
  EXPECT_FALSE(has_rule(plan.seccomp.rules, "sendto -> EPERM"));
  // An allowlist takes a group's calls whole.
  Options a;
  a.seccomp_allow = {"execve,exit_group,@connect"};
  LaunchPlan ap;
  ASSERT_TRUE(build(a, sys, &ap, &err)) << err.msg;
  bool sendto_allowed = false;
  for (const auto& r : ap.seccomp.rules) sendto_allowed |= r.allow && r.name == "sendto" && r.conds.empty();
  EXPECT_FALSE(sendto_allowed);  // conditional members are not allowed whole
}

TEST(SyscallGroups, Clone3GetsEnosysWhereCloneIsFiltered) {
  std::vector<seccomp::Rule> rules = {
      {"clone", seccomp::resolve_syscall("clone"), false, EPERM, "test",
       {{0, seccomp::Cond::Op::kMaskedEq, 0x10000000, 0x10000000}}}};
  std::vector<sock_filter> with, without;
  std::string err;
  ASSERT_TRUE(seccomp::compile(0x7fff0000U /*allow*/, rules, &with, &err)) << err;
  rules.push_back({"clone3", seccomp::resolve_syscall("clone3"), false, EPERM, "test", {}});
  ASSERT_TRUE(seccomp::compile(0x7fff0000U, rules, &without, &err)) << err;
  // Both name clone3 now: the first by the ENOSYS rule compile() added.
  bool enosys = false;
  for (const auto& ins : with) enosys |= ins.k == (0x00050000U | ENOSYS);  // SECCOMP_RET_ERRNO
  EXPECT_TRUE(enosys);
  bool enosys2 = false;
  for (const auto& ins : without) enosys2 |= ins.k == (0x00050000U | ENOSYS);
  EXPECT_FALSE(enosys2);
}

TEST(Identity, RootEquivalentCapabilities) {
  testing::FakeSystem sys;
  Options o;
  o.has_user = true;
  o.user = "0";
  o.cap_keep = {"dac_override"};
  const std::string msg = error_of(o, sys);
  if (msg.find("needs CAP_SETUID and CAP_SETGID") != std::string::npos)
    GTEST_SKIP() << "--user 0 needs CAP_SETUID and CAP_SETGID, which this test process lacks";
  EXPECT_EQ(msg,
            "--cap-keep cap_dac_override amounts to root (reading and writing every file whatever "
            "its mode); add --cap-keep-root-equivalent to keep it knowingly")
      << msg;
  Options lone;
  lone.cap_keep_root_equivalent = true;
  lone.has_user = true;
  lone.user = "0";
  EXPECT_EQ(error_of(lone, sys), "--cap-keep-root-equivalent needs --cap-keep");
  size_t n = 0;
  const RootCap* caps = root_equivalent_caps(&n);
  std::set<std::string> names;
  for (size_t i = 0; i < n; ++i) names.insert(cap_name(caps[i].cap));
  for (const char* must : {"cap_sys_admin", "cap_sys_module", "cap_sys_rawio", "cap_sys_ptrace",
                           "cap_setfcap", "cap_setuid", "cap_setgid", "cap_setpcap",
                           "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_chown",
                           "cap_mknod", "cap_bpf", "cap_sys_boot"})
    EXPECT_TRUE(names.count(must)) << must;
  EXPECT_FALSE(names.count("cap_net_admin"));
  EXPECT_FALSE(names.count("cap_net_raw"));
}

TEST(Identity, UserImpliesNoNewPrivsUnlessAllowed) {
  testing::FakeSystem sys;
  Options o;
  o.has_user = true;
  o.user = "0";
  o.allow_new_privs = true;
  o.no_new_privs = true;
  EXPECT_EQ(error_of(o, sys), "--allow-new-privs cannot be combined with --no-new-privs");
  Options a;
  a.allow_new_privs = true;
  EXPECT_EQ(error_of(a, sys),
            "--allow-new-privs needs --user (it undoes the no_new_privs --user implies)");
}

TEST(Identity, SecurebitsAreNamedAndCheckedBeforeAnythingStarts) {
  testing::FakeSystem sys;
  auto with = [](std::vector<std::string> bits) {
    Options o;
    o.has_user = true;
    o.user = "0";
    o.securebits = std::move(bits);
    return o;
  };
  LaunchPlan plan;
  PlanError perr;
  const bool ok = build(with({"noroot"}), sys, &plan, &perr);
  const std::string setpcap = ok ? "" : perr.msg;
  if (setpcap.find("needs CAP_SETPCAP") != std::string::npos) {
    // The refusal itself is what a process without CAP_SETPCAP must see.
    EXPECT_EQ(setpcap,
              "--securebits noroot: setting the securebits needs CAP_SETPCAP, which boxjail does "
              "not have (run it as root, or leave --securebits out: a PROGRAM that is not root "
              "gains nothing from them)");
    GTEST_SKIP() << "the rest needs CAP_SETPCAP, which this test process lacks";
  }
  if (setpcap.find("needs CAP_SETUID and CAP_SETGID") != std::string::npos)
    GTEST_SKIP() << "--user 0 needs CAP_SETUID and CAP_SETGID, which this test process lacks";
  EXPECT_EQ(setpcap, "");
  EXPECT_EQ(error_of(with({"noroot,nroot"}), sys),
            "--securebits noroot,nroot: unknown securebit 'nroot' (one of noroot, noroot_locked, "
            "no_setuid_fixup, no_setuid_fixup_locked, keep_caps_locked, no_cap_ambient_raise, "
            "no_cap_ambient_raise_locked)");
  EXPECT_EQ(error_of(with({"keep_caps"}), sys),
            "--securebits keep_caps: keep_caps is cleared by every execve, so it would never "
            "reach PROGRAM (--cap-keep keeps capabilities across --user)");
  Options keep = with({"no_cap_ambient_raise"});
  keep.cap_keep = {"net_admin"};
  EXPECT_EQ(error_of(keep, sys),
            "--securebits no_cap_ambient_raise: no_cap_ambient_raise cannot be combined with "
            "--cap-keep (the kept capabilities reach PROGRAM through the ambient set)");
  LaunchPlan both;
  ASSERT_TRUE(build(with({"SECBIT_NOROOT", "no_cap_ambient_raise_locked"}), sys, &both, &perr))
      << perr.msg;
  // boxjail's five, and the one asked for (NOROOT is among the five).
  EXPECT_EQ(both.identity.child.securebits, 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x80);
}

}  // namespace
}  // namespace boxjail

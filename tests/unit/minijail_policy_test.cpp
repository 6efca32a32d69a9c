// minijail policy lines (minijail_policy.h): each operator and each kind
// of constant, what is refused with the exact message, and the BPF that
// seccomp::compile() makes of the rules, run here on a small interpreter
// of classic BPF over struct seccomp_data. The end-to-end run is in
// tests/integration/minijail_policy_test.cpp.
#include "boxjail/minijail_policy.h"

#include <asm/ioctls.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "boxjail/seccomp.h"
#include "seccomp/bpf_run.h"

namespace boxjail {
namespace {

using minijail::PolicyRule;
using seccomp::Cond;

std::vector<PolicyRule> rules_of(const std::string& line) {
  std::vector<PolicyRule> out;
  std::string err;
  EXPECT_TRUE(minijail::parse_line(line, "p.policy:3", &out, &err)) << line << ": " << err;
  return out;
}

std::string error_of(const std::string& line) {
  std::vector<PolicyRule> out;
  std::string err;
  EXPECT_FALSE(minijail::parse_line(line, "p.policy:3", &out, &err)) << line;
  return err;
}

std::string described(const std::vector<PolicyRule>& rs) {
  std::string d;
  for (const auto& r : rs) {
    if (!d.empty()) d += "; ";
    d += seccomp::describe({r.name, 0, r.allow, r.err, "", r.conds});
    d += r.allow ? " allow" : " errno " + std::to_string(r.err);
  }
  return d;
}

TEST(MinijailPolicy, RecognisesItsLinesAndNotTheProfileFormat) {
  EXPECT_TRUE(minijail::is_policy_line("read: 1"));
  EXPECT_TRUE(minijail::is_policy_line("read : 1"));
  EXPECT_TRUE(minijail::is_policy_line("@include /usr/share/policy/common.policy"));
  EXPECT_FALSE(minijail::is_policy_line("allow read, write"));
  EXPECT_FALSE(minijail::is_policy_line("deny ptrace:ENOSYS"));
  EXPECT_FALSE(minijail::is_policy_line("default errno:EPERM"));
}

TEST(MinijailPolicy, EachOperator) {
  EXPECT_EQ(described(rules_of("read: 1")), "read allow");
  EXPECT_EQ(described(rules_of("uname: return EPERM")), "uname errno 1");
  EXPECT_EQ(described(rules_of("uname: return 13")), "uname errno 13");
  // ioctl's request is an int: its low 32 bits.
  EXPECT_EQ(described(rules_of("ioctl: arg1 == TCGETS || arg1 == FIONREAD")),
            "ioctl if (int)args[1] == 21505 allow; ioctl if (int)args[1] == 21531 allow");
  // A 64-bit argument is compared whole.
  EXPECT_EQ(described(rules_of("lseek: arg2 == 0")),
            "lseek if (args[2] & 0xffffffffffffffff) == 0 allow");
  EXPECT_EQ(described(rules_of("kill: arg1 != 9")), "kill if args[1] != 9 allow");
  EXPECT_EQ(described(rules_of("read: arg2 < 16")), "read if args[2] < 16 allow");
  EXPECT_EQ(described(rules_of("read: arg2 <= 16")), "read if args[2] <= 16 allow");
  EXPECT_EQ(described(rules_of("read: arg2 > 16")), "read if args[2] > 16 allow");
  EXPECT_EQ(described(rules_of("read: arg2 >= 16")), "read if args[2] >= 16 allow");
  // &: any of the bits, one rule each.
  EXPECT_EQ(described(rules_of("openat: arg2 & O_CREAT|O_TRUNC")),
            "openat if args[2] & 0x40 allow; openat if args[2] & 0x200 allow");
  EXPECT_EQ(described(rules_of("mmap: arg2 in ~PROT_EXEC")),
            "mmap if (args[2] & 0x4) == 0 allow");
  EXPECT_EQ(described(rules_of("mprotect: arg2 in PROT_READ|PROT_WRITE")),
            "mprotect if (args[2] & 0xfffffffffffffffc) == 0 allow");
  // && between arguments: one rule; two bit tests of one argument merge.
  EXPECT_EQ(described(rules_of("socket: arg0 == AF_UNIX && arg1 & SOCK_CLOEXEC")),
            "socket if (int)args[0] == 1 && args[1] & 0x80000 allow");
  EXPECT_EQ(described(rules_of("socket: arg1 & SOCK_CLOEXEC && arg1 & SOCK_NONBLOCK")),
            "socket if args[1] & 0x80800 allow");
  EXPECT_EQ(described(rules_of("socket: arg0 == AF_INET && arg0 == AF_UNIX")), "");  // never
}

TEST(MinijailPolicy, ReturnFailsTheComplement) {
  // Both sides in 64 bits, so that nothing is allowed and denied at once.
  EXPECT_EQ(described(rules_of("socket: arg0 == AF_UNIX; return EAFNOSUPPORT")),
            "socket if (args[0] & 0xffffffffffffffff) == 1 allow; socket if args[0] != 1 "
            "errno 97");
  EXPECT_EQ(described(rules_of("mmap: arg2 in ~PROT_EXEC; return 1")),
            "mmap if (args[2] & 0x4) == 0 allow; mmap if args[2] & 0x4 errno 1");
  EXPECT_EQ(described(rules_of("socket: arg0 == AF_UNIX && arg1 < 3; return EPERM")),
            "socket if (args[0] & 0xffffffffffffffff) == 1 && args[1] < 3 allow; "
            "socket if args[0] != 1 errno 1; socket if args[1] >= 3 errno 1");
}

TEST(MinijailPolicy, Constants) {
  uint64_t v = 0;
  struct {
    const char* name;
    uint64_t value;
  } const kCases[] = {
      {"AF_UNIX", AF_UNIX},         {"SOCK_STREAM", SOCK_STREAM}, {"PROT_EXEC", PROT_EXEC},
      {"MAP_ANONYMOUS", MAP_ANONYMOUS}, {"CLONE_NEWUSER", CLONE_NEWUSER}, {"O_CLOEXEC", O_CLOEXEC},
      {"TCGETS", TCGETS},           {"FIONREAD", FIONREAD},       {"TIOCGWINSZ", TIOCGWINSZ},
      {"KVM_RUN", KVM_RUN},         {"KVM_CREATE_VM", KVM_CREATE_VM},
  };
  for (const auto& c : kCases) {
    EXPECT_TRUE(minijail::constant(c.name, &v)) << c.name;
    EXPECT_EQ(v, c.value) << c.name;
  }
  EXPECT_FALSE(minijail::constant("NOT_A_CONSTANT", &v));
  // Numbers in any base, and | between values.
  EXPECT_EQ(described(rules_of("fcntl: arg1 == 0x10")), "fcntl if (int)args[1] == 16 allow");
  EXPECT_EQ(described(rules_of("fcntl: arg1 == 010")), "fcntl if (int)args[1] == 8 allow");
  EXPECT_EQ(described(rules_of("mmap: arg3 == MAP_PRIVATE|MAP_ANONYMOUS|0x100")),
            "mmap if (int)args[3] == 290 allow");
}

TEST(MinijailPolicy, RefusesWhatItCannotDo) {
  EXPECT_EQ(error_of("@include /usr/share/policy/crosvm/common_device.policy"),
            "p.policy:3: @include is not supported (paste the lines it would bring in, or give "
            "them as another --seccomp-profile line list)");
  EXPECT_EQ(error_of("read: kill"),
            "p.policy:3: the action 'kill' is not supported (write 1 to allow, return ERRNO to "
            "fail the call, or leave the call out to meet the profile's default)");
  EXPECT_EQ(error_of("read:"), "p.policy:3: nothing after 'read:' (write 1 to allow the call)");
  EXPECT_EQ(error_of("read: (arg0 == 1)"),
            "p.policy:3: parentheses are not supported (write the expression as alternatives "
            "joined by ||, each of comparisons joined by &&)");
  EXPECT_EQ(error_of("read: arg6 == 1"), "p.policy:3: expected arg0 to arg5, not 'arg6'");
  EXPECT_EQ(error_of("read: arg0 =~ 1"),
            "p.policy:3: expected ==, !=, <, <=, >, >=, & or in after arg0, not '='");
  EXPECT_EQ(error_of("ioctl: arg1 == TCGETZ"),
            "p.policy:3: unknown constant 'TCGETZ' (boxjail knows AF_*, SOCK_*, PROT_*, MAP_*, "
            "CLONE_*, O_*, F_*, PR_*, MADV_* and the TC*, TIOC*, FIO* and KVM_* ioctls; write its "
            "number instead)");
  EXPECT_EQ(error_of("read: arg0 == 0x1g"),
            "p.policy:3: '0x1g' is not a number (decimal, 0x hexadecimal or 0 octal)");
  EXPECT_EQ(error_of("read: arg0 == 1; return"),
            "p.policy:3: 'return ' needs an errno (a number from 1 to 4095, or a name such as "
            "EPERM)");
  EXPECT_EQ(error_of("read: arg0 & 0"), "p.policy:3: arg0 & 0 never holds (name at least one bit)");
  EXPECT_EQ(error_of("read: arg2 >= 1 && arg2 <= 9"),
            "p.policy:3: two comparisons of arg2 in one alternative, and seccomp takes one per "
            "argument (split it into alternatives joined by ||)");
  EXPECT_EQ(error_of("ioctl: arg1 == TCGETS || arg1 == FIONREAD; return EPERM"),
            "p.policy:3: the complement that '; return' fails has two comparisons of arg1 in one "
            "alternative, and seccomp takes one per argument (drop '; return', and the call "
            "meets the profile's default when the expression does not hold)");
  EXPECT_EQ(error_of("read: arg0 == 1 arg1 == 2"),
            "p.policy:3: expected && or || or ; after a comparison, not 'arg1'");
}

TEST(MinijailPolicy, ParseGivesEachRuleItsLine) {
  std::vector<PolicyRule> out;
  std::vector<std::string> places;
  std::string err;
  ASSERT_TRUE(minijail::parse("# crosvm-like\nread: 1\n\nioctl: arg1 == TCGETS || arg1 == 2\n",
                              "x.policy", &out, &places, &err))
      << err;
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(places, (std::vector<std::string>{"x.policy:2", "x.policy:4", "x.policy:4"}));
  EXPECT_FALSE(minijail::parse("read: 1\nallow write\n", "x.policy", &out, &places, &err));
  EXPECT_EQ(err, "x.policy:2: expected 'NAME: EXPR' (a minijail policy line)");
}

// --- The exported BPF ---

// Runs a classic-BPF seccomp program on one call, as the kernel would.
uint32_t run(const std::vector<sock_filter>& prog, int nr, const uint64_t (&args)[6]) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = AUDIT_ARCH_X86_64;
  for (int i = 0; i < 6; ++i) d.args[i] = args[i];
  uint32_t ret = 0;
  int steps = 0;
  if (bpf_run(prog.data(), prog.size(), &d, &ret, &steps) != 0)
    ADD_FAILURE() << "the program fell off its end or has an instruction not simulated, at "
                  << steps;
  return ret;
}

std::vector<sock_filter> compiled(const std::string& policy) {
  std::vector<PolicyRule> got;
  std::vector<std::string> places;
  std::string err;
  EXPECT_TRUE(minijail::parse(policy, "t.policy", &got, &places, &err)) << err;
  std::vector<seccomp::Rule> rules;
  for (const auto& r : got)
    rules.push_back({r.name, seccomp_syscall_resolve_name(r.name.c_str()), r.allow, r.err,
                     "t.policy", r.conds});
  std::vector<sock_filter> prog;
  EXPECT_TRUE(seccomp::compile(SCMP_ACT_KILL_PROCESS, rules, &prog, &err)) << err;
  return prog;
}

bool has(const std::vector<sock_filter>& prog, uint16_t code, uint32_t k) {
  for (const auto& f : prog)
    if (f.code == code && f.k == k) return true;
  return false;
}

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW, kKill = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t errno_ret(int e) { return SECCOMP_RET_ERRNO | static_cast<uint32_t>(e); }

TEST(MinijailPolicy, CompiledBpfHoldsTheComparisons) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the interpreter's seccomp_data is x86_64's";
#endif
  auto prog = compiled(
      "ioctl: arg1 == TCGETS || arg1 == FIONREAD\n"
      "socket: arg0 == AF_UNIX; return EAFNOSUPPORT\n"
      "mmap: arg2 in ~PROT_EXEC\n"
      "read: arg2 <= 64\n");
  // The comparisons are in the program: ioctl's request as one 32-bit
  // word (only the low half is loaded, offsetof(args[1])), PROT_EXEC as a
  // bit test, AF_UNIX as an equality on both halves.
  EXPECT_TRUE(has(prog, BPF_JMP | BPF_JEQ | BPF_K, TCGETS));
  EXPECT_TRUE(has(prog, BPF_JMP | BPF_JEQ | BPF_K, FIONREAD));
  EXPECT_TRUE(has(prog, BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX));
  EXPECT_TRUE(has(prog, BPF_RET | BPF_K, errno_ret(EAFNOSUPPORT)));
  const int ioctl_nr = SCMP_SYS(ioctl), socket_nr = SCMP_SYS(socket), mmap_nr = SCMP_SYS(mmap),
            read_nr = SCMP_SYS(read);
  // And they hold as the rules say.
  EXPECT_EQ(run(prog, ioctl_nr, {0, TCGETS}), kAllow);
  EXPECT_EQ(run(prog, ioctl_nr, {0, FIONREAD}), kAllow);
  EXPECT_EQ(run(prog, ioctl_nr, {0, 0xffffffff00000000ull | TCGETS}), kAllow);  // the kernel's int
  EXPECT_EQ(run(prog, ioctl_nr, {0, TIOCSTI}), kKill);
  EXPECT_EQ(run(prog, socket_nr, {AF_UNIX, SOCK_STREAM}), kAllow);
  EXPECT_EQ(run(prog, socket_nr, {AF_INET, SOCK_STREAM}), errno_ret(EAFNOSUPPORT));
  EXPECT_EQ(run(prog, socket_nr, {0x100000000ull | AF_UNIX}), errno_ret(EAFNOSUPPORT));
  EXPECT_EQ(run(prog, mmap_nr, {0, 4096, PROT_READ | PROT_WRITE}), kAllow);
  EXPECT_EQ(run(prog, mmap_nr, {0, 4096, PROT_READ | PROT_EXEC}), kKill);
  EXPECT_EQ(run(prog, read_nr, {0, 0, 64}), kAllow);
  EXPECT_EQ(run(prog, read_nr, {0, 0, 65}), kKill);
  EXPECT_EQ(run(prog, read_nr, {0, 0, 0x100000000ull}), kKill);
  EXPECT_EQ(run(prog, SCMP_SYS(uname), {}), kKill);
}

TEST(MinijailPolicy, EvaluatorAgreesWithTheNewOperators) {
  // decide() (named denials) reads the same conditions as the filter.
  seccomp::SeccompPlan plan;
  const int kill_nr = SCMP_SYS(kill);
  plan.default_errno = EPERM;
  for (auto [op, datum] : {std::pair{Cond::Op::kNe, 9}, {Cond::Op::kLt, 3}, {Cond::Op::kLe, 3},
                           {Cond::Op::kGt, 20}})
    plan.decided.push_back({"kill", kill_nr, false, EACCES, "t", {{1, op, 0, uint64_t(datum)}}});
  auto verdict = [&](uint64_t sig) {
    const uint64_t args[6] = {1, sig};
    return seccomp::decide(plan, kill_nr, args).err;
  };
  EXPECT_EQ(verdict(5), EACCES);   // != 9
  EXPECT_EQ(verdict(9), EPERM);    // none: the default
  plan.decided.erase(plan.decided.begin());
  EXPECT_EQ(verdict(2), EACCES);   // < 3
  EXPECT_EQ(verdict(3), EACCES);   // <= 3
  EXPECT_EQ(verdict(21), EACCES);  // > 20
  EXPECT_EQ(verdict(10), EPERM);
}

}  // namespace
}  // namespace boxjail

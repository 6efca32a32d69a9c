#include "boxjail/minijail_policy.h"

#include <asm/ioctls.h>
#include <asm/termbits.h>  // struct termios2, for TCGETS2
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <utility>

namespace boxjail::minijail {
namespace {

using seccomp::Cond;

struct Named {
  const char* name;
  uint64_t value;
};

#define BJ_C(n) {#n, static_cast<uint64_t>(n)}
// The families the issue names (AF_*, SOCK_*, PROT_*, MAP_*, CLONE_*, O_*,
// the terminal, file and KVM ioctl requests), and the few fcntl, prctl
// and madvise values crosvm's policies compare.
constexpr Named kConstants[] = {
    BJ_C(AF_UNSPEC), BJ_C(AF_UNIX), BJ_C(AF_LOCAL), BJ_C(AF_INET), BJ_C(AF_INET6),
    BJ_C(AF_NETLINK), BJ_C(AF_PACKET), BJ_C(AF_VSOCK), BJ_C(AF_BLUETOOTH), BJ_C(AF_ALG),
    BJ_C(SOCK_STREAM), BJ_C(SOCK_DGRAM), BJ_C(SOCK_RAW), BJ_C(SOCK_SEQPACKET), BJ_C(SOCK_RDM),
    BJ_C(SOCK_NONBLOCK), BJ_C(SOCK_CLOEXEC),
    BJ_C(PROT_NONE), BJ_C(PROT_READ), BJ_C(PROT_WRITE), BJ_C(PROT_EXEC),
    BJ_C(MAP_SHARED), BJ_C(MAP_PRIVATE), BJ_C(MAP_FIXED), BJ_C(MAP_ANONYMOUS), BJ_C(MAP_ANON),
    BJ_C(MAP_NORESERVE), BJ_C(MAP_POPULATE), BJ_C(MAP_STACK), BJ_C(MAP_GROWSDOWN),
    BJ_C(MAP_FIXED_NOREPLACE), BJ_C(MAP_HUGETLB), BJ_C(MAP_LOCKED),
    BJ_C(CLONE_VM), BJ_C(CLONE_FS), BJ_C(CLONE_FILES), BJ_C(CLONE_SIGHAND), BJ_C(CLONE_PTRACE),
    BJ_C(CLONE_VFORK), BJ_C(CLONE_PARENT), BJ_C(CLONE_THREAD), BJ_C(CLONE_NEWNS),
    BJ_C(CLONE_SYSVSEM), BJ_C(CLONE_SETTLS), BJ_C(CLONE_PARENT_SETTID),
    BJ_C(CLONE_CHILD_CLEARTID), BJ_C(CLONE_DETACHED), BJ_C(CLONE_UNTRACED),
    BJ_C(CLONE_CHILD_SETTID), BJ_C(CLONE_NEWCGROUP), BJ_C(CLONE_NEWUTS), BJ_C(CLONE_NEWIPC),
    BJ_C(CLONE_NEWUSER), BJ_C(CLONE_NEWPID), BJ_C(CLONE_NEWNET), BJ_C(CLONE_IO),
    BJ_C(O_RDONLY), BJ_C(O_WRONLY), BJ_C(O_RDWR), BJ_C(O_ACCMODE), BJ_C(O_CREAT), BJ_C(O_EXCL),
    BJ_C(O_NOCTTY), BJ_C(O_TRUNC), BJ_C(O_APPEND), BJ_C(O_NONBLOCK), BJ_C(O_DSYNC),
    BJ_C(O_SYNC), BJ_C(O_DIRECTORY), BJ_C(O_NOFOLLOW), BJ_C(O_CLOEXEC), BJ_C(O_DIRECT),
    BJ_C(O_LARGEFILE), BJ_C(O_NOATIME), BJ_C(O_PATH), BJ_C(O_TMPFILE),
    BJ_C(F_DUPFD), BJ_C(F_DUPFD_CLOEXEC), BJ_C(F_GETFD), BJ_C(F_SETFD), BJ_C(F_GETFL),
    BJ_C(F_SETFL), BJ_C(F_GETLK), BJ_C(F_SETLK), BJ_C(F_SETLKW), BJ_C(F_ADD_SEALS),
    BJ_C(F_GET_SEALS), BJ_C(FD_CLOEXEC),
    BJ_C(PR_SET_NAME), BJ_C(PR_GET_NAME), BJ_C(PR_SET_PDEATHSIG), BJ_C(PR_SET_NO_NEW_PRIVS),
    BJ_C(PR_GET_NO_NEW_PRIVS), BJ_C(PR_SET_DUMPABLE), BJ_C(PR_GET_DUMPABLE),
    BJ_C(PR_SET_SECCOMP), BJ_C(PR_SET_TIMERSLACK), BJ_C(PR_CAPBSET_READ),
    BJ_C(MADV_NORMAL), BJ_C(MADV_RANDOM), BJ_C(MADV_SEQUENTIAL), BJ_C(MADV_WILLNEED),
    BJ_C(MADV_DONTNEED), BJ_C(MADV_REMOVE), BJ_C(MADV_DONTFORK), BJ_C(MADV_DOFORK),
    BJ_C(MADV_MERGEABLE), BJ_C(MADV_HUGEPAGE), BJ_C(MADV_NOHUGEPAGE), BJ_C(MADV_DONTDUMP),
    BJ_C(MADV_DODUMP), BJ_C(MADV_FREE),
    // <asm/ioctls.h>
    BJ_C(TCGETS), BJ_C(TCSETS), BJ_C(TCSETSW), BJ_C(TCSETSF), BJ_C(TCGETA), BJ_C(TCSETA),
    BJ_C(TCSETAW), BJ_C(TCSETAF), BJ_C(TCSBRK), BJ_C(TCXONC), BJ_C(TCFLSH), BJ_C(TCGETS2),
    BJ_C(TCSETS2), BJ_C(TCSETSW2), BJ_C(TCSETSF2), BJ_C(TIOCEXCL), BJ_C(TIOCNXCL),
    BJ_C(TIOCSCTTY), BJ_C(TIOCGPGRP), BJ_C(TIOCSPGRP), BJ_C(TIOCOUTQ), BJ_C(TIOCSTI),
    BJ_C(TIOCGWINSZ), BJ_C(TIOCSWINSZ), BJ_C(TIOCMGET), BJ_C(TIOCMBIS), BJ_C(TIOCMBIC),
    BJ_C(TIOCMSET), BJ_C(TIOCGSOFTCAR), BJ_C(TIOCSSOFTCAR), BJ_C(TIOCINQ), BJ_C(TIOCLINUX),
    BJ_C(TIOCCONS), BJ_C(TIOCPKT), BJ_C(TIOCNOTTY), BJ_C(TIOCSETD), BJ_C(TIOCGETD),
    BJ_C(TIOCSBRK), BJ_C(TIOCCBRK), BJ_C(TIOCGSID), BJ_C(TIOCGPTN), BJ_C(TIOCSPTLCK),
    BJ_C(TIOCGDEV), BJ_C(TIOCSIG), BJ_C(TIOCVHANGUP), BJ_C(TIOCGPKT), BJ_C(TIOCGPTLCK),
    BJ_C(TIOCGEXCL), BJ_C(TIOCGPTPEER), BJ_C(TIOCSERGETLSR), BJ_C(TIOCMIWAIT),
    BJ_C(TIOCGICOUNT), BJ_C(FIONREAD), BJ_C(FIONBIO), BJ_C(FIONCLEX), BJ_C(FIOCLEX),
    BJ_C(FIOASYNC), BJ_C(FIOQSIZE),
    // <linux/kvm.h>
    BJ_C(KVM_GET_API_VERSION), BJ_C(KVM_CREATE_VM), BJ_C(KVM_GET_MSR_INDEX_LIST),
    BJ_C(KVM_CHECK_EXTENSION), BJ_C(KVM_GET_VCPU_MMAP_SIZE), BJ_C(KVM_CREATE_VCPU),
    BJ_C(KVM_GET_DIRTY_LOG), BJ_C(KVM_SET_USER_MEMORY_REGION), BJ_C(KVM_SET_TSS_ADDR),
    BJ_C(KVM_SET_IDENTITY_MAP_ADDR), BJ_C(KVM_CREATE_IRQCHIP), BJ_C(KVM_IRQ_LINE),
    BJ_C(KVM_GET_IRQCHIP), BJ_C(KVM_SET_IRQCHIP), BJ_C(KVM_CREATE_PIT2), BJ_C(KVM_GET_PIT2),
    BJ_C(KVM_SET_PIT2), BJ_C(KVM_SET_GSI_ROUTING), BJ_C(KVM_IRQFD), BJ_C(KVM_IOEVENTFD),
    BJ_C(KVM_SIGNAL_MSI), BJ_C(KVM_SET_CLOCK), BJ_C(KVM_GET_CLOCK), BJ_C(KVM_RUN),
    BJ_C(KVM_GET_REGS), BJ_C(KVM_SET_REGS), BJ_C(KVM_GET_SREGS), BJ_C(KVM_SET_SREGS),
    BJ_C(KVM_TRANSLATE), BJ_C(KVM_INTERRUPT), BJ_C(KVM_GET_MSRS), BJ_C(KVM_SET_MSRS),
    BJ_C(KVM_SET_SIGNAL_MASK), BJ_C(KVM_GET_FPU), BJ_C(KVM_SET_FPU), BJ_C(KVM_GET_LAPIC),
    BJ_C(KVM_SET_LAPIC), BJ_C(KVM_SET_CPUID2), BJ_C(KVM_GET_CPUID2),
    BJ_C(KVM_GET_SUPPORTED_CPUID), BJ_C(KVM_GET_EMULATED_CPUID), BJ_C(KVM_GET_MP_STATE),
    BJ_C(KVM_SET_MP_STATE), BJ_C(KVM_GET_VCPU_EVENTS), BJ_C(KVM_SET_VCPU_EVENTS),
    BJ_C(KVM_GET_DEBUGREGS), BJ_C(KVM_SET_DEBUGREGS), BJ_C(KVM_ENABLE_CAP),
    BJ_C(KVM_GET_XSAVE), BJ_C(KVM_SET_XSAVE), BJ_C(KVM_GET_XCRS), BJ_C(KVM_SET_XCRS),
    BJ_C(KVM_KVMCLOCK_CTRL), BJ_C(KVM_SET_BOOT_CPU_ID), BJ_C(KVM_SET_GUEST_DEBUG),
    BJ_C(KVM_GET_ONE_REG), BJ_C(KVM_SET_ONE_REG), BJ_C(KVM_SET_TSC_KHZ), BJ_C(KVM_GET_TSC_KHZ),
};
#undef BJ_C

// Arguments the kernel reads as an int (or unsigned int): `==` compares
// their low 32 bits, as the kernel does, so that garbage in the upper half
// changes nothing. ioctl's request is the one the issue names.
struct IntArg {
  const char* call;
  unsigned arg;
};
constexpr IntArg kIntArgs[] = {
    {"ioctl", 1},  {"fcntl", 1},   {"socket", 0},     {"socket", 1},     {"socket", 2},
    {"socketpair", 0}, {"socketpair", 1}, {"socketpair", 2}, {"prctl", 0}, {"mmap", 2},
    {"mmap", 3},   {"mprotect", 2}, {"madvise", 2},   {"open", 1},       {"openat", 2},
    {"setsockopt", 1}, {"setsockopt", 2}, {"getsockopt", 1}, {"getsockopt", 2}, {"futex", 1},
};

bool int_arg(const std::string& call, unsigned arg) {
  for (const IntArg& a : kIntArgs)
    if (call == a.call && arg == a.arg) return true;
  return false;
}

// A line's pieces: words ([A-Za-z0-9_]+) and operators.
bool tokenize(const std::string& s, std::vector<std::string>* out) {
  static const char* const kOps[] = {"==", "!=", "<=", ">=", "&&", "||", "<", ">",
                                     "&",  "|",  "~",  ";",  "(",  ")"};
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out->push_back(s.substr(i, j - i));
      i = j;
      continue;
    }
    bool found = false;
    for (const char* op : kOps) {
      size_t n = std::char_traits<char>::length(op);
      if (s.compare(i, n, op) == 0) {
        out->push_back(op);
        i += n;
        found = true;
        break;
      }
    }
    if (!found) {
      out->push_back(std::string(1, c));  // refused by the parser, by name
      ++i;
    }
  }
  return true;
}

enum class Kind { kEq, kNe, kLt, kLe, kGt, kGe, kAnyBit, kIn };

struct Atom {
  unsigned arg;
  Kind kind;
  uint64_t value;
};

// One alternative: conditions that must all hold.
using Conj = std::vector<Cond>;

Cond masked(unsigned arg, uint64_t mask, uint64_t datum) {
  return {arg, Cond::Op::kMaskedEq, mask, datum & mask};
}
Cond cmp(unsigned arg, Cond::Op op, uint64_t datum) { return {arg, op, 0, datum}; }

// The atom as alternatives (any of which makes it hold), or, with
// `negate`, its complement. `narrow`: compare an int argument's low half.
std::vector<Conj> expand(const Atom& a, bool negate, bool narrow) {
  std::vector<Conj> alt;
  auto each_bit = [&](uint64_t bits) {
    for (unsigned b = 0; b < 64; ++b)
      if (bits >> b & 1) alt.push_back({masked(a.arg, uint64_t{1} << b, uint64_t{1} << b)});
  };
  const uint64_t full = narrow && a.value <= 0xffffffff ? 0xffffffff : ~uint64_t{0};
  switch (a.kind) {
    case Kind::kEq:
      if (negate) alt.push_back({cmp(a.arg, Cond::Op::kNe, a.value)});
      else alt.push_back({masked(a.arg, full, a.value)});
      break;
    case Kind::kNe:
      if (negate) alt.push_back({masked(a.arg, ~uint64_t{0}, a.value)});
      else alt.push_back({cmp(a.arg, Cond::Op::kNe, a.value)});
      break;
    case Kind::kLt: alt.push_back({cmp(a.arg, negate ? Cond::Op::kGe : Cond::Op::kLt, a.value)}); break;
    case Kind::kLe: alt.push_back({cmp(a.arg, negate ? Cond::Op::kGt : Cond::Op::kLe, a.value)}); break;
    case Kind::kGt: alt.push_back({cmp(a.arg, negate ? Cond::Op::kLe : Cond::Op::kGt, a.value)}); break;
    case Kind::kGe: alt.push_back({cmp(a.arg, negate ? Cond::Op::kLt : Cond::Op::kGe, a.value)}); break;
    case Kind::kAnyBit:  // any of the bits: one alternative per bit
      if (negate) alt.push_back({masked(a.arg, a.value, 0)});
      else each_bit(a.value);
      break;
    case Kind::kIn:  // no bit outside the mask
      if (negate) each_bit(~a.value);
      else alt.push_back({masked(a.arg, ~a.value, 0)});
      break;
  }
  return alt;
}

// libseccomp takes one comparison per argument in a rule: two masked
// equalities on one argument become one, and anything else cannot be had.
// False with the argument in *clash; *never when the two contradict.
bool merge(const Conj& in, Conj* out, unsigned* clash, bool* never) {
  *never = false;
  out->clear();
  for (const Cond& c : in) {
    bool done = false;
    for (Cond& o : *out) {
      if (o.arg != c.arg) continue;
      if (o.op != Cond::Op::kMaskedEq || c.op != Cond::Op::kMaskedEq) {
        if (o.op == c.op && o.datum == c.datum && o.mask == c.mask) {
          done = true;
          break;
        }
        *clash = c.arg;
        return false;
      }
      if ((o.datum & c.mask) != (c.datum & o.mask)) *never = true;
      o.mask |= c.mask;
      o.datum |= c.datum;
      done = true;
      break;
    }
    if (!done) out->push_back(c);
  }
  return true;
}

// The product of `factors` (each a list of alternatives), as alternatives.
std::vector<Conj> distribute(const std::vector<std::vector<Conj>>& factors, size_t cap,
                             bool* too_many) {
  std::vector<Conj> acc = {{}};
  for (const auto& f : factors) {
    std::vector<Conj> next;
    for (const Conj& a : acc)
      for (const Conj& b : f) {
        Conj c = a;
        c.insert(c.end(), b.begin(), b.end());
        next.push_back(std::move(c));
        if (next.size() > cap) return *too_many = true, std::vector<Conj>{};
      }
    acc = std::move(next);
  }
  return acc;
}

constexpr size_t kMaxRules = 64;

class LineParser {
 public:
  LineParser(std::vector<std::string> toks, std::string where)
      : t_(std::move(toks)), where_(std::move(where)) {}

  const std::string& peek() const {
    static const std::string kEnd;
    return i_ < t_.size() ? t_[i_] : kEnd;
  }
  bool at_end() const { return i_ >= t_.size(); }
  std::string next() { return i_ < t_.size() ? t_[i_++] : std::string(); }

  bool fail(const std::string& why, std::string* err) const {
    *err = where_ + ": " + why;
    return false;
  }

  // CONST | NUMBER, joined by |, each maybe with ~ in front.
  bool value(uint64_t* v, std::string* err) {
    *v = 0;
    for (;;) {
      bool inv = false;
      while (peek() == "~") next(), inv = !inv;
      std::string w = next();
      if (w.empty()) return fail("a value is missing at the end of the line", err);
      uint64_t x = 0;
      if (std::isdigit(static_cast<unsigned char>(w[0]))) {
        errno = 0;
        char* end = nullptr;
        x = std::strtoull(w.c_str(), &end, 0);
        if (errno != 0 || *end != '\0' || w[0] == '-')
          return fail("'" + w + "' is not a number (decimal, 0x hexadecimal or 0 octal)", err);
      } else if (!constant(w, &x)) {
        return fail("unknown constant '" + w +
                        "' (boxjail knows AF_*, SOCK_*, PROT_*, MAP_*, CLONE_*, O_*, F_*, "
                        "PR_*, MADV_* and the TC*, TIOC*, FIO* and KVM_* ioctls; write "
                        "its number instead)",
                    err);
      }
      *v |= inv ? ~x : x;
      if (peek() != "|") return true;
      next();
    }
  }

  bool atom(Atom* a, std::string* err) {
    std::string w = next();
    if (w == "(" || w == ")")
      return fail("parentheses are not supported (write the expression as alternatives "
                  "joined by ||, each of comparisons joined by &&)",
                  err);
    if (w.size() != 4 || w.compare(0, 3, "arg") != 0 || w[3] < '0' || w[3] > '5')
      return fail("expected arg0 to arg5, not '" + w + "'", err);
    a->arg = static_cast<unsigned>(w[3] - '0');
    std::string op = next();
    static const std::pair<const char*, Kind> kKinds[] = {
        {"==", Kind::kEq}, {"!=", Kind::kNe}, {"<", Kind::kLt},      {"<=", Kind::kLe},
        {">", Kind::kGt},  {">=", Kind::kGe}, {"&", Kind::kAnyBit}, {"in", Kind::kIn}};
    bool known = false;
    for (const auto& [text, kind] : kKinds)
      if (op == text) a->kind = kind, known = true;
    if (!known)
      return fail("expected ==, !=, <, <=, >, >=, & or in after " + w + ", not '" + op + "'",
                  err);
    if (!value(&a->value, err)) return false;
    if (a->kind == Kind::kAnyBit && a->value == 0)
      return fail(w + " & 0 never holds (name at least one bit)", err);
    return true;
  }

  // The rest of the line after "NAME:".
  bool rules(const std::string& call, std::vector<PolicyRule>* out, std::string* err) {
    if (at_end()) return fail("nothing after '" + call + ":' (write 1 to allow the call)", err);
    if (peek() == "1" && i_ + 1 == t_.size()) {
      out->push_back({call, true, 0, {}});
      return true;
    }
    if (peek() == "return") {
      next();
      int e = 0;
      if (!ret(&e, err)) return false;
      out->push_back({call, false, e, {}});
      return true;
    }
    for (const char* action : {"kill", "kill-process", "kill-thread", "trap", "trace", "log",
                               "user", "allow", "0"})
      if (peek() == action)
        return fail("the action '" + peek() +
                        "' is not supported (write 1 to allow, return ERRNO to fail the call, "
                        "or leave the call out to meet the profile's default)",
                    err);
    // expr := conj ('||' conj)*; conj := atom ('&&' atom)*
    std::vector<std::vector<Atom>> dnf(1);
    for (;;) {
      Atom a{};
      if (!atom(&a, err)) return false;
      dnf.back().push_back(a);
      if (at_end() || peek() == ";") break;
      std::string j = next();
      if (j == "||") dnf.emplace_back();
      else if (j != "&&")
        return fail("expected && or || or ; after a comparison, not '" + j + "'", err);
    }
    int e = 0;
    bool has_return = false;
    if (peek() == ";") {
      next();
      if (next() != "return") return fail("expected 'return ERRNO' after ';'", err);
      if (!ret(&e, err)) return false;
      has_return = true;
    }
    // With "; return E", the rule's complement fails with E: both sides
    // compare all 64 bits, so that no value is allowed and denied at once.
    const bool narrow = !has_return;
    std::vector<Conj> allow;
    for (const auto& conj : dnf) {
      std::vector<std::vector<Conj>> factors;
      for (const Atom& a : conj) factors.push_back(expand(a, false, narrow && int_arg(call, a.arg)));
      if (!add(call, factors, true, 0, out, err)) return false;
    }
    if (!has_return) return true;
    // not (C1 || C2) = not C1 && not C2; not (a && b) = not a || not b.
    std::vector<std::vector<Conj>> factors;
    for (const auto& conj : dnf) {
      std::vector<Conj> any;
      for (const Atom& a : conj)
        for (Conj& c : expand(a, true, false)) any.push_back(std::move(c));
      factors.push_back(std::move(any));
    }
    return add(call, factors, false, e, out, err);
  }

 private:
  bool ret(int* e, std::string* err) {
    std::string w = next();
    if (w.empty() || !seccomp::parse_errno(w, e))
      return fail("'return " + w + "' needs an errno (a number from 1 to 4095, or a name such "
                  "as EPERM)",
                  err);
    if (!at_end()) return fail("unexpected '" + peek() + "' after 'return " + w + "'", err);
    return true;
  }

  bool add(const std::string& call, const std::vector<std::vector<Conj>>& factors, bool allow,
           int e, std::vector<PolicyRule>* out, std::string* err) {
    bool too_many = false;
    std::vector<Conj> alts = distribute(factors, kMaxRules, &too_many);
    if (too_many)
      return fail("the expression needs more than " + std::to_string(kMaxRules) +
                      " seccomp rules" + (allow ? "" : " for its complement (; return)") +
                      "; simplify it",
                  err);
    for (const Conj& c : alts) {
      Conj m;
      unsigned clash = 0;
      bool never = false;
      if (!merge(c, &m, &clash, &never))
        return fail(std::string(allow ? "" : "the complement that '; return' fails has ") +
                        "two comparisons of arg" + std::to_string(clash) +
                        " in one alternative, and seccomp takes one per argument " +
                        (allow ? "(split it into alternatives joined by ||)"
                               : "(drop '; return', and the call meets the profile's default "
                                 "when the expression does not hold)"),
                    err);
      if (never) continue;
      if (out->size() >= 1024) return fail("too many rules", err);
      out->push_back({call, allow, e, m});
    }
    return true;
  }

  std::vector<std::string> t_;
  size_t i_ = 0;
  std::string where_;
};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

bool constant(const std::string& name, uint64_t* value) {
  for (const Named& c : kConstants)
    if (name == c.name) return *value = c.value, true;
  return false;
}

bool is_policy_line(const std::string& line) {
  if (!line.empty() && line[0] == '@') return true;
  size_t i = 0;
  while (i < line.size() && name_char(line[i])) ++i;
  if (i == 0) return false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

bool parse_line(const std::string& line, const std::string& where, std::vector<PolicyRule>* out,
                std::string* err) {
  if (!line.empty() && line[0] == '@') {
    std::string directive = line.substr(0, line.find_first_of(" \t"));
    *err = where + ": " + directive +
           " is not supported (paste the lines it would bring in, or give them as another "
           "--seccomp-profile line list)";
    return false;
  }
  size_t colon = line.find(':');
  std::string call = trim(line.substr(0, colon));
  std::vector<std::string> toks;
  tokenize(line.substr(colon + 1), &toks);
  LineParser p(std::move(toks), where);
  return p.rules(call, out, err);
}

bool parse(const std::string& text, const std::string& file, std::vector<PolicyRule>* out,
           std::vector<std::string>* places, std::string* err) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = file + ":" + std::to_string(n);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    if (!is_policy_line(line))
      return *err = where + ": expected 'NAME: EXPR' (a minijail policy line)", false;
    size_t before = out->size();
    if (!parse_line(line, where, out, err)) return false;
    places->resize(places->size() + (out->size() - before), where);
  }
  return true;
}

}  // namespace boxjail::minijail

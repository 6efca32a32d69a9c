// seccomp: --seccomp-deny, --seccomp-allow, --seccomp-default,
// --seccomp-profile and --seccomp-bpf. The parent resolves every rule with
// libseccomp for the native architecture and exports the filter to a
// classic-BPF program, before anything is created; the child only calls
// seccomp(SECCOMP_SET_MODE_FILTER) as its very last step before execve
// (child.h). A filter boxjail builds kills the process on any system call
// made through another ABI of the CPU (i386 int 0x80, x32).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace boxjail {

struct Options;

namespace seccomp {

/// One argument comparison; a rule's conditions must all hold. `int`
/// arguments are compared as the kernel reads them: kMaskedEq with mask
/// 0xffffffff ignores the upper half, which the kernel ignores too
/// (flatpak CVE-2019-10063). kGe compares all 64 bits, so a value with any
/// upper bit set is at or above every small datum. kNe, kLt, kLe and kGt
/// compare all 64 bits too (minijail policy lines, minijail_policy.h).
struct Cond {
  enum class Op : uint8_t { kMaskedEq, kGe, kNe, kLt, kLe, kGt };
  unsigned arg = 0;
  Op op = Op::kMaskedEq;
  uint64_t mask = 0xffffffff;
  uint64_t datum = 0;
};

/// A rule is {system call, conditions, action}: the model every reader
/// (flags, profile, groups, the jail's own rules) produces and compile()
/// turns into BPF.
struct Rule {
  std::string name;    // the system call, as libseccomp names it
  int nr = 0;          // its native number
  bool allow = false;  // allowlist entry; else fails with err
  int err = 0;
  std::string from;    // "--seccomp-deny ptrace", "FILE:LINE", "jail: terminal"
  std::vector<Cond> conds;
};

/// Compiles `rules` over `default_action` (a libseccomp SCMP_ACT_*) into a
/// classic-BPF program for the native architecture; any other ABI of the
/// CPU kills the process. A rule whose action is the default is left out.
/// Where a rule filters clone's arguments and none names clone3, clone3
/// fails with ENOSYS (seccomp cannot read clone3's flags, which are in
/// memory; glibc then falls back to clone). False with a message in *err.
/// With `notify`, the variant for named denials: what the filter would fail
/// or kill goes to the supervisor (SECCOMP_RET_USER_NOTIF), and so does
/// the hand-over call (child.h).
/// With `exec_once`, execve and execveat are notified too (--exec-once).
bool compile(uint32_t default_action, std::vector<Rule> rules, std::vector<sock_filter>* out,
             std::string* err, bool notify = false, bool exec_once = false);

/// `rules` and what they imply (clone3 fails with ENOSYS where clone's
/// arguments are filtered): what compile() builds.
std::vector<Rule> with_implied(std::vector<Rule> rules);

/// --learn's filter: every native call goes to the supervisor.
bool compile_learn(std::vector<sock_filter>* out, std::string* err);

/// "connect if args[3] & 0x20000000": a rule for messages and --dry-run.
std::string describe(const Rule& r);

struct SeccompPlan {
  bool active = false;
  bool allowlist = false;        // default action applies to the rest
  std::string default_action;    // "allow", "kill-process", "trap", "log", "errno:EPERM"
  std::vector<Rule> rules;
  std::string bpf_file;          // --seccomp-bpf FILE, or ""
  std::vector<sock_filter> program;  // what the child loads
  bool denies = false;           // a deny list was given (io_uring must go too)
  bool keeps_io_uring = false;   // an allowlist allows io_uring_setup
  /// Named denials (the default mode, a filter from rules): the child loads
  /// `notify_program` and the supervisor answers each denied call as
  /// decide() says, naming it.
  bool named = false;
  std::vector<sock_filter> notify_program;
  std::vector<Rule> decided;     // with_implied(rules)
  int default_errno = 0;         // the default action: 0 kill, > 0 that errno
  /// --learn: `program` sends every call to the supervisor.
  bool learn = false;
  /// --exec-once: `notify_program` sends execve and execveat to the
  /// supervisor, which lets boxjail's exec of PROGRAM through only.
  bool exec_once = false;
};

/// How the supervisor answers a notified call: kill the process, or fail
/// the call with `err`. `rule` is the deny rule that matched, or nullptr
/// (the default action, or the hand-over call).
struct Verdict {
  bool kill = false;
  int err = 0;
  const Rule* rule = nullptr;
  const char* why = nullptr;  // without a rule: "--exec-once", or the default
};
Verdict decide(const SeccompPlan& plan, int nr, const uint64_t* args);

/// Checks and resolves the seccomp flags of `o` into `*plan`, building the
/// BPF program. False with a one-line message naming the flag in `*err`.
bool check(const Options& o, SeccompPlan* plan, std::string* err);

/// The seccomp part of --dry-run, as a JSON object.
std::string to_json(const SeccompPlan& plan);

/// "EPERM" → EPERM, "13" → 13; false if neither.
bool parse_errno(const std::string& text, int* out);
/// EPERM → "EPERM" (or the number, if it has no name here).
std::string errno_name(int e);

}  // namespace seccomp
}  // namespace boxjail

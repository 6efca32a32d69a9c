#include "boxjail/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <tuple>

#include "boxjail/child.h"
#include "boxjail/cli.h"
#include "boxjail/minijail_policy.h"
#include "boxjail/numparse.h"
#include "boxjail/plan.h"
#include "boxjail/policyfile.h"
#include "boxjail/seccomp_groups.h"
#include "boxjail/suggest.h"
#include "boxjail/unique_fd.h"

namespace boxjail::seccomp {
namespace {

// A rule as written, before resolution. A group or family ("@open",
// "@system-service") is expanded here, each member with its condition.
struct Spec {
  std::string name;
  bool allow;
  int err;
  std::string from;
  std::vector<Cond> conds;
  std::string group;  // "@process" when the call came from one
};

// Owns a libseccomp filter context.
struct Ctx {
  scmp_filter_ctx ctx = nullptr;
  ~Ctx() {
    if (ctx) seccomp_release(ctx);
  }
};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// "read,write" / "ptrace:ENOSYS,bpf" / "@open:EACCES" → specs; `where`
// names the source.
bool parse_list(const std::string& list, bool allow, const std::string& where,
                std::vector<Spec>* out, std::string* err) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string item = trim(list.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) {
      *err = where + ": empty system call name";
      return false;
    }
    Spec s{item, allow, EPERM, where, {}, {}};
    size_t colon = item.find(':');
    if (colon != std::string::npos) {
      if (allow) {
        *err = where + ": '" + item + "': an allowed call takes no errno";
        return false;
      }
      s.name = item.substr(0, colon);
      if (!parse_errno(item.substr(colon + 1), &s.err)) {
        *err = where + ": '" + item.substr(colon + 1) +
               "' is not an errno (a name such as EPERM or ENOSYS, or a number from 1 to 4095)";
        return false;
      }
    }
    if (s.name[0] != '@') {
      out->push_back(s);
      continue;
    }
    // Only the calls of this architecture: a group may name others'.
    std::vector<GroupCall> calls;
    if (!expand_group(s.name, &calls)) {
      const std::string hint = suggest::did_you_mean(s.name, group_names());
      *err = where + ": unknown group '" + s.name + "'" +
             (hint.empty() ? " (boxjail --list-syscall-groups lists the groups and families)"
                           : hint);
      return false;
    }
    for (const GroupCall& m : calls) {
      Spec one = s;
      one.name = m.name;
      one.group = s.name;
      // A member that belongs only with a flag (sendto with MSG_FASTOPEN)
      // is denied with that condition, and left out of an allowlist, where
      // it would allow the whole call.
      if (m.arg >= 0 && allow) continue;
      if (m.arg >= 0) one.conds.push_back({static_cast<unsigned>(m.arg), Cond::Op::kMaskedEq,
                                           m.flag, m.flag});
      out->push_back(one);
    }
  }
  return true;
}

// A deny list must take a whole family or none of it: denying openat and
// not openat2 leaves files as open as before.
bool check_families(const std::vector<Rule>& rules, std::string* err) {
  auto denied = [&](const GroupMember& m) {
    for (const auto& r : rules) {
      if (r.allow || r.name != m.name) continue;
      if (r.conds.empty()) return true;
      if (m.arg >= 0 && r.conds.size() == 1 && r.conds[0].arg == static_cast<unsigned>(m.arg) &&
          (r.conds[0].mask & m.flag) == m.flag && r.conds[0].datum == m.flag)
        return true;
    }
    return false;
  };
  for (const auto& r : rules) {
    if (r.allow || !r.conds.empty()) continue;
    const Group* g = family_of(r.name);
    if (!g) continue;
    std::string missing;
    for (size_t i = 0; i < g->n; ++i) {
      if (denied(g->members[i])) continue;
      if (!missing.empty()) missing += ", ";
      missing += g->members[i].name;
      if (g->members[i].arg >= 0) missing += " (with MSG_FASTOPEN)";
    }
    if (missing.empty()) continue;
    *err = r.from + ": " + missing + " also " + g->what +
           "; deny them too, or deny the whole family as @" + g->name;
    return false;
  }
  return true;
}

// "kill-process", "trap", "log", "errno:NAME|N" → the libseccomp action.
bool parse_action(const std::string& text, uint32_t* action, std::string* canonical) {
  if (text == "kill-process") {
    *action = SCMP_ACT_KILL_PROCESS;
  } else if (text == "trap") {
    *action = SCMP_ACT_TRAP;
  } else if (text == "log") {
    *action = SCMP_ACT_LOG;
  } else if (text.rfind("errno:", 0) == 0) {
    int e = 0;
    if (!parse_errno(text.substr(6), &e)) return false;
    *action = SCMP_ACT_ERRNO(static_cast<uint32_t>(e));
    *canonical = "errno:" + errno_name(e);
    return true;
  } else {
    return false;
  }
  *canonical = text;
  return true;
}

bool read_profile(const std::string& file, std::vector<Spec>* specs, std::string* def,
                  std::string* def_from, std::string* err) {
  std::string text;
  if (!read_policy_file("--seccomp-profile", file, &text, err)) return false;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = file + ":" + std::to_string(n);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    // minijail's form, "NAME: EXPR" (minijail_policy.h), line by line.
    if (minijail::is_policy_line(line)) {
      std::vector<minijail::PolicyRule> got;
      if (!minijail::parse_line(line, where, &got, err)) return false;
      for (auto& r : got) specs->push_back({r.name, r.allow, r.err, where, std::move(r.conds), {}});
      continue;
    }
    size_t sp = line.find_first_of(" \t");
    std::string word = line.substr(0, sp);
    std::string rest = sp == std::string::npos ? "" : trim(line.substr(sp));
    if (word == "allow" || word == "deny") {
      if (!parse_list(rest, word == "allow", where, specs, err)) return false;
    } else if (word == "default") {
      *def = rest;
      *def_from = where;
    } else {
      *err = where + ": unknown rule '" + word + "' (use allow, deny or default)";
      return false;
    }
  }
  return true;
}

bool load_bpf(const std::string& file, std::vector<sock_filter>* out, std::string* err) {
  const std::string flag = "--seccomp-bpf " + file;
  std::string bytes;
  if (!read_policy_file("--seccomp-bpf", file, &bytes, err)) return false;
  if (bytes.empty()) return *err = flag + ": empty (no BPF instructions)", false;
  if (bytes.size() % sizeof(sock_filter) != 0)
    return *err = flag + ": " + std::to_string(bytes.size()) +
                  " bytes is not a whole number of 8-byte BPF instructions",
           false;
  const size_t n = bytes.size() / sizeof(sock_filter);
  if (n > BPF_MAXINSNS)
    return *err = flag + ": " + std::to_string(n) + " instructions, more than BPF_MAXINSNS (" +
                  std::to_string(BPF_MAXINSNS) + ")",
           false;
  out->resize(n);
  std::memcpy(out->data(), bytes.data(), bytes.size());
  return true;
}

// libseccomp's export of `ctx`, read back through a memory file.
bool export_bpf(scmp_filter_ctx ctx, std::vector<sock_filter>* out, std::string* err) {
  UniqueFd mem(memfd_create("boxjail-seccomp", MFD_CLOEXEC));
  if (!mem.valid()) return *err = std::string("memfd_create: ") + std::strerror(errno), false;
  if (int rc = seccomp_export_bpf(ctx, mem.get()); rc < 0)
    return *err = std::string("seccomp_export_bpf: ") + std::strerror(-rc), false;
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    return *err = "seccomp_export_bpf: unexpected size", false;
  out->resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(mem.get(), out->data(), static_cast<size_t>(size), 0) != size)
    return *err = "seccomp_export_bpf: short read", false;
  return true;
}

}  // namespace

bool parse_errno(const std::string& text, int* out) {
  if (text.empty()) return false;
  if (text[0] >= '0' && text[0] <= '9') {
    uint64_t v = 0;
    size_t used = 0;
    if (parse_u64_prefix(text, &v, &used) != NumError::kOk || used != text.size() || v < 1 ||
        v > 4095)
      return false;
    *out = static_cast<int>(v);
    return true;
  }
  for (int e = 1; e < 4096; ++e) {
    const char* name = strerrorname_np(e);
    if (name && text == name) {
      *out = e;
      return true;
    }
  }
  return false;
}

std::string errno_name(int e) {
  const char* name = strerrorname_np(e);
  return name ? name : std::to_string(e);
}

bool check(const Options& o, SeccompPlan* plan, std::string* err) {
  std::vector<Spec> specs;
  for (const auto& d : o.seccomp_deny)
    if (!parse_list(d, false, "--seccomp-deny " + d, &specs, err)) return false;
  for (const auto& a : o.seccomp_allow)
    if (!parse_list(a, true, "--seccomp-allow " + a, &specs, err)) return false;
  // --seccomp-rule 'ioctl: arg1 == TCGETS': one minijail policy line each,
  // on the command line, in a config file or in a profile.
  for (const auto& line : o.seccomp_rule) {
    const std::string where = "--seccomp-rule '" + line + "'";
    if (!minijail::is_policy_line(trim(line)))
      return *err = where + ": expected NAME: EXPR, as in minijail's policy files "
                            "(ioctl: arg1 == TCGETS || arg1 == FIONREAD)",
             false;
    std::vector<minijail::PolicyRule> got;
    if (!minijail::parse_line(trim(line), where, &got, err)) return false;
    for (auto& r : got) specs.push_back({r.name, r.allow, r.err, where, std::move(r.conds), {}});
  }
  // The command line's --seccomp-default wins over a profile's default line.
  std::string def = o.seccomp_default, def_from = "--seccomp-default " + o.seccomp_default;
  std::string file_def, file_def_from;
  if (o.has_seccomp_profile &&
      !read_profile(o.seccomp_profile, &specs, &file_def, &file_def_from, err))
    return false;
  if (!o.has_seccomp_default && !file_def_from.empty()) {
    def = file_def;
    def_from = file_def_from;
  }
  const bool any_default = o.has_seccomp_default || !file_def_from.empty();

  if (o.has_learn) {
    for (const auto& [given, flag] :
         {std::pair{!specs.empty() || any_default, "--seccomp-allow, --seccomp-deny, "
                                                   "--seccomp-default, --seccomp-profile"},
          std::pair{o.has_seccomp_bpf, "--seccomp-bpf"},
          std::pair{o.seccomp_keep_io_uring, "--seccomp-keep-io-uring"}})
      if (given)
        return *err = std::string("--learn cannot be combined with ") + flag +
                      ": it writes the seccomp policy itself (replay FILE with --config, and "
                      "add to it there)",
               false;
    for (const auto& [given, flag, why] :
         {std::tuple{o.no_fork, "--no-fork", "boxjail is PROGRAM then, and nobody is left to "
                                             "answer its calls"},
          std::tuple{o.detach, "--detach", "boxjail exits once PROGRAM runs, and nobody is left "
                                           "to answer its calls"}})
      if (given)
        return *err = std::string("--learn needs the default mode, not ") + flag + ": " + why,
               false;
    if (o.learn.empty()) return *err = "--learn: empty path", false;
    if (!compile_learn(&plan->program, err)) return false;
    plan->learn = true;
    plan->active = true;
    plan->default_action = "notify (--learn)";
    return true;
  }

  if (o.has_seccomp_bpf) {
    if (!specs.empty() || any_default)
      return *err = "--seccomp-bpf cannot be combined with --seccomp-allow, --seccomp-deny, "
                    "--seccomp-default or --seccomp-profile (it is a whole filter)",
             false;
    if (o.seccomp_bpf.empty()) return *err = "--seccomp-bpf: empty path", false;
    if (!load_bpf(o.seccomp_bpf, &plan->program, err)) return false;
    plan->bpf_file = o.seccomp_bpf;
    plan->active = true;
    return true;
  }
  if (o.exec_once) {
    if (o.no_fork)
      return *err = "--exec-once needs a supervisor to tell boxjail's exec of PROGRAM from "
                    "PROGRAM's own, and --no-fork has none (use the default mode or --detach)",
             false;
    if (o.has_seccomp_bpf)
      return *err = "--exec-once cannot be combined with --seccomp-bpf (boxjail does not "
                    "rewrite a ready filter)",
             false;
    plan->exec_once = true;
  }
  if (specs.empty()) {
    if (any_default)
      return *err = def_from + " needs an allowlist (--seccomp-allow, or allow lines in "
                               "--seccomp-profile): it is the action for the calls not listed",
             false;
    if (!o.exec_once) return true;
    // --exec-once alone: everything allowed, the execs sent.
    if (!compile(SCMP_ACT_ALLOW, {}, &plan->notify_program, err, false, true)) return false;
    plan->program = plan->notify_program;
    plan->default_action = "allow";
    plan->default_errno = EPERM;
    plan->active = true;
    return true;
  }

  bool allowlist = false;
  for (const auto& s : specs) allowlist |= s.allow;
  uint32_t def_action = SCMP_ACT_ALLOW;
  plan->default_action = "allow";
  if (allowlist) {
    if (!any_default) def = "kill-process";
    if (!parse_action(def, &def_action, &plan->default_action))
      return *err = def_from + ": unknown action (use kill-process, trap, log or errno:NAME)",
             false;
  } else if (any_default) {
    return *err = def_from + " needs an allowlist (--seccomp-allow, or allow lines in "
                             "--seccomp-profile): it is the action for the calls not listed",
           false;
  }

  // Resolve, check, and merge identical rules.
  auto same_conds = [](const std::vector<Cond>& x, const std::vector<Cond>& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i].arg != y[i].arg || x[i].op != y[i].op || x[i].mask != y[i].mask ||
          x[i].datum != y[i].datum)
        return false;
    return true;
  };
  for (const auto& s : specs) {
    int nr = resolve_syscall(s.name);
    if (nr < 0 && classify_syscall(s.name) == Known::kOtherArch)
      return *err = s.from + ": " + s.name + " does not exist on " + native_arch() +
                    " (it is a system call of other architectures); leave it out",
             false;
    if (nr < 0) {
      const std::string hint = suggest::did_you_mean(s.name, syscall_names());
      return *err = s.from + ": unknown system call '" + s.name + "'" +
                    (hint.empty() ? " on this architecture" : hint),
             false;
    }
    if (!s.allow && s.conds.empty() && (s.name == "execve" || s.name == "execveat"))
      return *err = s.from + ": boxjail execs PROGRAM after the filter is in place; " + s.name +
                    " cannot be denied" +
                    (s.group.empty() || s.group == "@exec"
                         ? std::string()
                         : " (" + s.group + " holds it: deny the group's other calls by name, "
                           "from boxjail --list-syscall-groups=" + s.group + ")"),
             false;
    bool dup = false;
    for (const auto& r : plan->rules) {
      if (r.nr != nr) continue;
      if (r.allow != s.allow && (r.conds.empty() || s.conds.empty()))
        return *err = s.from + ": " + s.name + " is both allowed and denied (" + r.from + ")",
               false;
      if (!same_conds(r.conds, s.conds)) continue;
      if (!s.allow && r.err != s.err)
        return *err = s.from + ": " + s.name + " is already denied with " + errno_name(r.err) +
                      " (" + r.from + ")",
               false;
      dup = true;
    }
    if (!dup) plan->rules.push_back({s.name, nr, s.allow, s.err, s.from, s.conds});
  }
  for (const auto& r : plan->rules) {
    plan->denies |= !r.allow;
    plan->keeps_io_uring |= r.allow && r.name == "io_uring_setup";
  }
  if (!check_families(plan->rules, err)) return false;
  if (allowlist) {
    bool execve = false;
    for (const auto& r : plan->rules) execve |= r.allow && r.name == "execve";
    if (!execve)
      return *err = std::string(!o.seccomp_allow.empty() ? "--seccomp-allow"
                                : o.has_seccomp_profile ? "--seccomp-profile " + o.seccomp_profile
                                                        : "--seccomp-rule") +
                    ": the allowlist lacks execve, which boxjail needs to exec PROGRAM" +
                    (o.has_seccomp_profile || !o.seccomp_allow.empty()
                         ? ""
                         : " (a rule that allows a call on a condition makes an allowlist: "
                           "add --seccomp-allow execve,... or 'execve: 1')"),
             false;
  }
  if (!compile(def_action, plan->rules, &plan->program, err)) return false;
  // Named denials need the supervisor: the default mode only (a detached
  // box has none, --no-fork is PROGRAM).
  const bool denying_default = def_action == SCMP_ACT_KILL_PROCESS ||
                               (def_action & SECCOMP_RET_ACTION_FULL) == SCMP_ACT_ERRNO(0);
  if (o.exec_once && o.detach) {
    // Only the execs go to the supervisor, which leaves once PROGRAM runs.
    if (!compile(def_action, plan->rules, &plan->notify_program, err, false, true)) return false;
  }
  if (!o.no_fork && !o.detach) {
    if (!compile(def_action, plan->rules, &plan->notify_program, err, true, o.exec_once))
      return false;
    plan->decided = with_implied(plan->rules);
    plan->named = true;
    if (denying_default && def_action != SCMP_ACT_KILL_PROCESS)
      plan->default_errno = static_cast<int>(def_action & SECCOMP_RET_DATA);
    // Allow, trap and log never reach the supervisor; if anything not
    // named by a deny rule did, it fails.
    if (!denying_default) plan->default_errno = EPERM;
  }
  plan->allowlist = allowlist;
  plan->active = true;
  return true;
}

namespace {

// libseccomp at the API level boxjail sets (3, for Linux 4.14) has no
// notify action: the filter is built with this placeholder, which no rule
// uses, and its return instructions are rewritten to
// SECCOMP_RET_USER_NOTIF after export.
constexpr uint32_t kNotifyPlaceholder = SCMP_ACT_TRACE(0xb0c5);

void placeholder_to_notify(std::vector<sock_filter>* prog) {
  for (auto& ins : *prog)
    if (ins.code == (BPF_RET | BPF_K) && ins.k == kNotifyPlaceholder) ins.k = SECCOMP_RET_USER_NOTIF;
}

}  // namespace

std::vector<Rule> with_implied(std::vector<Rule> rules) {
  bool clone_filtered = false, clone3_named = false;
  for (const auto& r : rules) {
    clone_filtered |= r.name == "clone" && !r.conds.empty();
    clone3_named |= r.name == "clone3";
  }
  if (clone_filtered && !clone3_named)
    rules.push_back({"clone3", resolve_syscall("clone3"), false, ENOSYS,
                     "clone's arguments are filtered", {}});
  return rules;
}

bool compile(uint32_t default_action, std::vector<Rule> rules, std::vector<sock_filter>* out,
             std::string* err, bool notify, bool exec_once) {
  rules = with_implied(std::move(rules));
  // Named denials: what would fail or kill goes to the supervisor instead,
  // which answers it the same way (decide()); trap and log stay the
  // kernel's. The hand-over call is always notified.
  const bool denying_default = default_action == SCMP_ACT_KILL_PROCESS ||
                               (default_action & SECCOMP_RET_ACTION_FULL) == SCMP_ACT_ERRNO(0);
  if (notify) {
    if (denying_default) default_action = kNotifyPlaceholder;
  }
  // --exec-once: PROGRAM's execs go to the supervisor too, which lets
  // boxjail's own through and fails the rest (and once it is gone, the
  // kernel fails them with ENOSYS).
  bool exec_ruled[2] = {false, false};
  if (exec_once) {
    for (auto& r : rules)
      for (int i = 0; i < 2; ++i)
        if (r.name == (i ? "execveat" : "execve") && r.conds.empty()) {
          exec_ruled[i] = true;
          if (r.allow) r.allow = false, r.err = EPERM, r.from = "--exec-once";
        }
    for (int i = 0; i < 2; ++i)
      if (!exec_ruled[i] && default_action == SCMP_ACT_ALLOW)
        rules.push_back({i ? "execveat" : "execve", resolve_syscall(i ? "execveat" : "execve"),
                         false, EPERM, "--exec-once", {}});
  }
  if (notify || exec_once)
    rules.push_back({"(hand-over)", kHandoverSyscall, false, ENOSYS, "boxjail", {}});
  // The filter is only built here, not loaded: libseccomp need not probe
  // the kernel for what it supports (some ten seccomp() calls). Level 3 is
  // what the actions above need (kill-process, log: Linux 4.14); loading
  // the program on an older kernel fails in the child's seccomp step.
  seccomp_api_set(3);
  Ctx c;
  c.ctx = seccomp_init(default_action);
  if (!c.ctx) return *err = "seccomp_init failed", false;
  // Other ABIs of this CPU (i386 int 0x80, x32) bypass a filter written in
  // native numbers: kill the process on any of them.
  seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_NNP, 0);  // boxjail's own step sets it
  // A binary tree of system call numbers: a long allowlist (a group such
  // as @system-service is some 300 calls) costs a few comparisons per
  // call, not one per rule. It pays from about 20 rules: bench/argfilter's
  // 20 argument rules run 17 instructions for ioctl as a tree, 26 as
  // libseccomp's linear list (bench/run prints both).
  if (rules.size() >= 20) seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (const auto& r : rules) {
    const bool sent = notify || (exec_once && (r.from == "--exec-once" || r.from == "boxjail"));
    uint32_t action = r.allow  ? SCMP_ACT_ALLOW
                      : sent ? kNotifyPlaceholder
                             : SCMP_ACT_ERRNO(static_cast<uint32_t>(r.err));
    if (action == default_action) continue;  // the default already does this
    std::vector<scmp_arg_cmp> cmp;
    for (const auto& k : r.conds) {
      scmp_compare op = SCMP_CMP_MASKED_EQ;
      switch (k.op) {
        case Cond::Op::kMaskedEq: break;
        case Cond::Op::kGe: op = SCMP_CMP_GE; break;
        case Cond::Op::kNe: op = SCMP_CMP_NE; break;
        case Cond::Op::kLt: op = SCMP_CMP_LT; break;
        case Cond::Op::kLe: op = SCMP_CMP_LE; break;
        case Cond::Op::kGt: op = SCMP_CMP_GT; break;
      }
      cmp.push_back(op == SCMP_CMP_MASKED_EQ ? scmp_arg_cmp{k.arg, op, k.mask, k.datum}
                                             : scmp_arg_cmp{k.arg, op, k.datum, 0});
    }
    if (int rc = seccomp_rule_add_array(c.ctx, action, r.nr, static_cast<unsigned>(cmp.size()),
                                        cmp.data());
        rc < 0)
      return *err = r.from + ": seccomp_rule_add(" + describe(r) + "): " + std::strerror(-rc),
             false;
  }
  if (!export_bpf(c.ctx, out, err)) return false;
  if (notify || exec_once) placeholder_to_notify(out);
  return true;
}

bool compile_learn(std::vector<sock_filter>* out, std::string* err) {
  seccomp_api_set(3);
  Ctx c;
  c.ctx = seccomp_init(kNotifyPlaceholder);
  if (!c.ctx) return *err = "seccomp_init failed", false;
  seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_NNP, 0);
  // io_uring fails as it will in the replay (learn.h), so that PROGRAM
  // takes the path it will take there.
  for (const char* call : {"io_uring_setup", "io_uring_enter", "io_uring_register"})
    if (int rc = seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(EPERM), resolve_syscall(call), 0); rc < 0)
      return *err = std::string("seccomp_rule_add(") + call + "): " + std::strerror(-rc), false;
  if (!export_bpf(c.ctx, out, err)) return false;
  placeholder_to_notify(out);
  return true;
}

namespace {

bool holds(const Cond& k, const uint64_t* args) {
  uint64_t v = args[k.arg];
  switch (k.op) {
    case Cond::Op::kGe: return v >= k.datum;
    case Cond::Op::kNe: return v != k.datum;
    case Cond::Op::kLt: return v < k.datum;
    case Cond::Op::kLe: return v <= k.datum;
    case Cond::Op::kGt: return v > k.datum;
    case Cond::Op::kMaskedEq: break;
  }
  return (v & k.mask) == k.datum;
}

}  // namespace

Verdict decide(const SeccompPlan& plan, int nr, const uint64_t* args) {
  if (nr == kHandoverSyscall) return {false, ENOSYS, nullptr};
  static const int execve_nr = resolve_syscall("execve"), execveat_nr = resolve_syscall("execveat");
  const bool exec = nr == execve_nr || nr == execveat_nr;
  for (const Rule& r : plan.decided) {
    if (r.nr != nr) continue;
    bool all = true;
    for (const Cond& k : r.conds) all = all && holds(k, args);
    if (!all) continue;
    // An allow rule that holds was not sent here by the kernel; the
    // default then answers, which fails closed.
    if (r.allow) break;
    return {false, r.err, &r};
  }
  if (plan.exec_once && exec) return {false, EPERM, nullptr, "--exec-once"};
  return plan.default_errno > 0 ? Verdict{false, plan.default_errno, nullptr}
                                : Verdict{true, 0, nullptr};  // kill-process
}

std::string describe(const Rule& r) {
  std::string d = r.name;
  for (size_t i = 0; i < r.conds.size(); ++i) {
    const Cond& k = r.conds[i];
    char buf[96];
    const char* rel = k.op == Cond::Op::kGe   ? ">="
                      : k.op == Cond::Op::kNe ? "!="
                      : k.op == Cond::Op::kLt ? "<"
                      : k.op == Cond::Op::kLe ? "<="
                      : k.op == Cond::Op::kGt ? ">"
                                              : nullptr;
    if (rel)
      snprintf(buf, sizeof buf, "args[%u] %s %llu", k.arg, rel,
               static_cast<unsigned long long>(k.datum));
    else if (k.mask == k.datum)
      snprintf(buf, sizeof buf, "args[%u] & 0x%llx", k.arg, static_cast<unsigned long long>(k.mask));
    else if (k.mask == 0xffffffff)
      snprintf(buf, sizeof buf, "(int)args[%u] == %llu", k.arg,
               static_cast<unsigned long long>(k.datum));
    else
      snprintf(buf, sizeof buf, "(args[%u] & 0x%llx) == %llu", k.arg,
               static_cast<unsigned long long>(k.mask), static_cast<unsigned long long>(k.datum));
    d += (i ? " && " : " if ") + std::string(buf);
  }
  return d;
}

std::string to_json(const SeccompPlan& plan) {
  std::string j = "{";
  if (!plan.bpf_file.empty()) {
    j += "\"bpf_file\":";
    json_escape(&j, plan.bpf_file);
  } else {
    j += "\"default\":";
    json_escape(&j, plan.default_action);
    j += ",\"other_abis\":\"kill-process\",\"rules\":[";
    for (size_t i = 0; i < plan.rules.size(); ++i) {
      const Rule& r = plan.rules[i];
      if (i) j += ',';
      j += "{\"syscall\":";
      json_escape(&j, r.name);
      j += ",\"nr\":" + std::to_string(r.nr);
      if (!r.conds.empty()) {
        j += ",\"when\":";
        json_escape(&j, describe(r).substr(r.name.size() + 4));
      }
      j += ",\"action\":";
      json_escape(&j, r.allow ? "allow" : "errno:" + errno_name(r.err));
      j += '}';
    }
    j += ']';
  }
  j += ",\"instructions\":" +
       std::to_string((plan.named ? plan.notify_program : plan.program).size());
  // Who answers a denied call: the supervisor (named denials, --learn) or
  // the kernel.
  j += ",\"denials\":";
  json_escape(&j, plan.learn ? "learn: every call goes to the supervisor and continues"
                  : plan.named ? "named by the supervisor, which applies the action"
                               : "the kernel's action (no supervisor to name them)");
  return j + "}";
}

}  // namespace boxjail::seccomp

#include "boxjail/seccomp.h"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "boxjail/cli.h"
#include "boxjail/numparse.h"
#include "boxjail/plan.h"
#include "boxjail/unique_fd.h"

namespace boxjail::seccomp {
namespace {

// A rule as written, before resolution.
struct Spec {
  std::string name;
  bool allow;
  int err;
  std::string from;
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

// "read,write" / "ptrace:ENOSYS,bpf" → specs; `where` names the source.
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
    Spec s{item, allow, EPERM, where};
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
    out->push_back(s);
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
  std::ifstream in(file);
  if (!in) {
    *err = "--seccomp-profile " + file + ": " + std::strerror(errno);
    return false;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = file + ":" + std::to_string(n);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
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
  UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || fstat(fd.get(), &st) != 0) {
    *err = flag + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) return *err = flag + ": not a regular file", false;
  if (st.st_size == 0) return *err = flag + ": empty (no BPF instructions)", false;
  if (st.st_size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    return *err = flag + ": " + std::to_string(st.st_size) +
                  " bytes is not a whole number of 8-byte BPF instructions",
           false;
  const size_t n = static_cast<size_t>(st.st_size) / sizeof(sock_filter);
  if (n > BPF_MAXINSNS)
    return *err = flag + ": " + std::to_string(n) + " instructions, more than BPF_MAXINSNS (" +
                  std::to_string(BPF_MAXINSNS) + ")",
           false;
  out->resize(n);
  if (pread(fd.get(), out->data(), static_cast<size_t>(st.st_size), 0) != st.st_size)
    return *err = flag + ": short read", false;
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
  if (specs.empty()) {
    if (any_default)
      return *err = def_from + " needs an allowlist (--seccomp-allow, or allow lines in "
                               "--seccomp-profile): it is the action for the calls not listed",
             false;
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
  for (const auto& s : specs) {
    int nr = seccomp_syscall_resolve_name(s.name.c_str());
    if (nr == __NR_SCMP_ERROR || nr < 0)
      return *err = s.from + ": unknown system call '" + s.name + "' on this architecture", false;
    if (!s.allow && (s.name == "execve" || s.name == "execveat"))
      return *err = s.from + ": boxjail execs PROGRAM after the filter is in place; " + s.name +
                    " cannot be denied",
             false;
    bool dup = false;
    for (const auto& r : plan->rules) {
      if (r.nr != nr) continue;
      if (r.allow != s.allow)
        return *err = s.from + ": " + s.name + " is both allowed and denied (" + r.from + ")",
               false;
      if (!s.allow && r.err != s.err)
        return *err = s.from + ": " + s.name + " is already denied with " + errno_name(r.err) +
                      " (" + r.from + ")",
               false;
      dup = true;
    }
    if (!dup) plan->rules.push_back({s.name, nr, s.allow, s.err, s.from});
  }
  if (allowlist) {
    bool execve = false;
    for (const auto& r : plan->rules) execve |= r.allow && r.name == "execve";
    if (!execve)
      return *err = std::string(o.seccomp_allow.empty() ? "--seccomp-profile " + o.seccomp_profile
                                                        : "--seccomp-allow") +
                    ": the allowlist lacks execve, which boxjail needs to exec PROGRAM",
             false;
  }

  // The filter is only built here, not loaded: libseccomp need not probe
  // the kernel for what it supports (some ten seccomp() calls). Level 3 is
  // what the actions above need (kill-process, log: Linux 4.14); loading
  // the program on an older kernel fails in the child's seccomp step.
  seccomp_api_set(3);
  Ctx c;
  c.ctx = seccomp_init(def_action);
  if (!c.ctx) return *err = "seccomp_init failed", false;
  // Other ABIs of this CPU (i386 int 0x80, x32) bypass a filter written in
  // native numbers: kill the process on any of them.
  seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_NNP, 0);  // boxjail's own step sets it
  for (const auto& r : plan->rules) {
    uint32_t action = r.allow ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(static_cast<uint32_t>(r.err));
    if (action == def_action) continue;  // the default already does this
    if (int rc = seccomp_rule_add(c.ctx, action, r.nr, 0); rc < 0)
      return *err = r.from + ": seccomp_rule_add(" + r.name + "): " + std::strerror(-rc), false;
  }
  if (!export_bpf(c.ctx, &plan->program, err)) return false;
  plan->allowlist = allowlist;
  plan->active = true;
  return true;
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
      j += ",\"nr\":" + std::to_string(r.nr) + ",\"action\":";
      json_escape(&j, r.allow ? "allow" : "errno:" + errno_name(r.err));
      j += '}';
    }
    j += ']';
  }
  j += ",\"instructions\":" + std::to_string(plan.program.size()) + "}";
  return j;
}

}  // namespace boxjail::seccomp

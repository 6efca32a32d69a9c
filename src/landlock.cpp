#include "boxjail/landlock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "boxjail/cli.h"
#include "boxjail/execdeps.h"
#include "boxjail/numparse.h"
#include "boxjail/plan.h"
#include "boxjail/unique_fd.h"

namespace boxjail::landlock {
namespace {

// The kernel's structures (linux/landlock.h), as of ABI 7.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};
struct NetPortAttr {
  uint64_t allowed_access;
  uint64_t port;
};
constexpr int kRulePathBeneath = 1;
constexpr int kRuleNetPort = 2;

const char* const kFsNames[] = {"execute",   "write_file", "read_file", "read_dir",
                                "remove_dir", "remove_file", "make_char", "make_dir",
                                "make_reg",  "make_sock",  "make_fifo", "make_block",
                                "make_sym",  "refer",      "truncate",  "ioctl_dev"};
const char* const kNetNames[] = {"bind_tcp", "connect_tcp"};
const char* const kScopeNames[] = {"abstract_unix_socket", "signal"};

template <size_t N>
std::string names(uint64_t mask, const char* const (&table)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (!(mask & (1ull << i))) continue;
    if (!out.empty()) out += ',';
    out += table[i];
  }
  return out;
}

// The ABI that first handles every right in `mask`.
int abi_needed(uint64_t fs_mask) {
  if (fs_mask & kIoctlDev) return 5;
  if (fs_mask & kTruncate) return 3;
  if (fs_mask & kRefer) return 2;
  return 1;
}

void json_names(std::string* j, const std::string& csv) {
  *j += '[';
  size_t start = 0;
  bool first = true;
  while (start < csv.size()) {
    size_t c = csv.find(',', start);
    if (c == std::string::npos) c = csv.size();
    if (!first) *j += ',';
    json_escape(j, csv.substr(start, c - start));
    first = false;
    start = c + 1;
  }
  *j += ']';
}

struct PathRequest {
  const char* flag;
  std::string path;
  uint64_t access;
};

bool parse_ports(const std::string& flag, const std::string& spec, uint16_t* lo, uint16_t* hi,
                 std::string* err) {
  auto one = [](std::string_view s, uint16_t* out) {
    uint64_t v = 0;
    size_t used = 0;
    if (s.empty() || parse_u64_prefix(s, &v, &used) != NumError::kOk || used != s.size() ||
        v > 65535 || (s.size() > 1 && s[0] == '0'))
      return false;
    *out = static_cast<uint16_t>(v);
    return true;
  };
  size_t dash = spec.find('-');
  bool ok = dash == std::string::npos
                ? one(spec, lo) && (*hi = *lo, true)
                : one(std::string_view(spec).substr(0, dash), lo) &&
                      one(std::string_view(spec).substr(dash + 1), hi) && *lo <= *hi;
  if (!ok)
    *err = flag + (" " + spec) + ": not a port or a range (PORT or FIRST-LAST, 0 to 65535)";
  return ok;
}

}  // namespace

uint64_t fs_rights_of_abi(int abi) {
  if (abi < 1) return 0;
  uint64_t m = (1ull << 13) - 1;
  if (abi >= 2) m |= kRefer;
  if (abi >= 3) m |= kTruncate;
  if (abi >= 5) m |= kIoctlDev;
  return m;
}

std::string fs_names(uint64_t mask) { return names(mask, kFsNames); }
std::string net_names(uint64_t mask) { return names(mask, kNetNames); }
std::string scope_names(uint64_t mask) { return names(mask, kScopeNames); }

bool check(const Options& o, SystemFacts& sys, bool confined, const std::string& program,
           char* const* envp, int abi_cap, LandlockPlan* plan, std::string* err) {
  if (o.has_landlock_mode) {
    if (o.landlock_mode == "require") {
      plan->mode = Mode::kRequire;
    } else if (o.landlock_mode == "best-effort") {
      plan->mode = Mode::kBestEffort;
    } else {
      *err = "--landlock=" + o.landlock_mode + ": unknown mode (use require or best-effort)";
      return false;
    }
  }
  const bool fs = !o.fs_ro.empty() || !o.fs_rx.empty() || !o.fs_rw.empty() ||
                  !o.fs_rwx.empty() || o.fs_exec_deps;
  const bool net = !o.net_bind.empty() || !o.net_connect.empty() || o.net_deny;
  plan->requested = fs || net || !o.scopes.empty() || o.landlock_log;
  if (!plan->requested && !confined) return true;
  const bool require = plan->mode == Mode::kRequire;
  // The first flag given, to name in messages about Landlock as a whole.
  const char* first = fs ? (!o.fs_ro.empty()    ? "--fs-ro"
                            : !o.fs_rx.empty()  ? "--fs-rx"
                            : !o.fs_rw.empty()  ? "--fs-rw"
                            : !o.fs_rwx.empty() ? "--fs-rwx"
                                                : "--fs-exec-deps")
                     : net ? (!o.net_bind.empty() ? "--net-bind"
                              : !o.net_connect.empty() ? "--net-connect"
                                                       : "--net-deny")
                     : !o.scopes.empty() ? "--scope"
                                         : "--landlock-log";
  const char* best_effort_hint = " (--landlock=best-effort would drop it with a warning)";

  // Syntax first: every flag is checked whatever the kernel has.
  if (o.net_deny && (!o.net_bind.empty() || !o.net_connect.empty()))
    return *err = std::string("--net-deny cannot be combined with ") +
                  (o.net_bind.empty() ? "--net-connect" : "--net-bind") +
                  " (--net-deny denies every TCP bind and connect)",
           false;
  std::map<uint16_t, uint64_t> ports;
  for (const auto& [flag, list, right] :
       {std::tuple{"--net-bind", &o.net_bind, kBindTcp},
        std::tuple{"--net-connect", &o.net_connect, kConnectTcp}}) {
    for (const auto& spec : *list) {
      uint16_t lo = 0, hi = 0;
      if (!parse_ports(flag, spec, &lo, &hi, err)) return false;
      for (uint32_t p = lo; p <= hi; ++p) ports[static_cast<uint16_t>(p)] |= right;
      plan->port_specs.push_back(std::string(flag) + " " + spec);
    }
  }
  // A confined PROGRAM is scoped to its own domain unless --scope says
  // otherwise ("none" for nothing).
  uint64_t scoped = o.scopes.empty() ? kScopeAbstractUnix | kScopeSignal : 0;
  bool scope_none = false;
  for (const auto& spec : o.scopes) {
    size_t start = 0;
    do {
      size_t c = spec.find(',', start);
      std::string word = spec.substr(start, c == std::string::npos ? std::string::npos : c - start);
      if (word == "unix") {
        scoped |= kScopeAbstractUnix;
      } else if (word == "signal") {
        scoped |= kScopeSignal;
      } else if (word == "none") {
        scope_none = true;
      } else {
        *err = "--scope " + spec + ": unknown scope '" + word + "' (use unix, signal or none)";
        return false;
      }
      start = c == std::string::npos ? spec.size() + 1 : c + 1;
    } while (start <= spec.size());
  }

  if (scope_none && scoped)
    return *err = "--scope none cannot be combined with --scope " + scope_names(scoped), false;

  // Paths: each must exist now; one rule per inode, with the union of the
  // rights asked for it; a non-directory gets only the file-level rights.
  std::vector<PathRequest> reqs;
  for (const auto& [flag, list, rights] :
       {std::tuple{"--fs-ro", &o.fs_ro, kRo}, std::tuple{"--fs-rx", &o.fs_rx, kRx},
        std::tuple{"--fs-rw", &o.fs_rw, kRw}, std::tuple{"--fs-rwx", &o.fs_rwx, kRwx}})
    for (const auto& p : *list) reqs.push_back({flag, p, rights});
  if (o.fs_exec_deps) {
    std::vector<execdeps::Dep> deps;
    if (!execdeps::resolve(program, envp, &deps, err)) {
      *err = "--fs-exec-deps: " + *err;
      return false;
    }
    for (const auto& d : deps)
      reqs.push_back({"--fs-exec-deps", d.path, d.exec ? kRx : kReadFile});
  }
  for (const auto& r : reqs) {
    if (r.path.empty()) return *err = std::string(r.flag) + ": empty path", false;
    struct stat st {};
    if (stat(r.path.c_str(), &st) != 0)
      return *err = std::string(r.flag) + " " + r.path + ": " + std::strerror(errno) +
                    " (the path must exist)",
             false;
    auto same = [&](const PathRule& p) { return p.dev == st.st_dev && p.ino == st.st_ino; };
    auto it = std::find_if(plan->paths.begin(), plan->paths.end(), same);
    if (it == plan->paths.end()) {
      plan->paths.push_back({r.path, "", S_ISDIR(st.st_mode), st.st_dev, st.st_ino, 0});
      it = plan->paths.end() - 1;
    }
    it->access |= it->is_dir ? r.access : (r.access & kFileRights);
    if (it->flags.find(r.flag) == std::string::npos)
      it->flags += (it->flags.empty() ? "" : " ") + std::string(r.flag);
  }

  // Negotiation with the running kernel.
  int abi = sys.landlock_abi();
  if (abi < 0) {
    plan->no_abi_reason = std::strerror(-abi);
    if (-abi == EOPNOTSUPP) plan->no_abi_reason += " (Landlock is disabled at boot)";
    if (-abi == ENOSYS) plan->no_abi_reason += " (this kernel has no Landlock)";
    abi = 0;
  }
  if (abi_cap >= 0 && abi > abi_cap) {
    abi = abi_cap;
    if (abi == 0) plan->no_abi_reason = "simulated: BOXJAIL_LANDLOCK_ABI=0";
  }
  plan->abi = abi;
  if (abi == 0 && !plan->requested) return true;  // no domain: dry-run says why
  if (abi == 0) {
    if (require)
      return *err = std::string(first) + ": Landlock is not available: " + plan->no_abi_reason +
                    best_effort_hint,
             false;
    plan->dropped.push_back("every Landlock rule: Landlock is not available: " +
                            plan->no_abi_reason);
    plan->paths.clear();
    return true;
  }
  auto short_of = [&](const std::string& what, int needed, std::string* drop) {
    // "truncate needs", "truncate,ioctl_dev need", "TCP rules need".
    bool plural = what.find(',') != std::string::npos || what.find("rules") != std::string::npos;
    std::string msg = what + (plural ? " need" : " needs") + " Landlock ABI " +
                      std::to_string(needed) + ", this kernel has ABI " + std::to_string(abi);
    if (require) {
      *err = msg + best_effort_hint;
      return false;
    }
    *drop = msg;
    return true;
  };
  const uint64_t avail = fs_rights_of_abi(abi);
  for (auto& p : plan->paths) {
    uint64_t missing = p.access & ~avail;
    if (!missing) continue;
    std::string drop;
    if (!short_of(p.flags + " " + p.path + ": " + fs_names(missing), abi_needed(missing), &drop))
      return false;
    plan->dropped.push_back(drop + "; dropped " + fs_names(missing));
    p.access &= avail;
  }
  if (!plan->paths.empty()) plan->handled_fs = avail;
  // Without TCP rules --net-deny still holds: its socket rules are
  // seccomp's (jail.h), and no TCP socket can be made.
  if (net && !(abi < 4 && o.net_deny)) {
    std::string drop;
    if (abi < 4) {
      if (!short_of(std::string(o.net_deny ? "--net-deny" : !o.net_bind.empty() ? "--net-bind"
                                                                                  : "--net-connect") +
                        ": TCP rules",
                    4, &drop))
        return false;
      plan->dropped.push_back(drop + "; dropped every TCP rule");
    } else {
      plan->handled_net = kBindTcp | kConnectTcp;
      for (const auto& [port, access] : ports) plan->ports.push_back({port, access});
    }
  }
  if (scoped && o.scopes.empty() && abi < 6) {
    scoped = 0;  // the default scopes, where the kernel has them
  } else if (scoped) {
    std::string drop;
    if (abi < 6) {
      if (!short_of("--scope " + scope_names(scoped), 6, &drop)) return false;
      plan->dropped.push_back(drop + "; dropped the scopes");
    } else {
      plan->scoped = scoped;
    }
  }
  if (o.landlock_log) {
    std::string drop;
    if (abi < 7) {
      if (!short_of("--landlock-log", 7, &drop)) return false;
      plan->dropped.push_back(drop + "; PROGRAM's denials will not be logged");
    } else {
      plan->restrict_flags |= kLogNewExecOn;
      plan->audit = true;
    }
  }
  // Every confined box is a Landlock domain of its own, even with nothing
  // else to restrict: Landlock then limits ptrace (and /proc/PID/mem,
  // process_vm_*) to the domain. Creating block devices, which needs
  // CAP_MKNOD that a confined PROGRAM does not have, is what it handles.
  if (confined && !plan->handled_fs && !plan->handled_net && !plan->scoped) {
    plan->handled_fs = kMakeBlock;
    plan->domain_only = true;
  }
  plan->active = plan->handled_fs || plan->handled_net || plan->scoped;
  return true;
}

int create_ruleset(const LandlockPlan& plan, std::string* err) {
  RulesetAttr attr{plan.handled_fs, plan.handled_net, plan.scoped};
  // Landlock descriptors are close-on-exec from the start.
  UniqueFd rs(static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0u)));
  if (!rs.valid()) {
    *err = std::string("landlock_create_ruleset: ") + std::strerror(errno);
    return -1;
  }
  for (const auto& p : plan.paths) {
    if (!p.access) continue;
    UniqueFd fd(open(p.path.c_str(), O_PATH | O_CLOEXEC));
    struct stat st {};
    if (!fd.valid() || fstat(fd.get(), &st) != 0) {
      *err = p.flags + " " + p.path + ": " + std::strerror(errno);
      return -1;
    }
    if (st.st_dev != p.dev || st.st_ino != p.ino) {
      *err = p.flags + " " + p.path + ": replaced by another file since it was checked";
      return -1;
    }
    PathBeneathAttr rule{p.access, fd.get()};
    if (syscall(SYS_landlock_add_rule, rs.get(), kRulePathBeneath, &rule, 0u) != 0) {
      *err = p.flags + " " + p.path + ": landlock_add_rule: " + std::strerror(errno);
      return -1;
    }
  }
  for (const auto& p : plan.ports) {
    NetPortAttr rule{p.access, p.port};
    if (syscall(SYS_landlock_add_rule, rs.get(), kRuleNetPort, &rule, 0u) != 0) {
      *err = "TCP port " + std::to_string(p.port) + ": landlock_add_rule: " + std::strerror(errno);
      return -1;
    }
  }
  return rs.release();
}

std::string to_json(const LandlockPlan& plan) {
  std::string j = "{\"abi\":" + std::to_string(plan.abi) + ",\"domain\":";
  json_escape(&j, !plan.active ? "none: " + (plan.no_abi_reason.empty() ? std::string("no Landlock")
                                                                         : plan.no_abi_reason)
                  : plan.domain_only ? "its own (no rule: ptrace stays inside it)"
                                     : "its own");
  j += ",\"mode\":";
  j += plan.mode == Mode::kRequire ? "\"require\"" : "\"best-effort\"";
  j += ",\"handled_fs\":";
  json_names(&j, fs_names(plan.handled_fs));
  j += ",\"handled_net\":";
  json_names(&j, net_names(plan.handled_net));
  j += ",\"scoped\":";
  json_names(&j, scope_names(plan.scoped));
  j += ",\"rules\":[";
  bool first = true;
  for (const auto& p : plan.paths) {
    if (!first) j += ',';
    first = false;
    j += "{\"path\":";
    json_escape(&j, p.path);
    j += ",\"type\":";
    j += p.is_dir ? "\"directory\"" : "\"file\"";
    j += ",\"from\":";
    json_escape(&j, p.flags);
    j += ",\"access\":";
    json_names(&j, fs_names(p.access));
    j += '}';
  }
  j += "],\"ports\":[";
  // Runs of consecutive ports with the same rights, as "FIRST-LAST".
  first = true;
  for (size_t i = 0; i < plan.ports.size();) {
    size_t k = i;
    while (k + 1 < plan.ports.size() && plan.ports[k + 1].port == plan.ports[k].port + 1 &&
           plan.ports[k + 1].access == plan.ports[i].access)
      ++k;
    if (!first) j += ',';
    first = false;
    std::string range = std::to_string(plan.ports[i].port);
    if (k > i) range += "-" + std::to_string(plan.ports[k].port);
    j += "{\"ports\":";
    json_escape(&j, range);
    j += ",\"access\":";
    json_names(&j, net_names(plan.ports[i].access));
    j += '}';
    i = k + 1;
  }
  j += "],\"log_new_exec\":";
  j += (plan.restrict_flags & kLogNewExecOn) ? "true" : "false";
  j += ",\"dropped\":[";
  for (size_t i = 0; i < plan.dropped.size(); ++i) {
    if (i) j += ',';
    json_escape(&j, plan.dropped[i]);
  }
  j += "]}";
  return j;
}

}  // namespace boxjail::landlock

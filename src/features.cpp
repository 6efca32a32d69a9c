#include "boxjail/features.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <vector>

#include "boxjail/cgroup.h"
#include "boxjail/landlock.h"
#include "boxjail/plan.h"
#include "boxjail/seccomp.h"
#include "boxjail/sysfacts.h"
#include "boxjail/version.h"

namespace boxjail {
namespace {

// The answer of one probe: available, or the errno that says why not.
struct Probe {
  bool yes = false;
  int err = 0;
};

using seccomp::errno_name;

Probe probe_syscall(long rc) { return rc >= 0 ? Probe{true, 0} : Probe{false, errno}; }

// close_range(~0U, ~0U, flags) closes nothing: 0 where the call exists.
Probe close_range_probe(unsigned flags) {
  return probe_syscall(syscall(SYS_close_range, ~0U, ~0U, flags));
}

// clone3 with a size below the first version fails with EINVAL where the
// call exists, ENOSYS (or a filter's errno) where it does not.
Probe clone3_probe() {
  long rc = syscall(SYS_clone3, nullptr, 0);
  if (rc >= 0) return {true, 0};  // cannot happen: no arguments
  return errno == EINVAL ? Probe{true, 0} : Probe{false, errno};
}

// CLONE_INTO_CGROUP with a descriptor that cannot be open (INT_MAX): a
// kernel that knows the flag fails on the descriptor (EBADF) before any
// child exists; one that does not rejects the flag (EINVAL).
Probe into_cgroup_probe() {
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
  } args{};
  args.flags = 0x200000000ULL;  // CLONE_INTO_CGROUP
  args.cgroup = INT_MAX;
  long rc = syscall(SYS_clone3, &args, sizeof args);
  if (rc == 0) _exit(0);  // a child: impossible with a closed descriptor
  if (rc > 0) return {true, 0};
  return errno == EBADF ? Probe{true, 0} : Probe{false, errno};
}

Probe pidfd_probe() {
  long fd = syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0) return {false, errno};
  close(static_cast<int>(fd));
  return {true, 0};
}

struct SeccompAction {
  const char* name;
  uint32_t action;
};
const SeccompAction kSeccompActions[] = {
    {"kill_process", SECCOMP_RET_KILL_PROCESS}, {"kill_thread", SECCOMP_RET_KILL_THREAD},
    {"trap", SECCOMP_RET_TRAP},                 {"errno", SECCOMP_RET_ERRNO},
    {"user_notif", SECCOMP_RET_USER_NOTIF},     {"trace", SECCOMP_RET_TRACE},
    {"log", SECCOMP_RET_LOG},                   {"allow", SECCOMP_RET_ALLOW},
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

struct Report {
  std::string kernel;
  Probe close_range, close_range_cloexec, clone3, into_cgroup, pidfd;
  int landlock_abi = 0;  // negative: -errno
  std::vector<std::string> ll_fs, ll_net, ll_scopes;
  bool ll_log = false;
  Probe seccomp;
  long seccomp_mode = 0;
  std::vector<std::string> seccomp_actions;
  std::string cgroup_layout;
  std::vector<cgroup::Hierarchy> hierarchies;
  bool cap_sys_resource = false, cap_sys_admin = false;
  rlimit nofile{};
  uint64_t nr_open = 0;
};

Report probe_all(SystemFacts& sys) {
  Report r;
  utsname u{};
  if (uname(&u) == 0) r.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  r.close_range = close_range_probe(0);
  r.close_range_cloexec = close_range_probe(4 /* CLOSE_RANGE_CLOEXEC */);
  r.clone3 = clone3_probe();
  r.into_cgroup = r.clone3.yes ? into_cgroup_probe() : r.clone3;
  r.pidfd = pidfd_probe();

  r.landlock_abi = sys.landlock_abi();
  if (r.landlock_abi > 0) {
    r.ll_fs = split(landlock::fs_names(landlock::fs_rights_of_abi(r.landlock_abi)), ',');
    if (r.landlock_abi >= 4)
      r.ll_net = split(landlock::net_names(landlock::kBindTcp | landlock::kConnectTcp), ',');
    if (r.landlock_abi >= 6)
      r.ll_scopes = split(
          landlock::scope_names(landlock::kScopeAbstractUnix | landlock::kScopeSignal), ',');
    r.ll_log = r.landlock_abi >= 7;
  }

  r.seccomp_mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
  r.seccomp = r.seccomp_mode < 0 ? Probe{false, errno} : Probe{true, 0};
  if (r.seccomp.yes) {
    for (const auto& a : kSeccompActions) {
      uint32_t act = a.action;
      if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) == 0)
        r.seccomp_actions.push_back(a.name);
    }
  }

  r.hierarchies = cgroup::parse_mountinfo(sys.mountinfo());
  cgroup::read_v2_controllers(&r.hierarchies);
  bool v1 = false, v2 = false;
  for (const auto& h : r.hierarchies) (h.v2 ? v2 : v1) = true;
  r.cgroup_layout = v1 && v2 ? "hybrid" : v2 ? "v2" : v1 ? "v1" : "none";

  r.cap_sys_resource = sys.has_cap_sys_resource();
  r.cap_sys_admin = sys.has_cap_sys_admin();
  r.nofile = sys.current_rlimit(RLIMIT_NOFILE);
  r.nr_open = sys.nr_open();
  return r;
}

std::string probe_text(const Probe& p) { return p.yes ? "yes" : "no (" + errno_name(p.err) + ")"; }

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string limit_text(rlim_t v) {
  return v == RLIM_INFINITY ? "unlimited" : std::to_string(v);
}

std::string text(const Report& r) {
  std::vector<std::pair<std::string, std::string>> rows;
  const std::string version = version_text();  // "boxjail 0.1.0 (git ...)\n..."
  rows.push_back({"version", version.substr(8, version.find('\n') - 8)});
  rows.push_back({"kernel", r.kernel});
  rows.push_back({"close_range", probe_text(r.close_range) +
                                     (r.close_range.yes ? ", CLOSE_RANGE_CLOEXEC " +
                                                              probe_text(r.close_range_cloexec)
                                                        : "")});
  rows.push_back({"clone3", probe_text(r.clone3)});
  rows.push_back({"CLONE_INTO_CGROUP", probe_text(r.into_cgroup)});
  rows.push_back({"pidfd_open", probe_text(r.pidfd)});
  if (r.landlock_abi > 0) {
    rows.push_back({"landlock", "ABI " + std::to_string(r.landlock_abi)});
    rows.push_back({"landlock fs", join(r.ll_fs, " ")});
    rows.push_back({"landlock net", r.ll_net.empty() ? "none (ABI 4)" : join(r.ll_net, " ")});
    rows.push_back(
        {"landlock scopes", r.ll_scopes.empty() ? "none (ABI 6)" : join(r.ll_scopes, " ")});
    rows.push_back({"landlock logging", r.ll_log ? "yes" : "no (ABI 7)"});
  } else {
    rows.push_back({"landlock", "no (" + errno_name(-r.landlock_abi) +
                                    (r.landlock_abi == -EOPNOTSUPP ? ": disabled at boot" : "") +
                                    ")"});
  }
  rows.push_back({"seccomp", r.seccomp.yes ? (r.seccomp_mode == 0 ? "yes"
                                                                  : "yes (boxjail runs under a "
                                                                    "filter already)")
                                           : probe_text(r.seccomp)});
  if (r.seccomp.yes) rows.push_back({"seccomp actions", join(r.seccomp_actions, " ")});
  rows.push_back({"cgroup layout", r.cgroup_layout});
  for (const auto& h : r.hierarchies)
    rows.push_back({h.v2 ? "cgroup v2" : "cgroup v1",
                    h.mount + " (" + (h.controllers.empty() ? "no controllers"
                                                            : join(h.controllers, " ")) +
                        ")"});
  rows.push_back({"CAP_SYS_RESOURCE", r.cap_sys_resource ? "yes" : "no"});
  rows.push_back({"CAP_SYS_ADMIN", r.cap_sys_admin ? "yes" : "no"});
  rows.push_back({"nofile", "soft " + limit_text(r.nofile.rlim_cur) + ", hard " +
                                limit_text(r.nofile.rlim_max) +
                                (r.cap_sys_resource ? ", raisable to fs.nr_open "
                                                    : ", fs.nr_open ") +
                                std::to_string(r.nr_open)});
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::string out;
  for (const auto& [k, v] : rows) out += k + std::string(width + 2 - k.size(), ' ') + v + "\n";
  if (fault_injection_built()) out += "WARNING: a fault-injection test build (see --version)\n";
  return out;
}

void jstr(std::string* o, const std::string& s) { json_escape(o, s); }
void jarr(std::string* o, const std::vector<std::string>& v) {
  *o += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) *o += ',';
    jstr(o, v[i]);
  }
  *o += ']';
}
void jprobe(std::string* o, const char* key, const Probe& p) {
  *o += std::string("\"") + key + "\":" + (p.yes ? "true" : "false");
  if (!p.yes) {
    *o += std::string(",\"") + key + "_errno\":";
    jstr(o, errno_name(p.err));
  }
}
std::string jlimit(rlim_t v) { return v == RLIM_INFINITY ? "\"unlimited\"" : std::to_string(v); }

std::string json(const Report& r) {
  std::string o = "{\"version\":";
  jstr(&o, BOXJAIL_VERSION);
  o += ",\"fault_injection\":";
  o += fault_injection_built() ? "true" : "false";
  o += ",\"kernel\":";
  jstr(&o, r.kernel);
  o += ",\"close_range\":{";
  jprobe(&o, "available", r.close_range);
  o += ',';
  jprobe(&o, "cloexec", r.close_range_cloexec);
  o += "},\"clone3\":{";
  jprobe(&o, "available", r.clone3);
  o += ',';
  jprobe(&o, "into_cgroup", r.into_cgroup);
  o += "},\"pidfd_open\":{";
  jprobe(&o, "available", r.pidfd);
  o += "},\"landlock\":{\"abi\":" + std::to_string(std::max(r.landlock_abi, 0));
  if (r.landlock_abi <= 0) {
    o += ",\"errno\":";
    jstr(&o, errno_name(-r.landlock_abi));
  }
  o += ",\"fs\":";
  jarr(&o, r.ll_fs);
  o += ",\"net\":";
  jarr(&o, r.ll_net);
  o += ",\"scopes\":";
  jarr(&o, r.ll_scopes);
  o += ",\"logging\":";
  o += r.ll_log ? "true" : "false";
  o += "},\"seccomp\":{";
  jprobe(&o, "available", r.seccomp);
  o += ",\"mode\":" + std::to_string(r.seccomp.yes ? r.seccomp_mode : 0) + ",\"actions\":";
  jarr(&o, r.seccomp_actions);
  o += "},\"cgroup\":{\"layout\":";
  jstr(&o, r.cgroup_layout);
  o += ",\"hierarchies\":[";
  for (size_t i = 0; i < r.hierarchies.size(); ++i) {
    const auto& h = r.hierarchies[i];
    o += i ? ",{" : "{";
    o += std::string("\"version\":") + (h.v2 ? "2" : "1") + ",\"mount\":";
    jstr(&o, h.mount);
    o += ",\"controllers\":";
    jarr(&o, h.controllers);
    o += '}';
  }
  o += "]},\"capabilities\":{\"CAP_SYS_RESOURCE\":";
  o += r.cap_sys_resource ? "true" : "false";
  o += ",\"CAP_SYS_ADMIN\":";
  o += r.cap_sys_admin ? "true" : "false";
  o += "},\"nofile\":{\"soft\":" + jlimit(r.nofile.rlim_cur) + ",\"hard\":" +
       jlimit(r.nofile.rlim_max) + ",\"nr_open\":" + std::to_string(r.nr_open) + "}}\n";
  return o;
}

}  // namespace

std::string features_report(SystemFacts& sys, bool as_json) {
  Report r = probe_all(sys);
  return as_json ? json(r) : text(r);
}

}  // namespace boxjail

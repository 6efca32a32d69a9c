#include "boxjail/jail.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "boxjail/cli.h"
#include "boxjail/plan.h"
#include "boxjail/seccomp_groups.h"

namespace boxjail::jail {
namespace {

using seccomp::Cond;
using seccomp::Rule;

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
constexpr uint64_t kSockTypeMask = 0xf;  // SOCK_TYPE_MASK: type without NONBLOCK/CLOEXEC

Cond eq(unsigned arg, uint64_t v) { return {arg, Cond::Op::kMaskedEq, 0xffffffff, v}; }
Cond ge(unsigned arg, uint64_t v) { return {arg, Cond::Op::kGe, 0, v}; }
Cond has_flag(unsigned arg, uint64_t f) { return {arg, Cond::Op::kMaskedEq, f, f}; }

void add(std::vector<Rule>* rules, const char* name, int err, const std::string& from,
         std::vector<Cond> conds) {
  rules->push_back({name, seccomp::resolve_syscall(name), false, err, from, std::move(conds)});
}

// Rules that fail socket() unless args[arg] is in `allowed` (sorted):
// one equality per small value left out, then everything from the largest
// allowed value up, which also takes any value with an upper bit set.
void deny_unless_in(std::vector<Rule>* rules, unsigned arg, std::vector<uint64_t> allowed,
                    std::vector<Cond> also, int err, const std::string& from,
                    const char* call = "socket") {
  uint64_t v = 0;
  for (uint64_t a : allowed) {
    for (; v < a; ++v) {
      std::vector<Cond> c = also;
      c.push_back(eq(arg, v));
      add(rules, call, err, from, c);
    }
    v = a + 1;
  }
  also.push_back(ge(arg, v));
  add(rules, call, err, from, also);
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef PR_GET_MDWE
#define PR_GET_MDWE 66
#endif

struct Named {
  const char* name;
  uint64_t value;
};
constexpr Named kNamespaces[] = {{"user", CLONE_NEWUSER}, {"net", CLONE_NEWNET},
                                 {"mnt", CLONE_NEWNS},    {"pid", CLONE_NEWPID},
                                 {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},
                                 {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};
// The address families of linux/socket.h, by the names socket(7) uses.
constexpr Named kFamilies[] = {
    {"unix", 1},       {"local", 1},      {"inet", 2},     {"ax25", 3},      {"ipx", 4},
    {"appletalk", 5},  {"netrom", 6},     {"bridge", 7},   {"atmpvc", 8},    {"x25", 9},
    {"inet6", 10},     {"rose", 11},      {"decnet", 12},  {"netbeui", 13},  {"security", 14},
    {"key", 15},       {"netlink", 16},   {"packet", 17},  {"econet", 19},   {"atmsvc", 20},
    {"rds", 21},       {"sna", 22},       {"irda", 23},    {"pppox", 24},    {"wanpipe", 25},
    {"llc", 26},       {"ib", 27},        {"mpls", 28},    {"can", 29},      {"tipc", 30},
    {"bluetooth", 31}, {"iucv", 32},      {"rxrpc", 33},   {"isdn", 34},     {"phonet", 35},
    {"ieee802154", 36}, {"caif", 37},     {"alg", 38},     {"nfc", 39},      {"vsock", 40},
    {"kcm", 41},       {"qipcrtr", 42},   {"smc", 43},     {"xdp", 44},      {"mctp", 45}};

// "a,b" → the values of the names in `table` (without `prefix`, any case).
bool parse_names(const std::string& flag, const std::string& list, const Named* table, size_t n,
                 const char* prefix, std::vector<uint64_t>* out, std::string* err) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string w = list.substr(start, comma - start);
    start = comma + 1;
    for (char& ch : w) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
    if (w.rfind(prefix, 0) == 0) w = w.substr(strlen(prefix));
    bool found = false;
    for (size_t i = 0; i < n; ++i)
      if (w == table[i].name) {
        out->push_back(table[i].value);
        found = true;
      }
    if (!found) {
      std::string names;
      for (size_t i = 0; i < n && i < 12; ++i) names += (i ? ", " : "") + std::string(table[i].name);
      return *err = flag + " " + list + ": unknown name '" + w + "' (one of " + names +
                    (n > 12 ? ", ..." : "") + ")",
             false;
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return true;
}

}  // namespace

bool confines(const Options& o) { return !confining_flag(o).empty(); }

std::string confining_flag(const Options& o) {
  const std::pair<bool, const char*> flags[] = {
      {!o.fs_ro.empty(), "--fs-ro"},
      {!o.fs_rx.empty(), "--fs-rx"},
      {!o.fs_rw.empty(), "--fs-rw"},
      {!o.fs_rwx.empty(), "--fs-rwx"},
      {o.fs_exec_deps, "--fs-exec-deps"},
      {!o.net_bind.empty(), "--net-bind"},
      {!o.net_connect.empty(), "--net-connect"},
      {o.net_deny, "--net-deny"},
      {!o.scopes.empty(), "--scope"},
      {o.has_landlock_mode, "--landlock"},
      {o.landlock_log, "--landlock-log"},
      {!o.seccomp_deny.empty(), "--seccomp-deny"},
      {!o.seccomp_allow.empty(), "--seccomp-allow"},
      {!o.seccomp_rule.empty(), "--seccomp-rule"},
      {o.has_seccomp_default, "--seccomp-default"},
      {o.has_seccomp_profile, "--seccomp-profile"},
      {o.has_seccomp_bpf, "--seccomp-bpf"},
      {o.has_learn, "--learn"},
      {o.exec_once, "--exec-once"},
      {o.has_restrict_namespaces, "--restrict-namespaces"},
      {!o.restrict_address_families.empty(), "--restrict-address-families"},
      {o.memory_deny_write_execute, "--memory-deny-write-execute"},
      {o.has_user, "--user"},
      {o.has_groups, "--groups"},
      {!o.cap_drop.empty(), "--cap-drop"},
      {!o.cap_keep.empty(), "--cap-keep"},
      {o.no_new_privs, "--no-new-privs"},
      {o.allow_new_privs, "--allow-new-privs"},
      {!o.securebits.empty(), "--securebits"},
  };
  for (const auto& [given, name] : flags)
    if (given) return name;
  return "";
}

bool check(const Options& o, const seccomp::SeccompPlan& user, JailPlan* plan, std::string* err) {
  const bool tcp = !o.net_bind.empty() || !o.net_connect.empty();
  if (o.net_allow_udp && !tcp)
    return *err = std::string("--net-allow-udp needs --net-bind or --net-connect") +
                  (o.net_deny ? " (--net-deny allows no network at all)" : ""),
           false;
  const bool deny_list = user.denies;
  const bool net = o.net_deny || tcp;
  if (net && (o.seccomp_keep_io_uring || user.keeps_io_uring))
    return *err = std::string(o.seccomp_keep_io_uring ? "--seccomp-keep-io-uring"
                                                      : "--seccomp-allow io_uring_setup") +
                  " cannot be combined with " +
                  (o.net_deny ? "--net-deny" : !o.net_bind.empty() ? "--net-bind"
                                                                    : "--net-connect") +
                  ": io_uring makes sockets (IORING_OP_SOCKET) that the socket rules do not see",
           false;
  if (o.seccomp_keep_io_uring && !deny_list)
    return *err = "--seccomp-keep-io-uring needs a deny list (--seccomp-deny, or deny lines in "
                  "--seccomp-profile): io_uring is only denied along with one",
           false;
  plan->flag = confining_flag(o);
  plan->active = !plan->flag.empty();
  if (!plan->active) return true;
  plan->net = o.net_deny ? Net::kDeny : tcp ? Net::kTcp : Net::kOpen;
  plan->udp = o.net_allow_udp;

  std::vector<Rule>& r = plan->rules;
  // The terminal: pushing input into the caller's terminal (TIOCSTI) or
  // the console (TIOCLINUX), on any descriptor, opened now or later.
  plan->terminal = true;
  for (unsigned long req : {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)})
    add(&r, "ioctl", EPERM, "jail: terminal", {eq(1, req)});

  // The network promise for every protocol: Landlock sees only TCP bind
  // and connect (and not MPTCP or TCP Fast Open), so the socket families,
  // types and protocols are seccomp's.
  if (plan->net != Net::kOpen) {
    const std::string from = "jail: network";
    std::vector<uint64_t> families = {AF_UNIX, AF_NETLINK};
    if (plan->net == Net::kTcp) families = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
    deny_unless_in(&r, 0, families, {}, EAFNOSUPPORT, from);
    if (plan->net == Net::kTcp) {
      for (uint64_t fam : {uint64_t{AF_INET}, uint64_t{AF_INET6}}) {
        std::vector<uint64_t> types = {SOCK_STREAM};
        if (plan->udp) types.push_back(SOCK_DGRAM);
        // The type is compared without SOCK_NONBLOCK and SOCK_CLOEXEC.
        uint64_t t = 0;
        for (uint64_t a : types) {
          for (; t < a; ++t)
            add(&r, "socket", EPROTONOSUPPORT, from,
                {eq(0, fam), {1, Cond::Op::kMaskedEq, kSockTypeMask, t}});
          t = a + 1;
        }
        for (; t <= kSockTypeMask; ++t)
          add(&r, "socket", EPROTONOSUPPORT, from,
              {eq(0, fam), {1, Cond::Op::kMaskedEq, kSockTypeMask, t}});
        // Stream sockets: TCP only (not MPTCP, SCTP); datagrams: UDP only.
        deny_unless_in(&r, 2, {0, IPPROTO_TCP},
                       {eq(0, fam), {1, Cond::Op::kMaskedEq, kSockTypeMask, SOCK_STREAM}},
                       EPROTONOSUPPORT, from);
        if (plan->udp)
          deny_unless_in(&r, 2, {0, IPPROTO_UDP},
                         {eq(0, fam), {1, Cond::Op::kMaskedEq, kSockTypeMask, SOCK_DGRAM}},
                         EPROTONOSUPPORT, from);
      }
    }
    // TCP Fast Open connects without connect(), past Landlock's hook.
    add(&r, "sendto", EACCES, from, {has_flag(3, MSG_FASTOPEN)});
    add(&r, "sendmsg", EACCES, from, {has_flag(2, MSG_FASTOPEN)});
    add(&r, "sendmmsg", EACCES, from, {has_flag(3, MSG_FASTOPEN)});
    add(&r, "setsockopt", EACCES, from, {eq(1, IPPROTO_TCP), eq(2, TCP_FASTOPEN_CONNECT)});
  }

  // io_uring's operations (OPENAT, CONNECT, SOCKET, ...) never pass
  // through seccomp: a deny list or the socket rules would be bypassed.
  if ((deny_list && !o.seccomp_keep_io_uring && !user.keeps_io_uring) || plan->net != Net::kOpen) {
    plan->io_uring = true;
    plan->io_uring_why = deny_list ? "a deny list is given (--seccomp-keep-io-uring keeps it)"
                                   : "the --net-* socket rules are seccomp's";
    for (const char* call : {"io_uring_setup", "io_uring_enter", "io_uring_register"})
      add(&r, call, EPERM, "jail: io_uring", {});
  }
  // --restrict-namespaces: no new namespace of those types, made
  // (unshare, clone) or joined (setns; nstype 0 joins whatever the
  // descriptor is). clone3's flags are in memory: it gets ENOSYS.
  if (o.has_restrict_namespaces) {
    std::vector<uint64_t> types;
    if (o.restrict_namespaces.empty() || o.restrict_namespaces == "all") {
      for (const auto& t : kNamespaces) types.push_back(t.value);
    } else if (!parse_names("--restrict-namespaces", o.restrict_namespaces, kNamespaces,
                            std::size(kNamespaces), "", &types, err)) {
      return false;
    }
    const std::string from = "--restrict-namespaces";
    for (uint64_t t : types) {
      plan->namespaces |= t;
      add(&r, "unshare", EPERM, from, {has_flag(0, t)});
      add(&r, "clone", EPERM, from, {has_flag(0, t)});
      add(&r, "setns", EPERM, from, {has_flag(1, t)});
    }
    add(&r, "setns", EPERM, from, {eq(1, 0)});
  }
  // --restrict-address-families: socket() and socketpair() for those only.
  if (!o.restrict_address_families.empty()) {
    std::vector<uint64_t> fams;
    for (const auto& list : o.restrict_address_families)
      if (list != "none" && !parse_names("--restrict-address-families", list, kFamilies,
                                         std::size(kFamilies), "af_", &fams, err))
        return false;
    std::sort(fams.begin(), fams.end());
    fams.erase(std::unique(fams.begin(), fams.end()), fams.end());
    plan->families = fams;
    plan->restrict_families = true;
    for (const char* call : {"socket", "socketpair"})
      deny_unless_in(&r, 0, fams, {}, EAFNOSUPPORT, "--restrict-address-families", call);
  }
  // --memory-deny-write-execute: PR_SET_MDWE where the kernel has it (6.3:
  // boxjail sets it before the child starts; fork and exec keep it), else
  // the seccomp rules systemd's MemoryDenyWriteExecute= uses.
  if (o.memory_deny_write_execute) {
    bool prctl_ok = prctl(PR_GET_MDWE, 0, 0, 0, 0) >= 0;
#ifdef BOXJAIL_FAULT_INJECTION
    if (getenv("BOXJAIL_NO_MDWE")) prctl_ok = false;  // the tests' older kernel
#endif
    plan->mdwe = prctl_ok ? Mdwe::kPrctl : Mdwe::kSeccomp;
    if (!prctl_ok) {
      const std::string from = "--memory-deny-write-execute";
      add(&r, "mmap", EPERM, from, {has_flag(2, PROT_WRITE | PROT_EXEC)});
      add(&r, "mprotect", EPERM, from, {has_flag(2, PROT_EXEC)});
      add(&r, "pkey_mprotect", EPERM, from, {has_flag(2, PROT_EXEC)});
      add(&r, "shmat", EPERM, from, {has_flag(2, SHM_EXEC)});
    }
  }
  return seccomp::compile(SCMP_ACT_ALLOW, r, &plan->program, err);
}

bool is_host_root(uid_t uid, const std::string& uid_map) {
  if (uid_map.empty()) return uid == 0;
  unsigned long inside = 0, outside = 0, count = 0;
  size_t at = 0;
  while (at < uid_map.size()) {
    size_t nl = uid_map.find('\n', at);
    if (nl == std::string::npos) nl = uid_map.size();
    const std::string line = uid_map.substr(at, nl - at);
    at = nl + 1;
    if (sscanf(line.c_str(), "%lu %lu %lu", &inside, &outside, &count) != 3) continue;
    if (uid >= inside && uid - inside < count) return outside + (uid - inside) == 0;
  }
  return false;  // unmapped: the overflow uid, not root
}

bool check_root(const JailPlan& plan, uid_t uid, bool explicit_root, const std::string& uid_map,
                std::string* err) {
  if (!plan.active || explicit_root || !is_host_root(uid, uid_map)) return true;
  *err = plan.flag +
         ": PROGRAM would run as root (uid 0), which even without capabilities owns root's files "
         "(write, chmod, chown, xattrs: Landlock does not cover metadata), connects to root's "
         "unix sockets and writes the cgroup files; give it a uid of its own with --user USER, "
         "or keep uid 0 knowingly with --user root";
  return false;
}

std::string to_json(const JailPlan& plan) {
  std::string j = "{\"terminal\":";
  j += plan.terminal ? "\"TIOCSTI and TIOCLINUX fail with EPERM\"" : "null";
  j += ",\"network\":";
  switch (plan.net) {
    case Net::kOpen: j += "null"; break;
    case Net::kDeny: j += "\"sockets of AF_UNIX and AF_NETLINK only\""; break;
    case Net::kTcp:
      j += plan.udp ? "\"AF_UNIX, AF_NETLINK, and TCP and UDP over AF_INET and AF_INET6\""
                    : "\"AF_UNIX, AF_NETLINK, and TCP over AF_INET and AF_INET6; no TCP Fast Open\"";
      break;
  }
  j += ",\"io_uring\":";
  if (plan.io_uring) {
    j += "{\"denied\":true,\"why\":";
    json_escape(&j, plan.io_uring_why);
    j += '}';
  } else {
    j += "null";
  }
  j += ",\"namespaces\":";
  if (plan.namespaces) {
    std::string types;
    for (const auto& t : kNamespaces)
      if (plan.namespaces & t.value) types += (types.empty() ? "" : ",") + std::string(t.name);
    json_escape(&j, "no new " + types + " namespaces (clone3 gets ENOSYS)");
  } else {
    j += "null";
  }
  j += ",\"address_families\":";
  if (plan.restrict_families) {
    j += '[';
    for (size_t i = 0; i < plan.families.size(); ++i) {
      if (i) j += ',';
      j += std::to_string(plan.families[i]);
    }
    j += ']';
  } else {
    j += "null";
  }
  j += ",\"memory_deny_write_execute\":";
  j += plan.mdwe == Mdwe::kPrctl     ? "\"PR_SET_MDWE\""
       : plan.mdwe == Mdwe::kSeccomp ? "\"seccomp: mmap W+X, mprotect X, shmat SHM_EXEC\""
                                      : "null";
  j += ",\"rules\":[";
  for (size_t i = 0; i < plan.rules.size(); ++i) {
    if (i) j += ',';
    json_escape(&j, seccomp::describe(plan.rules[i]) + " -> " +
                        seccomp::errno_name(plan.rules[i].err));
  }
  j += "],\"instructions\":" + std::to_string(plan.program.size()) + "}";
  return j;
}

}  // namespace boxjail::jail

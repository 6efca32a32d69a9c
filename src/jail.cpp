#include "boxjail/jail.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>

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
                    std::vector<Cond> also, int err, const std::string& from) {
  uint64_t v = 0;
  for (uint64_t a : allowed) {
    for (; v < a; ++v) {
      std::vector<Cond> c = also;
      c.push_back(eq(arg, v));
      add(rules, "socket", err, from, c);
    }
    v = a + 1;
  }
  also.push_back(ge(arg, v));
  add(rules, "socket", err, from, also);
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
      {o.has_seccomp_default, "--seccomp-default"},
      {o.has_seccomp_profile, "--seccomp-profile"},
      {o.has_seccomp_bpf, "--seccomp-bpf"},
      {o.has_user, "--user"},
      {o.has_groups, "--groups"},
      {!o.cap_drop.empty(), "--cap-drop"},
      {!o.cap_keep.empty(), "--cap-keep"},
      {o.no_new_privs, "--no-new-privs"},
      {o.allow_new_privs, "--allow-new-privs"},
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

// The jail: what boxjail adds by itself whenever it confines PROGRAM, so
// that a hostile PROGRAM cannot walk out of the configurations users write
// (boxjail(1), THREAT MODEL). A launch that only prepares a process
// (rlimits, descriptors, PID file, modes) gets none of it.
//
// Three parts, each decided here from the options and checked before
// anything is created:
//   - the uid-0 rule: a confined PROGRAM does not run as the host's root
//     unless --user root says so;
//   - the jail's own seccomp filter, loaded beside the user's (the kernel
//     applies the stricter answer of the two): no TIOCSTI or TIOCLINUX on
//     any descriptor; the network promise of --net-* for every protocol;
//     no io_uring where its operations would bypass a deny list or the
//     socket rules;
//   - what the other concerns do because PROGRAM is confined (every
//     capability dropped, no_new_privs, securebits, a Landlock domain of
//     its own, PR_SET_PDEATHSIG) lives in those concerns: they ask
//     confines().
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "boxjail/seccomp.h"

namespace boxjail {

struct Options;

namespace jail {

/// Whether `o` asks boxjail to confine PROGRAM: any Landlock, seccomp,
/// identity or capability flag.
bool confines(const Options& o);
/// The first confining flag given ("--fs-ro"), for messages; "" if none.
std::string confining_flag(const Options& o);

enum class Net { kOpen, kDeny, kTcp };

/// How --memory-deny-write-execute holds: PR_SET_MDWE (Linux 6.3), set by
/// boxjail before the child starts, or seccomp rules on mmap, mprotect,
/// pkey_mprotect and shmat.
enum class Mdwe { kOff, kPrctl, kSeccomp };

struct JailPlan {
  bool active = false;
  std::string flag;        // the first confining flag
  bool terminal = false;   // TIOCSTI and TIOCLINUX fail with EPERM
  Net net = Net::kOpen;    // --net-deny: kDeny; --net-bind/--net-connect: kTcp
  bool udp = false;        // --net-allow-udp
  bool io_uring = false;   // io_uring_* fail with EPERM
  std::string io_uring_why;
  uint64_t namespaces = 0;         // --restrict-namespaces: CLONE_NEW* refused
  bool restrict_families = false;  // --restrict-address-families
  std::vector<uint64_t> families;  // ... the ones allowed
  Mdwe mdwe = Mdwe::kOff;          // --memory-deny-write-execute
  std::vector<seccomp::Rule> rules;
  std::vector<sock_filter> program;  // what the child loads, beside the user's
};

/// Decides the jail for `o`, given the user's seccomp plan (a deny list
/// takes io_uring with it). False with a one-line message in *err.
bool check(const Options& o, const seccomp::SeccompPlan& user, JailPlan* plan, std::string* err);

/// Whether `uid` inside this user namespace is uid 0 of the host, from
/// the text of /proc/self/uid_map ("" counts as the initial namespace).
bool is_host_root(uid_t uid, const std::string& uid_map);

/// The uid-0 rule: a confined PROGRAM that would run as the host's uid 0
/// (`uid`; `explicit_root`: --user named uid 0) is refused. Message in *err.
bool check_root(const JailPlan& plan, uid_t uid, bool explicit_root, const std::string& uid_map,
                std::string* err);

/// The jail part of --dry-run, as a JSON object.
std::string to_json(const JailPlan& plan);

}  // namespace jail
}  // namespace boxjail

// Landlock: the --fs-*, --net-*, --scope, --landlock and --landlock-log
// flags. Three parts, one per side of the launch:
//   - check(): the flags → a LandlockPlan, negotiated against the running
//     kernel's ABI (require: refuse what it cannot do; best-effort: drop it
//     and say exactly what), before anything is created;
//   - create_ruleset(): in the parent, the ruleset descriptor with every
//     rule added through O_PATH descriptors (all close-on-exec);
//   - the child only calls prctl(PR_SET_NO_NEW_PRIVS) and
//     landlock_restrict_self() on that descriptor (child.h).
// Debian 12's headers (6.1) stop at ABI 2, so the constants past it are
// defined here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "boxjail/sysfacts.h"

namespace boxjail {

struct Options;

namespace landlock {

// Filesystem rights (LANDLOCK_ACCESS_FS_*), with the ABI that added each.
inline constexpr uint64_t kExecute = 1ull << 0;
inline constexpr uint64_t kWriteFile = 1ull << 1;
inline constexpr uint64_t kReadFile = 1ull << 2;
inline constexpr uint64_t kReadDir = 1ull << 3;
inline constexpr uint64_t kRemoveDir = 1ull << 4;
inline constexpr uint64_t kRemoveFile = 1ull << 5;
inline constexpr uint64_t kMakeChar = 1ull << 6;
inline constexpr uint64_t kMakeDir = 1ull << 7;
inline constexpr uint64_t kMakeReg = 1ull << 8;
inline constexpr uint64_t kMakeSock = 1ull << 9;
inline constexpr uint64_t kMakeFifo = 1ull << 10;
inline constexpr uint64_t kMakeBlock = 1ull << 11;
inline constexpr uint64_t kMakeSym = 1ull << 12;
inline constexpr uint64_t kRefer = 1ull << 13;     // ABI 2
inline constexpr uint64_t kTruncate = 1ull << 14;  // ABI 3
inline constexpr uint64_t kIoctlDev = 1ull << 15;  // ABI 5
// Network rights (LANDLOCK_ACCESS_NET_*, ABI 4).
inline constexpr uint64_t kBindTcp = 1ull << 0;
inline constexpr uint64_t kConnectTcp = 1ull << 1;
// Scopes (LANDLOCK_SCOPE_*, ABI 6).
inline constexpr uint64_t kScopeAbstractUnix = 1ull << 0;
inline constexpr uint64_t kScopeSignal = 1ull << 1;
// landlock_restrict_self() flags (ABI 7).
inline constexpr uint32_t kLogNewExecOn = 1u << 1;

/// The rights a rule on a non-directory can carry.
inline constexpr uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;
inline constexpr uint64_t kRo = kReadFile | kReadDir;
inline constexpr uint64_t kRx = kRo | kExecute;
inline constexpr uint64_t kRw = kRo | kWriteFile | kRemoveDir | kRemoveFile | kMakeChar |
                                kMakeDir | kMakeReg | kMakeSock | kMakeFifo | kMakeBlock |
                                kMakeSym | kRefer | kTruncate | kIoctlDev;
inline constexpr uint64_t kRwx = kRw | kExecute;

/// Every filesystem right that Landlock ABI `abi` can restrict.
uint64_t fs_rights_of_abi(int abi);

/// "read_file,read_dir": the names of the rights in `mask`, in bit order.
std::string fs_names(uint64_t mask);
std::string net_names(uint64_t mask);
std::string scope_names(uint64_t mask);

enum class Mode { kRequire, kBestEffort };

/// One path rule after negotiation.
struct PathRule {
  std::string path;    // as given (the first flag that named it)
  std::string flags;   // "--fs-ro", "--fs-rw --fs-exec-deps", ...
  bool is_dir = false;
  dev_t dev = 0;       // the inode the rule is for, as stat() saw it
  ino_t ino = 0;
  uint64_t access = 0;  // granted, within the handled set
};

/// One TCP port rule.
struct PortRule {
  uint16_t port = 0;
  uint64_t access = 0;
};

struct LandlockPlan {
  bool requested = false;  // any Landlock flag was given
  bool active = false;     // something is left to restrict after negotiation
  bool domain_only = false;  // confined with no rule: a domain of its own
  Mode mode = Mode::kRequire;
  int abi = 0;             // the ABI found (0: no Landlock)
  std::string no_abi_reason;  // why the ABI is 0
  uint64_t handled_fs = 0;
  uint64_t handled_net = 0;
  uint64_t scoped = 0;
  uint32_t restrict_flags = 0;
  bool audit = false;  // --landlock-log took effect: denials go to the audit log
  std::vector<PathRule> paths;
  std::vector<PortRule> ports;  // sorted by port
  std::vector<std::string> port_specs;  // --net-bind/--net-connect as given, for display
  /// Best-effort only: one line per flag whose request was cut, saying what.
  std::vector<std::string> dropped;
};

/// Checks the Landlock flags of `o` into `*plan`. `confined`: boxjail
/// confines PROGRAM (jail.h), which then gets a domain of its own and the
/// signal and abstract-unix scopes where the kernel has them, whatever
/// flags are given. `program` is PROGRAM's resolved path (for
/// --fs-exec-deps); `envp` is its environment. Returns false with a
/// one-line message in `*err` (without "boxjail: ").
bool check(const Options& o, SystemFacts& sys, bool confined, const std::string& program,
           char* const* envp, int abi_cap, LandlockPlan* plan, std::string* err);

/// Parent side: the ruleset with every rule added, close-on-exec; -1 with a
/// message naming the rule and the kernel's errno.
int create_ruleset(const LandlockPlan& plan, std::string* err);

/// The landlock part of --dry-run, as a JSON object.
std::string to_json(const LandlockPlan& plan);

}  // namespace landlock
}  // namespace boxjail

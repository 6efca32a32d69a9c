// Identity and capabilities: --user, --groups, --cap-drop, --cap-keep and
// --no-new-privs. Names are resolved in the parent (the user and group
// databases, libcap for capability names); the child's identity step makes
// only system calls, in this order:
//   1. drop --cap-drop from the bounding set (needs CAP_SETPCAP, so before
//      the uid change gives it up);
//   2. the securebits of a confined PROGRAM (also needs CAP_SETPCAP);
//   3. setgroups, setresgid, then (with PR_SET_KEEPCAPS for --cap-keep
//      where the securebits are not set) setresuid;
//   4. the effective, permitted and inheritable sets without --cap-drop
//      (a confined PROGRAM: every capability), or with exactly --cap-keep;
//      then the ambient set (lowered, or raised for --cap-keep so the
//      capabilities survive execve);
//   5. prove the way back is shut: setresuid(0, 0, 0) and
//      setresgid(0, 0, 0) must fail, or PROGRAM never runs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "boxjail/sysfacts.h"

namespace boxjail {

struct Options;

/// What the child's identity step reads: plain data the parent filled.
struct ChildIdentity {
  bool set_ids = false;
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  size_t n_groups = 0;
  uint64_t drop = 0;           // capabilities removed everywhere
  bool drop_bounding = false;  // from the bounding set too (CAP_SETPCAP held)
  uint64_t bounding_keep = 0;  // --allow-new-privs: left in the bounding set
  uint64_t keep = 0;           // --cap-keep: ambient after the uid change
  int last_cap = 40;           // /proc/sys/kernel/cap_last_cap
  /// PR_SET_SECUREBITS before the uid change, or -1: a confined PROGRAM
  /// gets NOROOT and NO_SETUID_FIXUP, locked, and KEEP_CAPS locked off,
  /// wherever boxjail has CAP_SETPCAP; --securebits adds to those (and
  /// needs CAP_SETPCAP).
  int securebits = -1;
};

/// Which call of the identity step failed (StepFailure::detail).
enum IdentityDetail : int32_t {
  kIdBounding = 1,
  kIdGroups,
  kIdGid,
  kIdKeepCaps,
  kIdUid,
  kIdRegainedRoot,
  kIdCapset,
  kIdAmbient,
  kIdSecurebits,
};

struct IdentityPlan {
  ChildIdentity child;
  bool active = false;           // the step runs
  std::string user, group;       // names as resolved ("" when given as numbers)
  std::vector<gid_t> groups;
  std::vector<std::string> group_names;
  bool no_new_privs = false;     // --no-new-privs, or implied by --user or --cap-drop
  std::string no_new_privs_why;
  bool explicit_root = false;    // --user named uid 0
  bool allow_new_privs = false;  // --allow-new-privs
  bool explicit_securebits = false;  // --securebits
  std::string caps_why;          // why every capability is dropped, or ""
};

/// The capabilities that amount to root, with what each gives; --cap-keep
/// refuses them without --cap-keep-root-equivalent.
struct RootCap {
  int cap;
  const char* gives;
};
const RootCap* root_equivalent_caps(size_t* n);

/// Checks --user/--groups/--cap-* into `*plan`. `confined`: boxjail
/// confines PROGRAM (jail::confines), so every capability not kept is
/// dropped and the securebits are set. False with a one-line message naming
/// the flag in `*err`.
/// An entry of /etc/passwd, which boxjail reads directly (a static binary
/// loads no NSS modules).
struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string dir, shell;
};
/// The first entry with that name, or that uid; false if there is none.
bool passwd_by_name(const std::string& name, PasswdEntry* out);
bool passwd_by_uid(uid_t uid, PasswdEntry* out);

bool check_identity(const Options& o, SystemFacts& sys, bool confined, IdentityPlan* plan,
                    std::string* err);

/// The identity part of --dry-run: ids, groups, and the capability sets
/// PROGRAM will have.
std::string identity_json(const IdentityPlan& plan);

/// Child side: the identity step. Returns 0 or an errno, with *detail set
/// to an IdentityDetail.
int apply_identity(const ChildIdentity& id, int32_t* detail) noexcept;

/// The securebits by name, as --securebits and --dry-run write them
/// (linux/securebits.h: "noroot" is SECBIT_NOROOT). `settable` is false
/// for keep_caps, which every execve clears: it would never reach PROGRAM.
struct Securebit {
  const char* name;
  int bit;
  bool settable;
};
const Securebit* securebit_table(size_t* n);

/// "cap_net_admin" for a capability number.
std::string cap_name(int cap);

}  // namespace boxjail

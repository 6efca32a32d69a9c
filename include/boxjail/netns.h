// --netns PATH: PROGRAM joins an existing network namespace (Firecracker's
// jailer --netns, minijail -e FILE, firejail --netns, systemd
// NetworkNamespacePath=).
//   - check(): in validation, before anything is created: PATH is opened
//     (O_RDONLY | O_CLOEXEC) and must be a network namespace: on nsfs,
//     with ioctl(NS_GET_NSTYPE) == CLONE_NEWNET (before Linux 4.11, which
//     lacks that ioctl, the descriptor's /proc link must read "net:[N]").
//     Its inode is recorded; the descriptor is closed again. boxjail must
//     have CAP_SYS_ADMIN, which setns() needs.
//   - open_checked(): in the parent at launch: opens PATH again and checks
//     that it is still that namespace (a bind mount replaced in between
//     is refused). The caller owns the descriptor (close-on-exec) and
//     keeps it off the --fd targets.
//   - the child's kNetns step (child.h): setns(fd, CLONE_NEWNET), before
//     the identity change takes CAP_SYS_ADMIN away.
#pragma once

#include <cstdint>
#include <string>

namespace boxjail {

struct Options;
class SystemFacts;

namespace netns {

struct NetnsPlan {
  bool active = false;
  std::string path;   // as given
  uint64_t dev = 0;   // of the namespace file (nsfs), from fstat()
  uint64_t inode = 0; // the namespace's inode: what /proc/PID/ns/net shows as net:[N]
};

/// "" when `fd` is a network namespace; otherwise what it is instead
/// ("a regular file", "a mnt namespace").
std::string not_a_netns(int fd);

/// Checks --netns into `*plan`. Leaves `*plan` inactive without the flag.
bool check(const Options& o, SystemFacts& sys, NetnsPlan* plan, std::string* err);

/// Opens plan.path again (O_RDONLY | O_CLOEXEC) and checks that it is the
/// namespace check() found. Returns the descriptor, or -1 with `*err` set
/// (one line, naming --netns).
int open_checked(const NetnsPlan& plan, std::string* err);

/// The netns part of --dry-run.
std::string to_json(const NetnsPlan& plan);

}  // namespace netns
}  // namespace boxjail

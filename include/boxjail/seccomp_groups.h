// System call groups: the families of calls that reach the same operation
// (open, openat, openat2, creat and open_by_handle_at all open a file). A
// deny list that names one member of a family and not the rest would leave
// the operation reachable, so seccomp::check refuses it and names the rest;
// "@open" in a list stands for the whole family. The table is data, read by
// the seccomp readers, the completions and the man page's family table (a
// test checks that the man page lists every group).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace boxjail::seccomp {

/// One member of a group. A member with `arg` >= 0 belongs to the family
/// only when (args[arg] & flag) == flag: sendto reaches connect's operation
/// only with MSG_FASTOPEN.
struct GroupMember {
  const char* name;
  int arg = -1;
  uint64_t flag = 0;
};

struct Group {
  const char* name;  // without the '@'
  const char* what;  // the operation, for messages and the man page
  GroupMember members[9];
  size_t n = 0;
};

/// The table, in the man page's order.
const Group* groups(size_t* n);

/// The group named `name` (with or without the '@'), or nullptr.
const Group* find_group(std::string_view name);

/// The group whose unconditional members include `syscall`, or nullptr.
const Group* family_of(std::string_view syscall);

/// The native number of `name`: libseccomp's, or, for calls newer than
/// Debian 12's libseccomp (setxattrat, file_setattr, ...), the x86-64
/// number from this table. -1 if neither knows it.
int resolve_syscall(std::string_view name);

}  // namespace boxjail::seccomp

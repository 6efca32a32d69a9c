// System call families and groups, the two kinds of "@NAME" in a list.
//
// A family is the set of calls that reach the same operation (open, openat,
// openat2, creat and open_by_handle_at all open a file). A deny list that
// names one member of a family and not the rest would leave the operation
// reachable, so seccomp::check refuses it and names the rest; "@open" in a
// list stands for the whole family.
//
// A group is a set of calls for a purpose (@file-system, @network-io,
// @system-service), written from the kernel's x86-64 system call table;
// its members are calls, families and other groups. A group holds whole
// families only (a test checks it), so that any group can be denied.
//
// Both tables are data, read by the seccomp readers, --list-syscall-groups,
// the completions and the man page's tables (a test checks that the man
// page lists every family and group).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

/// The native number of `name`: libseccomp's, or, on x86-64, for calls
/// newer than Debian 12's libseccomp (statmount, setxattrat, file_setattr,
/// ...), the number from the kernel's table. -1 if neither knows it.
int resolve_syscall(std::string_view name);

/// Where a name is a system call: here, only on other architectures
/// (socketcall, ugetrlimit, waitpid: libseccomp knows them from i386, arm,
/// ...), or nowhere.
enum class Known { kNative, kOtherArch, kUnknown };
Known classify_syscall(std::string_view name);

/// The architecture the filters are built for, as uname -m names it
/// ("x86_64").
const char* native_arch();

/// A group. `members` is a space-separated list of system calls and
/// "@NAME"s (groups or families). A group with a family's name (@mount,
/// @module) is that family plus `members`. A member that does not exist on
/// the running architecture is skipped: the table may name calls of other
/// architectures (socketcall, ugetrlimit) for the same purpose.
struct SyscallGroup {
  const char* name;     // without the '@'
  const char* what;     // its purpose, for --list-syscall-groups and the man page
  const char* members;
};

/// The groups, in the man page's (alphabetical) order.
const SyscallGroup* syscall_groups(size_t* n);

/// One call a group or family stands for on this architecture. `arg` >= 0
/// for a conditional family member (GroupMember).
struct GroupCall {
  std::string name;
  int nr = -1;
  int arg = -1;
  uint64_t flag = 0;
};

/// The calls `name` (a group or family, with or without the '@') stands
/// for here, each once, in the table's order: nested groups and families
/// expanded, calls of other architectures skipped, and a call that is also
/// a conditional member kept only unconditionally. Groups are looked up in
/// `table` (tests give their own), then the families. False if `name` is
/// neither, or if the table nests a group in itself.
bool expand_group(std::string_view name, const SyscallGroup* table, size_t n,
                  std::vector<GroupCall>* out);
/// The same over the built-in groups.
bool expand_group(std::string_view name, std::vector<GroupCall>* out);

/// Every "@NAME" a list may use (groups and families), sorted.
std::vector<std::string> group_names();

/// The system call names of this architecture, by number: what a
/// misspelt name is compared with (suggest.h).
std::vector<std::string> syscall_names();

/// --list-syscall-groups[=GROUP]. "all": every group and family, one line
/// each, "@name: member ...", a nested group or family shown as @name and
/// calls of other architectures left out. Else GROUP (with or without the
/// '@') expanded: its calls one per line, sorted, a conditional member as
/// "sendto(MSG_FASTOPEN)". False with a one-line message if GROUP is none.
bool list_groups(const std::string& which, std::string* out, std::string* err);

}  // namespace boxjail::seccomp

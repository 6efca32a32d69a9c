#include "boxjail/seccomp_groups.h"

#include <seccomp.h>

#include <string>

namespace boxjail::seccomp {
namespace {

constexpr uint64_t kMsgFastopen = 0x20000000;  // MSG_FASTOPEN

// Unconditional members first, then the conditional ones.
const Group kGroups[] = {
    {"open", "open a file",
     {{"open"}, {"openat"}, {"openat2"}, {"creat"}, {"open_by_handle_at"}}, 5},
    {"clone", "create a process or thread", {{"clone"}, {"clone3"}, {"fork"}, {"vfork"}}, 4},
    {"exec", "execute a program", {{"execve"}, {"execveat"}}, 2},
    {"connect", "open a connection (TCP Fast Open connects through sendto and sendmsg)",
     {{"connect"},
      {"sendto", 3, kMsgFastopen},
      {"sendmsg", 2, kMsgFastopen},
      {"sendmmsg", 3, kMsgFastopen}},
     4},
    {"accept", "accept a connection", {{"accept"}, {"accept4"}}, 2},
    {"rename", "rename a file", {{"rename"}, {"renameat"}, {"renameat2"}}, 3},
    {"link", "make a hard link", {{"link"}, {"linkat"}}, 2},
    {"unlink", "remove a file or directory", {{"unlink"}, {"unlinkat"}, {"rmdir"}}, 3},
    {"mkdir", "make a directory", {{"mkdir"}, {"mkdirat"}}, 2},
    {"mknod", "make a device, fifo or socket node", {{"mknod"}, {"mknodat"}}, 2},
    {"symlink", "make a symbolic link", {{"symlink"}, {"symlinkat"}}, 2},
    {"truncate", "truncate a file", {{"truncate"}, {"ftruncate"}}, 2},
    {"chmod", "change a file's mode", {{"chmod"}, {"fchmod"}, {"fchmodat"}, {"fchmodat2"}}, 4},
    {"chown", "change a file's owner", {{"chown"}, {"fchown"}, {"lchown"}, {"fchownat"}}, 4},
    {"utime", "change a file's times", {{"utime"}, {"utimes"}, {"futimesat"}, {"utimensat"}}, 4},
    {"xattr", "set or remove extended attributes",
     {{"setxattr"}, {"lsetxattr"}, {"fsetxattr"}, {"setxattrat"}, {"removexattr"},
      {"lremovexattr"}, {"fremovexattr"}, {"removexattrat"}, {"file_setattr"}},
     9},
    {"stat", "read a file's status", {{"stat"}, {"lstat"}, {"fstat"}, {"newfstatat"}, {"statx"}},
     5},
    {"access", "check access to a file", {{"access"}, {"faccessat"}, {"faccessat2"}}, 3},
    {"readlink", "read a symbolic link", {{"readlink"}, {"readlinkat"}}, 2},
    {"getdents", "list a directory", {{"getdents"}, {"getdents64"}}, 2},
    {"chdir", "change the working directory", {{"chdir"}, {"fchdir"}}, 2},
    {"mount", "mount or change a mount",
     {{"mount"}, {"umount2"}, {"fsopen"}, {"fsconfig"}, {"fsmount"}, {"move_mount"},
      {"open_tree"}, {"mount_setattr"}, {"open_tree_attr"}},
     9},
    {"mprotect", "change memory protection", {{"mprotect"}, {"pkey_mprotect"}}, 2},
    {"kill", "send a signal",
     {{"kill"}, {"tkill"}, {"tgkill"}, {"rt_sigqueueinfo"}, {"rt_tgsigqueueinfo"},
      {"pidfd_send_signal"}},
     6},
    {"ptrace", "read or write another process (its memory, its descriptors)",
     {{"ptrace"}, {"process_vm_readv"}, {"process_vm_writev"}, {"pidfd_getfd"},
      {"process_madvise"}},
     5},
    {"setuid", "change user ids", {{"setuid"}, {"setreuid"}, {"setresuid"}, {"setfsuid"}}, 4},
    {"setgid", "change group ids",
     {{"setgid"}, {"setregid"}, {"setresgid"}, {"setfsgid"}, {"setgroups"}}, 5},
    {"wait", "wait for a child", {{"wait4"}, {"waitid"}}, 2},
    {"pipe", "make a pipe", {{"pipe"}, {"pipe2"}}, 2},
    {"io_uring", "submit asynchronous I/O that seccomp does not see",
     {{"io_uring_setup"}, {"io_uring_enter"}, {"io_uring_register"}}, 3},
    {"module", "load a kernel module", {{"init_module"}, {"finit_module"}}, 2},
    {"kexec", "load a new kernel", {{"kexec_load"}, {"kexec_file_load"}}, 2},
    {"keyring", "reach the kernel's keyrings", {{"add_key"}, {"request_key"}, {"keyctl"}}, 3},
    {"time", "set the system clock",
     {{"settimeofday"}, {"clock_settime"}, {"adjtimex"}, {"clock_adjtime"}}, 4},
};

// Calls Debian 12's libseccomp (2.5.4) does not know, by their x86-64
// numbers (arch/x86/entry/syscalls/syscall_64.tbl).
struct Newer {
  const char* name;
  int nr;
};
const Newer kNewer[] = {
    {"mseal", 462},         {"setxattrat", 463},     {"getxattrat", 464},
    {"listxattrat", 465},   {"removexattrat", 466},  {"open_tree_attr", 467},
    {"file_getattr", 468},  {"file_setattr", 469},
};

}  // namespace

const Group* groups(size_t* n) {
  *n = sizeof kGroups / sizeof kGroups[0];
  return kGroups;
}

const Group* find_group(std::string_view name) {
  if (!name.empty() && name[0] == '@') name.remove_prefix(1);
  for (const Group& g : kGroups)
    if (name == g.name) return &g;
  return nullptr;
}

const Group* family_of(std::string_view syscall) {
  for (const Group& g : kGroups)
    for (size_t i = 0; i < g.n; ++i)
      if (g.members[i].arg < 0 && syscall == g.members[i].name) return &g;
  return nullptr;
}

int resolve_syscall(std::string_view name) {
  const std::string s(name);
  int nr = seccomp_syscall_resolve_name(s.c_str());
  if (nr != __NR_SCMP_ERROR && nr >= 0) return nr;
  for (const Newer& n : kNewer)
    if (name == n.name) return n.nr;
  return -1;
}

}  // namespace boxjail::seccomp

#include "boxjail/seccomp_groups.h"

#include <seccomp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>

#include "boxjail/suggest.h"

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
// numbers (arch/x86/entry/syscalls/syscall_64.tbl, Linux 6.18).
struct Newer {
  const char* name;
  int nr;
};
const Newer kNewer[] = {
    {"uretprobe", 335},         {"uprobe", 336},          {"statmount", 457},
    {"listmount", 458},         {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461},  {"mseal", 462},           {"setxattrat", 463},
    {"getxattrat", 464},        {"listxattrat", 465},     {"removexattrat", 466},
    {"open_tree_attr", 467},    {"file_getattr", 468},    {"file_setattr", 469},
};

// The groups, from the kernel's x86-64 table (Linux 6.18). A few members
// are the same operation under another architecture's name (socketcall,
// ugetrlimit, _llseek, the *64 file calls of 32-bit ABIs); they are skipped
// here. Every group holds whole families, and every name is a call that
// libseccomp or kNewer knows (both checked by tests/unit/seccomp_groups_test).
const SyscallGroup kSyscallGroups[] = {
    {"aio", "Linux asynchronous I/O (io_uring is the @io_uring family)",
     "io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents"},
    {"basic-io", "read, write, seek, duplicate and close descriptors",
     "read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 lseek "
     "close close_range dup dup2 dup3 _llseek"},
    {"clock", "set the system clock", "@time stime"},
    {"cpu-emulation", "run code in other CPU modes (a local descriptor table, vm86)",
     "modify_ldt vm86 vm86old"},
    {"debug", "trace, inspect and profile processes", "@ptrace perf_event_open kcmp"},
    {"default", "what every process needs to start and end",
     "@exec exit exit_group rt_sigreturn restart_syscall brk mmap munmap @mprotect arch_prctl "
     "set_tid_address set_robust_list get_robust_list rseq futex futex_waitv futex_wake "
     "futex_wait futex_requeue getpid gettid getppid getuid geteuid getgid getegid getresuid "
     "getresgid getgroups getpgid getpgrp getsid clock_gettime clock_getres clock_nanosleep "
     "nanosleep gettimeofday time getrandom getrlimit prlimit64 sched_yield sched_getaffinity "
     "membarrier pause set_thread_area get_thread_area uretprobe uprobe "
     "ugetrlimit sigreturn mmap2 set_tls"},
    {"file-system", "name, open, inspect and change files and directories",
     "@open @stat @access @readlink @getdents @chdir @rename @link @unlink @mkdir @mknod "
     "@symlink @truncate @chmod @utime @xattr getxattr lgetxattr fgetxattr getxattrat listxattr "
     "llistxattr flistxattr listxattrat file_getattr getcwd fcntl fallocate statfs fstatfs "
     "inotify_init inotify_init1 inotify_add_watch inotify_rm_watch statmount listmount "
     "fcntl64 stat64 lstat64 fstat64 fstatat64 statfs64 fstatfs64 truncate64 ftruncate64"},
    {"io-event", "wait for events on descriptors",
     "epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 eventfd "
     "eventfd2 poll ppoll select pselect6 _newselect"},
    {"ipc", "pipes, memory files, SysV IPC and POSIX message queues",
     "@pipe memfd_create shmget shmat shmctl shmdt semget semop semctl semtimedop msgget "
     "msgsnd msgrcv msgctl mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify "
     "mq_getsetattr ipc"},
    {"memory", "map, protect, lock and advise the process's memory",
     "brk mmap munmap @mprotect mremap madvise mincore mlock mlock2 munlock mlockall "
     "munlockall pkey_alloc pkey_free get_mempolicy map_shadow_stack mseal memfd_secret "
     "remap_file_pages userfaultfd mmap2"},
    {"module", "load or unload a kernel module", "delete_module"},
    {"mount", "mount, unmount or change the mount tree, or the root directory",
     "fspick pivot_root chroot umount"},
    {"network-io", "make, connect and use sockets",
     "socket socketpair bind listen @accept connect getsockname getpeername getsockopt "
     "setsockopt shutdown sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg socketcall send recv"},
    {"obsolete", "calls the kernel no longer implements, or keeps only for old programs",
     "_sysctl uselib ustat sysfs create_module get_kernel_syms query_module nfsservctl getpmsg "
     "putpmsg afs_syscall tuxcall security vserver epoll_ctl_old epoll_wait_old lookup_dcookie "
     "bdflush break ftime gtty idle lock mpx prof profil sgetmask ssetmask stty ulimit oldstat "
     "oldlstat oldfstat readdir olduname oldolduname"},
    {"privileged", "calls that need a capability",
     "@chown @clock @module @mount @raw-io @reboot @swap @setuid @setgid acct bpf capset "
     "fanotify_init quotactl quotactl_fd sethostname setdomainname syslog vhangup"},
    {"process", "create, execute, signal and wait for processes; namespaces",
     "@clone @exec @kill @wait prctl unshare setns pidfd_open getrusage times capget setpgid "
     "setsid process_mrelease waitpid"},
    {"raw-io", "reach I/O ports and PCI configuration directly",
     "iopl ioperm pciconfig_iobase pciconfig_read pciconfig_write"},
    {"reboot", "reboot, or load a new kernel", "reboot @kexec"},
    {"resources", "change limits, priorities, scheduling and NUMA placement",
     "setrlimit setpriority sched_setaffinity sched_setattr sched_setparam sched_setscheduler "
     "ioprio_set mbind set_mempolicy set_mempolicy_home_node migrate_pages move_pages nice"},
    {"signal", "handle signals (sending one is the @kill family, in @process)",
     "rt_sigaction rt_sigprocmask rt_sigpending rt_sigsuspend rt_sigtimedwait sigaltstack "
     "signalfd signalfd4"},
    {"swap", "turn swap on or off", "swapon swapoff"},
    {"sync", "write data through to storage",
     "fsync fdatasync sync syncfs sync_file_range msync sync_file_range2"},
    {"system-service", "what a normal service needs (io_uring is left out: add @io_uring)",
     "@default @aio @basic-io @chown @file-system @io-event @ipc @keyring @memory @network-io "
     "@process @resources @setuid @setgid @signal @sync @timer capset copy_file_range "
     "fadvise64 flock getcpu getpriority ioctl ioprio_get kcmp name_to_handle_at personality "
     "readahead sched_get_priority_max sched_get_priority_min sched_getattr sched_getparam "
     "sched_getscheduler sched_rr_get_interval sendfile splice tee vmsplice sysinfo umask "
     "uname cachestat lsm_get_self_attr lsm_list_modules fadvise64_64 sendfile64"},
    {"timer", "arm timers",
     "alarm getitimer setitimer timer_create timer_settime timer_gettime timer_getoverrun "
     "timer_delete timerfd_create timerfd_settime timerfd_gettime"},
};

std::string strip_at(std::string_view name) {
  if (!name.empty() && name[0] == '@') name.remove_prefix(1);
  return std::string(name);
}

const SyscallGroup* find_in(std::string_view name, const SyscallGroup* table, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (name == table[i].name) return &table[i];
  return nullptr;
}

std::vector<std::string> words(const char* list) {
  std::vector<std::string> w;
  std::string_view s(list);
  while (!s.empty()) {
    size_t b = s.find_first_not_of(' ');
    if (b == std::string_view::npos) break;
    s.remove_prefix(b);
    size_t e = std::min(s.find(' '), s.size());
    w.emplace_back(s.substr(0, e));
    s.remove_prefix(e);
  }
  return w;
}

// "sendto(MSG_FASTOPEN)": a conditional member, as listings show it.
std::string member_label(const std::string& name, int arg, uint64_t flag) {
  if (arg < 0) return name;
  if (flag == kMsgFastopen) return name + "(MSG_FASTOPEN)";
  char buf[48];
  snprintf(buf, sizeof buf, "(args[%d] & 0x%llx)", arg, static_cast<unsigned long long>(flag));
  return name + buf;
}

void add_call(std::vector<GroupCall>* out, const std::string& name, int arg, uint64_t flag) {
  const int nr = resolve_syscall(name);
  if (nr < 0) return;  // not a call of this architecture
  for (GroupCall& c : *out) {
    if (c.name != name) continue;
    if (arg < 0) {  // a call in the group unconditionally is no longer conditional
      c.arg = -1;
      c.flag = 0;
    }
    return;
  }
  out->push_back({name, nr, arg, flag});
}

bool expand_into(const std::string& name, const SyscallGroup* table, size_t n,
                 std::vector<std::string>* stack, std::vector<GroupCall>* out) {
  if (std::find(stack->begin(), stack->end(), name) != stack->end()) return false;
  const SyscallGroup* g = find_in(name, table, n);
  const Group* fam = find_group(name);
  if (!g && !fam) return false;
  if (fam)
    for (size_t i = 0; i < fam->n; ++i)
      add_call(out, fam->members[i].name, fam->members[i].arg, fam->members[i].flag);
  if (!g) return true;
  stack->push_back(name);
  for (const std::string& w : words(g->members)) {
    if (w[0] != '@') {
      add_call(out, w, -1, 0);
    } else if (!expand_into(w.substr(1), table, n, stack, out)) {
      return false;
    }
  }
  stack->pop_back();
  return true;
}

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
  if (seccomp_arch_native() != SCMP_ARCH_X86_64) return -1;  // kNewer has x86-64 numbers
  for (const Newer& n : kNewer)
    if (name == n.name) return n.nr;
  return -1;
}

Known classify_syscall(std::string_view name) {
  if (resolve_syscall(name) >= 0) return Known::kNative;
  // libseccomp gives a name it knows only elsewhere a negative pseudo
  // number (__PNR_socketcall), and __NR_SCMP_ERROR to a name it does not
  // know at all.
  const std::string s(name);
  if (seccomp_syscall_resolve_name(s.c_str()) != __NR_SCMP_ERROR) return Known::kOtherArch;
  for (const Newer& n : kNewer)  // x86-64 calls, on another architecture
    if (name == n.name) return Known::kOtherArch;
  return Known::kUnknown;
}

const char* native_arch() {
  switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64: return "x86_64";
    case SCMP_ARCH_X86: return "i386";
    case SCMP_ARCH_X32: return "x32";
    case SCMP_ARCH_AARCH64: return "aarch64";
    case SCMP_ARCH_ARM: return "arm";
    case SCMP_ARCH_RISCV64: return "riscv64";
    case SCMP_ARCH_PPC64LE: return "ppc64le";
    case SCMP_ARCH_S390X: return "s390x";
    default: return "this architecture";
  }
}

const SyscallGroup* syscall_groups(size_t* n) {
  *n = sizeof kSyscallGroups / sizeof kSyscallGroups[0];
  return kSyscallGroups;
}

bool expand_group(std::string_view name, const SyscallGroup* table, size_t n,
                  std::vector<GroupCall>* out) {
  std::vector<std::string> stack;
  out->clear();
  return expand_into(strip_at(name), table, n, &stack, out);
}

bool expand_group(std::string_view name, std::vector<GroupCall>* out) {
  size_t n = 0;
  const SyscallGroup* t = syscall_groups(&n);
  return expand_group(name, t, n, out);
}

std::vector<std::string> group_names() {
  std::vector<std::string> names;
  for (const Group& g : kGroups) names.push_back(std::string("@") + g.name);
  for (const SyscallGroup& g : kSyscallGroups)
    if (!find_group(g.name)) names.push_back(std::string("@") + g.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> syscall_names() {
  std::vector<std::string> names;
  for (int nr = 0; nr < 1024; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name == nullptr) continue;
    names.push_back(name);
    free(name);
  }
  return names;
}

bool list_groups(const std::string& which, std::string* out, std::string* err) {
  out->clear();
  if (which != "all") {
    std::vector<GroupCall> calls;
    if (!expand_group(which, &calls)) {
      const std::string hint =
          suggest::did_you_mean(which.rfind('@', 0) == 0 ? which : "@" + which, group_names());
      *err = "--list-syscall-groups=" + which + ": unknown group" +
             (hint.empty() ? " (boxjail --list-syscall-groups lists them)" : hint);
      return false;
    }
    std::vector<std::string> lines;
    for (const GroupCall& c : calls) lines.push_back(member_label(c.name, c.arg, c.flag));
    std::sort(lines.begin(), lines.end());
    for (const std::string& l : lines) *out += l + "\n";
    return true;
  }
  for (const std::string& at : group_names()) {
    const std::string name = at.substr(1);
    std::string line = at + ":";
    if (const Group* fam = find_group(name))
      for (size_t i = 0; i < fam->n; ++i)
        if (resolve_syscall(fam->members[i].name) >= 0)
          line += " " + member_label(fam->members[i].name, fam->members[i].arg,
                                     fam->members[i].flag);
    if (const SyscallGroup* g = find_in(name, kSyscallGroups, std::size(kSyscallGroups)))
      for (const std::string& w : words(g->members))
        if (w[0] == '@' || resolve_syscall(w) >= 0) line += " " + w;
    *out += line + "\n";
  }
  return true;
}

}  // namespace boxjail::seccomp

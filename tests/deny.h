// Taking parts of the system away from the calling process (and everything
// it starts), to drive boxjail's fallbacks under real conditions. Used by
// tests/sysdeny and bench/fdbench. The mount parts need CAP_SYS_ADMIN or
// unprivileged user namespaces.
#pragma once

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <cstddef>
#include <vector>

namespace deny {

/// Writes `text` to /proc/self/FILE.
inline bool write_proc_self(const char* file, const char* text) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/%s", file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text, strlen(text)) == static_cast<ssize_t>(strlen(text));
  close(fd);
  return ok;
}

/// A mount namespace whose changes reach no other namespace, for mounts
/// made on or below `under`:
///  - with CAP_SYS_ADMIN, a new one with "/" made private, or, in a chroot
///    (where "/" is no mount point and MS_PRIVATE gives EINVAL), with
///    `under` made private when it is a mount point;
///  - otherwise the route the kernel allows everyone: a new user namespace
///    mapping our own ids to themselves, whose copy of the mounts propagates
///    nothing back (the kernel refuses it inside a chroot).
/// On failure errno is set and `why` says what was missing.
inline bool private_mounts(const char* under, const char** why) {
  if (unshare(CLONE_NEWNS) == 0) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) return true;
    if (mount(nullptr, under, nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) return true;
  }
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    *why = "no private mount namespace (no CAP_SYS_ADMIN, or / is not a mount point as in a "
           "chroot) and no user namespace (unshare(CLONE_NEWUSER))";
    return false;
  }
  char map[64];
  snprintf(map, sizeof map, "%u %u 1\n", uid, uid);
  if (!write_proc_self("uid_map", map) || !write_proc_self("setgroups", "deny")) {
    *why = "writing uid_map in a new user namespace";
    return false;
  }
  snprintf(map, sizeof map, "%u %u 1\n", gid, gid);
  if (!write_proc_self("gid_map", map)) {
    *why = "writing gid_map in a new user namespace";
    return false;
  }
  return true;
}

/// An empty tmpfs over /proc, in a private mount namespace.
inline bool hide_proc(const char** why) {
  if (!private_mounts("/proc", why)) return false;
  *why = "mounting a tmpfs over /proc";
  return mount("none", "/proc", "tmpfs", 0, nullptr) == 0;
}

/// `dir` read-only (a read-only bind mount of itself), in a private mount
/// namespace.
inline bool read_only(const char* dir, const char** why) {
  if (!private_mounts(dir, why)) return false;
  *why = "a read-only bind mount";
  return mount(dir, dir, nullptr, MS_BIND, nullptr) == 0 &&
         mount(nullptr, dir, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0;
}

/// A seccomp filter: close_range() and/or clone3() fail with ENOSYS (as on
/// kernels before 5.9 and 5.3), and/or setrlimit() and prlimit64() with a
/// new limit fail with EPERM.
inline bool syscalls(bool close_range, bool setrlimit, bool clone3 = false) {
  if (!close_range && !setrlimit && !clone3) return true;
  std::vector<sock_filter> f;
  auto ld = [&](uint32_t off) { f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off)); };
  auto ret = [&](uint32_t v) { f.push_back(BPF_STMT(BPF_RET | BPF_K, v)); };
  ld(offsetof(seccomp_data, arch));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  ret(SECCOMP_RET_ALLOW);
  ld(offsetof(seccomp_data, nr));
  if (close_range) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1));
    ret(SECCOMP_RET_ERRNO | ENOSYS);
  }
  if (clone3) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
    ret(SECCOMP_RET_ERRNO | ENOSYS);
  }
  if (setrlimit) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setrlimit, 0, 1));
    ret(SECCOMP_RET_ERRNO | EPERM);
    // prlimit64(pid, res, new, old): deny only when `new` is not NULL.
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_prlimit64, 0, 6));
    ld(offsetof(seccomp_data, args) + 2 * 8);
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3));
    ld(offsetof(seccomp_data, args) + 2 * 8 + 4);
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
    ret(SECCOMP_RET_ALLOW);
    ret(SECCOMP_RET_ERRNO | EPERM);
  }
  ret(SECCOMP_RET_ALLOW);
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

}  // namespace deny

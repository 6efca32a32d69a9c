// Taking parts of the system away from the calling process (and everything
// it starts), to drive boxjail's fallbacks under real conditions. Used by
// tests/sysdeny and bench/fdbench. Root only (mount namespace).
#pragma once

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <vector>

namespace deny {

/// An empty tmpfs over /proc, in a private mount namespace.
inline bool hide_proc() {
  return unshare(CLONE_NEWNS) == 0 &&
         mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         mount("none", "/proc", "tmpfs", 0, nullptr) == 0;
}

/// `dir` read-only (a read-only bind mount of itself), in a private mount
/// namespace.
inline bool read_only(const char* dir) {
  return unshare(CLONE_NEWNS) == 0 &&
         mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         mount(dir, dir, nullptr, MS_BIND, nullptr) == 0 &&
         mount(nullptr, dir, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0;
}

/// A seccomp filter: close_range() fails with ENOSYS, and/or setrlimit() and
/// prlimit64() with a new limit fail with EPERM.
inline bool syscalls(bool close_range, bool setrlimit) {
  if (!close_range && !setrlimit) return true;
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

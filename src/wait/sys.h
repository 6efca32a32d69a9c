// boxjail-wait's system interface: raw system calls, no C library.
//
// boxjail-wait is built freestanding (see src/wait/CMakeLists.txt): no
// libc, no allocation, no errno. Every call here returns what the kernel
// returns: a value >= 0, or -errno.
#pragma once

#if !defined(__x86_64__)
#error "boxjail-wait: only x86_64 is supported (src/wait/sys.h, src/wait/start.cpp)"
#endif

#include <asm/unistd.h>
#include <stdint.h>

namespace bjwait {

// Constants from the kernel's UAPI, spelled out here so that older headers
// (and the absence of libc's) cannot change them.
inline constexpr int kSigHup = 1, kSigInt = 2, kSigKill = 9, kSigStop = 19, kSigCont = 18,
                     kSigChld = 17, kSigTstp = 20, kSigTtin = 21, kSigTtou = 22;
inline constexpr int kSigBlock = 0, kSigUnblock = 1;
inline constexpr int kWNoHang = 1, kWUntraced = 2, kWContinued = 8;
inline constexpr int kAtEmptyPath = 0x1000;
inline constexpr int kPrSetDumpable = 4;
inline constexpr int kArchSetFs = 0x1002;
inline constexpr unsigned long kTiocGPgrp = 0x540F, kTiocSPgrp = 0x5410;
inline constexpr int kRlimitCore = 4;
inline constexpr int kEintr = 4;
inline constexpr unsigned long kAtRandom = 25, kAtNull = 0;
inline constexpr int kOCloexec = 02000000;  // SFD_CLOEXEC
inline constexpr short kPollIn = 0x1, kPollErr = 0x8, kPollHup = 0x10, kPollNval = 0x20;

struct KPollfd {
  int fd;
  short events;
  short revents;
};

// The start of struct signalfd_siginfo (128 bytes in all).
struct KSignalfdInfo {
  uint32_t signo;
  uint8_t rest[124];
};
static_assert(sizeof(KSignalfdInfo) == 128);

using ksigset = uint64_t;  // the kernel's sigset_t: 64 signals, 8 bytes
inline constexpr unsigned long kSigsetSize = sizeof(ksigset);
constexpr ksigset sigbit(int sig) { return ksigset{1} << (sig - 1); }

// The kernel's struct sigaction (x86_64), not libc's.
struct KSigaction {
  unsigned long handler;  // 0 is SIG_DFL
  unsigned long flags;
  unsigned long restorer;
  ksigset mask;
};

struct KTimespec {
  long sec;
  long nsec;
};

struct KRlimit {
  unsigned long cur;
  unsigned long max;
};

// The kernel's struct rusage: two timevals and fourteen longs.
struct KRusage {
  int64_t v[18];
};
static_assert(sizeof(KRusage) == 144);

inline long syscall0(long n) {
  long r;
  asm volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
  return r;
}
inline long syscall1(long n, long a) {
  long r;
  asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
  return r;
}
inline long syscall2(long n, long a, long b) {
  long r;
  asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
  return r;
}
inline long syscall3(long n, long a, long b, long c) {
  long r;
  asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
inline long syscall4(long n, long a, long b, long c, long d) {
  long r;
  register long r10 asm("r10") = d;
  asm volatile("syscall"
               : "=a"(r)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
               : "rcx", "r11", "memory");
  return r;
}
inline long syscall5(long n, long a, long b, long c, long d, long e) {
  long r;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  asm volatile("syscall"
               : "=a"(r)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
  return r;
}

template <typename T>
inline long arg(T* p) {
  return reinterpret_cast<long>(p);
}

inline long sys_write(int fd, const void* buf, unsigned long n) {
  return syscall3(__NR_write, fd, arg(buf), static_cast<long>(n));
}
inline long sys_pread(int fd, void* buf, unsigned long n, long off) {
  return syscall4(__NR_pread64, fd, arg(buf), static_cast<long>(n), off);
}
inline long sys_pwrite(int fd, const void* buf, unsigned long n, long off) {
  return syscall4(__NR_pwrite64, fd, arg(buf), static_cast<long>(n), off);
}
[[noreturn]] inline void sys_exit(int code) {
  for (;;) syscall1(__NR_exit_group, code);
}
inline long sys_prctl(int op, unsigned long a) {
  return syscall5(__NR_prctl, op, static_cast<long>(a), 0, 0, 0);
}
inline long sys_arch_prctl(int op, void* a) { return syscall2(__NR_arch_prctl, op, arg(a)); }
inline int sys_getpid() { return static_cast<int>(syscall0(__NR_getpid)); }
inline int sys_getpgrp() { return static_cast<int>(syscall1(__NR_getpgid, 0)); }
inline long sys_kill(int pid, int sig) { return syscall2(__NR_kill, pid, sig); }
inline long sys_wait4(int pid, int* status, int options, KRusage* ru) {
  return syscall4(__NR_wait4, pid, arg(status), options, arg(ru));
}
inline long sys_sigtimedwait(const ksigset* set, const KTimespec* timeout) {
  return syscall4(__NR_rt_sigtimedwait, arg(set), 0, arg(timeout),
                  static_cast<long>(kSigsetSize));
}
inline long sys_sigprocmask(int how, const ksigset* set, ksigset* old) {
  return syscall4(__NR_rt_sigprocmask, how, arg(set), arg(old), static_cast<long>(kSigsetSize));
}
inline long sys_sigpending(ksigset* set) {
  return syscall2(__NR_rt_sigpending, arg(set), static_cast<long>(kSigsetSize));
}
inline long sys_sigaction(int sig, const KSigaction* act, KSigaction* old) {
  return syscall4(__NR_rt_sigaction, sig, arg(act), arg(old), static_cast<long>(kSigsetSize));
}
inline long sys_setrlimit(int resource, const KRlimit* lim) {
  return syscall4(__NR_prlimit64, 0, resource, arg(lim), 0);
}
inline long sys_execveat(int dirfd, const char* path, char* const* argv, char* const* envp,
                         int flags) {
  return syscall5(__NR_execveat, dirfd, arg(path), arg(argv), arg(envp), flags);
}
inline long sys_read(int fd, void* buf, unsigned long n) {
  return syscall3(__NR_read, fd, arg(buf), static_cast<long>(n));
}
inline long sys_close(int fd) { return syscall1(__NR_close, fd); }
inline long sys_signalfd(const ksigset* set, int flags) {
  return syscall4(__NR_signalfd4, -1, arg(set), static_cast<long>(kSigsetSize), flags);
}
inline long sys_ppoll(KPollfd* fds, unsigned long n) {
  return syscall5(__NR_ppoll, arg(fds), static_cast<long>(n), 0, 0,
                  static_cast<long>(kSigsetSize));
}
// tcgetpgrp(): the terminal's foreground process group, or -errno.
inline int sys_tcgetpgrp(int fd) {
  int pgrp = -1;
  long r = syscall3(__NR_ioctl, fd, static_cast<long>(kTiocGPgrp), arg(&pgrp));
  return r < 0 ? static_cast<int>(r) : pgrp;
}
inline long sys_tcsetpgrp(int fd, int pgrp) {
  return syscall3(__NR_ioctl, fd, static_cast<long>(kTiocSPgrp), arg(&pgrp));
}

}  // namespace bjwait

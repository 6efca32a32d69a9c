// tests/sysdeny: run a command on a system with parts missing, to drive
// boxjail's fallbacks under real conditions rather than through a switch.
//
//   sysdeny [--no-close-range] [--no-setrlimit] [--no-proc] -- CMD ARGS...
//
// --no-close-range  close_range() fails with ENOSYS (seccomp), as on an old
//                   kernel or under a filter that does not know it.
// --no-setrlimit    setrlimit()/prlimit64() with a new limit fail with EPERM.
// --no-proc         an empty tmpfs over /proc in a private mount namespace.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  bool no_close_range = false, no_setrlimit = false, no_proc = false;
  int i = 1;
  for (; i < argc; ++i) {
    if (!strcmp(argv[i], "--no-close-range")) no_close_range = true;
    else if (!strcmp(argv[i], "--no-setrlimit")) no_setrlimit = true;
    else if (!strcmp(argv[i], "--no-proc")) no_proc = true;
    else if (!strcmp(argv[i], "--")) { ++i; break; }
    else break;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: sysdeny [--no-close-range] [--no-setrlimit] [--no-proc] -- CMD...\n");
    return 2;
  }
  if (no_proc) {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("none", "/proc", "tmpfs", 0, nullptr) != 0) {
      perror("sysdeny: hiding /proc");
      return 2;
    }
  }
  std::vector<sock_filter> f;
  auto ld = [&](uint32_t off) { f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off)); };
  auto ret = [&](uint32_t v) { f.push_back(BPF_STMT(BPF_RET | BPF_K, v)); };
  ld(offsetof(seccomp_data, arch));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  ret(SECCOMP_RET_ALLOW);
  ld(offsetof(seccomp_data, nr));
  if (no_close_range) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1));
    ret(SECCOMP_RET_ERRNO | ENOSYS);
  }
  if (no_setrlimit) {
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
  if (no_close_range || no_setrlimit) {
    sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
      perror("sysdeny: seccomp");
      return 2;
    }
  }
  execvp(argv[i], argv + i);
  perror("sysdeny: exec");
  return 127;
}

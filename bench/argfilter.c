// bench/argfilter: a 20-rule seccomp argument filter, built by libseccomp
// either as its default linear list or as its binary tree of system call
// numbers (SCMP_FLTATR_CTL_OPTIMIZE 2), loaded, then PROGRAM exec'd under
// it. bench/run runs bench/syscall_loop so, for the per-call price of
// argument conditions before and after the tree. Usage:
//   argfilter linear|tree PROGRAM [ARGS...]
//   argfilter count linear|tree   prints how many BPF instructions the
//                                 program runs for getppid and for
//                                 ioctl(FIONREAD): the stable measure
// The rules are the kinds boxjail writes (terminal injection, namespaces,
// W^X, address families, TCP Fast Open): each fails its call with EPERM
// when its condition holds, none of which the loop's calls meet; getppid
// and ioctl(FIONREAD) pass.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "../tests/seccomp/bpf_run.h"

#ifndef TIOCSTI
#define TIOCSTI 0x5412
#endif

static int add(scmp_filter_ctx ctx, const char* call, struct scmp_arg_cmp cmp) {
  int nr = seccomp_syscall_resolve_name(call);
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, cmp);
  if (rc < 0) fprintf(stderr, "argfilter: %s: %s\n", call, strerror(-rc));
  return rc;
}

// The number of instructions the program runs for one call (0 if the
// simulation fails).
static int run(const struct sock_filter* p, size_t n, int nr, uint64_t a1) {
  struct seccomp_data d;
  memset(&d, 0, sizeof d);
  d.nr = nr;
  d.arch = AUDIT_ARCH_X86_64;
  d.args[1] = a1;
  uint32_t ret = 0;
  int steps = 0;
  return bpf_run(p, n, &d, &ret, &steps) == 0 ? steps : 0;
}

int main(int argc, char** argv) {
  const int count = argc == 3 && strcmp(argv[1], "count") == 0;
  const char* mode = count ? argv[2] : argv[1];
  if (argc < 3 || (strcmp(mode, "linear") != 0 && strcmp(mode, "tree") != 0)) {
    fprintf(stderr, "usage: argfilter linear|tree PROGRAM [ARGS...]\n"
                    "       argfilter count linear|tree\n");
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return 1;
  if (strcmp(mode, "tree") == 0) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  const unsigned long newns = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS;
  int rc = 0;
  rc |= add(ctx, "ioctl", SCMP_A1_32(SCMP_CMP_EQ, TIOCSTI));
  rc |= add(ctx, "ioctl", SCMP_A1_32(SCMP_CMP_EQ, 0x541C /* TIOCLINUX */));
  rc |= add(ctx, "clone", SCMP_A0_64(SCMP_CMP_MASKED_EQ, newns, newns));
  rc |= add(ctx, "unshare", SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
  rc |= add(ctx, "setns", SCMP_A1_64(SCMP_CMP_EQ, CLONE_NEWUSER));
  rc |= add(ctx, "socket", SCMP_A0_64(SCMP_CMP_EQ, AF_PACKET));
  rc |= add(ctx, "socket", SCMP_A0_64(SCMP_CMP_EQ, AF_INET));
  rc |= add(ctx, "socket", SCMP_A0_64(SCMP_CMP_EQ, AF_INET6));
  rc |= add(ctx, "socketpair", SCMP_A0_64(SCMP_CMP_EQ, AF_INET));
  rc |= add(ctx, "mmap", SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_WRITE | PROT_EXEC,
                                    PROT_WRITE | PROT_EXEC));
  rc |= add(ctx, "mprotect", SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
  rc |= add(ctx, "pkey_mprotect", SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
  rc |= add(ctx, "shmat", SCMP_A2_64(SCMP_CMP_MASKED_EQ, 0100000 /* SHM_EXEC */, 0100000));
  rc |= add(ctx, "sendto", SCMP_A3_64(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
  rc |= add(ctx, "sendmsg", SCMP_A2_64(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
  rc |= add(ctx, "sendmmsg", SCMP_A3_64(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
  rc |= add(ctx, "setsockopt", SCMP_A2_64(SCMP_CMP_EQ, 30 /* TCP_FASTOPEN_CONNECT */));
  rc |= add(ctx, "prctl", SCMP_A0_64(SCMP_CMP_EQ, PR_SET_MM));
  rc |= add(ctx, "personality", SCMP_A0_64(SCMP_CMP_NE, 0));
  rc |= add(ctx, "madvise", SCMP_A2_64(SCMP_CMP_EQ, 100 /* MADV_HWPOISON */));
  if (rc < 0) return 1;
  if (count) {
    FILE* f = tmpfile();
    if (!f || seccomp_export_bpf(ctx, fileno(f)) < 0) return 1;
    long size = ftell(f) > 0 ? ftell(f) : lseek(fileno(f), 0, SEEK_END);
    struct sock_filter* prog = malloc((size_t)size);
    if (!prog || pread(fileno(f), prog, (size_t)size, 0) != size) return 1;
    size_t n = (size_t)size / sizeof *prog;
    printf("%s: %zu instructions; getppid runs %d, ioctl(FIONREAD) runs %d\n", mode, n,
           run(prog, n, seccomp_syscall_resolve_name("getppid"), 0),
           run(prog, n, seccomp_syscall_resolve_name("ioctl"), FIONREAD));
    return 0;
  }
  if ((rc = seccomp_load(ctx)) < 0) {
    fprintf(stderr, "argfilter: seccomp_load: %s\n", strerror(-rc));
    return 1;
  }
  seccomp_release(ctx);
  execv(argv[2], argv + 2);
  perror("argfilter: execv");
  return 127;
}

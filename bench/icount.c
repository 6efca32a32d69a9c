// bench/icount: user-space instructions of a command's whole process tree,
// counted by single-stepping it under ptrace.
//
//   icount -- CMD...
//
// Prints the count and whether CMD exited 0:  instructions ok
// With ICOUNT_PER_PID set in the environment, each process's own count goes
// to stderr too.
// (CMD's stdout goes to /dev/null.) Every process and thread of the tree is
// followed (fork, vfork, clone, exec), and every instruction it runs in user
// space is one single-step trap; the kernel's work is not counted. A string
// instruction with a rep prefix traps once per iteration, so it counts as
// its iterations. Like a count of instructions:u, the figure is repeatable
// run to run, unlike times.
//
// Why not callgrind: with --trace-children=yes callgrind loses a process's
// count at its execve (only the last image of each process reports), and
// valgrind 3.19 implements neither landlock_create_ruleset, seccomp nor
// clone3, so boxjail's confined and --cgroup launches take other paths or
// stop under it. perf stat -e instructions:u is not supported in this VM.
// Single-stepping runs the real system calls. About 2 s per 500,000
// instructions here.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kMaxPids = 64 };
static pid_t known[kMaxPids];
static unsigned long long per_pid[kMaxPids];
static int nknown;

static int is_known(pid_t p) {
  for (int k = 0; k < nknown; ++k)
    if (known[k] == p) return 1;
  return 0;
}

static void add_known(pid_t p) {
  if (!is_known(p) && nknown < kMaxPids) known[nknown++] = p;
}

int main(int argc, char** argv) {
  int i = 1;
  if (i < argc && !strcmp(argv[i], "--")) ++i;
  if (i >= argc) {
    fprintf(stderr, "usage: icount -- CMD...\n");
    return 2;
  }
  pid_t root = fork();
  if (root < 0) {
    perror("icount: fork");
    return 2;
  }
  if (root == 0) {
    int out = open("/dev/null", O_WRONLY);
    if (out >= 0) dup2(out, 1);
    if (out > 1) close(out);
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(126);
    raise(SIGSTOP);
    execvp(argv[i], argv + i);
    _exit(127);
  }
  int st = 0;
  if (waitpid(root, &st, 0) != root || !WIFSTOPPED(st)) {
    fprintf(stderr, "icount: the child did not stop\n");
    return 2;
  }
  long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
              PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SETOPTIONS, root, 0, opts) != 0) {
    perror("icount: PTRACE_SETOPTIONS");
    return 2;
  }
  add_known(root);
  // The steps of the child between raise() and execvp are this helper's,
  // not CMD's: they are few and the same for every command.
  unsigned long long steps = 0;
  int root_status = -1;
  ptrace(PTRACE_SINGLESTEP, root, 0, 0);
  for (;;) {
    pid_t p = waitpid(-1, &st, __WALL);
    if (p < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: the whole tree is gone
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (p == root) root_status = st;
      continue;
    }
    if (!WIFSTOPPED(st)) continue;
    int sig = WSTOPSIG(st), event = st >> 16, inject = 0;
    if (!is_known(p)) {
      add_known(p);  // a new tracee's first stop (SIGSTOP): not delivered
    } else if (sig == SIGTRAP && event == 0) {
      ++steps;
      for (int k = 0; k < nknown; ++k)
        if (known[k] == p) ++per_pid[k];
    } else if (sig == SIGTRAP) {
      // fork/vfork/clone/exec event: the new tracee reports on its own
    } else {
      inject = sig;
    }
    ptrace(PTRACE_SINGLESTEP, p, 0, inject);
  }
  if (getenv("ICOUNT_PER_PID"))
    for (int k = 0; k < nknown; ++k) fprintf(stderr, "icount: pid %d: %llu\n", known[k], per_pid[k]);
  int ok = root_status >= 0 && WIFEXITED(root_status) && WEXITSTATUS(root_status) == 0;
  printf("%llu %s\n", steps, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

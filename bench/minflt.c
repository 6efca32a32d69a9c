// bench/minflt: minor page faults of a command's whole process tree.
//
//   minflt [--fds N] [--limit L] [--runs R] -- CMD...
//   minflt [--fds N] [--limit L] --exec -- CMD...
//
// Sets RLIMIT_NOFILE to L (soft and hard) and opens N descriptors
// (/dev/null) spread evenly from 3 to L-1, as bench/fdbench does. Then runs
// CMD R times (fork, execvp, wait4) and prints the median of its minor
// faults and whether every run exited 0:
//   median_minflt ok
// A run's faults are the growth of getrusage(RUSAGE_CHILDREN): CMD's own and
// those of every descendant it waited for (a supervisor's PROGRAM). The fork
// of this helper is not in them: the child's counters start at 0 and count
// from the fork on, so the copy-on-write faults before execvp are in (the
// same on every side; the helper touches few pages). With --exec it sets up
// the table and execs CMD in place (to put valgrind under the same table).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp(const void* a, const void* b) {
  long x = *(const long*)a, y = *(const long*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  long fds = 0, limit = 0, runs = 5;
  int exec_only = 0, i = 1;
  for (; i < argc; ++i) {
    if (!strcmp(argv[i], "--fds") && i + 1 < argc) fds = atol(argv[++i]);
    else if (!strcmp(argv[i], "--limit") && i + 1 < argc) limit = atol(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atol(argv[++i]);
    else if (!strcmp(argv[i], "--exec")) exec_only = 1;
    else if (!strcmp(argv[i], "--")) { ++i; break; }
    else break;
  }
  if (i >= argc || runs < 1 || runs > 1000) {
    fprintf(stderr, "usage: minflt [--fds N] [--limit L] [--runs R | --exec] -- CMD...\n");
    return 2;
  }
  if (limit > 0) {
    struct rlimit r = {(rlim_t)limit, (rlim_t)limit};
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) {
      perror("minflt: RLIMIT_NOFILE");
      return 2;
    }
  }
  struct rlimit cur;
  getrlimit(RLIMIT_NOFILE, &cur);
  long top = (long)cur.rlim_cur - 1;
  if (fds > top - 2) fds = top - 2;
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (long k = 0; k < fds; ++k) {
    long fd = fds == 1 ? 3 : 3 + (top - 3) * k / (fds - 1);
    if (fd == null) continue;
    if (dup2(null, (int)fd) < 0) {
      perror("minflt: dup2");
      return 2;
    }
  }
  if (exec_only) {
    execvp(argv[i], argv + i);
    perror("minflt: execvp");
    return 127;
  }
  long flt[1000];
  int ok = 1;
  for (long r = 0; r < runs; ++r) {
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    pid_t pid = fork();
    if (pid < 0) {
      perror("minflt: fork");
      return 2;
    }
    if (pid == 0) {
      int out = open("/dev/null", O_WRONLY);
      if (out >= 0) dup2(out, 1);
      execvp(argv[i], argv + i);
      _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
      perror("minflt: waitpid");
      return 2;
    }
    getrusage(RUSAGE_CHILDREN, &after);
    ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    flt[r] = after.ru_minflt - before.ru_minflt;
  }
  qsort(flt, (size_t)runs, sizeof flt[0], cmp);
  printf("%ld %s\n", flt[runs / 2], ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

// bench/syscall_loop: the price of one system call, for bench/run's rows on
// the jail filter. Usage: syscall_loop CALL N [CALL N ...], CALL one of
//   getppid   no arguments to check: a filter that does not look at the
//             arguments leaves it to the kernel's constant-action cache
//   ioctl     ioctl(FIONREAD) on a pipe: the call the jail filter checks
//             (its request argument), so every call runs the filter
// The N calls are timed in 20 batches (clock_gettime around each), after a
// warm-up of N/10. Prints one line per CALL: "CALL NS_PER_CALL filters=K",
// NS_PER_CALL the median batch, so that a batch the scheduler interrupted
// does not count; K the number of seccomp filters this process runs under
// (/proc/self/status).
// Exits 1 if a call fails: a filter that denied it would make the figure
// the price of an error path.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int filters(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Seccomp_filters: %d", &n) == 1) break;
  fclose(f);
  return n;
}

// syscall(2) rather than the libc wrappers, so that no library caching or
// vDSO shortcut stands between the loop and the kernel's entry path.
static int loop_getppid(long n) {
  for (long i = 0; i < n; i++)
    if (syscall(SYS_getppid) < 0) return -1;
  return 0;
}

static int pipefd[2] = {-1, -1};
static int loop_ioctl(long n) {
  int avail;
  for (long i = 0; i < n; i++)
    if (syscall(SYS_ioctl, pipefd[0], FIONREAD, &avail) < 0) return -1;
  return 0;
}

static int by_value(const void* x, const void* y) {
  double a = *(const double*)x, b = *(const double*)y;
  return (a > b) - (a < b);
}

int main(int argc, char** argv) {
  if (argc < 3 || argc % 2 == 0) {
    fprintf(stderr, "usage: syscall_loop getppid|ioctl N [CALL N ...]\n");
    return 2;
  }
  if (pipe(pipefd) != 0) {
    perror("syscall_loop: pipe");
    return 1;
  }
  int k = filters();
  for (int a = 1; a + 1 < argc; a += 2) {
    int (*loop)(long);
    if (strcmp(argv[a], "getppid") == 0) {
      loop = loop_getppid;
    } else if (strcmp(argv[a], "ioctl") == 0) {
      loop = loop_ioctl;
    } else {
      fprintf(stderr, "syscall_loop: unknown call %s\n", argv[a]);
      return 2;
    }
    long n = atol(argv[a + 1]);
    if (n <= 0) {
      fprintf(stderr, "syscall_loop: N must be positive: %s\n", argv[a + 1]);
      return 2;
    }
    if (loop(n / 10 + 1) != 0) {
      perror(argv[a]);
      return 1;
    }
    enum { BATCHES = 20 };
    long per = n / BATCHES + 1;
    double ns[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
      double t0 = now_ns();
      int rc = loop(per);
      ns[b] = (now_ns() - t0) / (double)per;
      if (rc != 0) {
        perror(argv[a]);
        return 1;
      }
    }
    qsort(ns, BATCHES, sizeof ns[0], by_value);
    printf("%s %.2f filters=%d\n", argv[a], (ns[BATCHES / 2 - 1] + ns[BATCHES / 2]) / 2, k);
  }
  return 0;
}

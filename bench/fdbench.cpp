// bench/fdbench: time a command started with many inherited descriptors.
//
//   fdbench [--fds N] [--limit L] [--no-close-range] [--no-proc] [--runs R] -- CMD...
//
// Sets RLIMIT_NOFILE to L (soft and hard; only lowering needs no
// privilege), opens N descriptors (/dev/null) spread evenly from 3 to L-1,
// optionally takes close_range() or /proc away (tests/deny.h), then runs CMD
// R times with posix_spawn and prints the median and the 90th percentile of
// the wall time in microseconds, and whether every run exited 0:
//   median_us p90_us ok
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../tests/deny.h"

extern char** environ;

int main(int argc, char** argv) {
  long fds = 0, limit = 0, runs = 200;
  bool no_close_range = false, no_proc = false;
  int i = 1;
  for (; i < argc; ++i) {
    if (!strcmp(argv[i], "--fds") && i + 1 < argc) fds = atol(argv[++i]);
    else if (!strcmp(argv[i], "--limit") && i + 1 < argc) limit = atol(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atol(argv[++i]);
    else if (!strcmp(argv[i], "--no-close-range")) no_close_range = true;
    else if (!strcmp(argv[i], "--no-proc")) no_proc = true;
    else if (!strcmp(argv[i], "--")) { ++i; break; }
    else break;
  }
  if (i >= argc || runs < 1) {
    fprintf(stderr, "usage: fdbench [--fds N] [--limit L] [--no-close-range] [--no-proc] "
                    "[--runs R] -- CMD...\n");
    return 2;
  }
  if (limit > 0) {
    rlimit r{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) {
      perror("fdbench: RLIMIT_NOFILE");
      return 2;
    }
  }
  rlimit cur{};
  getrlimit(RLIMIT_NOFILE, &cur);
  long top = static_cast<long>(cur.rlim_cur) - 1;
  if (fds > top - 2) fds = top - 2;
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (long k = 0; k < fds; ++k) {
    long fd = fds == 1 ? 3 : 3 + (top - 3) * k / (fds - 1);
    if (fd == null) continue;
    if (dup2(null, static_cast<int>(fd)) < 0) {
      perror("fdbench: dup2");
      return 2;
    }
  }
  const char* why = "";
  if (no_proc && !deny::hide_proc(&why)) {
    fprintf(stderr, "fdbench: cannot hide /proc: %s: %s\n", why, strerror(errno));
    return 2;
  }
  if (!deny::syscalls(no_close_range, false)) {
    perror("fdbench: seccomp");
    return 2;
  }
  std::vector<double> us;
  bool ok = true;
  for (long r = 0; r < runs; ++r) {
    timespec a{}, b{};
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid;
    if (posix_spawn(&pid, argv[i], nullptr, nullptr, argv + i, environ) != 0) {
      perror("fdbench: spawn");
      return 2;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    us.push_back(static_cast<double>(b.tv_sec - a.tv_sec) * 1e6 +
                 static_cast<double>(b.tv_nsec - a.tv_nsec) / 1e3);
  }
  std::sort(us.begin(), us.end());
  printf("%.1f %.1f %s\n", us[us.size() / 2], us[us.size() * 9 / 10], ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

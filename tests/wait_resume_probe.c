// tests/wait_resume_probe: stands in for `boxjail --resume-wait STATE_FD`
// in tests/wait_test.cpp. It prints, on one line of stdout, what
// boxjail-wait handed over: its argv, the result fields of the state, its
// pid and its blocked signals; then exits as boxjail would (PROGRAM's exit
// code, or 128 + the signal that killed it).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boxjail/wait_abi.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    printf("argc=%d\n", argc);
    return 90;
  }
  struct bj_wait_state st;
  memset(&st, 0, sizeof st);
  int fd = atoi(argv[2]);
  if (pread(fd, &st, sizeof st, 0) != (ssize_t)sizeof st) {
    printf("pread failed\n");
    return 91;
  }
  const char tail[] = "boxjail's end state";
  char got[sizeof tail] = "";
  int tail_ok = pread(fd, got, sizeof got, st.size) == (ssize_t)sizeof got &&
                memcmp(got, tail, sizeof tail) == 0;
  char blocked[64] = "?";
  FILE* f = fopen("/proc/self/status", "re");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "SigBlk: %63s", blocked) == 1) break;
  if (f) fclose(f);
  long long utime_us = st.rusage[0] * 1000000 + st.rusage[1];
  long long stime_us = st.rusage[2] * 1000000 + st.rusage[3];
  printf("argv0=%s argv1=%s fd_ok=%d magic_ok=%d tail_ok=%d ended=%d status=%d utime_us=%lld "
         "stime_us=%lld pid=%d sigblk=%s\n",
         argv[0], argv[1], fd == st.state_fd, st.magic == BJ_WAIT_MAGIC, tail_ok, st.ended, st.status,
         utime_us, stime_us, (int)getpid(), blocked);
  fflush(stdout);
  if (WIFEXITED(st.status)) return WEXITSTATUS(st.status);
  if (WIFSIGNALED(st.status)) return 128 + WTERMSIG(st.status);
  return 92;
}

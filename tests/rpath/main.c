/* tests/rpath/rpath_probe: calls into librpath_answer.so, which the loader
   finds only through DT_RUNPATH ($ORIGIN/lib), then tries to read FILE
   (argv[1]) and prints {"answer": 42, "read_errno": N}. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int rpath_answer(void);

int main(int argc, char** argv) {
  int e = 0;
  if (argc > 1) {
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) e = errno;
    else close(fd);
  }
  printf("{\"answer\": %d, \"read_errno\": %d}\n", rpath_answer(), e);
  return 0;
}

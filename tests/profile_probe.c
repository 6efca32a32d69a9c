// tests/profile_probe: a helper small enough to run under --profile qemu's
// seccomp allowlist (tests/probe's own start-up makes calls qemu does not,
// getsid first, and would be killed before it tried anything). Each
// argument is an attempt, reported on stdout as one line "ATTEMPT ERRNO"
// (0: it worked), with only calls qemu makes too:
//   read:PATH   open PATH for reading, as qemu opens its kernel
//   write:PATH  open PATH for writing, made if missing
//   tcp         make a TCP socket
// Exits 0 once every attempt is reported, 2 on an unknown one.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    int fd = -1;
    if (strncmp(a, "read:", 5) == 0) {
      fd = open(a + 5, O_RDONLY | O_CLOEXEC);
    } else if (strncmp(a, "write:", 6) == 0) {
      fd = open(a + 6, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    } else if (strcmp(a, "tcp") == 0) {
      fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    } else {
      fprintf(stderr, "profile_probe: unknown attempt '%s'\n", a);
      return 2;
    }
    printf("%s %d\n", a, fd < 0 ? errno : 0);
    if (fd >= 0) close(fd);
  }
  return 0;
}

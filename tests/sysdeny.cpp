// tests/sysdeny: run a command on a system with parts missing, to drive
// boxjail's fallbacks under real conditions rather than through a switch.
//
//   sysdeny [--no-close-range] [--no-setrlimit] [--no-proc] -- CMD ARGS...
//
// --no-close-range  close_range() fails with ENOSYS (seccomp), as on an old
//                   kernel or under a filter that does not know it.
// --no-setrlimit    setrlimit()/prlimit64() with a new limit fail with EPERM.
// --no-clone3       clone3() fails with ENOSYS, as before Linux 5.3.
// --no-proc         an empty tmpfs over /proc in a private mount namespace.
// --ro DIR          DIR read-only, in a private mount namespace.
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "deny.h"

int main(int argc, char** argv) {
  bool no_close_range = false, no_setrlimit = false, no_proc = false, no_clone3 = false;
  const char* ro = nullptr;
  int i = 1;
  for (; i < argc; ++i) {
    if (!strcmp(argv[i], "--no-close-range")) no_close_range = true;
    else if (!strcmp(argv[i], "--no-setrlimit")) no_setrlimit = true;
    else if (!strcmp(argv[i], "--no-clone3")) no_clone3 = true;
    else if (!strcmp(argv[i], "--no-proc")) no_proc = true;
    else if (!strcmp(argv[i], "--ro") && i + 1 < argc) ro = argv[++i];
    else if (!strcmp(argv[i], "--")) { ++i; break; }
    else break;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: sysdeny [--no-close-range] [--no-setrlimit] [--no-clone3] [--no-proc] [--ro DIR] -- CMD...\n");
    return 2;
  }
  const char* why = "";
  if (no_proc && !deny::hide_proc(&why)) {
    fprintf(stderr, "sysdeny: cannot hide /proc: %s: %s\n", why, strerror(errno));
    return 2;
  }
  if (ro && !deny::read_only(ro, &why)) {
    fprintf(stderr, "sysdeny: cannot make %s read-only: %s: %s\n", ro, why, strerror(errno));
    return 2;
  }
  if (!deny::syscalls(no_close_range, no_setrlimit, no_clone3)) {
    perror("sysdeny: seccomp");
    return 2;
  }
  execvp(argv[i], argv + i);
  perror("sysdeny: exec");
  return 127;
}

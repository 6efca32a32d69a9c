/* The physical limit of any exec wrapper: a static program that only execs. */
#include <unistd.h>

int main(int argc, char** argv) {
  (void)argc;
  execv(argv[1], argv + 1);
  return 127;
}

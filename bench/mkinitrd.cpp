// bench/mkinitrd: writes the guest's initramfs for the qemu rows, the same
// one the guest tests boot (tests/integration/guest.cpp): /bin/busybox and
// an /init that prints a marker and powers the guest off at once.
//
//   mkinitrd BUSYBOX OUT
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "../tests/cpio.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: mkinitrd BUSYBOX OUT\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::string busybox((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (busybox.empty()) {
    fprintf(stderr, "mkinitrd: cannot read %s\n", argv[1]);
    return 1;
  }
  const char init[] =
      "#!/bin/busybox sh\n"
      "echo BOXJAIL-GUEST-UP\n"
      "/bin/busybox poweroff -f\n";
  std::string a;
  cpio::entry(&a, "bin", 040755, "", 1);
  cpio::entry(&a, "bin/busybox", 0100755, busybox, 2);
  cpio::entry(&a, "init", 0100755, init, 3);
  cpio::entry(&a, "TRAILER!!!", 0, "", 0);
  std::ofstream out(argv[2], std::ios::binary);
  out << a;
  return out.good() ? 0 : 1;
}

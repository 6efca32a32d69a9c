// A "newc" cpio archive, the format the kernel unpacks as an initramfs:
// what the guest tests (tests/integration/guest.cpp, tests/guest_run.cpp)
// boot.
#pragma once

#include <cstdio>
#include <string>

namespace cpio {

/// Appends one entry (a directory when `mode` has 040000, a file with
/// `data` otherwise); end the archive with entry(out, "TRAILER!!!", 0, "", 0).
inline void entry(std::string* out, const std::string& name, unsigned mode, const std::string& data,
                  unsigned ino) {
  char hdr[111];
  snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino,
           mode, 0u, 0u, 1u, 0u, static_cast<unsigned>(data.size()), 0u, 0u, 0u, 0u,
           static_cast<unsigned>(name.size() + 1), 0u);
  *out += hdr;
  *out += name;
  *out += '\0';
  out->append((4 - out->size() % 4) % 4, '\0');
  *out += data;
  out->append((4 - out->size() % 4) % 4, '\0');
}

}  // namespace cpio

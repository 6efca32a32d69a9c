#include "guest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "../cpio.h"
#include "harness.h"

namespace guest {
namespace {

const std::string kGuestDir = GUEST_DIR;        // scripts/guest puts files here
const std::string kCacheDir = GUEST_CACHE_DIR;  // the build's initramfs

// /init: kernel parameters that are not the kernel's own reach init as
// environment variables, so "boxjail_wait=1" selects waiting.
const char kInit[] =
    "#!/bin/busybox sh\n"
    "echo BOXJAIL-GUEST-UP\n"
    "if [ -n \"$boxjail_wait\" ]; then while :; do /bin/busybox sleep 1; done; fi\n"
    "/bin/busybox poweroff -f\n";

bool executable(const std::string& p) { return access(p.c_str(), X_OK) == 0; }

// Writes `data` to `path` through a temporary and a rename, so that tests
// running side by side never see half a file.
bool write_atomically(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  close(fd);
  if (ok && rename(tmp.c_str(), path.c_str()) == 0) return true;
  unlink(tmp.c_str());
  return false;
}

std::string build_initrd() {
  std::string busybox = harness::slurp(kGuestDir + "/busybox");
  if (busybox.empty()) return "";
  std::string a;
  cpio::entry(&a, "bin", 040755, "", 1);
  cpio::entry(&a, "bin/busybox", 0100755, busybox, 2);
  cpio::entry(&a, "init", 0100755, kInit, 3);
  cpio::entry(&a, "TRAILER!!!", 0, "", 0);
  // The build directory, or (when it is not ours to write, as for the
  // ordinary user of scripts/matrix) a directory of our own under /tmp.
  for (std::string dir : {kCacheDir, "/tmp/boxjail-guest-" + std::to_string(getuid())}) {
    mkdir(dir.c_str(), 0755);
    std::string path = dir + "/initrd.cpio";
    if (harness::slurp(path) == a) return path;
    if (write_atomically(path, a)) return path;
  }
  return "";
}

}  // namespace

std::string qemu() {
  for (const char* p : {"/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64"})
    if (executable(p)) return p;
  return "";
}

std::string kernel() { return kGuestDir + "/vmlinuz"; }

std::string initrd() {
  static const std::string path = build_initrd();
  return path;
}

std::string unavailable() {
  if (qemu().empty()) return "needs qemu-system-x86_64 (Debian package qemu-system-x86)";
  if (access(kernel().c_str(), R_OK) != 0 || !executable(kGuestDir + "/busybox"))
    return "needs the guest kernel and busybox in " + kGuestDir + " (run scripts/guest)";
  if (initrd().empty()) return "cannot write the guest initramfs in " + kCacheDir + " or /tmp";
  return "";
}

std::vector<std::string> argv(const Boot& b) {
  std::string append = "console=ttyS0 panic=-1 quiet tsc_early_khz=2000000 lpj=4000000";
  if (b.wait) append += " boxjail_wait=1";
  return {qemu(), "-accel", "tcg", "-M", "microvm,pit=on", "-m", "128", "-nographic",
          "-nodefaults", "-no-user-config", "-no-reboot",
          "-kernel", b.kernel.empty() ? kernel() : b.kernel, "-initrd", initrd(),
          "-serial", b.serial, "-append", append};
}

harness::Spawn under_boxjail(const std::vector<std::string>& flags, const Boot& b,
                             const std::vector<std::string>& more) {
  harness::Spawn s{.argv = {harness::kBoxjail}, .timeout_ms = kBootTimeoutMs};
  s.argv.insert(s.argv.end(), flags.begin(), flags.end());
  s.argv.push_back("--");
  for (auto& a : argv(b)) s.argv.push_back(a);
  s.argv.insert(s.argv.end(), more.begin(), more.end());
  return s;
}

bool saw_marker(harness::Proc& p) {
  for (int i = 0; i < 500; ++i) {
    std::string line = p.read_line();
    if (line.empty()) return false;
    if (line.find(kMarker) != std::string::npos) return true;
  }
  return false;
}

}  // namespace guest

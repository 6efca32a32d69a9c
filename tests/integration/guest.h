// A real Linux guest under qemu (TCG), for the tests that put a VM monitor
// under boxjail: Debian's cloud kernel and a busybox initramfs whose /init
// prints kMarker on the serial console, then powers off (or, with
// wait = true, waits until qemu is stopped). scripts/guest fetches the
// kernel and busybox; the initramfs is built here on first use and cached
// in the build directory.
#pragma once

#include <string>
#include <vector>

#include "harness.h"

namespace guest {

inline constexpr const char* kMarker = "BOXJAIL-GUEST-UP";
/// How long a boot may take before a test fails: a TCG boot takes about
/// 2 s on an idle machine, and much longer beside a loaded test run.
inline constexpr int kBootTimeoutMs = 240000;

/// "" when a guest can boot here; else what is missing, for GTEST_SKIP.
std::string unavailable();

std::string qemu();     // qemu-system-x86_64's path
std::string kernel();   // the vmlinuz
std::string initrd();   // the cached initramfs (built on first use)

struct Boot {
  bool wait = false;            // /init waits instead of powering off
  std::string serial = "stdio"; // qemu's -serial argument
  std::string kernel;           // default kernel()
};

/// qemu-system-x86_64's argv for one boot: microvm, TCG, with the
/// calibration parameters that keep a loaded machine from hanging.
std::vector<std::string> argv(const Boot& b = {});

/// boxjail FLAGS... -- qemu ... MORE..., with the boot's timeout.
harness::Spawn under_boxjail(const std::vector<std::string>& flags, const Boot& b = {},
                             const std::vector<std::string>& more = {});

/// Reads console lines from `p` until kMarker; false at EOF or timeout.
bool saw_marker(harness::Proc& p);

}  // namespace guest

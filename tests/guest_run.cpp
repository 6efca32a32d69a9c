// tests/guest-run: boxjail's cases inside a real guest kernel.
//
//   guest-run --kernel VMLINUZ --busybox BUSYBOX --boxjail BOXJAIL
//             --attack ATTACK --cases CASES.sh [--selftest] [--timeout S]
//             [--kernel-from WHAT] [--landlock-abi N|auto] [--console]
//
// Builds an initramfs of busybox, the static boxjail, the static
// tests/attack, CASES.sh (as /cases.sh), the other files of CASES.sh's
// directory (as /guest/NAME: the rootless cases), an /etc/passwd with root,
// nobody and the test user tester (uid 1000), and an /init that mounts
// proc, sysfs, devtmpfs, tmpfs and cgroup2 alone at /sys/fs/cgroup (every
// controller enabled in the root's subtree_control), brings up lo, then
// runs CASES.sh and powers off. Boots it under qemu (TCG, microvm, 512 MiB,
// 2 CPUs) with the console on a pipe, and turns the console's lines into
// the result (--console also prints every other line of the console, and
// the cases show the output of those that passed):
//   BJ-CASE NAME pass|fail|skip DETAIL   one per case, printed as it comes
//   BJ-OUT NAME LINE                     a failing case's output
//   BJ-DONE                              the end of the cases
// Exits 0 when every case passed or skipped, 1 when one failed or the run
// did not reach BJ-DONE (the console is printed then), 77 (ctest's skip)
// when the guest cannot be booted here, naming what is missing
// (--kernel-from names where the kernel comes from, for that message, and
// KERNEL.missing, if there, why scripts/guest could not fetch it).
// --landlock-abi N|auto: the ABI this kernel has; a case fails unless
// --features reports it (the other cases key their expectations on what it
// reports). auto takes it from the version the bzImage's header names, by
// the release that brought each ABI (5.13: 1, 5.19: 2, 6.2: 3, 6.7: 4,
// 6.10: 5, 6.12: 6, 6.15: 7).
// qemu 7.2's TCG and Debian's 6.12 kernel: with CMPXCHG16B the guest died
// one boot in two (a double fault right after the slab allocator's
// cmpxchg16b, EFLAGS holding garbage), with multi-threaded TCG also of an
// int3 while the kernel patched its own text. So the CPU is qemu64 without
// cx16, and TCG runs single-threaded (thread=single; the 2 vCPUs take
// turns), which on a busy 2-core machine was also faster (6 s against 18 s
// for the 24 cases the 6.1 guest had then).
// --selftest runs only a case that asserts something false, and exits 0
// only when that case is reported failed with its output: the harness
// cannot pass a failure silently.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cpio.h"

namespace {

const char kInit[] =
    "#!/bin/busybox sh\n"
    "/bin/busybox --install -s /bin\n"
    "export PATH=/bin\n"
    "mkdir -p /proc /sys /dev /tmp /run\n"
    "mount -t proc proc /proc\n"
    "mount -t sysfs sysfs /sys\n"
    "mount -t devtmpfs devtmpfs /dev\n"
    "mount -t tmpfs tmpfs /tmp\n"
    "chmod 1777 /tmp\n"
    "ip link set lo up\n"
    "mount -t cgroup2 cgroup2 /sys/fs/cgroup\n"
    "for c in $(cat /sys/fs/cgroup/cgroup.controllers); do\n"
    "  echo +$c > /sys/fs/cgroup/cgroup.subtree_control\n"
    "done\n"
    "echo BJ-START $(uname -r) controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)\n"
    "/bin/sh /cases.sh\n"
    "poweroff -f\n";

const char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "tester:x:1000:1000:tester:/tmp:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const char kGroup[] = "root:x:0:\ntester:x:1000:\nnogroup:x:65534:\n";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool executable(const std::string& p) { return access(p.c_str(), X_OK) == 0; }

std::string qemu() {
  for (const char* p : {"/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64"})
    if (executable(p)) return p;
  return "";
}

double now() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// The version string of a bzImage: its setup header's kernel_version field
// (offset 0x20e) points to it, 0x200 bytes before the setup code.
std::string bzimage_version(const std::string& img) {
  if (img.size() < 0x210 || img.compare(0x202, 4, "HdrS") != 0) return "";
  const size_t at = (static_cast<unsigned char>(img[0x20e]) |
                     static_cast<size_t>(static_cast<unsigned char>(img[0x20f])) << 8) + 0x200;
  if (at >= img.size()) return "";
  const size_t end = img.find_first_of(std::string(" \0", 2), at);
  return img.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// The Landlock ABI of a mainline release, "" before Landlock.
std::string landlock_abi_of(const std::string& version) {
  int major = 0, minor = 0;
  if (sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return "";
  const int v = major * 1000 + minor;
  const struct { int since; const char* abi; } table[] = {
      {6015, "7"}, {6012, "6"}, {6010, "5"}, {6007, "4"}, {6002, "3"}, {5019, "2"}, {5013, "1"}};
  for (const auto& t : table)
    if (v >= t.since) return t.abi;
  return "";
}

struct Args {
  std::string kernel, busybox, boxjail, attack, cases, kernel_from = "run scripts/guest";
  bool selftest = false, console = false;
  std::string abi;
  int timeout = 400;
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (k == "--kernel") a.kernel = next();
    else if (k == "--busybox") a.busybox = next();
    else if (k == "--boxjail") a.boxjail = next();
    else if (k == "--attack") a.attack = next();
    else if (k == "--cases") a.cases = next();
    else if (k == "--selftest") a.selftest = true;
    else if (k == "--timeout") a.timeout = std::atoi(next().c_str());
    else if (k == "--kernel-from") a.kernel_from = next();
    else if (k == "--console") a.console = true;
    else if (k == "--landlock-abi") a.abi = next();
    else {
      fprintf(stderr, "guest-run: unknown argument %s\n", k.c_str());
      return 2;
    }
  }
  const std::string q = qemu();
  if (q.empty()) {
    printf("SKIP: needs qemu-system-x86_64 (Debian package qemu-system-x86)\n");
    return 77;
  }
  if (access(a.kernel.c_str(), R_OK) != 0 || !executable(a.busybox)) {
    // scripts/guest writes why it could not fetch a kernel beside it.
    std::string why = slurp(a.kernel + ".missing");
    while (!why.empty() && why.back() == '\n') why.pop_back();
    printf("SKIP: needs the guest kernel %s and busybox %s (%s%s%s)\n", a.kernel.c_str(),
           a.busybox.c_str(), a.kernel_from.c_str(), why.empty() ? "" : ": ", why.c_str());
    return 77;
  }
  // The guest has no shared libraries: a binary with an interpreter (a
  // sanitizer build's) cannot run there.
  for (const std::string& bin : {a.boxjail, a.attack}) {
    const std::string elf = slurp(bin);
    if (elf.find("/lib64/ld-linux-x86-64.so.2") != std::string::npos) {
      printf("SKIP: %s is dynamically linked (a sanitizer build?): the guest has no libraries\n",
             bin.c_str());
      return 77;
    }
  }
  if (a.abi == "auto") {
    const std::string version = bzimage_version(slurp(a.kernel));
    a.abi = landlock_abi_of(version);
    printf("guest: %s is Linux %s: expects Landlock ABI %s\n", a.kernel.c_str(),
           version.empty() ? "(unknown)" : version.c_str(), a.abi.empty() ? "(any)" : a.abi.c_str());
  }
  std::string img;
  unsigned ino = 1;
  cpio::entry(&img, "bin", 040755, "", ino++);
  cpio::entry(&img, "etc", 040755, "", ino++);
  cpio::entry(&img, "bin/busybox", 0100755, slurp(a.busybox), ino++);
  cpio::entry(&img, "bin/boxjail", 0100755, slurp(a.boxjail), ino++);
  cpio::entry(&img, "bin/attack", 0100755, slurp(a.attack), ino++);
  cpio::entry(&img, "cases.sh", 0100755, slurp(a.cases), ino++);
  // The other files beside CASES.sh, for the cases to run (as another user).
  cpio::entry(&img, "guest", 040755, "", ino++);
  const size_t slash = a.cases.rfind('/');
  const std::string cases_dir = slash == std::string::npos ? "." : a.cases.substr(0, slash);
  const std::string cases_name = a.cases.substr(slash == std::string::npos ? 0 : slash + 1);
  if (DIR* d = opendir(cases_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n[0] == '.' || n == cases_name) continue;
      cpio::entry(&img, "guest/" + n, 0100755, slurp(cases_dir + "/" + n), ino++);
    }
    closedir(d);
  }
  cpio::entry(&img, "etc/passwd", 0100644, kPasswd, ino++);
  cpio::entry(&img, "etc/group", 0100644, kGroup, ino++);
  cpio::entry(&img, "init", 0100755, kInit, ino++);
  cpio::entry(&img, "TRAILER!!!", 0, "", 0);
  char dir[] = "/tmp/boxjail-guest-run.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("guest-run: mkdtemp");
    return 1;
  }
  const std::string initrd = std::string(dir) + "/initrd.cpio";
  {
    std::ofstream f(initrd, std::ios::binary);
    f << img;
    if (!f) {
      fprintf(stderr, "guest-run: cannot write %s\n", initrd.c_str());
      return 1;
    }
  }
  std::string append = "console=ttyS0 panic=-1 quiet tsc_early_khz=2000000 lpj=4000000";
  if (a.selftest) append += " bj_selftest=1";
  if (a.console) append += " bj_verbose=1";
  if (!a.abi.empty()) append += " bj_abi=" + a.abi;
  std::vector<std::string> qa = {q, "-accel", "tcg,thread=single",
                                 "-cpu", "qemu64,-cx16", "-M", "microvm,pit=on", "-m", "512",
                                 "-smp", "2", "-nographic", "-nodefaults", "-no-user-config",
                                 "-no-reboot", "-kernel", a.kernel, "-initrd", initrd,
                                 "-serial", "stdio", "-append", append};
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    std::vector<char*> v;
    for (auto& s : qa) v.push_back(s.data());
    v.push_back(nullptr);
    execv(v[0], v.data());
    _exit(127);
  }
  close(out[1]);
  std::string console, line;
  int passed = 0, failed = 0, skipped = 0;
  bool done = false, started = false;
  std::string failed_names;
  const double deadline = now() + a.timeout;
  char buf[4096];
  std::string pending;
  for (;;) {
    pollfd p{out[0], POLLIN, 0};
    int left = static_cast<int>((deadline - now()) * 1000);
    if (left <= 0) {
      printf("guest: no end after %d s; stopping qemu\n", a.timeout);
      kill(pid, SIGKILL);
      break;
    }
    if (poll(&p, 1, left) <= 0) continue;
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      console += line + "\n";
      // A character a case pushed into the console's input (TIOCSTI) is
      // echoed in front of the next line.
      if (size_t at = line.find("BJ-"); at != std::string::npos) line.erase(0, at);
      if (line.rfind("BJ-START ", 0) == 0) {
        started = true;
        printf("guest: Linux %s\n", line.c_str() + 9);
      } else if (line.rfind("BJ-CASE ", 0) == 0) {
        std::istringstream ls(line.substr(8));
        std::string name, result;
        ls >> name >> result;
        std::string detail;
        std::getline(ls, detail);
        printf("guest case %-36s %s%s\n", name.c_str(), result.c_str(), detail.c_str());
        if (result == "pass") ++passed;
        else if (result == "skip") ++skipped;
        else {
          ++failed;
          failed_names += " " + name;
        }
      } else if (line.rfind("BJ-OUT ", 0) == 0) {
        printf("    %s\n", line.c_str() + 7);
      } else if (line == "BJ-DONE") {
        done = true;
      } else if (a.console) {
        printf("console: %s\n", line.c_str());
      }
    }
    fflush(stdout);
  }
  close(out[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  unlink(initrd.c_str());
  rmdir(dir);
  if (!done) {
    printf("guest: the cases did not finish (%s); the console was:\n%s", started ? "started" : "no start",
           console.c_str());
    return 1;
  }
  printf("guest: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
  if (a.selftest) {
    const bool caught = failed == 1 && failed_names == " harness-selftest" &&
                        console.find("BJ-OUT harness-selftest this output must be shown") !=
                            std::string::npos;
    printf("guest: the self-test's false assertion was %s\n", caught ? "reported as failed, with its output"
                                                                    : "NOT reported as a failure");
    return caught ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}

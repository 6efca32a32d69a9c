// tests/guest-run: boxjail's cases inside a real guest kernel.
//
//   guest-run --kernel VMLINUZ --busybox BUSYBOX --boxjail BOXJAIL
//             --attack ATTACK --cases CASES.sh [--selftest] [--timeout S]
//
// Builds an initramfs of busybox, the static boxjail, the static
// tests/attack, CASES.sh and an /init that mounts proc, sysfs, devtmpfs,
// tmpfs and cgroup2 alone at /sys/fs/cgroup (every controller enabled in
// the root's subtree_control), then runs CASES.sh and powers off. Boots it
// under qemu (TCG, microvm, 512 MiB, 2 CPUs) with the console on a pipe,
// and turns the console's lines into the result:
//   BJ-CASE NAME pass|fail|skip DETAIL   one per case, printed as it comes
//   BJ-OUT NAME LINE                     a failing case's output
//   BJ-DONE                              the end of the cases
// Exits 0 when every case passed or skipped, 1 when one failed or the run
// did not reach BJ-DONE (the console is printed then), 77 (ctest's skip)
// when the guest cannot be booted here, naming what is missing.
// --selftest runs only a case that asserts something false, and exits 0
// only when that case is reported failed with its output: the harness
// cannot pass a failure silently.
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
    "mount -t cgroup2 cgroup2 /sys/fs/cgroup\n"
    "for c in $(cat /sys/fs/cgroup/cgroup.controllers); do\n"
    "  echo +$c > /sys/fs/cgroup/cgroup.subtree_control\n"
    "done\n"
    "echo BJ-START $(uname -r) controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)\n"
    "/bin/sh /cases.sh\n"
    "poweroff -f\n";

const char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const char kGroup[] = "root:x:0:\nnogroup:x:65534:\n";

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

struct Args {
  std::string kernel, busybox, boxjail, attack, cases;
  bool selftest = false;
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
    printf("SKIP: needs the guest kernel %s and busybox %s (run scripts/guest)\n", a.kernel.c_str(),
           a.busybox.c_str());
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
  std::string img;
  unsigned ino = 1;
  cpio::entry(&img, "bin", 040755, "", ino++);
  cpio::entry(&img, "etc", 040755, "", ino++);
  cpio::entry(&img, "bin/busybox", 0100755, slurp(a.busybox), ino++);
  cpio::entry(&img, "bin/boxjail", 0100755, slurp(a.boxjail), ino++);
  cpio::entry(&img, "bin/attack", 0100755, slurp(a.attack), ino++);
  cpio::entry(&img, "cases.sh", 0100755, slurp(a.cases), ino++);
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
  std::vector<std::string> qa = {q, "-accel", "tcg", "-M", "microvm,pit=on", "-m", "512",
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

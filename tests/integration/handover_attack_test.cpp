// An attacker's review of the hand-over to boxjail-wait and back
// (handover.h, wait_abi.h): a hostile PROGRAM of boxjail's own uid, under
// seccomp only, going for the supervisor around each of its execve()s.
//
// The attacker is this very binary: run as
//     integration_tests --handover-attacker OP [ARGS...]
// a constructor does OP before gtest starts, prints one line of
// "key=value" words and exits. Tests run it as PROGRAM under boxjail, as
// the unprivileged uid 65534 (setpriv) so that PROGRAM and the supervisor
// share a uid and no capability tells them apart.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../../include/boxjail/wait_abi.h"
#include "harness.h"

namespace {

// ---------------------------------------------------------------- attacker

std::string comm(pid_t pid) {
  char path[64], buf[64] = {0};
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool await_comm(pid_t pid, const char* want, int ms) {
  const int64_t end = now_ms() + ms;
  while (now_ms() < end) {
    if (comm(pid) == want) return true;
    usleep(200);
  }
  return comm(pid) == want;
}

// What a same-uid PROGRAM gets of `pid` right now: errno of each attempt
// (0: it worked).
struct Poke {
  int mem = -1, seize = -1, vmread = -1, fd = -1, fdlist = -1;
};

Poke poke(pid_t pid) {
  Poke p;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", pid);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  p.mem = fd >= 0 ? 0 : errno;
  if (fd >= 0) close(fd);
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
    p.seize = 0;
    ptrace(PTRACE_DETACH, pid, 0, 0);
  } else {
    p.seize = errno;
  }
  char byte = 0;
  iovec local{&byte, 1};
  iovec remote{reinterpret_cast<void*>(0x1000), 1};  // EFAULT if allowed at all
  p.vmread = process_vm_readv(pid, &local, 1, &remote, 1, 0) >= 0 ? 0 : errno;
  if (p.vmread == EFAULT) p.vmread = 0;
  snprintf(path, sizeof path, "/proc/%d/fd/0", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  p.fd = fd >= 0 ? 0 : errno;
  if (fd >= 0) close(fd);
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR* d = opendir(path);
  p.fdlist = d ? 0 : errno;
  if (d) closedir(d);
  return p;
}

void say_poke(const char* prefix, const Poke& p) {
  printf("%s_mem=%d %s_seize=%d %s_vmread=%d %s_fd=%d %s_fdlist=%d ", prefix, p.mem, prefix,
         p.seize, prefix, p.vmread, prefix, p.fd, prefix, p.fdlist);
}

// The race against one execve of the supervisor: a thread opening
// /proc/P/mem and /proc/P/maps and trying PTRACE_SEIZE as fast as it can,
// while the main thread makes the exec happen. What it got in the window
// it keeps: an open mem file and an attached tracer outlive the
// supervisor's prctl(PR_SET_DUMPABLE, 0).
struct Race {
  pid_t target = 0;
  std::atomic<bool> stop{false};
  std::atomic<long> tries{0};
  int mem_fd = -1, maps_fd = -1;
  bool seized = false;
  std::string mem_comm, seize_comm;
  std::map<int, std::string> fds;  // the supervisor's descriptors, reopened
  int memfd_rw = -1;               // its hand-over record, opened for writing

  void grab_fds() {
    for (int n = 0; n < 64; ++n) {
      char path[64], link[256] = {0};
      snprintf(path, sizeof path, "/proc/%d/fd/%d", target, n);
      const ssize_t k = readlink(path, link, sizeof link - 1);
      if (k <= 0) continue;
      fds[n] = link;
      if (strstr(link, "memfd:boxjail-wait") && memfd_rw < 0)
        memfd_rw = open(path, O_RDWR | O_CLOEXEC);
    }
  }

  // With `stopper`, each try first stops the target (SIGSTOP cannot be
  // blocked, and one sent during execve() stops it before the first
  // instruction of the new image: inside the window), and continues it
  // after.
  bool stopper = false;
  long stops = 0;

  bool stopped_now() {
    char path[64], buf[512] = {0};
    snprintf(path, sizeof path, "/proc/%d/stat", target);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    const char* rp = n > 0 ? strrchr(buf, ')') : nullptr;
    return rp && rp[1] == ' ' && (rp[2] == 'T' || rp[2] == 't');
  }

  void run(bool mem, bool seize) {
    char mem_path[64], maps_path[64];
    snprintf(mem_path, sizeof mem_path, "/proc/%d/mem", target);
    snprintf(maps_path, sizeof maps_path, "/proc/%d/maps", target);
    while (!stop.load(std::memory_order_relaxed)) {
      tries.fetch_add(1, std::memory_order_relaxed);
      if (stopper) {
        kill(target, SIGSTOP);
        for (int i = 0; i < 2000 && !stopped_now(); ++i) {
        }
        ++stops;
      }
      if (mem && mem_fd < 0) {
        const int fd = open(mem_path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
          mem_fd = fd;
          maps_fd = open(maps_path, O_RDONLY | O_CLOEXEC);
          mem_comm = comm(target);
          grab_fds();
        }
      }
      if (seize && !seized && ptrace(PTRACE_SEIZE, target, 0, 0) == 0) {
        seized = true;
        seize_comm = comm(target);
      }
      if (stopper) kill(target, SIGCONT);
      if ((!mem || mem_fd >= 0) && (!seize || seized)) break;
    }
    if (stopper) kill(target, SIGCONT);
  }
};

// With an open mem file and maps file of `pid`, long after the window:
// rewrites one byte of a writable mapping with itself. 1: written.
int write_through(const Race& r) {
  if (r.mem_fd < 0 || r.maps_fd < 0) return -1;
  char buf[65536];
  const ssize_t n = pread(r.maps_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return -2;
  buf[n] = 0;
  std::istringstream in(buf);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {0};
    if (sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
    if (perms[0] != 'r' || perms[1] != 'w') continue;
    char byte = 0;
    if (pread(r.mem_fd, &byte, 1, static_cast<off_t>(lo)) != 1) continue;
    return static_cast<int>(pwrite(r.mem_fd, &byte, 1, static_cast<off_t>(lo)));
  }
  return -3;
}

// An attached tracer, long after the window: stops the supervisor, reads
// its registers, lets it go. 1: it had the supervisor stopped under it.
int control_through(pid_t pid) {
  if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0) return -errno;
  int st = 0;
  if (waitpid(pid, &st, __WALL) != pid) return -1000 - errno;
  user_regs_struct regs{};
  const int ok = ptrace(PTRACE_GETREGS, pid, 0, &regs) == 0 ? 1 : -2000 - errno;
  ptrace(PTRACE_DETACH, pid, 0, 0);
  return ok;
}

void say_race(const Race& r, pid_t target) {
  const Poke after = poke(target);
  say_poke("after", after);
  printf("stops=%ld tries=%ld mem_won=%d mem_comm=%s seize_won=%d seize_comm=%s memfd=%d nfds=%zu ",
         r.stops, r.tries.load(), r.mem_fd >= 0, r.mem_comm.empty() ? "-" : r.mem_comm.c_str(),
         r.seized, r.seize_comm.empty() ? "-" : r.seize_comm.c_str(), r.memfd_rw >= 0,
         r.fds.size());
  printf("late_write=%d late_control=%d ", write_through(r),
         r.seized ? control_through(target) : -1);
}

// OP: "poke": what PROGRAM gets of its parent, now.
// OP: "race-wake": under boxjail-wait, race the exec back into boxjail that
//     a denied chmod (--seccomp-deny @chmod) causes.
// OP: "race-end": a grandchild that outlives PROGRAM races the exec back
//     into boxjail at PROGRAM's end.
// OP: "race-start": stop the supervisor before its hand-over (SIGSTOP),
//     start racing, continue it.
// OP: "storm THREADS CALLS": fchmodat from THREADS threads, CALLS each,
//     once the parent is boxjail-wait; counts the errnos seen.
// OP: "stopstorm N CODE": SIGSTOP/SIGCONT the supervisor N times around
//     the hand-over from a child, then exits CODE.
// OP: "orphans N CODE": N short-lived orphans (double fork), then CODE.
[[noreturn]] void attacker(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IONBF, 0);
  const std::string op = argv[2];
  const pid_t parent = getppid();
  printf("op=%s start_comm=%s ", op.c_str(), comm(parent).c_str());
  if (op == "poke") {
    say_poke("now", poke(parent));
    printf("comm=%s\n", comm(parent).c_str());
    _exit(0);
  }
  if (op == "race-wake" || op == "race-wake-stop") {
    if (!await_comm(parent, "boxjail-wait", 5000)) {
      printf("no_waiter=1\n");
      _exit(3);
    }
    Race r;
    r.target = parent;
    r.stopper = op == "race-wake-stop";
    std::thread t([&] { r.run(true, true); });
    usleep(20000);  // the racer is spinning
    const long rc = syscall(SYS_fchmodat, AT_FDCWD, "/dev/null", 0666);
    const int chmod_errno = rc == 0 ? 0 : errno;
    usleep(300000);  // boxjail is long past its prctl
    r.stop = true;
    t.join();
    printf("chmod=%d now_comm=%s ", chmod_errno, comm(parent).c_str());
    say_race(r, parent);
    printf("\n");
    _exit(0);
  }
  if (op == "race-end") {
    if (!await_comm(parent, "boxjail-wait", 5000)) {
      printf("no_waiter=1\n");
      _exit(3);
    }
    const pid_t kid = fork();
    if (kid == 0) {
      signal(SIGTERM, SIG_IGN);  // --reap's TERM; its KILL comes after the grace
      Race r;
      r.target = parent;
      std::thread t([&] { r.run(true, true); });
      // PROGRAM ends now; boxjail comes back and stays up for --reap-grace.
      const int64_t end = now_ms() + 400;
      while (now_ms() < end && comm(parent) != "boxjail") usleep(100);
      usleep(50000);
      r.stop = true;
      t.join();
      printf("kid now_comm=%s ", comm(parent).c_str());
      say_race(r, parent);
      printf("\n");
      _exit(0);
    }
    usleep(20000);  // the kid is spinning; it writes to our stdout after we are gone
    printf("kid=%d\n", kid);
    _exit(0);
  }
  if (op == "race-start") {
    // Stop the supervisor if it has not handed over yet.
    const std::string c = comm(parent);
    if (c != "boxjail") {
      printf("late=1\n");
      _exit(3);
    }
    kill(parent, SIGSTOP);
    Race r;
    r.target = parent;
    std::thread t([&] { r.run(true, true); });
    usleep(20000);
    kill(parent, SIGCONT);
    await_comm(parent, "boxjail-wait", 2000);
    usleep(100000);
    r.stop = true;
    t.join();
    printf("now_comm=%s ", comm(parent).c_str());
    say_race(r, parent);
    printf("\n");
    _exit(0);
  }
  if (op == "storm") {
    const int threads = atoi(argv[3]), calls = atoi(argv[4]);
    await_comm(parent, "boxjail-wait", 5000);
    std::atomic<int> go{0};
    std::vector<std::map<int, int>> seen(static_cast<size_t>(threads));
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i)
      ts.emplace_back([&, i] {
        while (!go.load()) {
        }
        for (int k = 0; k < calls; ++k) {
          const long rc = syscall(SYS_fchmodat, AT_FDCWD, "/dev/null", 0666);
          ++seen[static_cast<size_t>(i)][rc == 0 ? 0 : errno];
        }
      });
    go = 1;
    for (auto& t : ts) t.join();
    std::map<int, int> all;
    for (auto& m : seen)
      for (auto [e, n] : m) all[e] += n;
    for (auto [e, n] : all) printf("errno_%d=%d ", e, n);
    printf("\n");
    _exit(0);
  }
  if (op == "stopstorm") {
    const int n = atoi(argv[3]), code = atoi(argv[4]);
    const pid_t kid = fork();
    if (kid == 0) {
      for (int i = 0; i < n; ++i) {
        kill(parent, SIGSTOP);
        kill(parent, SIGTSTP);
        kill(parent, SIGCONT);
      }
      kill(parent, SIGCONT);
      _exit(0);
    }
    int st = 0;
    waitpid(kid, &st, 0);
    kill(parent, SIGCONT);
    printf("comm=%s\n", comm(parent).c_str());
    _exit(code);
  }
  if (op == "orphans") {
    const int n = atoi(argv[3]), code = atoi(argv[4]);
    for (int i = 0; i < n; ++i) {
      const pid_t k = fork();
      if (k == 0) {
        if (fork() == 0) {
          usleep(static_cast<useconds_t>((i * 37) % 3000));
          _exit(i & 0x7f);
        }
        _exit(0);
      }
      if (k > 0) waitpid(k, nullptr, 0);
    }
    printf("comm=%s\n", comm(parent).c_str());
    usleep(5000);
    _exit(code);
  }
  printf("usage\n");
  _exit(2);
  (void)argc;
}

__attribute__((constructor)) void handover_attacker_main(int argc, char** argv, char**) {
  if (argc >= 3 && strcmp(argv[1], "--handover-attacker") == 0) attacker(argc, argv);
}

// ------------------------------------------------------------------- tests

using namespace harness;
using json = nlohmann::json;

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// key=value words of the attacker's line.
std::map<std::string, std::string> words(const std::string& line) {
  std::map<std::string, std::string> m;
  std::istringstream in(line);
  for (std::string w; in >> w;) {
    const size_t eq = w.find('=');
    if (eq != std::string::npos) m[w.substr(0, eq)] = w.substr(eq + 1);
  }
  return m;
}

int num(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? -99999 : atoi(it->second.c_str());
}

constexpr const char* kNobody = "65534";

// boxjail ARGS -- attacker OP..., as uid/gid 65534.
std::vector<std::string> as_nobody(std::vector<std::string> box, std::vector<std::string> op) {
  std::vector<std::string> argv = {"/usr/bin/setpriv", std::string("--reuid=") + kNobody,
                                   std::string("--regid=") + kNobody, "--clear-groups",
                                   "--inh-caps=-all", kBoxjail};
  argv.insert(argv.end(), box.begin(), box.end());
  argv.push_back("--");
  argv.push_back(self_exe());
  argv.push_back("--handover-attacker");
  argv.insert(argv.end(), op.begin(), op.end());
  return argv;
}

class HandoverAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string wait = kBoxjail.substr(0, kBoxjail.rfind('/') + 1) + "boxjail-wait";
    ASSERT_EQ(access(wait.c_str(), X_OK), 0) << wait;
    if (geteuid() != 0) GTEST_SKIP() << "needs root to become uid 65534 with setpriv";
    if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv";
    // uid 65534 must be able to run this binary.
    const std::string exe = self_exe();
    for (std::string d = exe; d.size() > 1; d = d.substr(0, d.rfind('/'))) {
      struct stat st {};
      if (stat(d.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH))
        GTEST_SKIP() << d << " is not searchable by others";
      if (d.rfind('/') == 0) break;
    }
  }
};

// 1. The control: a same-uid, dumpable parent is wide open to PROGRAM
// (no yama, no Landlock here), so the supervisor's non-dumpable state is
// all that protects it.
TEST_F(HandoverAttack, ControlASameUidDumpableParentIsOpenToPtraceAndMem) {
  std::vector<std::string> argv = {"/usr/bin/setpriv", std::string("--reuid=") + kNobody,
                                   std::string("--regid=") + kNobody, "--clear-groups",
                                   "/bin/sh", "-c",
                                   "\"$0\" --handover-attacker poke; :", self_exe()};
  Result r = run({.argv = argv});
  auto w = words(r.out);
  EXPECT_EQ(num(w, "now_mem"), 0) << r.out << r.err;
  EXPECT_EQ(num(w, "now_seize"), 0) << r.out;
  EXPECT_EQ(num(w, "now_vmread"), 0) << r.out;
  EXPECT_EQ(num(w, "now_fd"), 0) << r.out;
  EXPECT_EQ(num(w, "now_fdlist"), 0) << r.out;
}

// 1./2. Once boxjail-wait has run its prctl, a same-uid PROGRAM gets
// nothing of it: no mem, no ptrace, no process_vm_*, no /proc/PID/fd.
TEST_F(HandoverAttack, TheWaiterIsClosedToASameUidProgramUnderSeccompOnly) {
  std::vector<std::string> argv = {"/usr/bin/setpriv", std::string("--reuid=") + kNobody,
                                   std::string("--regid=") + kNobody, "--clear-groups",
                                   kBoxjail, "--", "/bin/sh", "-c",
                                   "i=0; while [ \"$(cat /proc/$PPID/comm)\" != boxjail-wait ] "
                                   "&& [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; "
                                   "exec \"$0\" --handover-attacker poke",
                                   self_exe()};
  Result r = run({.argv = argv});
  auto w = words(r.out);
  ASSERT_EQ(w["comm"], "boxjail-wait") << r.out << r.err;
  EXPECT_EQ(num(w, "now_mem"), EACCES) << r.out;
  EXPECT_EQ(num(w, "now_seize"), EPERM) << r.out;
  EXPECT_EQ(num(w, "now_vmread"), EPERM) << r.out;
  EXPECT_EQ(num(w, "now_fd"), EACCES) << r.out;
  EXPECT_EQ(num(w, "now_fdlist"), EACCES) << r.out;
}

// 1. The window right after boxjail-wait execs boxjail back (a denied call
// wakes it): boxjail is a large static binary, and between the kernel's
// "dumpable again" in execve and resume()'s prctl() run glibc's start-up
// and every static constructor. A same-uid PROGRAM spinning on
// /proc/PPID/mem and PTRACE_SEIZE in another thread gets in, and keeps
// what it got: a mem file it writes through, and a tracer that stops the
// supervisor and reads its registers, long after the prctl.
// A hole: see the report. DISABLED until the window is closed.
TEST_F(HandoverAttack, DISABLED_TheExecBackIntoBoxjailIsNotRacedByASameUidProgram) {
  int won_mem = 0, won_seize = 0, late_write = 0, late_control = 0, memfd = 0, runs = 0;
  std::string last;
  for (int i = 0; i < 10 && !(won_mem && won_seize); ++i, ++runs) {
    Result r = run({.argv = as_nobody({"--seccomp-deny", "@chmod"}, {"race-wake"})});
    auto w = words(r.out);
    last = r.out + r.err;
    ASSERT_EQ(w["start_comm"].empty(), false) << last;
    ASSERT_EQ(num(w, "chmod"), EPERM) << last;  // the denial held
    ASSERT_EQ(w["now_comm"], "boxjail") << last;
    // Long after: a fresh attempt is refused, as it should be.
    ASSERT_EQ(num(w, "after_mem"), EACCES) << last;
    won_mem += num(w, "mem_won") == 1;
    won_seize += num(w, "seize_won") == 1;
    late_write += num(w, "late_write") == 1;
    late_control += num(w, "late_control") == 1;
    memfd += num(w, "memfd") == 1;
  }
  EXPECT_EQ(won_mem, 0) << runs << " runs; " << last;
  EXPECT_EQ(late_write, 0) << "wrote the supervisor's memory after its prctl; " << last;
  EXPECT_EQ(won_seize, 0) << last;
  EXPECT_EQ(late_control, 0) << "ptrace-stopped the supervisor after its prctl; " << last;
  EXPECT_EQ(memfd, 0) << "opened the hand-over record for writing; " << last;
}

// The same window at PROGRAM's end, raced by a grandchild that outlives it
// (no seccomp needed at all).
TEST_F(HandoverAttack, DISABLED_TheExecBackAtTheEndIsNotRacedByAnOrphan) {
  int won = 0, late = 0, runs = 0;
  std::string last;
  for (int i = 0; i < 10 && !won; ++i, ++runs) {
    std::string piped;
    std::vector<std::string> argv =
        as_nobody({"--reap", "--reap-grace", "0.5"}, {"race-end"});
    Result r = run({.argv = argv});
    // The kid's line comes after PROGRAM's.
    const size_t k = r.out.find("kid now_comm");
    last = r.out + r.err;
    ASSERT_NE(k, std::string::npos) << last;
    auto w = words(r.out.substr(k));
    won += num(w, "mem_won") == 1 || num(w, "seize_won") == 1;
    late += num(w, "late_write") == 1 || num(w, "late_control") == 1;
  }
  EXPECT_EQ(won, 0) << runs << " runs; " << last;
  EXPECT_EQ(late, 0) << last;
}

// 4. A storm of denied calls from many threads, started the moment the
// supervisor is boxjail-wait: the first one wakes it, boxjail execs back
// and decides the rest. Every call fails with the configured errno (never
// succeeds, never ENOSYS from a listener nobody answers), and the end
// report counts every one.
TEST_F(HandoverAttack, ADeniedCallStormAtTheHandOverFailsEveryCallAndCountsIt) {
  constexpr int kThreads = 8, kCalls = 150;
  for (const std::string& err : {std::string("@chmod"), std::string("@chmod:EACCES")}) {
    std::string piped;
    std::vector<std::string> argv =
        as_nobody({"--status-fd", "3", "--seccomp-deny", err},
                  {"storm", std::to_string(kThreads), std::to_string(kCalls)});
    Result r = run_with_pipe({.argv = argv}, 3, &piped);
    const int want = err == "@chmod" ? EPERM : EACCES;
    auto w = words(r.out);
    EXPECT_EQ(w["start_comm"], "boxjail") << r.out;  // it raced the hand-over
    EXPECT_EQ(num(w, "errno_" + std::to_string(want)), kThreads * kCalls) << r.out << r.err;
    EXPECT_EQ(num(w, "errno_0"), -99999) << r.out;  // none succeeded
    EXPECT_EQ(num(w, "errno_" + std::to_string(ENOSYS)), -99999) << r.out;
    ASSERT_NE(piped.find('\n'), std::string::npos) << piped << r.err;
    const json end = json::parse(piped.substr(piped.find('\n') + 1));
    EXPECT_EQ(end["seccomp"]["denials"], kThreads * kCalls) << piped;
    EXPECT_EQ(end["exit-code"], 0) << piped;
    // The control: the same storm with no filter succeeds every time.
    if (err == "@chmod") {
      Result c = run({.argv = {"/bin/sh", "-c",
                               "\"$0\" --handover-attacker storm 2 10 </dev/null", self_exe()}});
      EXPECT_EQ(num(words(c.out), "errno_0"), 20) << c.out << c.err;
    }
  }
}

// 5. --timeout firing during the hand-over (at once, or while boxjail-wait
// is being exec'd): always enforced, exit 124, even by a PROGRAM that
// ignores the signal.
TEST_F(HandoverAttack, ATimeoutAroundTheHandOverIsNeverLost) {
  for (const char* t : {"1ms", "2ms", "5ms", "10ms", "20ms", "50ms"}) {
    for (const char* prog : {"while :; do :; done", "trap '' TERM; while :; do :; done"}) {
      const auto t0 = std::chrono::steady_clock::now();
      Result r = run({.argv = {"/usr/bin/setpriv", std::string("--reuid=") + kNobody,
                               std::string("--regid=") + kNobody, "--clear-groups", kBoxjail,
                               "--timeout", t, "--reap-grace", "0.2", "--", "/bin/sh", "-c",
                               prog},
                      .timeout_ms = 10000});
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_EQ(r.code(), 124) << t << " " << prog << ": " << r.status << r.err;
      EXPECT_LT(s, 5.0) << t << " " << prog;
    }
  }
}

// 3. SIGSTOP/SIGTSTP/SIGCONT storms at the supervisor from PROGRAM's child,
// right across the hand-over, and a flood of orphans (--reap: each one's
// SIGCHLD goes to the supervisor): PROGRAM's own status comes out, and
// boxjail does not hang.
TEST_F(HandoverAttack, StopStormsAndOrphanFloodsDoNotLoseTheExitStatus) {
  for (int code : {0, 7, 42}) {
    Result r = run({.argv = as_nobody({}, {"stopstorm", "300", std::to_string(code)}),
                    .timeout_ms = 15000});
    EXPECT_EQ(r.code(), code) << r.out << r.status << r.err;
    Result o = run({.argv = as_nobody({"--reap"}, {"orphans", "200", std::to_string(code)}),
                    .timeout_ms = 15000});
    EXPECT_EQ(o.code(), code) << o.out << o.status << o.err;
    Result a = run({.argv = as_nobody({"--reap", "--signal-group"},
                                      {"orphans", "200", std::to_string(code)}),
                    .timeout_ms = 15000});
    EXPECT_EQ(a.code(), code) << a.out << a.status << a.err;
  }
}

// 6. `boxjail --resume-wait N` by hand. It refuses what is not a sealed
// record with boxjail's header naming N itself; a crafted one passes that
// and then does what its caller could do anyway: it runs with the
// caller's own privileges (no set-id bit, no file capability).
TEST_F(HandoverAttack, ResumeWaitByHandRefusesForeignRecordsAndHasNoPrivilege) {
  struct stat st {};
  ASSERT_EQ(stat(kBoxjail.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0u) << "boxjail is set-id";
  EXPECT_EQ(getxattr(kBoxjail.c_str(), "security.capability", nullptr, 0), -1)
      << "boxjail has file capabilities";
  auto record = [](bj_wait_state s, const std::string& blob, int seals) {
    const int m = static_cast<int>(syscall(SYS_memfd_create, "x", MFD_ALLOW_SEALING));
    EXPECT_GE(m, 0);
    EXPECT_EQ(write(m, &s, sizeof s), static_cast<ssize_t>(sizeof s));
    if (!blob.empty()) {
      EXPECT_EQ(write(m, blob.data(), blob.size()), static_cast<ssize_t>(blob.size()));
    }
    EXPECT_EQ(fcntl(m, F_ADD_SEALS, seals), 0);
    return m;
  };
  bj_wait_state good{};
  good.magic = BJ_WAIT_MAGIC;
  good.version = BJ_WAIT_VERSION;
  good.size = sizeof good;
  good.child = 1;
  good.exe_fd = good.ctty_fd = good.listener_fd = good.timer_fd = -1;
  good.state_fd = 3;
  good.ended = 1;
  constexpr int kAll = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  struct Case {
    const char* what;
    bj_wait_state s;
    int seals;
    const char* says;
  };
  std::vector<Case> cases;
  cases.push_back({"not sealed against growing", good, F_SEAL_SHRINK | F_SEAL_SEAL,
                   "is not a sealed hand-over record"});
  bj_wait_state bad = good;
  bad.magic ^= 1;
  cases.push_back({"magic", bad, kAll, "holds no finished hand-over"});
  bad = good;
  bad.state_fd = 4;
  cases.push_back({"state_fd names another descriptor", bad, kAll, "holds no finished hand-over"});
  bad = good;
  bad.ended = 0;
  cases.push_back({"not ended", bad, kAll, "holds no finished hand-over"});
  bad = good;
  bad.version = 2;
  cases.push_back({"version", bad, kAll, "holds no finished hand-over"});
  cases.push_back({"a header but no blob of boxjail's", good, kAll,
                   "the hand-over record is not this boxjail's"});
  for (const Case& c : cases) {
    const int m = record(c.s, c.what == std::string("a header but no blob of boxjail's")
                                  ? std::string("\x05junk", 5)
                                  : std::string(),
                         c.seals);
    Result r = run({.argv = {kBoxjail, "--resume-wait", "3"}, .fds = {{3, m}}});
    close(m);
    EXPECT_EQ(r.code(), 125) << c.what << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.what << ": " << r.err;
  }
  // A pipe, a regular file: not memfds, no seals.
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  Result r = run({.argv = {kBoxjail, "--resume-wait", "3"}, .fds = {{3, p[0]}}});
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("is not a sealed hand-over record"), std::string::npos) << r.err;
  for (const char* arg : {"-1", "3x", "99999999999", ""}) {
    r = run({.argv = {kBoxjail, "--resume-wait", arg}});
    EXPECT_EQ(r.code(), 125) << arg << r.err;
  }
}

}  // namespace

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
#include "privilege.h"

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

int control_through(pid_t pid, const char* path);
int g_call = -1;  // what the injected fchmodat gave (1: 0), or why there was none

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
    // A tracer is a thread: use the tracee from here, once the supervisor
    // is long past its prctl.
    if (seized) {
      // Any stop it is in is now reported to us and holds it until we
      // let it go: keep it running until the time comes.
      while (!stop.load()) {
        int st = 0;
        if (waitpid(target, &st, __WALL | WNOHANG) == target && WIFSTOPPED(st))
          ptrace(PTRACE_CONT, target, 0, 0);
        usleep(500);
      }
      control = control_through(target, inject_path.empty() ? nullptr : inject_path.c_str());
    }
  }
  int control = -1;
  std::string inject_path;  // chmod 0604 this through the supervisor
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
// its registers and, with `path`, makes it call fchmodat(path, 0604) (the
// call PROGRAM's filter denies), then puts it back and lets it go.
// 1: it had the supervisor stopped under it (and the call returned 0).
int control_through(pid_t pid, const char* path) {
  if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0) return -errno;
  int st = 0;
  if (waitpid(pid, &st, __WALL) != pid) return -1000 - errno;
  user_regs_struct regs{};
  if (ptrace(PTRACE_GETREGS, pid, 0, &regs) != 0) {
    ptrace(PTRACE_DETACH, pid, 0, 0);
    return -2000 - errno;
  }
  int ok = 1;
  if (path) {
    // Stopped in a system call: the two bytes before rip are `syscall`.
    // Or, with the call to be restarted, at rip itself.
    unsigned long sc = 0;
    for (unsigned long at : {regs.rip - 2, regs.rip}) {
      errno = 0;
      const long insn = ptrace(PTRACE_PEEKTEXT, pid, at, 0);
      if (errno == 0 && (insn & 0xffff) == 0x050f) {
        sc = at;
        break;
      }
    }
    if (!sc) {
      g_call = -3000;
    } else {
      user_regs_struct call = regs;
      // The path, on its stack below the red zone.
      const unsigned long at = (regs.rsp - 4096) & ~15ul;
      char buf[256] = {0};
      strncpy(buf, path, sizeof buf - 1);
      for (size_t i = 0; i < sizeof buf; i += sizeof(long)) {
        long w = 0;
        memcpy(&w, buf + i, sizeof w);
        ptrace(PTRACE_POKEDATA, pid, at + i, w);
      }
      call.rip = sc;
      call.rax = SYS_fchmodat;
      call.orig_rax = static_cast<unsigned long>(-1);
      call.rdi = static_cast<unsigned long>(AT_FDCWD);
      call.rsi = at;
      call.rdx = 0604;
      ptrace(PTRACE_SETREGS, pid, 0, &call);
      ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
      waitpid(pid, &st, __WALL);
      user_regs_struct after{};
      ptrace(PTRACE_GETREGS, pid, 0, &after);
      g_call = static_cast<long>(after.rax) == 0 ? 1 : -4000 + static_cast<int>(after.rax);
      ptrace(PTRACE_SETREGS, pid, 0, &regs);
    }
  }
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
  printf("late_write=%d late_control=%d late_call=%d ", write_through(r), r.control, g_call);
  for (const auto& [n, link] : r.fds) printf("fd%d=%s ", n, link.c_str());
}

// OP: "poke": what PROGRAM gets of its parent, now.
// OP: "race-wake": under boxjail-wait, race the exec back into boxjail that
//     a denied chmod (--seccomp-deny @chmod) causes.
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
    if (argc > 3) r.inject_path = argv[3];
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
    if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
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

// 1. The window right after each exec of the hand-over: execve makes a
// process dumpable again, and the new image makes itself non-dumpable only
// once it runs. A same-uid PROGRAM that keeps stopping its supervisor
// (SIGSTOP: it may signal its own uid, and a stop sent during execve()
// lands before the new image's first instruction) and tries /proc/PPID/mem
// and PTRACE_SEIZE while it is stopped got in when there was no Landlock
// (a kernel without it, --landlock best-effort; simulated by
// BOXJAIL_LANDLOCK_ABI=0), and kept what it got after the prctl: a mem file
// it wrote through, a tracer that stopped the supervisor, the hand-over
// memfd reopened for writing. boxjail now does not hand over there
// (handover::exec_exposure): the supervisor stays boxjail, non-dumpable
// from before PROGRAM existed. With Landlock (the test after this one), or
// without capabilities as root, the kernel refuses the ptrace anyway.
struct RaceTally {
  int runs = 0, mem = 0, seize = 0, late_write = 0, late_control = 0, memfd = 0;
  std::string last;
};

RaceTally race_box(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   int runs) {
  RaceTally t;
  for (int i = 0; i < runs; ++i) {
    Result r = run({.argv = argv, .env = env, .timeout_ms = 15000});
    auto w = words(r.out);
    ++t.runs;
    t.last = r.out + r.err;
    EXPECT_EQ(num(w, "chmod"), EPERM) << t.last;  // PROGRAM's own call is denied
    EXPECT_EQ(w["now_comm"], "boxjail") << t.last;
    EXPECT_EQ(num(w, "after_mem"), EACCES) << t.last;  // a fresh try, long after
    EXPECT_EQ(num(w, "after_seize"), EPERM) << t.last;
    t.mem += num(w, "mem_won") == 1;
    t.seize += num(w, "seize_won") == 1;
    t.late_write += num(w, "late_write") == 1;
    t.late_control += num(w, "late_control") == 1;
    t.memfd += num(w, "memfd") == 1;
  }
  return t;
}

TEST_F(HandoverAttack, WithoutLandlockASameUidProgramKeepsItsSupervisorInPlaceAndOutOfReach) {
#ifndef BOXJAIL_TEST_FAULT_INJECTION
  GTEST_SKIP() << "needs BOXJAIL_LANDLOCK_ABI=0 (a build with BOXJAIL_FAULT_INJECTION)";
#endif
  // The racer waits for boxjail-wait, which never comes.
  std::vector<std::string> argv = as_nobody(
      {"-v", "--landlock", "best-effort", "--seccomp-deny", "@chmod"}, {"race-wake-stop", "/x"});
  Result r = run({.argv = argv, .env = {"BOXJAIL_LANDLOCK_ABI=0"}, .timeout_ms = 15000});
  auto w = words(r.out);
  EXPECT_EQ(w["start_comm"], "boxjail") << r.out << r.err;
  EXPECT_EQ(num(w, "no_waiter"), 1) << r.out << r.err;
  EXPECT_NE(r.err.find("the supervisor stays boxjail: PROGRAM has the supervisor's uid and gid, "
                       "no fewer capabilities and no Landlock domain"),
            std::string::npos)
      << r.err;
  // And the supervisor that stays is closed to it.
  argv = as_nobody({"--landlock", "best-effort", "--seccomp-deny", "@chmod"}, {"poke"});
  r = run({.argv = argv, .env = {"BOXJAIL_LANDLOCK_ABI=0"}});
  w = words(r.out);
  EXPECT_EQ(w["comm"], "boxjail") << r.out << r.err;
  EXPECT_EQ(num(w, "now_mem"), EACCES) << r.out;
  EXPECT_EQ(num(w, "now_seize"), EPERM) << r.out;
  EXPECT_EQ(num(w, "now_vmread"), EPERM) << r.out;
  EXPECT_EQ(num(w, "now_fd"), EACCES) << r.out;
  // The control: unconfined, the same PROGRAM is handed over (it has
  // nothing to gain from its supervisor).
  argv = {"/usr/bin/setpriv", std::string("--reuid=") + kNobody,
          std::string("--regid=") + kNobody, "--clear-groups", kBoxjail, "--", "/bin/sh", "-c",
          "i=0; while [ \"$(cat /proc/$PPID/comm)\" != boxjail-wait ] && [ $i -lt 200 ]; do "
          "sleep 0.05; i=$((i+1)); done; cat /proc/$PPID/comm"};
  r = run({.argv = argv, .env = {"BOXJAIL_LANDLOCK_ABI=0"}});
  EXPECT_EQ(r.out, "boxjail-wait\n") << r.err;
}

// The same attack with Landlock there (the default whenever PROGRAM is
// confined): its domain keeps ptrace and /proc/PID/mem inside, so the
// window is never entered, however often the supervisor is stopped in it.
TEST_F(HandoverAttack, WithLandlockTheExecBackIntoBoxjailCannotBeRaced) {
#ifdef BOXJAIL_SANITIZED
  // The racer stops the supervisor without pause; a sanitized boxjail's
  // start-up is slow enough that the resume it races rarely gets through.
  GTEST_SKIP() << "the race needs an unsanitized boxjail (a sanitized one starts too slowly "
                  "under the stop storm to finish within the test's limit)";
#endif
  // Landlock's signal scope would refuse the SIGSTOPs themselves: with
  // --scope none, only its ptrace restriction stands in the way.
  TempDir d;
  RaceTally t = race_box(as_nobody({"--scope", "none", "--seccomp-deny", "@chmod"},
                                   {"race-wake-stop", d.path + "/none"}),
                         {}, 5);
  EXPECT_EQ(t.mem, 0) << t.last;
  EXPECT_EQ(t.seize, 0) << t.last;
  EXPECT_EQ(t.memfd, 0) << t.last;
  EXPECT_NE(t.last.find("stops="), std::string::npos) << t.last;
  EXPECT_EQ(t.last.find("stops=0 "), std::string::npos) << "the racer never stopped it; " << t.last;
}

// Root without capabilities, no Landlock: the same race is lost whatever
// the timing, because the kernel's capability check wants the tracer's
// permitted set to hold the supervisor's (cap_ptrace_access_check), and a
// dumpable supervisor of the same uid 0 is still out of reach.
TEST_F(HandoverAttack, RootWithoutCapabilitiesCannotRaceTheExecBack) {
#ifdef BOXJAIL_SANITIZED
  // The racer stops the supervisor without pause; a sanitized boxjail's
  // start-up is slow enough that the resume it races rarely gets through.
  GTEST_SKIP() << "the race needs an unsanitized boxjail (a sanitized one starts too slowly "
                  "under the stop storm to finish within the test's limit)";
#endif
  std::vector<std::string> argv = {kBoxjail};
  for (auto& f : root_opt_in()) argv.push_back(f);
  if (argv.size() == 1) GTEST_SKIP() << "not host root";
  argv.insert(argv.end(), {"--landlock", "best-effort", "--seccomp-deny", "@chmod", "--",
                           self_exe(), "--handover-attacker", "race-wake-stop", "/nonexistent"});
  RaceTally t = race_box(argv, {"BOXJAIL_LANDLOCK_ABI=0"}, 4);
  EXPECT_EQ(t.mem, 0) << t.last;
  EXPECT_EQ(t.seize, 0) << t.last;
  EXPECT_EQ(t.memfd, 0) << t.last;
  EXPECT_EQ(t.last.find("stops=0 "), std::string::npos) << "the racer never stopped it; " << t.last;
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

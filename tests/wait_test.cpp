// boxjail-wait on its own, without boxjail: a forked "supervisor" blocks
// every signal, forks PROGRAM, fills a memfd with a bj_wait_state and execs
// boxjail-wait, as boxjail's hand-over does. exe_fd is tests/
// wait_resume_probe, which prints what it was handed in place of
// `boxjail --resume-wait`. The tests assert what the probe received and
// what PROGRAM saw.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "boxjail/wait_abi.h"
#include "privilege.h"

namespace {

constexpr uid_t kNobody = 65534;

// What PROGRAM runs (in a forked child, every signal blocked, leader of its
// own process group). `report` is a pipe to the test. It must _exit().
using Program = std::function<void(int report)>;

struct WaitSetup {
  Program program;
  bool signal_group = false;
  bool wait_any = false;
  bool subreaper = false;      // PR_SET_CHILD_SUBREAPER before the exec
  bool bad_magic = false;
  bool drop_to_nobody = false;  // (as root) the supervisor runs as 65534
  const char* exe = WAIT_RESUME_PROBE_BIN;  // what exe_fd names
  const char* waiter = BOXJAIL_WAIT_BIN;    // what the supervisor execs
};

void write_line(int fd, const std::string& s) {
  std::string line = s + "\n";
  (void)!write(fd, line.data(), line.size());
}

std::string memfd_text(int fd) {
  std::string s;
  char buf[4096];
  off_t off = 0;
  ssize_t n;
  while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
    s.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return s;
}

std::string file_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "key=value key=value" into a map.
std::map<std::string, std::string> fields(const std::string& line) {
  std::map<std::string, std::string> m;
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) m[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return m;
}

// A running supervisor-turned-waiter, and what it left behind.
class Waiter {
 public:
  explicit Waiter(const WaitSetup& s) {
    int rep[2], ctl[2];
    if (pipe2(rep, O_CLOEXEC) != 0 || pipe2(ctl, O_CLOEXEC) != 0) abort();
    out_ = memfd_create("wait-test-out", MFD_CLOEXEC);
    err_ = memfd_create("wait-test-err", MFD_CLOEXEC);
    pid_ = fork();
    if (pid_ == 0) supervisor(s, rep[1], ctl[1]);
    close(rep[1]);
    close(ctl[1]);
    report_ = rep[0];
    if (read(ctl[0], &child_, sizeof child_) != sizeof child_) child_ = -1;
    close(ctl[0]);
  }
  ~Waiter() {
    if (!done_) {
      if (child_ > 0) kill(-child_, SIGKILL);
      kill(pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
    }
    close(report_);
    close(out_);
    close(err_);
  }

  pid_t pid() const { return pid_; }
  pid_t child() const { return child_; }

  // The next line PROGRAM (or its descendants) wrote, "" after 10 s or EOF.
  std::string line() {
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      pollfd p{report_, POLLIN, 0};
      if (poll(&p, 1, 10000) <= 0) return "";
      char b[256];
      ssize_t n = read(report_, b, sizeof b);
      if (n <= 0) return "";
      buf_.append(b, static_cast<size_t>(n));
    }
  }

  // True once the supervisor runs boxjail-wait (after its exec).
  bool waiting() const {
    for (int i = 0; i < 500; ++i) {
      if (file_text("/proc/" + std::to_string(pid_) + "/comm") == "boxjail-wait\n") return true;
      usleep(10000);
    }
    return false;
  }

  // The supervisor's wait status (it ends as the resume probe or as
  // boxjail-wait itself), waiting at most 10 s before killing it.
  int finish() {
    int st = 0;
    for (int i = 0; i < 1000; ++i) {
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        done_ = true;
        return st;
      }
      usleep(10000);
    }
    ADD_FAILURE() << "the waiter did not end";
    return -1;
  }
  std::string out() const { return memfd_text(out_); }
  std::string err() const { return memfd_text(err_); }

 private:
  // The supervisor: what boxjail's hand-over does, then the exec.
  [[noreturn]] void supervisor(const WaitSetup& s, int rep, int ctl) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
    if (s.subreaper) prctl(PR_SET_CHILD_SUBREAPER, 1);
    int exe = open(s.exe, O_PATH);
    if (s.drop_to_nobody &&
        (setgroups(0, nullptr) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
         setresuid(kNobody, kNobody, kNobody) != 0))
      _exit(98);
    int state = memfd_create("bj-wait-state", 0);
    dup2(out_, 1);
    dup2(err_, 2);
    pid_t child = fork();
    if (child == 0) {
      setpgid(0, 0);
      close(state);
      close(exe);
      s.program(rep);
      _exit(0);
    }
    setpgid(child, child);
    (void)!write(ctl, &child, sizeof child);
    close(ctl);
    close(rep);
    bj_wait_state st{};
    st.magic = s.bad_magic ? 0x12345678u : BJ_WAIT_MAGIC;
    st.version = BJ_WAIT_VERSION;
    st.size = sizeof st;
    st.child = child;
    st.ctty_fd = -1;
    st.exe_fd = exe;
    st.state_fd = state;
    st.signal_group = s.signal_group;
    st.wait_any = s.wait_any;
    st.ended = 0;
    st.status = -1;
    if (pwrite(state, &st, sizeof st, 0) != sizeof st) _exit(97);
    // boxjail's own end state would follow; the probe checks it is kept.
    const char tail[] = "boxjail's end state";
    if (pwrite(state, tail, sizeof tail, sizeof st) != sizeof tail) _exit(97);
    std::string fd = std::to_string(state);
    char* argv[] = {const_cast<char*>("boxjail-wait"), fd.data(), nullptr};
    execv(s.waiter, argv);
    _exit(99);
  }

  pid_t pid_ = -1;
  pid_t child_ = -1;
  int report_ = -1, out_ = -1, err_ = -1;
  std::string buf_;
  bool done_ = false;
};

// PROGRAM's helpers. PROGRAM starts with every signal blocked, as
// boxjail's supervisor leaves it; sigwaitinfo() takes them one by one.
int next_signal(std::initializer_list<int> sigs) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : sigs) sigaddset(&set, s);
  for (;;) {
    int sig = sigwaitinfo(&set, nullptr);
    if (sig > 0) return sig;
  }
}

void burn_cpu_ms(long ms) {
  timespec t{};
  do {
    for (int i = 0; i < 100000; ++i) asm volatile("");
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  } while (t.tv_sec * 1000 + t.tv_nsec / 1000000 < ms);
}

void unblock_all() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Reports every forwarded signal as "WHO SIG"; ends at SIGTERM.
void report_signals(int report, const char* who) {
  for (;;) {
    int sig = next_signal({SIGUSR1, SIGHUP, SIGINT, SIGTERM});
    write_line(report, std::string(who) + " " + std::to_string(sig));
    if (sig == SIGTERM) return;
  }
}

std::string proc_stat_field(pid_t pid, int field) {  // 1-based, after the comm
  std::string s = file_text("/proc/" + std::to_string(pid) + "/stat");
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return "";
  std::istringstream in(s.substr(rp + 2));
  std::string w;
  for (int i = 3; i <= field && in >> w; ++i) {
  }
  return w;
}

long status_kb(const std::string& text, const std::string& key) {
  auto at = text.find("\n" + key + ":");
  if (at == std::string::npos) return -1;
  return std::strtol(text.c_str() + at + key.size() + 2, nullptr, 10);
}

TEST(Wait, ExitStatusAndUsageReachResume) {
  Waiter w({.program = [](int) {
    burn_cpu_ms(50);
    _exit(7);
  }});
  int st = w.finish();
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 7) << w.out() << w.err();
  EXPECT_EQ(w.err(), "");
  auto f = fields(w.out());
  EXPECT_EQ(f["argv0"], "boxjail");
  EXPECT_EQ(f["argv1"], BJ_WAIT_RESUME_FLAG);
  EXPECT_EQ(f["fd_ok"], "1");
  EXPECT_EQ(f["magic_ok"], "1");
  EXPECT_EQ(f["ended"], "1");
  EXPECT_EQ(f["tail_ok"], "1") << "boxjail's end state after the struct was touched";
  EXPECT_EQ(f["status"], std::to_string(7 << 8));
  EXPECT_EQ(f["pid"], std::to_string(w.pid())) << "the resume runs in the same process";
  // PROGRAM's usage: it ran until its own CPU clock passed 50 ms.
  long cpu_us = std::stol(f["utime_us"]) + std::stol(f["stime_us"]);
  EXPECT_GT(cpu_us, 0);
  EXPECT_GE(cpu_us, 25000) << "this is not PROGRAM's rusage";
  // Every signal is still blocked after the two execs.
  unsigned long long blk = std::stoull(f["sigblk"], nullptr, 16);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGCONT, SIGTSTP})
    EXPECT_TRUE(blk & (1ull << (sig - 1))) << "signal " << sig << " not blocked: " << f["sigblk"];
}

TEST(Wait, ForwardsSignalsToProgram) {
  Waiter w({.program = [](int report) {
    write_line(report, "ready");
    report_signals(report, "P");
    _exit(3);
  }});
  ASSERT_EQ(w.line(), "ready");
  ASSERT_TRUE(w.waiting()) << w.err();
  for (int sig : {SIGUSR1, SIGHUP, SIGINT, SIGTERM}) {
    ASSERT_EQ(kill(w.pid(), sig), 0);
    EXPECT_EQ(w.line(), "P " + std::to_string(sig));
  }
  int st = w.finish();
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 3);
  EXPECT_EQ(fields(w.out())["status"], std::to_string(3 << 8));
}

TEST(Wait, SignalGroupReachesGrandchild) {
  Waiter w({.program =
                [](int report) {
                  pid_t g = fork();
                  if (g == 0) {
                    write_line(report, "G ready");
                    report_signals(report, "G");
                    _exit(0);
                  }
                  write_line(report, "P ready");
                  report_signals(report, "P");
                  waitpid(g, nullptr, 0);
                  _exit(4);
                },
            .signal_group = true});
  std::vector<std::string> ready{w.line(), w.line()};
  std::sort(ready.begin(), ready.end());
  ASSERT_EQ(ready, (std::vector<std::string>{"G ready", "P ready"}));
  ASSERT_TRUE(w.waiting()) << w.err();
  for (int sig : {SIGUSR1, SIGTERM}) {
    ASSERT_EQ(kill(w.pid(), sig), 0);
    std::vector<std::string> got{w.line(), w.line()};
    std::sort(got.begin(), got.end());
    std::string n = std::to_string(sig);
    EXPECT_EQ(got, (std::vector<std::string>{"G " + n, "P " + n}));
  }
  int st = w.finish();
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 4);
}

TEST(Wait, SignalThatKillsProgramGivesSignalledStatus) {
  Waiter w({.program = [](int report) {
    unblock_all();
    write_line(report, "ready");
    for (;;) pause();
  }});
  ASSERT_EQ(w.line(), "ready");
  ASSERT_TRUE(w.waiting()) << w.err();
  ASSERT_EQ(kill(w.pid(), SIGTERM), 0);
  int st = w.finish();
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 128 + SIGTERM);
  int status = std::stoi(fields(w.out())["status"]);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

// PROGRAM's grandchild G is orphaned (its parent M exits) and ends; the
// subreaper waiter adopts it. The pid of G, then "ready".
void orphan_grandchild(int report) {
  pid_t m = fork();
  if (m == 0) {
    pid_t parent = getpid();
    pid_t g = fork();
    if (g == 0) {
      while (getppid() == parent) usleep(1000);  // until adopted
      _exit(0);
    }
    write_line(report, std::to_string(g));  // before "ready": M writes it
    _exit(0);
  }
  waitpid(m, nullptr, 0);
  write_line(report, "ready");
  next_signal({SIGTERM});
  _exit(5);
}

TEST(Wait, WaitAnyReapsAdoptedOrphans) {
  Waiter w({.program = orphan_grandchild, .wait_any = true, .subreaper = true});
  pid_t g = std::stoi(w.line());
  ASSERT_EQ(w.line(), "ready");
  ASSERT_TRUE(w.waiting()) << w.err();
  std::string state = "?";
  for (int i = 0; i < 500; ++i) {
    state = proc_stat_field(g, 3);
    if (state.empty() || proc_stat_field(g, 4) != std::to_string(w.pid())) break;
    usleep(10000);
  }
  EXPECT_EQ(state, "") << "the adopted grandchild " << g << " is left in state " << state;
  std::string children = file_text("/proc/" + std::to_string(w.pid()) + "/task/" +
                                   std::to_string(w.pid()) + "/children");
  EXPECT_EQ(children, std::to_string(w.child()) + " ");
  ASSERT_EQ(kill(w.pid(), SIGTERM), 0);
  int st = w.finish();
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 5);
}

// The control: without wait_any, the adopted orphan stays a zombie.
TEST(Wait, WithoutWaitAnyAdoptedOrphansStay) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);  // to reap G ourselves afterwards
  pid_t g = -1;
  {
    Waiter w({.program = orphan_grandchild, .subreaper = true});
    g = std::stoi(w.line());
    ASSERT_EQ(w.line(), "ready");
    ASSERT_TRUE(w.waiting()) << w.err();
    std::string state;
    for (int i = 0; i < 500 && state != "Z"; ++i) {
      state = proc_stat_field(g, 3);
      usleep(10000);
    }
    EXPECT_EQ(state, "Z");
    EXPECT_EQ(proc_stat_field(g, 4), std::to_string(w.pid()));
    ASSERT_EQ(kill(w.pid(), SIGTERM), 0);
    int st = w.finish();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 5) << st;
  }
  waitpid(g, nullptr, 0);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(Wait, BadStateExits125) {
  Waiter w({.program = [](int) { _exit(0); }, .bad_magic = true});
  int st = w.finish();
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 125);
  EXPECT_EQ(w.err(), "boxjail-wait: STATE_FD: not a boxjail hand-over (run by boxjail only)\n");
  EXPECT_EQ(w.out(), "");
}

TEST(Wait, NoStateFdExits125) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{}, {"x"}, {"-1"}, {"0"}, {"3", "4"}}) {
    int err = memfd_create("wait-test-err", MFD_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDONLY);  // fd 0: not a memfd
      dup2(null, 0);
      dup2(err, 2);
      std::vector<char*> argv{const_cast<char*>("boxjail-wait")};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(BOXJAIL_WAIT_BIN, argv.data());
      _exit(99);
    }
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 125) << st;
    EXPECT_EQ(memfd_text(err),
              "boxjail-wait: STATE_FD: not a boxjail hand-over (run by boxjail only)\n");
    close(err);
  }
}

TEST(Wait, UnexecutableExeEndsLikeProgramExit) {
  Waiter w({.program = [](int) { _exit(7); }, .exe = "/"});
  int st = w.finish();
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 7);
  EXPECT_EQ(w.err(), "boxjail-wait: cannot exec boxjail to finish: EACCES\n");
}

TEST(Wait, UnexecutableExeEndsLikeProgramSignal) {
  Waiter w({.program =
                [](int report) {
                  unblock_all();
                  write_line(report, "ready");
                  for (;;) pause();
                },
            .exe = "/"});
  ASSERT_EQ(w.line(), "ready");
  ASSERT_TRUE(w.waiting()) << w.err();
  ASSERT_EQ(kill(w.pid(), SIGTERM), 0);
  int st = w.finish();
  ASSERT_TRUE(WIFSIGNALED(st)) << st;
  EXPECT_EQ(WTERMSIG(st), SIGTERM);
  EXPECT_FALSE(WCOREDUMP(st));
  EXPECT_EQ(w.err(), "boxjail-wait: cannot exec boxjail to finish: EACCES\n");
}

// Non-dumpable: the kernel gives the files in /proc/PID (not the directory,
// which ps reads) to root then. As root, the
// supervisor drops to 65534 first so that the owner tells.
TEST(Wait, IsNotDumpable) {
  const bool root = geteuid() == 0;
  // As root the supervisor drops to 65534 first, so that /proc's owner
  // tells something; root of a user namespace may not have that uid.
  if (root)
    if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
  auto program = [](int report) {
    write_line(report, "ready");
    next_signal({SIGTERM});
    _exit(0);
  };
  // The control: the same supervisor execing /bin/sleep instead is
  // dumpable, and /proc/PID/environ is its owner's.
  {
    Waiter c({.program = program, .drop_to_nobody = root, .waiter = "/bin/sleep"});
    ASSERT_EQ(c.line(), "ready");
    struct stat sb{};
    for (int i = 0; i < 500; ++i) {
      if (file_text("/proc/" + std::to_string(c.pid()) + "/comm") == "sleep\n") break;
      usleep(10000);
    }
    ASSERT_EQ(stat(("/proc/" + std::to_string(c.pid()) + "/environ").c_str(), &sb), 0);
    EXPECT_EQ(sb.st_uid, root ? kNobody : geteuid()) << "the control is not dumpable";
  }
  Waiter w({.program = program, .drop_to_nobody = root});
  ASSERT_EQ(w.line(), "ready");
  if (!w.waiting()) {
    if (root) GTEST_SKIP() << "user 65534 cannot exec " << BOXJAIL_WAIT_BIN;
    FAIL() << w.err();
  }
  std::string dir = "/proc/" + std::to_string(w.pid());
  std::string status = file_text(dir + "/status");
  uid_t uid = static_cast<uid_t>(status_kb(status, "Uid"));
  ASSERT_NE(uid, 0u) << "the waiter runs as root: its /proc owner tells nothing";
  // The exec renames the process before boxjail-wait's first instruction
  // runs: give it a moment to reach prctl().
  struct stat sb{};
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(stat((dir + "/environ").c_str(), &sb), 0);
    if (sb.st_uid == 0) break;
    usleep(10000);
  }
  EXPECT_EQ(sb.st_uid, 0u) << "boxjail-wait is dumpable (uid " << uid << ")";
  ASSERT_EQ(kill(w.pid(), SIGTERM), 0);
  int st = w.finish();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << w.err();
}

// How much a waiting boxjail-wait costs: printed, never asserted.
TEST(Wait, MemoryOfWaiters) {
  if (geteuid() != 0)
    GTEST_SKIP() << "smaps_rollup of a non-dumpable process needs root (CAP_SYS_PTRACE)";
  auto sleeper = [](int) {
    unblock_all();
    execl("/bin/sleep", "sleep", "60", nullptr);
    _exit(127);
  };
  constexpr int kWaiters = 50;
  std::vector<std::unique_ptr<Waiter>> ws;
  for (int i = 0; i < kWaiters; ++i) ws.push_back(std::make_unique<Waiter>(WaitSetup{.program = sleeper}));
  long pss = 0, dirty = 0, first_pss = -1, first_dirty = -1;
  for (auto& w : ws) {
    ASSERT_TRUE(w->waiting()) << w->err();
    std::string r = file_text("/proc/" + std::to_string(w->pid()) + "/smaps_rollup");
    long p = status_kb(r, "Pss"), d = status_kb(r, "Private_Dirty");
    ASSERT_GE(p, 0) << r;
    if (first_pss < 0) {
      first_pss = p;
      first_dirty = d;
      std::printf("one boxjail-wait (pid %d):\n%s", w->pid(), r.c_str());
    }
    pss += p;
    dirty += d;
  }
  std::printf("boxjail-wait, first of %d waiters: Pss %ld kB, Private_Dirty %ld kB\n", kWaiters,
              first_pss, first_dirty);
  std::printf("boxjail-wait, mean of %d waiters: Pss %.1f kB, Private_Dirty %.1f kB\n", kWaiters,
              static_cast<double>(pss) / kWaiters, static_cast<double>(dirty) / kWaiters);
  RecordProperty("pss_kb_mean", std::to_string(static_cast<double>(pss) / kWaiters));
  RecordProperty("private_dirty_kb_mean", std::to_string(static_cast<double>(dirty) / kWaiters));
  for (auto& w : ws) kill(w->pid(), SIGTERM);
  for (auto& w : ws) {
    int st = w->finish();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM) << st << w->err();
  }
}

}  // namespace

// tests/probe: reports, as one JSON object, what a process really sees.
//
//   probe [--out FILE] [--exit N] [--kill SIG] [--wait] [--spawn N] [--] ...
//
// Fields: argv, pid, ppid, pgid, sid, tpgid (foreground group of fd 0's
// terminal or -1), fds (each open descriptor with its FD_CLOEXEC flag, file
// status flags and what it refers to), rlimits ([soft, hard], "unlimited"
// for RLIM_INFINITY), sigblk / sigign (hex masks from /proc/self/status).
// Then: --exit N exits N, --kill SIG kills itself with SIG, --wait waits for
// a signal and exits 100+N (writing N to FILE with --note FILE), --spawn N
// starts N grandchildren that sleep and reports {"spawned": [pids]}.
// env holds LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES when set.
// Check mode (--check-fds 0,1,2 and/or --check-nofile N, with --fail-file
// FILE): no report, exit 0 when the process sees exactly that, else exit 3
// and append what it saw to FILE.
// Attempts, each reported in "access" as {"op", "arg", "errno"} (0: it
// worked), made in order after the descriptors are gathered:
//   --read FILE, --write FILE (create or append), --truncate FILE,
//   --rename FROM TO, --list DIR, --exec FILE (fork + execve, errno of the
//   execve), --bind PORT and --connect PORT (TCP on 127.0.0.1),
//   --unix-connect NAME (abstract unix socket), --signal PID (kill(PID, 0)).
//   --uname (uname(2)), --int80-getppid (getppid through the i386 ABI,
//   int $0x80), --ptrace-parent (PTRACE_ATTACH to the parent),
//   --mem-parent (open /proc/PARENT/mem for writing), --so-mark (SO_MARK on
//   a socket: needs CAP_NET_ADMIN), --setuid-root (setresuid(0, 0, 0)),
//   --mount DIR (mount(2) of a tmpfs on DIR: pass a DIR that does not
//   exist, and the kernel answers ENOENT before any permission check).
// --catch-sigsys counts SIGSYS instead of dying of it ("sigsys").
//   --fork-until-fail (fork sleeping children until fork fails: "forked"
//   and the errno), --alloc MIB (allocate and touch), --burn MS (spin on
//   the CPU for MS milliseconds of its own CPU time), --fill PATH MIB
//   (write MIB MiB to PATH: past RLIMIT_FSIZE, SIGXFSZ).
// "cgroup" is /proc/self/cgroup as read first thing; "affinity" the CPUs it
// may run on, "nice" and "oom_score_adj" its own.
// "nnp" is prctl(PR_GET_NO_NEW_PRIVS); "status_nnp" the NoNewPrivs line of
// /proc/self/status ("" when it cannot be read); "ids" its Uid, Gid,
// Groups and Cap* lines.
#include <dirent.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ptrace.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <algorithm>

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += c;
    }
  }
  return o;
}

std::vector<int> open_fds() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (d) {
    int self = dirfd(d);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int fd = atoi(e->d_name);
      if (fd != self) fds.push_back(fd);
    }
    closedir(d);
  } else {
    // No /proc: probe every number up to the hard limit.
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    for (rlim_t fd = 0; fd < r.rlim_max && fd < 1u << 21; ++fd)
      if (fcntl(static_cast<int>(fd), F_GETFD) >= 0) fds.push_back(static_cast<int>(fd));
  }
  std::sort(fds.begin(), fds.end());
  return fds;
}

std::string status_field(const char* key) {
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) return "";
  char line[512];
  std::string v;
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      char* p = line + n + 1;
      while (*p == '\t' || *p == ' ') ++p;
      v = p;
      while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    }
  }
  fclose(f);
  return v;
}

int g_forked = 0;  // children made by --fork-until-fail

// One attempted access; returns 0 or the errno it failed with.
int attempt(const std::string& op, const char* a, const char* b) {
  errno = 0;
  if (op == "--read") {
    int fd = open(a, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    char c;
    int r = read(fd, &c, 1) < 0 ? errno : 0;
    close(fd);
    return r;
  }
  if (op == "--write") {
    int fd = open(a, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    int r = write(fd, "x", 1) < 0 ? errno : 0;
    close(fd);
    return r;
  }
  if (op == "--fill") {  // PATH MIB: write MIB MiB to PATH (past RLIMIT_FSIZE: SIGXFSZ)
    int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    static char chunk[65536];
    int r = 0;
    for (long i = 0; i < atol(b) * 16 && r == 0; ++i)
      if (write(fd, chunk, sizeof chunk) < 0) r = errno;
    close(fd);
    return r;
  }
  if (op == "--truncate") return truncate(a, 0) == 0 ? 0 : errno;
  if (op == "--rename") return rename(a, b) == 0 ? 0 : errno;
  if (op == "--list") {
    DIR* d = opendir(a);
    if (!d) return errno;
    int r = readdir(d) || errno == 0 ? 0 : errno;
    closedir(d);
    return r;
  }
  if (op == "--exec") {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return errno;
    pid_t pid = fork();
    if (pid == 0) {
      close(1);  // whatever it prints is not the report (/dev/null may be denied)
      char* argv[] = {const_cast<char*>(a), const_cast<char*>("--version"), nullptr};
      execv(a, argv);
      int e = errno;
      (void)!write(p[1], &e, sizeof e);
      _exit(127);
    }
    close(p[1]);
    int e = 0;
    if (read(p[0], &e, sizeof e) != sizeof e) e = 0;
    close(p[0]);
    waitpid(pid, nullptr, 0);
    return e;
  }
  if (op == "--bind" || op == "--connect") {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(atoi(a)));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int r = (op == "--bind" ? bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa)
                            : connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa)) == 0
                ? 0
                : errno;
    close(s);
    return r;
  }
  if (op == "--unix-connect") {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    size_t n = strlen(a);
    if (n + 1 > sizeof sa.sun_path) n = sizeof sa.sun_path - 1;
    memcpy(sa.sun_path + 1, a, n);  // abstract: a leading NUL
    int r = connect(s, reinterpret_cast<sockaddr*>(&sa),
                    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n)) == 0
                ? 0
                : errno;
    close(s);
    return r;
  }
  if (op == "--signal") return kill(static_cast<pid_t>(atoi(a)), 0) == 0 ? 0 : errno;
  if (op == "--uname") {
    utsname u{};
    return uname(&u) == 0 ? 0 : errno;
  }
  if (op == "--int80-getppid") {
    long r = 0;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(64L) : "memory");  // i386 getppid
    return r == getppid() ? 0 : r < 0 ? static_cast<int>(-r) : EINVAL;
  }
  if (op == "--ptrace-parent") {
    pid_t parent = getppid();
    if (ptrace(PTRACE_ATTACH, parent, nullptr, nullptr) != 0) return errno;
    waitpid(parent, nullptr, __WALL);
    ptrace(PTRACE_DETACH, parent, nullptr, nullptr);
    return 0;
  }
  if (op == "--mem-parent") {
    int fd = open(("/proc/" + std::to_string(getppid()) + "/mem").c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno;
    close(fd);
    return 0;
  }
  if (op == "--setuid-root") return setresuid(0, 0, 0) == 0 ? 0 : errno;
  if (op == "--fork-until-fail") {
    for (int i = 0; i < 10000; ++i) {
      pid_t c = fork();
      if (c < 0) return errno;
      if (c == 0) {
        pause();
        _exit(0);
      }
      ++g_forked;
    }
    return 0;
  }
  if (op == "--alloc") {
    size_t bytes = static_cast<size_t>(atol(a)) << 20;
    volatile char* p = static_cast<volatile char*>(malloc(bytes));  // touched, not optimised away
    if (!p) return ENOMEM;
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
    return 0;
  }
  if (op == "--burn") {
    timespec start{}, now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    volatile unsigned long x = 0;
    do {
      for (int i = 0; i < 100000; ++i) x = x + static_cast<unsigned long>(i);
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 <
             atol(a));
    return 0;
  }
  if (op == "--mount") return mount("none", a, "tmpfs", 0, nullptr) == 0 ? 0 : errno;
  if (op == "--so-mark") {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    int mark = 7;
    int r = setsockopt(s, SOL_SOCKET, SO_MARK, &mark, sizeof mark) == 0 ? 0 : errno;
    close(s);
    return r;
  }
  return EINVAL;
}

volatile sig_atomic_t g_sigsys = 0;
void on_sigsys(int) { g_sigsys = g_sigsys + 1; }

std::string lim(rlim_t v) {
  return v == RLIM_INFINITY ? "\"unlimited\"" : std::to_string(v);
}

}  // namespace

std::string read_file(const char* path) {
  FILE* f = fopen(path, "re");
  if (!f) return "";
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

int main(int argc, char** argv) {
  // Before anything else: which cgroups this process started in.
  const std::string cgroup = read_file("/proc/self/cgroup");
  const char* out = nullptr;
  const char* note = nullptr;
  const char* check_fds = nullptr;   // "0,1,2": the exact set expected
  long check_nofile = -1;            // expected soft RLIMIT_NOFILE
  const char* fail_file = nullptr;   // where a failed check is recorded
  int exit_code = 0, kill_sig = 0, spawn = 0;
  bool wait_sig = false;
  struct Attempt {
    std::string op;
    const char* a;
    const char* b;
  };
  std::vector<Attempt> attempts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--rename" || a == "--fill") && i + 2 < argc) {
      attempts.push_back({a, argv[i + 1], argv[i + 2]});
      i += 2;
      continue;
    }
    if (a == "--uname" || a == "--int80-getppid" || a == "--ptrace-parent" ||
        a == "--mem-parent" || a == "--so-mark" || a == "--setuid-root" ||
        a == "--fork-until-fail") {
      attempts.push_back({a, "", nullptr});
      continue;
    }
    if (a == "--catch-sigsys") {
      signal(SIGSYS, on_sigsys);
      continue;
    }
    if ((a == "--read" || a == "--write" || a == "--truncate" || a == "--list" ||
         a == "--exec" || a == "--bind" || a == "--connect" || a == "--unix-connect" ||
         a == "--signal" || a == "--alloc" || a == "--burn" || a == "--mount") &&
        i + 1 < argc) {
      attempts.push_back({a, argv[++i], nullptr});
      continue;
    }
    if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--exit" && i + 1 < argc) exit_code = atoi(argv[++i]);
    else if (a == "--kill" && i + 1 < argc) kill_sig = atoi(argv[++i]);
    else if (a == "--spawn" && i + 1 < argc) spawn = atoi(argv[++i]);
    else if (a == "--wait") wait_sig = true;
    else if (a == "--note" && i + 1 < argc) note = argv[++i];
    else if (a == "--check-fds" && i + 1 < argc) check_fds = argv[++i];
    else if (a == "--check-nofile" && i + 1 < argc) check_nofile = atol(argv[++i]);
    else if (a == "--fail-file" && i + 1 < argc) fail_file = argv[++i];
    else if (a == "--") break;
  }
  // Everything is gathered before we open anything ourselves.
  std::vector<int> fds = open_fds();
  if (check_fds || check_nofile >= 0) {
    // Check mode: no report; exit 0 if all is as expected, else 3, with a
    // line in --fail-file.
    std::string seen;
    for (int fd : fds) seen += (seen.empty() ? "" : ",") + std::to_string(fd);
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    bool ok = (!check_fds || seen == check_fds) &&
              (check_nofile < 0 || r.rlim_cur == static_cast<rlim_t>(check_nofile));
    if (!ok && fail_file) {
      FILE* f = fopen(fail_file, "ae");
      if (f) {
        fprintf(f, "pid %d: fds %s nofile %lu\n", getpid(), seen.c_str(),
                static_cast<unsigned long>(r.rlim_cur));
        fclose(f);
      }
    }
    return ok ? 0 : 3;
  }
  std::string access;
  for (const auto& at : attempts) {
    int e = attempt(at.op, at.a, at.b);
    access += std::string(access.empty() ? "" : ",") + "{\"op\":\"" + at.op.substr(2) +
              "\",\"arg\":\"" + esc(at.a) + "\",\"errno\":" + std::to_string(e) + "}";
  }
  const std::string sigblk = status_field("SigBlk");
  if (wait_sig) {
    // Block before reporting, so a signal sent once the report is read
    // is always received by sigwait below.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
  }
  std::string j = "{\"argv\":[";
  for (int i = 0; i < argc; ++i) j += (i ? ",\"" : "\"") + esc(argv[i]) + "\"";
  j += "],\"pid\":" + std::to_string(getpid()) + ",\"ppid\":" + std::to_string(getppid()) +
       ",\"pgid\":" + std::to_string(getpgrp()) + ",\"sid\":" + std::to_string(getsid(0)) +
       ",\"tpgid\":" + std::to_string(isatty(0) ? tcgetpgrp(0) : -1) + ",\"fds\":[";
  bool first = true;
  for (int fd : fds) {
    int fdflags = fcntl(fd, F_GETFD);
    int flflags = fcntl(fd, F_GETFL);
    if (fdflags < 0) continue;
    char path[64], target[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    struct stat st {};
    fstat(fd, &st);
    j += std::string(first ? "" : ",") + "{\"fd\":" + std::to_string(fd) +
         ",\"cloexec\":" + ((fdflags & FD_CLOEXEC) ? "true" : "false") +
         ",\"nonblock\":" + ((flflags & O_NONBLOCK) ? "true" : "false") +
         ",\"append\":" + ((flflags & O_APPEND) ? "true" : "false") +
         ",\"ino\":" + std::to_string(st.st_ino) + ",\"target\":\"" + esc(target) + "\"}";
    first = false;
  }
  j += "],\"rlimits\":{";
  static const std::pair<const char*, int> kRes[] = {
      {"as", RLIMIT_AS},         {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
      {"data", RLIMIT_DATA},     {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
      {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
      {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
      {"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
      {"stack", RLIMIT_STACK}};
  first = true;
  for (const auto& [name, res] : kRes) {
    rlimit r{};
    getrlimit(static_cast<__rlimit_resource>(res), &r);
    j += std::string(first ? "" : ",") + "\"" + name + "\":[" + lim(r.rlim_cur) + "," +
         lim(r.rlim_max) + "]";
    first = false;
  }
  j += "},\"env\":{";
  first = true;
  for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) {
    if (const char* v = getenv(name)) {
      j += std::string(first ? "" : ",") + "\"" + name + "\":\"" + esc(v) + "\"";
      first = false;
    }
  }
  j += "},\"sigblk\":\"" + sigblk + "\",\"sigign\":\"" + status_field("SigIgn") +
       "\",\"nnp\":" + std::to_string(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) +
       ",\"status_nnp\":\"" + status_field("NoNewPrivs") + "\",\"ids\":{";
  first = true;
  for (const char* key : {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    j += std::string(first ? "" : ",") + "\"" + key + "\":\"" + esc(status_field(key)) + "\"";
    first = false;
  }
  char cwd[4096];
  j += "},\"cwd\":\"" + esc(getcwd(cwd, sizeof cwd) ? cwd : "") + "\"";
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  sched_getaffinity(0, sizeof cpus, &cpus);
  std::string affinity;
  for (size_t c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &cpus)) affinity += (affinity.empty() ? "" : ",") + std::to_string(c);
  errno = 0;
  int nice_value = getpriority(PRIO_PROCESS, 0);
  std::string oom = read_file("/proc/self/oom_score_adj");
  while (!oom.empty() && oom.back() == '\n') oom.pop_back();
  j += ",\"cgroup\":\"" + esc(cgroup) + "\",\"affinity\":[" + affinity +
       "],\"nice\":" + std::to_string(nice_value) + ",\"oom_score_adj\":\"" + oom +
       "\",\"forked\":" + std::to_string(g_forked);
  j += ",\"sigsys\":" + std::to_string(g_sigsys) + ",\"access\":[" + access + "]}\n";

  if (out) {
    std::string tmp = std::string(out) + ".tmp";
    FILE* f = fopen(tmp.c_str(), "we");
    if (!f) return 99;
    fputs(j.c_str(), f);
    fclose(f);
    rename(tmp.c_str(), out);
  } else {
    fputs(j.c_str(), stdout);
    fflush(stdout);
  }
  if (spawn > 0) {
    std::string line = "{\"spawned\":[";
    for (int i = 0; i < spawn; ++i) {
      pid_t c = fork();
      if (c == 0) {
        execl("/bin/sleep", "sleep", "300", static_cast<char*>(nullptr));
        _exit(127);
      }
      line += (i ? "," : "") + std::to_string(c);
    }
    line += "]}\n";
    if (!out) {
      fputs(line.c_str(), stdout);
      fflush(stdout);
    }
  }
  if (wait_sig) {
    sigset_t all;
    sigfillset(&all);
    int sig = 0;
    sigwait(&all, &sig);
    if (note) {
      FILE* f = fopen(note, "we");
      if (f) {
        fprintf(f, "%d\n", sig);
        fclose(f);
      }
    }
    return 100 + sig;
  }
  if (kill_sig) {
    rlimit no_core{0, 0};  // no core files from deliberate crashes
    setrlimit(RLIMIT_CORE, &no_core);
    signal(kill_sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, kill_sig);
    sigprocmask(SIG_UNBLOCK, &one, nullptr);
    kill(getpid(), kill_sig);
    pause();
  }
  return exit_code;
}

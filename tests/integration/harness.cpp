#include "harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace harness {
namespace {


[[noreturn]] void die(const char* what) {
  dprintf(2, "harness: %s: %s\n", what, strerror(errno));
  _exit(99);
}

// In the forked child: lay out exactly the descriptors the test asked for.
[[noreturn]] void exec_child(const Spawn& s, int out_w, int err_w, const std::string& slave) {
  if (s.pty) {
    if (setsid() < 0) die("setsid");
    int t = open(slave.c_str(), O_RDWR);  // becomes the controlling terminal
    if (t < 0) die("open pty slave");
    dup2(t, 0);
    if (t != 0) close(t);
  } else {
    int n = open("/dev/null", O_RDONLY);
    dup2(n, 0);
    if (n != 0) close(n);
  }
  dup2(out_w, 1);
  dup2(err_w, 2);
  if (s.nofile_hard) {
    rlimit r{s.nofile_hard, s.nofile_hard};
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) die("raise hard nofile");
  }
  if (s.scatter) {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) die("raise soft nofile");
  }
  int top = 2;
  for (const auto& [t, src] : s.fds) top = std::max(top, t);
  std::vector<std::pair<int, int>> temps;
  for (const auto& [t, src] : s.fds) {
    int tmp = fcntl(src, F_DUPFD_CLOEXEC, top + 1);
    if (tmp < 0) die("dup source");
    temps.push_back({t, tmp});
  }
  // Everything else the test process had open vanishes at exec.
  if (syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0) die("close_range");
  for (const auto& [t, tmp] : temps)
    if (dup2(tmp, t) < 0) die("dup2 target");
  for (int fd : s.cloexec) fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (s.scatter) {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    int limit = static_cast<int>(r.rlim_cur);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    std::vector<int> busy;
    for (const auto& [t, tmp] : temps) busy.push_back(tmp);
    for (int i = 0; i < s.scatter; ++i) {
      // Evenly from 3 to limit - 1, the last one exactly at limit - 1.
      int fd = 3 + static_cast<int>(static_cast<long>(limit - 4) * i / (s.scatter - 1));
      if (s.fds.count(fd) || fd == null ||
          std::find(busy.begin(), busy.end(), fd) != busy.end())
        continue;
      if (dup2(null, fd) < 0) die("scatter");
    }
  }
  for (int sig : s.ignore) signal(sig, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // The tests' own PATH, whatever the caller's: one unsearchable directory
  // on it turns "not found" (127) into "cannot execute" (126). s.env may
  // still set another.
  setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
  for (const auto& e : s.env) putenv(const_cast<char*>(e.c_str()));
  if (s.listen_fds >= 0) {
    std::string names;
    for (int i = 0; i < s.listen_fds; ++i) names += (i ? ":s" : "s") + std::to_string(i);
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("LISTEN_FDS", std::to_string(s.listen_fds).c_str(), 1);
    setenv("LISTEN_FDNAMES", names.c_str(), 1);
  }
  std::vector<char*> argv;
  for (const auto& a : s.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  die("exec");
}

bool drain(int* fd, std::string* buf) {
  char tmp[65536];
  ssize_t n = read(*fd, tmp, sizeof tmp);
  if (n > 0) {
    buf->append(tmp, static_cast<size_t>(n));
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  close(*fd);
  *fd = -1;
  return false;
}

}  // namespace

int Result::code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
int Result::signal() const { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }

Proc::Proc(const Spawn& s) : timeout_ms_(s.timeout_ms) {
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC)) ADD_FAILURE() << "pipe";
  std::string slave;
  if (s.pty) {
    master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    grantpt(master_);
    unlockpt(master_);
    slave = ptsname(master_);
  }
  pid_ = fork();
  if (pid_ == 0) exec_child(s, o[1], e[1], slave);
  close(o[1]);
  close(e[1]);
  out_ = o[0];
  err_ = e[0];
}

Proc::~Proc() {
  if (!waited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) close(out_);
  if (err_ >= 0) close(err_);
  if (master_ >= 0) close(master_);
}

std::string Proc::read_line() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  while (out_buf_.find('\n') == std::string::npos && out_ >= 0) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) {
      ADD_FAILURE() << "timed out waiting for a line";
      break;
    }
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, left) > 0) drain(&out_, &out_buf_);
  }
  size_t nl = out_buf_.find('\n');
  std::string line = out_buf_.substr(0, nl == std::string::npos ? out_buf_.size() : nl + 1);
  out_buf_.erase(0, line.size());
  return line;
}

bool Proc::wait_stopped() {
  int status = 0;
  for (int i = 0; i < timeout_ms_ / 10; ++i) {
    pid_t r = waitpid(pid_, &status, WUNTRACED | WNOHANG);
    if (r == pid_) return WIFSTOPPED(status);
    usleep(10000);
  }
  return false;
}

Result Proc::wait() {
  Result r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  while (out_ >= 0 || err_ >= 0) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) {
      ADD_FAILURE() << "timed out; stdout so far: " << out_buf_ << " stderr: " << err_buf_;
      kill(pid_, SIGKILL);
      break;
    }
    pollfd p[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    if (poll(p, 2, left) <= 0) continue;
    if (p[0].revents) drain(&out_, &out_buf_);
    if (p[1].revents) drain(&err_, &err_buf_);
  }
  waitpid(pid_, &r.status, 0);
  waited_ = true;
  r.out = out_buf_;
  r.err = err_buf_;
  return r;
}

Result run(const Spawn& s) {
  Proc p(s);
  return p.wait();
}

Result boxjail(std::vector<std::string> args) {
  Spawn s;
  s.argv = {kBoxjail};
  s.argv.insert(s.argv.end(), args.begin(), args.end());
  return run(s);
}

nlohmann::json parse_probe(const std::string& out) {
  size_t nl = out.find('\n');
  try {
    return nlohmann::json::parse(out.substr(0, nl));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "probe output is not JSON: " << out;
    return nlohmann::json::object();
  }
}

std::string read_to_eof(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

Result run_with_pipe(Spawn s, int target, std::string* piped) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe";
  s.fds[target] = p[1];
  Proc proc(s);
  close(p[1]);
  *piped = read_to_eof(p[0]);
  close(p[0]);
  return proc.wait();
}

int attempt_errno(const nlohmann::json& probe, const std::string& op, const char* arg) {
  for (const auto& a : probe.value("access", nlohmann::json::array()))
    if (a["op"] == op && (!arg || a["arg"] == arg)) return a["errno"].get<int>();
  return -1;
}

std::vector<int> fd_numbers(const nlohmann::json& probe) {
  std::vector<int> v;
  for (const auto& f : probe.value("fds", nlohmann::json::array())) v.push_back(f["fd"].get<int>());
  return v;
}

nlohmann::json fd_entry(const nlohmann::json& probe, int fd) {
  for (const auto& f : probe.value("fds", nlohmann::json::array()))
    if (f["fd"].get<int>() == fd) return f;
  return nullptr;
}

std::string without_sanitizer_warnings(const std::string& err) {
#ifdef BOXJAIL_SANITIZED
  std::string out;
  size_t pos = 0;
  while (pos < err.size()) {
    size_t nl = err.find('\n', pos);
    std::string line = err.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1);
    pos = nl == std::string::npos ? err.size() : nl + 1;
    bool noise = (line.rfind("==", 0) == 0 && line.find("==WARNING: ") != std::string::npos) ||
                 line.rfind("False positive error reports may follow", 0) == 0 ||
                 line.rfind("For details see https://github.com/google/sanitizers/", 0) == 0;
    if (!noise) out += line;
  }
  return out;
#else
  return err;
#endif
}

std::string sysdeny_unavailable(const std::vector<std::string>& flags) {
  Spawn s{.argv = {kSysdeny}};
  s.argv.insert(s.argv.end(), flags.begin(), flags.end());
  s.argv.insert(s.argv.end(), {"--", "/bin/true"});
  Result r = run(s);
  if (r.code() == 0) return "";
  std::string why = r.err.empty() ? "sysdeny failed" : r.err;
  if (why.back() == '\n') why.pop_back();
  return why;
}

std::vector<std::string> root_opt_in() {
  if (geteuid() != 0) return {};
  // Lines of "INSIDE OUTSIDE COUNT": is inside uid 0 outside uid 0?
  const std::string text = slurp("/proc/self/uid_map");
  // Unreadable (no /proc): boxjail takes it as the initial namespace.
  if (text.empty()) return {"--user", "root"};
  std::istringstream map(text);
  for (unsigned long in, out, count; map >> in >> out >> count;)
    if (in == 0 && count > 0) return out == 0 ? std::vector<std::string>{"--user", "root"}
                                              : std::vector<std::string>{};
  return {};
}

std::string cgroup_mount(const std::string& controller) {
  std::istringstream in(slurp("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream pre(line.substr(0, dash)), post(line.substr(dash + 3));
    std::string f[5], type, src, opts;
    for (auto& x : f) pre >> x;
    post >> type >> src >> opts;
    if (controller.empty() && type == "cgroup2") return f[4];
    if (!controller.empty() && type == "cgroup" && ("," + opts + ",").find("," + controller + ",") != std::string::npos)
      return f[4];
  }
  return "";
}

ino_t inode_of(int fd) {
  struct stat st {};
  fstat(fd, &st);
  return st.st_ino;
}

// Asks the kernel, not the effective set: inside a user namespace the set
// shows CAP_SYS_RESOURCE, but a hard raise needs it in the initial one. A
// throwaway child tries to raise its hard RLIMIT_NOFILE by one.
bool have_cap_sys_resource() {
  static int known = -1;
  if (known < 0) {
    pid_t pid = fork();
    if (pid == 0) {
      rlimit r{};
      getrlimit(RLIMIT_NOFILE, &r);
      r.rlim_max += 1;
      _exit(setrlimit(RLIMIT_NOFILE, &r) == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    known = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return known == 1;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/boxjail-test-XXXXXX";
  if (!mkdtemp(tmpl)) ADD_FAILURE() << "mkdtemp";
  path = tmpl;
}
TempDir::~TempDir() { std::filesystem::remove_all(path); }

std::string slurp(const std::string& path) {
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return "";
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

bool alive(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  size_t p = stat.rfind(')');
  return p != std::string::npos && stat.compare(p, 4, ") Z ") != 0;
}

bool wait_gone(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    if (!alive(pid)) return true;
    usleep(10000);
  }
  return false;
}

std::string start_time_of(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t p = stat.rfind(')');
  if (p == std::string::npos) return "";
  std::string rest = stat.substr(p + 2);
  for (int field = 3; field < 22; ++field) rest = rest.substr(rest.find(' ') + 1);
  return rest.substr(0, rest.find(' '));
}

const std::vector<std::vector<std::string>>& all_modes() {
  static const std::vector<std::vector<std::string>> modes = {{}, {"--detach"}, {"--no-fork"}};
  return modes;
}

std::string mode_label(const std::vector<std::string>& mode) {
  return mode.empty() ? "default" : mode[0].substr(2);
}

}  // namespace harness

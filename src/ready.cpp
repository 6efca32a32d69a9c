#include "boxjail/ready.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "boxjail/cli.h"
#include "boxjail/numparse.h"
#include "boxjail/timeout.h"

namespace boxjail::ready {
namespace {

constexpr int64_t kMs = 1000000, kS = 1000 * kMs;
// How often PATH is tried: often enough that a launcher waits little more
// than PROGRAM takes, rarely enough to cost nothing.
constexpr int64_t kTickNs = 20 * kMs;
// unix:PATH: how long a connection must stay open, without a word from the
// server, to count as accepted (see Waiter::probe()).
constexpr int64_t kQuietNs = 1000 * kMs;

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kS + ts.tv_nsec;
}

bool arm(int fd, int64_t ns, int64_t interval_ns) {
  itimerspec t{};
  t.it_value.tv_sec = static_cast<time_t>(ns / kS);
  t.it_value.tv_nsec = static_cast<long>(ns % kS);
  t.it_interval.tv_sec = static_cast<time_t>(interval_ns / kS);
  t.it_interval.tv_nsec = static_cast<long>(interval_ns % kS);
  return timerfd_settime(fd, 0, &t, nullptr) == 0;
}

void json_str(std::string* out, std::string_view s) {
  *out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      *out += buf;
    } else {
      *out += static_cast<char>(c);
    }
  }
  *out += '"';
}

std::string cwd_or_empty() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? std::string(buf) : std::string();
}

long pidfd_open(pid_t pid) { return syscall(SYS_pidfd_open, pid, 0); }

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, nullptr);
}

}  // namespace

bool parse_spec(std::string_view spec, const std::string& cwd, ReadyPlan* plan,
                std::string* err) {
  const std::string flag = "--ready " + std::string(spec);
  const size_t colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view value = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  if (colon == std::string_view::npos || (kind != "unix" && kind != "file" && kind != "fd"))
    return *err = flag + ": expected unix:PATH, file:PATH or fd:N", false;
  plan->spec = std::string(spec);
  if (kind == "fd") {
    plan->kind = Kind::kFd;
    if (parse_fd_number(value, &plan->fd) != NumError::kOk)
      return *err = flag + ": '" + std::string(value) + "' is not a descriptor number", false;
    if (plan->fd <= 2)
      return *err = flag + ": descriptors 0, 1 and 2 are PROGRAM's; use one from 3 up", false;
    return true;
  }
  plan->kind = kind == "unix" ? Kind::kUnix : Kind::kFile;
  if (value.empty()) return *err = flag + ": empty path", false;
  if (value.find('\0') != std::string_view::npos) return *err = flag + ": bad path", false;
  if (value[0] == '/') {
    plan->path = std::string(value);
  } else {
    if (cwd.empty())
      return *err = flag + ": cannot resolve the relative path against the working directory",
             false;
    plan->path = cwd + (cwd == "/" ? "" : "/") + std::string(value);
  }
  if (plan->kind == Kind::kUnix && plan->path.size() >= sizeof(sockaddr_un{}.sun_path))
    return *err = flag + ": the path " + plan->path + " is longer than a unix socket address (" +
                  std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)",
           false;
  return true;
}

bool check(const Options& o, ReadyPlan* plan, std::string* err) {
  if (!o.has_ready) {
    if (o.has_ready_timeout)
      return *err = "--ready-timeout needs --ready (what to wait for)", false;
    return true;
  }
  if (o.no_fork)
    return *err = "--ready cannot be combined with --no-fork (boxjail becomes PROGRAM: no one "
                  "stays to wait for it)",
           false;
  if (!o.detach && !o.has_status_fd)
    return *err = "--ready needs --detach, or --status-fd in the default mode (where the ready "
                  "event goes)",
           false;
  if (!parse_spec(o.ready, cwd_or_empty(), plan, err)) return false;
  if (o.has_ready_timeout) {
    if (!timeout::parse_duration(o.ready_timeout, &plan->timeout_ns))
      return *err = "--ready-timeout " + o.ready_timeout +
                    ": not a duration (seconds, more than 0, up to three decimals, or with a "
                    "unit: 30, 1.5, 500ms, 2m)",
             false;
    plan->timeout_spec = o.ready_timeout;
  }
  plan->active = true;
  return true;
}

bool check_fd(const ReadyPlan& plan, const std::vector<std::pair<int, std::string>>& taken,
              uint64_t soft_nofile, std::string* err) {
  if (!plan.active || plan.kind != Kind::kFd) return true;
  for (const auto& [n, by] : taken)
    if (n == plan.fd)
      return *err = "--ready " + plan.spec + " cannot be combined with " + by +
                    ": both give PROGRAM descriptor " + std::to_string(n),
             false;
  if (static_cast<uint64_t>(plan.fd) >= soft_nofile)
    return *err = "--ready " + plan.spec + ": descriptor " + std::to_string(plan.fd) +
                  " is at or above PROGRAM's soft RLIMIT_NOFILE " + std::to_string(soft_nofile),
           false;
  return true;
}

std::string to_json(const ReadyPlan& plan) {
  std::string j = "{\"kind\":";
  j += plan.kind == Kind::kUnix ? "\"unix\"" : plan.kind == Kind::kFile ? "\"file\"" : "\"fd\"";
  if (plan.kind == Kind::kFd) {
    j += ",\"fd\":" + std::to_string(plan.fd);
  } else {
    j += ",\"path\":";
    json_str(&j, plan.path);
  }
  return j + ",\"timeout_ms\":" + std::to_string(plan.timeout_ns / kMs) + "}";
}

std::string ready_line(int64_t ms) {
  return "{\"event\":\"ready\",\"ms\":" + std::to_string(ms) + "}\n";
}

bool Waiter::prepare(std::string* err) {
  if (plan_.kind == Kind::kFd) {
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
      *err = flag() + ": pipe: " + std::strerror(errno);
      return false;
    }
    rd_.reset(p[0]);
    wr_.reset(p[1]);
    // PROGRAM's end blocks, as a descriptor it is given normally does.
    fcntl(wr_.get(), F_SETFL, fcntl(wr_.get(), F_GETFL) & ~O_NONBLOCK);
  } else {
    tick_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!tick_.valid()) {
      *err = flag() + ": timerfd: " + std::strerror(errno);
      return false;
    }
  }
  deadline_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!deadline_.valid()) {
    *err = timeout_flag() + ": timerfd: " + std::strerror(errno);
    return false;
  }
  return true;
}

bool Waiter::start(std::string* err) {
  started_ns_ = now_ns();
  if (!arm(deadline_.get(), plan_.timeout_ns, 0) ||
      (tick_.valid() && !arm(tick_.get(), 1, kTickNs))) {
    *err = timeout_flag() + ": timerfd_settime: " + std::strerror(errno);
    return false;
  }
  return true;
}

void Waiter::forked() { wr_.reset(); }

// unix:PATH: connect() succeeds as soon as the socket listens, while the
// connection waits in its backlog, and qemu listens on its -qmp socket
// before it has loaded the kernel (and may still fail to); its monitor
// thread even greets a client then. So the connection is held:
//   - a QMP greeting ({"QMP": ...): boxjail sends qmp_capabilities, which
//     qemu runs in its main loop, entered once the machine is built and
//     the kernel loaded; ready on the answer;
//   - any other first word from the server: ready;
//   - nothing, with the connection open for kQuietNs: ready (a server that
//     waits for its client to speak);
//   - the server closes it unanswered: not ready (PROGRAM is ending), and
//     PATH is tried again.
bool Waiter::probe() {
  if (plan_.kind == Kind::kFile) {
    struct stat st {};
    return lstat(plan_.path.c_str(), &st) == 0;
  }
  if (!conn_.valid()) {
    UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.valid()) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, plan_.path.data(), plan_.path.size());
    // EAGAIN: a backlog full of connections nobody accepts: not ready.
    if (connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return false;
    conn_ = std::move(s);
    connected_ns_ = now_ns();
    heard_.clear();
    qmp_ = false;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(conn_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      conn_.reset();  // closed unanswered: not ready (yet)
      return false;
    }
    if (heard_.size() < 65536) heard_.append(buf, static_cast<size_t>(n));
  }
  if (!qmp_) {
    if (heard_.empty()) return now_ns() - connected_ns_ >= kQuietNs;
    const size_t first = heard_.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return false;
    if (heard_.compare(first, 7, "{\"QMP\":") != 0 &&
        heard_.compare(first, 8, "{\"QMP\" :") != 0)
      return true;  // a server that speaks first
    const size_t nl = heard_.find('\n');
    if (nl == std::string::npos) return false;  // the rest of the greeting
    static const char kCaps[] = "{\"execute\":\"qmp_capabilities\"}\n";
    if (send(conn_.get(), kCaps, sizeof kCaps - 1, MSG_NOSIGNAL | MSG_DONTWAIT) !=
        static_cast<ssize_t>(sizeof kCaps - 1)) {
      conn_.reset();
      return false;
    }
    qmp_ = true;
    heard_.erase(0, nl + 1);
  }
  // The answer (or an error, also from the main loop), not an event.
  return heard_.find("\"return\"") != std::string::npos ||
         heard_.find("\"error\"") != std::string::npos;
}

Waiter::State Waiter::on_readable() {
  if (state_ != State::kWaiting) return state_;
  if (plan_.kind != Kind::kFd) {
    uint64_t ticks = 0;
    if (read(tick_.get(), &ticks, sizeof ticks) < 0 && errno != EAGAIN) {
    }
    if (probe()) {
      state_ = State::kReady;
      tick_.reset();
      conn_.reset();
    }
    return state_;
  }
  char buf[512];
  for (;;) {
    const ssize_t n = read(rd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return state_;  // EAGAIN: nothing yet
    if (n == 0) {
      state_ = State::kClosed;
      rd_.reset();
      return state_;
    }
    if (std::memchr(buf, '\n', static_cast<size_t>(n))) {
      state_ = State::kReady;
      rd_.reset();  // as s6-supervise does: the notification is one line
      return state_;
    }
  }
}

bool Waiter::deadline_passed() {
  uint64_t expired = 0;
  return deadline_.valid() && read(deadline_.get(), &expired, sizeof expired) == sizeof expired &&
         expired > 0;
}

bool Waiter::rearm(int64_t ns) { return arm(deadline_.get(), ns > 0 ? ns : 1, 0); }

int64_t Waiter::elapsed_ms() const { return (now_ns() - started_ns_) / kMs; }

std::string Waiter::limit_text() const {
  if (plan_.timeout_ns % kS == 0) return std::to_string(plan_.timeout_ns / kS) + " s";
  return std::to_string(plan_.timeout_ns / kMs) + " ms";
}

std::string Waiter::closed_reason() const {
  return "PROGRAM closed descriptor " + std::to_string(plan_.fd) + " before writing a line";
}

Outcome wait_detached(Waiter* w, pid_t child, int* status) {
  UniqueFd pidfd(static_cast<int>(pidfd_open(child)));
  for (;;) {
    pollfd p[3] = {{w->fd(), POLLIN, 0}, {w->deadline_fd(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    // Without pidfd_open (Linux < 5.3), PROGRAM's end is polled for.
    const int r = poll(p, 3, pidfd.valid() ? -1 : 20);
    if (r < 0 && errno != EINTR) sleep_ms(20);
    if (p[0].revents && w->on_readable() != Waiter::State::kWaiting)
      return w->state() == Waiter::State::kReady ? Outcome::kReady : Outcome::kClosed;
    siginfo_t si{};
    if (waitid(P_PID, static_cast<id_t>(child), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        si.si_pid == child) {
      // One more look: a PROGRAM that made its socket and then ended (a
      // qemu -daemonize parent) was ready.
      const bool ready = w->on_readable() == Waiter::State::kReady;
      while (waitpid(child, status, 0) < 0 && errno == EINTR) {
      }
      return ready ? Outcome::kReady : Outcome::kDied;
    }
    if (p[1].revents && w->deadline_passed()) {
      if (w->on_readable() == Waiter::State::kReady) return Outcome::kReady;
      return Outcome::kTimedOut;
    }
  }
}

int end_box(pid_t child, int grace_ms) {
  // PROGRAM leads its own session (--detach), so its group is its own.
  kill(-child, SIGTERM);
  kill(-child, SIGCONT);
  int status = 0;
  UniqueFd pidfd(static_cast<int>(pidfd_open(child)));
  if (pidfd.valid()) {
    pollfd p{pidfd.get(), POLLIN, 0};
    while (poll(&p, 1, grace_ms) < 0 && errno == EINTR) {
    }
  } else {
    for (int waited = 0; waited < grace_ms; waited += 20) {
      siginfo_t si{};
      if (waitid(P_PID, static_cast<id_t>(child), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          si.si_pid == child)
        break;
      sleep_ms(20);
    }
  }
  if (waitpid(child, &status, WNOHANG) == child) {
    kill(-child, SIGKILL);  // what is left of its group
    return status;
  }
  kill(-child, SIGKILL);
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "ended (wait status " + std::to_string(status) + ")";
}

}  // namespace boxjail::ready

#include "boxjail/notify.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <algorithm>

#include "boxjail/log.h"
#include "boxjail/plan.h"

namespace boxjail::notify {
namespace {

void sizes(size_t* req, size_t* resp) {
  seccomp_notif_sizes s{};
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s) == 0) {
    *req = std::max<size_t>(s.seccomp_notif, sizeof(seccomp_notif));
    *resp = std::max<size_t>(s.seccomp_notif_resp, sizeof(seccomp_notif_resp));
  } else {
    *req = sizeof(seccomp_notif);
    *resp = sizeof(seccomp_notif_resp);
  }
}

void sleep_us(long us) {
  timespec ts{0, us * 1000};
  nanosleep(&ts, nullptr);
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

// Kills the process `tid` belongs to, making sure the number still names
// the thread that is waiting in call `id`: the thread cannot end while its
// call waits, so a process found between two checks that the call still
// waits is the right one.
void kill_caller(const Listener& l, pid_t tid, uint64_t id) {
  pid_t tgid = thread_group_of(tid);
  if (tgid <= 0 || !l.still_waiting(id)) return;
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, tgid, 0)));
  if (!pidfd.valid() || !l.still_waiting(id)) return;
  syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
}

}  // namespace

bool Listener::take(pid_t child, int number, int status_rd, std::string* err) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, child, 0)));
  if (!pidfd.valid()) return *err = std::string("pidfd_open: ") + std::strerror(errno), false;
  // The child announces the number before seccomp() makes it: a few
  // microseconds, unless the machine is busy.
  for (long waited_us = 0; waited_us < 10 * 1000 * 1000;) {
    int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), number, 0));
    if (fd >= 0) {
      fcntl(fd, F_SETFD, FD_CLOEXEC);
      adopt(fd);
      return true;
    }
    if (errno != EBADF)
      return *err = std::string("pidfd_getfd: ") + std::strerror(errno) +
                    (errno == EPERM ? " (the supervisor may not ptrace the child here: see "
                                      "/proc/sys/kernel/yama/ptrace_scope)"
                                    : ""),
             false;
    if (readable(status_rd)) return *err = "the child failed while loading its filter", false;
    const long step = waited_us < 1000 ? 20 : 1000;
    sleep_us(step);
    waited_us += step;
  }
  return *err = "the child made no seccomp listener within 10 s", false;
}

void Listener::adopt(int fd) {
  fd_.reset(fd);
  size_t rq = 0, rs = 0;
  sizes(&rq, &rs);
  req_.assign(rq, 0);
  resp_.assign(rs, 0);
}

bool Listener::still_waiting(uint64_t id) const {
  return ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

bool Listener::serve_one(Handler& h, bool pre_exec) {
  auto* req = reinterpret_cast<seccomp_notif*>(req_.data());
  std::memset(req_.data(), 0, req_.size());
  if (ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_RECV, req) != 0) return false;
  Call c;
  c.id = req->id;
  c.tid = static_cast<pid_t>(req->pid);
  c.nr = req->data.nr;
  c.arch = req->data.arch;
  for (int i = 0; i < 6; ++i) c.args[i] = req->data.args[i];
  Answer a = h.on_call(c, pre_exec);
  auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_.data());
  std::memset(resp_.data(), 0, resp_.size());
  resp->id = c.id;
  switch (a.kind) {
    case Answer::Kind::kContinue:
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      break;
    case Answer::Kind::kKill:
      kill_caller(*this, c.tid, c.id);
      resp->error = -EPERM;  // if it is still there, the call fails
      break;
    case Answer::Kind::kError:
      resp->error = -a.err;
      break;
  }
  // ENOENT: the thread is gone (killed, or its process ended) meanwhile.
  ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_SEND, resp);
  return true;
}

ssize_t await_exec(int rd, pid_t child, Listener* l, Handler& h, StepFailure* f,
                   std::string* err) {
  bool failed = false;
  for (;;) {
    pollfd p[2] = {{rd, POLLIN, 0}, {l->valid() ? l->fd() : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return *err = std::string("poll: ") + std::strerror(errno), -1;
    }
    if (p[0].revents) {
      StepFailure m{};
      ssize_t got = read(rd, &m, sizeof m);
      if (got < 0 && errno == EINTR) continue;
      if (got == 0) return failed ? static_cast<ssize_t>(sizeof *f) : 0;
      if (got != static_cast<ssize_t>(sizeof m)) return got;
      if (m.step == kHandover && !l->valid()) {
        if (!l->take(child, m.detail, rd, err)) {
          if (readable(rd)) continue;  // the child's own report follows
          kill(child, SIGKILL);
          return -1;
        }
        continue;
      }
      *f = m;
      failed = true;
      if (!l->valid()) {
        // Nothing of the child waits for us: wait for it to go.
        while (read(rd, &m, sizeof m) > 0) {
        }
        return sizeof *f;
      }
      continue;
    }
    if (p[1].revents & POLLIN) {
      // The status pipe is read first: a call that comes after exec finds
      // the pipe at its end, since exec closed it before PROGRAM ran.
      if (readable(rd)) continue;
      l->serve_one(h, true);
    } else if (p[1].revents) {
      l->reset();  // nobody is left under the filter
    }
  }
}

bool read_memory(pid_t tid, uint64_t addr, void* buf, size_t len) {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  return process_vm_readv(tid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

bool read_string(pid_t tid, uint64_t addr, size_t max, std::string* out) {
  out->clear();
  if (addr == 0) return false;
  // Page by page: the string may end just before an unmapped page.
  char buf[4096];
  while (out->size() < max) {
    size_t room = 4096 - (addr % 4096);
    room = std::min(room, max - out->size());
    iovec local{buf, room};
    iovec remote{reinterpret_cast<void*>(addr), room};
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n <= 0) return !out->empty();
    const void* nul = std::memchr(buf, '\0', static_cast<size_t>(n));
    if (nul) {
      out->append(buf, static_cast<size_t>(static_cast<const char*>(nul) - buf));
      return true;
    }
    out->append(buf, static_cast<size_t>(n));
    addr += static_cast<uint64_t>(n);
  }
  return true;
}

pid_t thread_group_of(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(tid));
  FILE* f = fopen(path, "re");
  if (!f) return -1;
  char line[256];
  pid_t tgid = -1;
  while (fgets(line, sizeof line, f))
    if (std::strncmp(line, "Tgid:", 5) == 0) {
      tgid = static_cast<pid_t>(std::atoi(line + 5));
      break;
    }
  fclose(f);
  return tgid;
}

std::string comm_of(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", static_cast<int>(tid));
  FILE* f = fopen(path, "re");
  if (!f) return "?";
  char buf[64] = {};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  std::string s(buf, n);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  // PROGRAM names itself: nothing but printable ASCII goes to a terminal
  // or into JSON.
  for (char& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
  return s;
}

std::string syscall_name(int nr) {
  if (nr == kHandoverSyscall) return "(boxjail's hand-over)";
  char* n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  if (!n) return "#" + std::to_string(nr);
  std::string s = n;
  free(n);
  return s;
}

Answer Denials::on_call(const Call& c, bool pre_exec) {
  // Before exec the child makes only its own calls: let them be, but
  // the execve of PROGRAM is judged like any other.
  static const int execve_nr = SCMP_SYS(execve), execveat_nr = SCMP_SYS(execveat);
  if (pre_exec && c.nr != execve_nr && c.nr != execveat_nr && c.nr != kHandoverSyscall)
    return {Answer::Kind::kContinue, 0};
  // --exec-once sends execs here only so that this one can be let through.
  if (pre_exec && plan_.exec_once && c.nr != kHandoverSyscall) return {Answer::Kind::kContinue, 0};
  const seccomp::Verdict v = seccomp::decide(plan_, c.nr, c.args);
  if (c.nr == kHandoverSyscall) return {Answer::Kind::kError, v.err};
  ++total_;
  // Numbers no rule names and libseccomp does not know share one entry, so
  // that PROGRAM cannot make a line (or an entry) per number.
  const std::string name = syscall_name(c.nr);
  const int key = !v.rule && name[0] == '#' ? -1 : c.nr;
  long& count = seen_[key];
  ++count;
  const pid_t tgid = thread_group_of(c.tid);
  const std::string comm = comm_of(c.tid);
  const std::string action = v.kill ? "kill-process" : "errno:" + seccomp::errno_name(v.err);
  if (count <= kPerCall && lines_ < kMaxLines) {
    ++lines_;
    char args[160];
    snprintf(args, sizeof args, "0x%llx, 0x%llx, 0x%llx, 0x%llx",
             static_cast<unsigned long long>(c.args[0]), static_cast<unsigned long long>(c.args[1]),
             static_cast<unsigned long long>(c.args[2]), static_cast<unsigned long long>(c.args[3]));
    std::string who = (tgid == program_ ? "PROGRAM" : "a descendant") + std::string(" (pid ") +
                      std::to_string(tgid) + (tgid != c.tid ? ", thread " + std::to_string(c.tid) : "") +
                      ", " + comm + ")";
    std::string why = v.rule ? "denied by " + v.rule->from
                      : v.why ? std::string("denied by ") + v.why
                      : plan_.allowlist ? "not in the allowlist" : "denied";
    std::string more;
    if (count == kPerCall) more = "; further " + name + " denials are counted";
    if (lines_ == kMaxLines) more = "; further denials are counted";
    log::warn("seccomp: " + who + " called " + name + " (" + std::to_string(c.nr) + ") with " +
              args + ": " + why + (v.kill ? "; killed it (kill-process)" : "; failed it with " +
                                                                          seccomp::errno_name(v.err)) +
              more);
  }
  if (first_json_.empty() || (v.kill && !first_is_kill_)) {
    first_json_ = "{\"syscall\": ";
    json_escape(&first_json_, name);
    first_json_ += ", \"nr\": " + std::to_string(c.nr) + ", \"pid\": " + std::to_string(tgid) +
                   ", \"comm\": ";
    json_escape(&first_json_, comm);
    first_json_ += ", \"action\": ";
    json_escape(&first_json_, action);
    first_is_kill_ = v.kill;
  }
  if (v.kill && tgid == program_) killed_program_ = true;
  if (v.kill) return {Answer::Kind::kKill, 0};
  return {Answer::Kind::kError, v.err};
}

std::string Denials::json() const {
  if (first_json_.empty()) return "";
  return first_json_ + ", \"denials\": " + std::to_string(total_) + "}";
}

std::string Denials::summary() const {
  if (total_ <= lines_) return "";
  std::vector<std::pair<long, int>> by_count;
  for (const auto& [nr, n] : seen_) by_count.push_back({n, nr});
  std::sort(by_count.rbegin(), by_count.rend());
  std::string s;
  for (size_t i = 0; i < by_count.size() && i < 10; ++i)
    s += (i ? ", " : "") +
         (by_count[i].second < 0 ? std::string("unknown numbers") : syscall_name(by_count[i].second)) +
         " " + std::to_string(by_count[i].first);
  if (by_count.size() > 10) s += ", and " + std::to_string(by_count.size() - 10) + " more calls";
  return "seccomp: " + std::to_string(total_) + " calls denied in all (" + s + ")";
}

}  // namespace boxjail::notify

#include "boxjail/death.h"

#include <signal.h>
#include <sys/wait.h>

#include "boxjail/signames.h"

namespace boxjail::death {
namespace {

std::string how(int status) {
  return WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                           : "was killed by " + signal_name(WTERMSIG(status));
}

bool killed_by(int status, int sig) { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }

std::string plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

void quote(std::string* out, const std::string& s) {
  *out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += static_cast<char>(c);
    } else if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 15];
    } else {
      *out += static_cast<char>(c);
    }
  }
  *out += '"';
}

Reason reason(const std::string& cause, const std::string& limit, const std::string& line) {
  return {cause, limit, line, false};
}

}  // namespace

std::string who(const std::string& program, pid_t pid) {
  return "'" + program + "' (pid " + std::to_string(pid) + ")";
}

Limit limit_of(const std::vector<RlimitSetting>& rlimits, int resource) {
  Limit l;
  for (const auto& r : rlimits)
    if (r.resource == resource) {
      l = {true, r.value.rlim_cur, r.value.rlim_max, "--rlimit " + r.spec};
    }
  return l;
}

Reason explain(const Facts& f) {
  const std::string ended = who(f.program, f.pid) + " " + how(f.status);
  if (f.timed_out) {
    Reason r = reason("timeout", f.timeout_flag, ended + ": it reached its time limit (" +
                                                     f.timeout_flag + ")");
    r.logged = true;  // the supervisor said so when it sent the signal
    return r;
  }
  if (f.seccomp && killed_by(f.status, SIGSYS)) {
    Reason r = reason("seccomp", "",
                      ended + ": its seccomp filter denied a system call (named only in the "
                              "kernel's audit log)");
    r.logged = f.seccomp_logged;
    return r;
  }
  const cgroup::Usage& cg = f.cgroup;
  if (killed_by(f.status, SIGKILL) && cg.oom_kills > 0 && cg.memory_limit_hits != 0) {
    const std::string limit = !f.memory_flags.empty()
                                  ? f.memory_flags
                                  : "its memory limit, " + cg.memory_limit + " bytes";
    return reason("memory", limit,
                  ended + ": out of memory at the cgroup's limit (" + limit + "); the OOM "
                      "killer ended " + plural(cg.oom_kills, "process", "processes") + " in " +
                      cg.memory_dir);
  }
  if (f.cpu.set) {
    const bool soft = killed_by(f.status, SIGXCPU) && f.cpu.soft != RLIM_INFINITY;
    // The kernel's SIGKILL at the hard limit comes once the CPU time
    // reaches it; wait4's user and system times are sampled at ticks and
    // can fall a few short of it (0.984 s for 1 s here): 0.1 s and 2% of
    // slack.
    const double hard_s = static_cast<double>(f.cpu.hard);
    const bool hard = killed_by(f.status, SIGKILL) && f.cpu.hard != RLIM_INFINITY &&
                      f.cpu_seconds + 0.1 + hard_s * 0.02 >= hard_s;
    if (soft || hard)
      return reason("cpu", f.cpu.flag,
                    ended + ": it used up its CPU time (" + f.cpu.flag + ": " +
                        (soft ? "soft limit " + std::to_string(f.cpu.soft)
                              : "hard limit " + std::to_string(f.cpu.hard)) +
                        " s)");
  }
  if (f.fsize.set && f.fsize.soft != RLIM_INFINITY && killed_by(f.status, SIGXFSZ))
    return reason("fsize", f.fsize.flag,
                  ended + ": it wrote past its file size limit (" + f.fsize.flag + ": " +
                      std::to_string(f.fsize.soft) + " bytes)");
  if (cg.pids_refused > 0 && !(WIFEXITED(f.status) && WEXITSTATUS(f.status) == 0)) {
    const std::string limit =
        !f.pids_flags.empty() ? f.pids_flags : "its pids.max, " + cg.pids_limit;
    return reason("pids", limit,
                  ended + " after the cgroup's process limit (" + limit + ") refused " +
                      plural(cg.pids_refused, "fork", "forks") + " in " + cg.pids_dir);
  }
  return {};
}

std::string json_fields(const Reason& r) {
  if (r.cause.empty()) return "";
  std::string j = ", \"reason\": ";
  quote(&j, r.cause);
  if (!r.limit.empty()) {
    j += ", \"reason-limit\": ";
    quote(&j, r.limit);
  }
  return j;
}

}  // namespace boxjail::death

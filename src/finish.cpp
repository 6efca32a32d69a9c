#include "boxjail/finish.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "boxjail/cgroup.h"
#include "boxjail/io.h"
#include "boxjail/log.h"
#include "boxjail/notify.h"
#include "boxjail/pidfile.h"
#include "boxjail/plan.h"
#include "boxjail/supervise.h"

namespace boxjail {
namespace {

double seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// The resource report at the end: wait4()'s rusage, and the cgroup's
// peaks where --cgroup gave one. As JSON fields for --status-fd...
std::string end_line(int status, double elapsed, const rusage& ru, const cgroup::Usage& cg) {
  std::string j = WIFEXITED(status)
                      ? "{\"exit-code\": " + std::to_string(WEXITSTATUS(status))
                      : "{\"signal\": " + std::to_string(WTERMSIG(status)) +
                            ", \"core-dumped\": " + (WCOREDUMP(status) ? "true" : "false");
  j += ", \"elapsed-s\": " + fixed(elapsed, 3) + ", \"user-cpu-s\": " +
       fixed(seconds(ru.ru_utime), 3) + ", \"sys-cpu-s\": " + fixed(seconds(ru.ru_stime), 3) +
       ", \"max-rss-kib\": " + std::to_string(ru.ru_maxrss);
  if (cg.peak_memory >= 0) j += ", \"cgroup-peak-memory-bytes\": " + std::to_string(cg.peak_memory);
  if (cg.peak_pids >= 0) j += ", \"cgroup-peak-pids\": " + std::to_string(cg.peak_pids);
  if (cg.cpu_usec >= 0) j += ", \"cgroup-cpu-usec\": " + std::to_string(cg.cpu_usec);
  return j + "}\n";
}

// ... and as one line at info level.
std::string report_line(const std::string& program, pid_t pid, int status, double elapsed,
                        const rusage& ru, const cgroup::Usage& cg) {
  std::string l = death::who(program, pid) + " ";
  l += WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                         : "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                               strsignal(WTERMSIG(status)) + ")";
  l += " after " + fixed(elapsed, 1) + "s; cpu " + fixed(seconds(ru.ru_utime), 1) + "s user " +
       fixed(seconds(ru.ru_stime), 1) + "s sys; max RSS " +
       std::to_string(ru.ru_maxrss / 1024) + " MiB";
  if (cg.peak_memory >= 0)
    l += "; peak memory " + std::to_string(cg.peak_memory / (1024 * 1024)) + " MiB";
  if (cg.peak_pids >= 0) l += "; peak pids " + std::to_string(cg.peak_pids);
  return l;
}

// Why PROGRAM ended, when a limit of the jail's ended it (death.h).
death::Reason explain_end(const EndFacts& e, int status, const rusage& ru,
                          const cgroup::Usage& cg, bool timed_out, bool seccomp_logged) {
  death::Facts f;
  f.program = e.program;
  f.pid = e.pid;
  f.status = status;
  f.cpu_seconds = seconds(ru.ru_utime) + seconds(ru.ru_stime);
  f.timed_out = timed_out;
  f.timeout_flag = "--timeout " + e.timeout_spec;
  f.seccomp = e.seccomp_active;
  f.seccomp_logged = seccomp_logged;
  f.cpu = e.cpu;
  f.fsize = e.fsize;
  f.cgroup = cg;
  f.memory_flags = e.memory_flags;
  f.pids_flags = e.pids_flags;
  return death::explain(f);
}

}  // namespace

EndFacts end_facts(const LaunchPlan& plan, pid_t pid, const timespec& started) {
  EndFacts e;
  e.program = plan.program;
  e.pid = pid;
  e.started = started;
  e.status_fd = plan.status_fd;
  e.timeout_active = plan.timeout.active;
  e.timeout_spec = plan.timeout.spec;
  e.seccomp_active = plan.seccomp.active;
  e.cpu = death::limit_of(plan.rlimits, RLIMIT_CPU);
  e.fsize = death::limit_of(plan.rlimits, RLIMIT_FSIZE);
  e.memory_flags = cgroup::setting_flags(plan.cgroup, "memory");
  e.pids_flags = cgroup::setting_flags(plan.cgroup, "pids");
  e.pidfile = !plan.pidfile.empty();
  return e;
}

void add_denials(const notify::Denials& d, int* status, EndEvents* ev) {
  if (std::string s = d.summary(); !s.empty()) log::warn(s);
  ev->seccomp_json = d.json();
  ev->seccomp_killed = d.killed_program();
  // boxjail ended PROGRAM for the filter: its status is the one the
  // kernel's kill-process would have given.
  if (d.killed_program() && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) *status = SIGSYS;
}

void finish_box(const EndFacts& e, int status, const rusage& usage, const EndEvents& ev,
                cgroup::CgroupRuntime* cgr, PidFile* pf, const PidRecord& rec) {
  timespec ended{};
  clock_gettime(CLOCK_MONOTONIC, &ended);
  const double elapsed = static_cast<double>(ended.tv_sec - e.started.tv_sec) +
                         static_cast<double>(ended.tv_nsec - e.started.tv_nsec) / 1e9;
  const cgroup::Usage cg = cgr->finish(e.status_fd >= 0 || log::enabled(log::Level::kInfo));
  const death::Reason why = explain_end(e, status, usage, cg, ev.timed_out, ev.seccomp_killed);
  if (!why.line.empty() && !why.logged) log::warn(why.line);
  if (log::enabled(log::Level::kInfo))
    log::info(report_line(e.program, e.pid, status, elapsed, usage, cg) +
              (ev.timed_out ? "; the time limit (--timeout) ended it: exit status 124" : ""));
  if (e.status_fd >= 0) {
    std::string end = end_line(status, elapsed, usage, cg);
    end.insert(end.size() - 2, death::json_fields(why));
    if (!ev.seccomp_json.empty()) end.insert(end.size() - 2, ", \"seccomp\": " + ev.seccomp_json);
    if (!ev.landlock_json.empty())
      end.insert(end.size() - 2, ", \"landlock\": " + ev.landlock_json);
    if (e.timeout_active)
      end.insert(end.size() - 2,
                 std::string(", \"timeout\": ") + (ev.timed_out ? "true" : "false"));
    if (e.ready >= 0)
      end.insert(end.size() - 2, std::string(", \"ready\": ") + (e.ready ? "true" : "false"));
    write_all_quietly(e.status_fd, end);
    close(e.status_fd);
  }
  if (e.pidfile) {
    std::string msg;
    if (!pf->remove_if_holds(rec, &msg)) log::warn(msg);
  }
  // As timeout(1): 124 once the limit was reached, whatever PROGRAM's own
  // status (the end line and the report above carry that).
  // --ready-timeout's end is 124 too; a PROGRAM that closed fd:N unready, 125.
  exit_like(ev.timed_out ? 124 << 8 : ev.ready_failed ? ev.ready_failed << 8 : status);
}

}  // namespace boxjail

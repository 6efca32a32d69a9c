// The end of a supervised box, once PROGRAM has ended: why it ended (a
// limit of the jail's), the report line and --status-fd's end event, the
// cgroups' usage and removal, the PID file. Run by the supervisor in place
// or, after boxjail-wait, by the resumed boxjail (handover.h), from the same
// facts.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <ctime>
#include <string>

#include "boxjail/death.h"

namespace boxjail {

struct LaunchPlan;
class PidFile;
struct PidRecord;
namespace cgroup {
class CgroupRuntime;
}
namespace notify {
class Denials;
}

/// What the end needs of the plan: all of it survives the hand-over.
struct EndFacts {
  std::string program;
  pid_t pid = 0;
  timespec started{};      // CLOCK_MONOTONIC, just before the fork
  int status_fd = -1;
  bool timeout_active = false;
  std::string timeout_spec;
  bool seccomp_active = false;
  death::Limit cpu, fsize;
  std::string memory_flags, pids_flags;  // cgroup::setting_flags()
  bool pidfile = false;
  int ready = -1;  // --ready: 1 ready, 0 not; -1 without it
};

EndFacts end_facts(const LaunchPlan& plan, pid_t pid, const timespec& started);

/// What came of the run beside the wait status.
struct EndEvents {
  bool timed_out = false;
  int ready_failed = 0;      // 124 or 125 (supervise.h)
  bool seccomp_killed = false;  // a named denial's kill-process ended PROGRAM
  std::string seccomp_json, landlock_json;  // for the end event, or ""
};

/// Named denials at the end: the summary line, and the end event's
/// "seccomp" object; a kill-process that ended PROGRAM makes its status
/// SIGSYS, the one the kernel's own action gives.
void add_denials(const notify::Denials& d, int* status, EndEvents* ev);

/// Reports and cleans up, then exits as PROGRAM did (exit_like()), or with
/// 124 after --timeout or --ready-timeout.
[[noreturn]] void finish_box(const EndFacts& f, int status, const rusage& usage,
                             const EndEvents& ev, cgroup::CgroupRuntime* cg, PidFile* pf,
                             const PidRecord& rec);

}  // namespace boxjail

// Deaths explained: when PROGRAM ends for a reason the jail caused, which
// limit it hit and what that limit was.
//
//   - explain(): pure. From PROGRAM's wait status and what the supervisor
//     saw (the limits PROGRAM was given, its CPU time, the cgroup's
//     events, the timeout, the seccomp listener), the reason, or none.
//     In this order:
//       timeout   the supervisor's --timeout ended it (it logged that);
//       seccomp   SIGSYS under a filter (a named denial logged it);
//       memory    SIGKILL while the cgroup's OOM killer count rose and
//                 the cgroup reached its own memory limit;
//       cpu       SIGXCPU at the soft RLIMIT_CPU, or SIGKILL with the CPU
//                 time at the hard one;
//       fsize     SIGXFSZ under a finite RLIMIT_FSIZE;
//       pids      any end but exit 0 after pids.max refused a fork.
//     Plain exits and the signals PROGRAM chose are no reason.
//   - the caller (launch.cpp) prints Reason::line at the default log
//     level unless it was logged already, and puts json_fields() on the
//     --status-fd end event.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "boxjail/cgroup.h"
#include "boxjail/rlimit.h"

namespace boxjail::death {

/// A resource limit PROGRAM was given with --rlimit.
struct Limit {
  bool set = false;
  rlim_t soft = RLIM_INFINITY;
  rlim_t hard = RLIM_INFINITY;
  std::string flag;  // "--rlimit cpu=1:2"
};

/// The --rlimit setting for `resource` among `rlimits`; unset if none.
Limit limit_of(const std::vector<RlimitSetting>& rlimits, int resource);

struct Facts {
  std::string program;  // as the user wrote it
  pid_t pid = 0;
  int status = 0;           // PROGRAM's wait status
  double cpu_seconds = 0;   // its user + system time (wait4)
  bool timed_out = false;   // --timeout ended it
  std::string timeout_flag; // "--timeout 1s"
  bool seccomp = false;        // PROGRAM ran under a filter
  bool seccomp_logged = false; // a named denial was logged already
  Limit cpu, fsize;
  cgroup::Usage cgroup;     // its counts (finish())
  std::string memory_flags; // cgroup::setting_flags(plan, "memory"), or ""
  std::string pids_flags;   // cgroup::setting_flags(plan, "pids"), or ""
};

struct Reason {
  std::string cause;  // "timeout", "seccomp", "memory", "cpu", "fsize", "pids"; "" for none
  std::string limit;  // what set it: "--cgroup-set memory.max=32M", or the value found
  std::string line;   // the one line to print (without "boxjail: ")
  bool logged = false;  // said already (the timeout, a named denial): do not print `line`
};

Reason explain(const Facts& f);

/// `, "reason": "memory", "reason-limit": "..."` for the --status-fd end
/// event, or "" for no reason.
std::string json_fields(const Reason& r);

/// How PROGRAM is named in lines about it: 'PROGRAM' (pid N).
std::string who(const std::string& program, pid_t pid);

}  // namespace boxjail::death

// Options → LaunchPlan: every value resolved and checked before anything is
// created. A LaunchPlan is built in place, then only read: argv points into
// its own strings, so it can be neither copied nor moved.
#pragma once

#include <sys/resource.h>

#include <string>
#include <vector>

#include "boxjail/cli.h"
#include <sched.h>

#include "boxjail/cgroup.h"
#include "boxjail/environ.h"
#include "boxjail/fdmap.h"
#include "boxjail/identity.h"
#include "boxjail/jail.h"
#include "boxjail/landlock.h"
#include "boxjail/netns.h"
#include "boxjail/profile.h"
#include "boxjail/ready.h"
#include "boxjail/seccomp.h"
#include "boxjail/log.h"
#include "boxjail/rlimit.h"
#include "boxjail/sysfacts.h"
#include "boxjail/timeout.h"

namespace boxjail {

enum class Mode { kSupervise, kDetach, kNoFork };

const char* mode_name(Mode m);

/// One --fd flag, checked.
struct FdRequest {
  FdMapping map;
  std::string spec;
};

struct LaunchPlan {
  LaunchPlan() = default;
  LaunchPlan(const LaunchPlan&) = delete;
  LaunchPlan& operator=(const LaunchPlan&) = delete;

  Mode mode = Mode::kSupervise;
  bool dry_run = false;
  /// Where each given key came from (Options::sources), for --dry-run.
  std::vector<std::pair<std::string, std::string>> sources;
  log::Level log_level = log::Level::kWarn;

  std::string program;            // as the user wrote it, for messages
  std::string path;               // resolved, passed to execve
  std::vector<std::string> args;  // argv strings; args[0] == program
  std::vector<char*> argv;        // args as char*, nullptr-terminated
  /// The environment PROGRAM gets, nullptr-terminated: boxjail's own as
  /// --clear-env, --setenv, --unsetenv, --keep-env and --user-env changed
  /// it (environ.h). The strings are boxjail's (they live as long as the
  /// process) or env_plan.owned's.
  std::vector<char*> env;
  environment::EnvPlan env_plan;

  pid_t parent_pid = 0;           // boxjail's parent at start (--die-with-parent only)
  std::string pidfile;            // absolute; empty without --pidfile
  int status_fd = -1;             // --status-fd, or -1
  int die_signal = 0;             // --die-with-parent, or 0
  /// --learn FILE (learn.h): where to write, and the options to write back.
  std::string learn_file;
  std::vector<std::pair<std::string, std::vector<std::string>>> learn_given;

  /// Socket activation: when LISTEN_PID names boxjail, descriptors 3 to
  /// 3 + listen_fds - 1 are kept, and (in the forking modes) env entry
  /// listen_pid_index is rewritten with the child's pid.
  bool socket_activation = false;
  int listen_fds = 0;
  int listen_pid_index = -1;

  std::vector<RlimitSetting> rlimits;
  /// Index into rlimits of a nofile setting that raises the soft limit, and
  /// so must be applied before the descriptor moves need the room; -1 if none.
  int nofile_first = -1;

  std::vector<FdRequest> fds;
  FdProgram fd_program;
  bool close_fds = true;        // false with --keep-fds
  std::vector<int> keep;        // sorted: 0, 1, 2 and every TARGET

  /// The supervisor: --reap (or PID 1), --signal-group, --reap-grace.
  bool reap = false;
  bool signal_group = false;
  int grace_ms = 2000;
  std::string chdir;  // --chdir, or ""

  cgroup::CgroupPlan cgroup;
  /// Scheduling, applied in the child before identity and the restrictions.
  bool set_cpus = false;
  cpu_set_t cpus{};
  std::string cpus_spec;
  bool set_nice = false;
  int nice = 0;
  bool set_oom_score_adj = false;
  int oom_score_adj = 0;
  /// --netns: the network namespace the child joins (setns) before identity.
  netns::NetnsPlan netns;
  /// --timeout: the supervisor's time limit on PROGRAM.
  timeout::TimeoutPlan timeout;
  /// --ready, --ready-timeout: when PROGRAM counts as started (ready.h).
  ready::ReadyPlan ready;

  landlock::LandlockPlan landlock;
  seccomp::SeccompPlan seccomp;
  IdentityPlan identity;
  /// PR_SET_NO_NEW_PRIVS for PROGRAM, and why (for --dry-run): asked for,
  /// or implied by Landlock and seccomp unless the child still has
  /// CAP_SYS_ADMIN when it restricts itself, or by --cap-drop.
  bool no_new_privs = false;
  std::string no_new_privs_why;
  /// What boxjail adds because it confines PROGRAM (jail.h).
  jail::JailPlan jail;
  /// --profile (profile.h): the profile, and the rules from qemu's argv.
  profile::ProfilePlan profile;
  /// --allow-new-privs: Landlock and seccomp are applied before the
  /// identity step, while the child still has CAP_SYS_ADMIN, so that no
  /// no_new_privs is needed.
  bool restrict_early = false;
  /// Default mode, confined: PROGRAM gets SIGKILL when the supervisor dies.
  bool pdeath_supervisor = false;
  /// One line each, logged at launch as warnings.
  std::vector<std::string> warnings;

  /// Fault injection (BOXJAIL_FAULT_INJECTION builds, tests only):
  /// BOXJAIL_FAIL_STEP=NAME[:ERRNO] makes that child step fail.
  int32_t fail_step = 0;
  int fail_errno = 0;
  /// BOXJAIL_LANDLOCK_ABI=N: believe the kernel has at most Landlock ABI N.
  int landlock_abi_cap = -1;
};

struct PlanError {
  int exit_code = 125;  // 125 usage/validation, 126 cannot execute, 127 not found
  std::string msg;      // one line, without "boxjail: "
};

/// Validates `opts` into `*plan`. `path_env` is $PATH (may be null), where
/// PROGRAM is looked for; `envp` is boxjail's environment, from which
/// PROGRAM's is made. Touches nothing outside the process.
bool build_plan(const Options& opts, SystemFacts& sys, const char* path_env,
                char** envp, LaunchPlan* plan, PlanError* err);

/// Appends `s` as a quoted JSON string.
void json_escape(std::string* out, std::string_view s);

/// The plan as one JSON object, for --dry-run.
std::string plan_to_json(const LaunchPlan& plan);

}  // namespace boxjail

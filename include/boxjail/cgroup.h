// Placement: --cgroup PATH and --cgroup-set FILE=VALUE.
//   - check(): the hierarchies from /proc/self/mountinfo (nothing is assumed
//     about /sys/fs/cgroup), the cgroup directory in each hierarchy used,
//     the controller each setting needs and where it is available, the
//     values: all before anything is created.
//   - CgroupRuntime::prepare(): in the parent, before the child starts:
//     creates the missing directories (recording which), enables the
//     needed controllers in the v2 parents' cgroup.subtree_control, writes
//     the settings, opens the v2 directory (for clone3's
//     CLONE_INTO_CGROUP) and each cgroup.procs (for the child's fallback
//     join step). A failure removes what was created.
//   - finish(): default mode, after PROGRAM: kills what PROGRAM left in
//     the cgroups boxjail created (and in cgroups PROGRAM made below them),
//     but only PROGRAM's descendants: a process moved in from outside is
//     left alone and named in a warning (see finish()). Reads the peaks
//     for the report, and removes the created directories, deepest first.
//     Directories that already existed are never removed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "boxjail/unique_fd.h"

namespace boxjail {

struct Options;
namespace wire {
class In;
class Out;
}  // namespace wire

namespace cgroup {

struct Hierarchy {
  std::string mount;  // where it is mounted
  std::string root = "/";  // the part of the hierarchy mounted there (mountinfo field 4)
  bool v2 = false;
  std::vector<std::string> controllers;  // v1: from the mount options; v2: cgroup.controllers
};

/// The cgroup hierarchies listed in `mountinfo` (the text of
/// /proc/self/mountinfo), v2 first, each once. A hierarchy mounted more
/// than once (a chroot's `mount --rbind /sys`, a bind mount) is the mount
/// of all of it (mount root "/") under /sys/fs/cgroup; else the first of
/// all of it; else the first. Mount points are as mountinfo gives them:
/// relative to this process's root, which hides the mounts outside it.
std::vector<Hierarchy> parse_mountinfo(const std::string& mountinfo);

/// Fills in each v2 hierarchy's controllers from its cgroup.controllers.
void read_v2_controllers(std::vector<Hierarchy>* all);

struct Setting {
  std::string spec;   // FILE=VALUE as given
  std::string file;   // as written: a v2 name on v1 is translated (cgroup_v1.h)
  std::string value;  // as written (suffixes expanded, translated)
  size_t place = 0;   // index into CgroupPlan::places
  std::string from;   // the v2 name `file` was translated from, or ""
  std::string note;   // for --dry-run: how it was translated, or ""
};

/// The cgroup in one hierarchy.
struct Place {
  Hierarchy hierarchy;
  std::string dir;                   // absolute
  std::vector<std::string> enable;   // v2: controllers to enable on the way down
  std::string why;                   // "--cgroup", or the setting that needs it there
};

struct CgroupPlan {
  bool active = false;
  std::string spec;  // --cgroup as given
  std::vector<Place> places;
  std::vector<Setting> settings;
};

/// Checks --cgroup and --cgroup-set into `*plan`; `mountinfo` is the text of
/// /proc/self/mountinfo.
bool check(const Options& o, const std::string& mountinfo, CgroupPlan* plan, std::string* err);

/// The --cgroup-set flags that set `controller`'s files (by the name
/// given: "memory" for memory.max and memory.limit_in_bytes alike), as
/// "--cgroup-set memory.max=1G, --cgroup-set ..."; "" if none.
std::string setting_flags(const CgroupPlan& plan, const std::string& controller);

/// The cgroup part of --dry-run.
std::string to_json(const CgroupPlan& plan);

/// What finish() read before removing the cgroups.
struct Usage {
  int64_t peak_memory = -1;  // bytes, or -1 when no hierarchy reports it
  int64_t peak_pids = -1;
  int64_t cpu_usec = -1;
  /// What PROGRAM ran into, read whatever `want_usage`; -1 where no
  /// hierarchy tells. The rises while it ran of: processes the OOM killer
  /// ended in the cgroup (memory.events or v1 memory.oom_control
  /// oom_kill), times the cgroup reached its memory limit (v2
  /// memory.events oom; v1 memory.failcnt, or 1 when the peak usage is
  /// within 64 KiB of memory.limit_in_bytes or of the memsw limit, as
  /// some kernels keep failcnt at 0), forks pids.max refused (pids.events
  /// max).
  int64_t oom_kills = -1;
  int64_t memory_limit_hits = -1;
  int64_t pids_refused = -1;
  /// Where those were read, and the limit files' values at the end
  /// (memory.max or memory.limit_in_bytes, pids.max), as the kernel shows them.
  std::string memory_dir, memory_limit, pids_dir, pids_limit;
};

class CgroupRuntime {
 public:
  CgroupRuntime() = default;
  CgroupRuntime(const CgroupRuntime&) = delete;
  CgroupRuntime& operator=(const CgroupRuntime&) = delete;
  /// Removes what prepare() created, unless keep() was called.
  ~CgroupRuntime();

  /// `will_leave`: --no-fork, which may need leave_and_remove().
  bool prepare(const CgroupPlan& plan, bool will_leave, std::string* err);
  /// The v2 directory, for CLONE_INTO_CGROUP; -1 if none.
  int v2_dir() const { return v2_dir_.get(); }
  /// The cgroup.procs descriptors the child's join step writes "0" to: the
  /// v1 ones, plus the v2 one when `with_v2`.
  std::vector<int> procs_fds(bool with_v2) const;
  /// Every descriptor the runtime holds (to keep off --fd targets).
  std::vector<UniqueFd*> fds();
  /// Closes the descriptors; the supervisor needs none once PROGRAM runs.
  void release_fds();
  /// Leave everything in place (--detach, --no-fork after exec).
  void keep() {
    created_.clear();
    enabled_.clear();
    moved_from_.clear();
  }
  /// The directories prepare() created, outermost first (--detach's state
  /// record, stop.h).
  const std::vector<std::string>& created() const { return created_; }
  /// Default mode, after PROGRAM: end what is left, read the peaks (when
  /// `want_usage`: someone will see the report) and the limits' events,
  /// remove the created directories.
  ///
  /// What is left is ended only when it descends from the caller: its
  /// chain of parents in /proc reaches getpid(). The caller must be a child
  /// subreaper (or PID 1) since before PROGRAM started, so that PROGRAM's
  /// orphans are its children, and must have reaped PROGRAM; finish()
  /// reaps the adopted children it kills. Each one is signalled through a
  /// pidfd opened before the check (kill() where pidfd_open is missing);
  /// cgroup.kill (v2) is written only after a first round of those, and
  /// only while every member of the subtree descends from the caller. Any
  /// other member (moved in from outside, or one whose parents cannot be
  /// read) is not signalled: one warning line names it, and its cgroup and
  /// those above it are left in place, without waiting on them.
  Usage finish(bool want_usage);
  /// Default mode, --timeout: sends `sig` to every process in the cgroups
  /// (and below them) whose chain of parents reaches the caller, as
  /// finish() picks them, except `except_pid` and the members of process
  /// group `except_pgid` (0: none), which the caller signals itself. Others
  /// are left alone here; finish() names them.
  void signal_descendants(int sig, pid_t except_pid, pid_t except_pgid);
  /// --no-fork, after a failed step: move back to where we were, then remove.
  void leave_and_remove();

  /// For the boxjail that resumes after boxjail-wait (handover.h): what
  /// finish() needs, the plan's places with it. The descriptors are
  /// released first; the end needs none.
  void save(wire::Out* out);
  /// Takes back what save() wrote; the places go into `plan`, which must
  /// outlive this.
  bool restore(wire::In* in, CgroupPlan* plan);

 private:
  struct Counts {
    int64_t oom_kills = -1, limit_hits = -1, pids_max = -1;
  };
  static Counts counts_of(const Place& p);
  void remove_created();
  void end_descendants(const Place& p);
  std::vector<Counts> before_;        // at the end of prepare(), each place's
  const CgroupPlan* plan_ = nullptr;
  std::vector<std::string> created_;  // outermost first
  std::vector<std::string> busy_;     // cgroups holding a process left alone
  std::vector<std::string> origins_;  // each place's cgroup before the join
  // Controllers prepare() enabled, {cgroup, controller} in order: disabled
  // again once what was created is gone, so that nothing is left changed.
  std::vector<std::pair<std::string, std::string>> enabled_;
  // cgroup v2 passes no controller on from a cgroup with a process in it:
  // where that process was boxjail alone, prepare() moved it from
  // moved_from_ into the leaf moved_leaf_ (created_'s first entry).
  std::string moved_from_, moved_leaf_;
  UniqueFd v2_dir_, v2_procs_;
  std::vector<UniqueFd> v1_procs_;
};

}  // namespace cgroup
}  // namespace boxjail

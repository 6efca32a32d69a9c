// --stop PIDFILE and the state record a detached box leaves beside its PID
// file, so that the box can be stopped and cleaned up later.
//
// The state record, PIDFILE.state, lists the cgroup directories boxjail
// created for the box (the PID file's format stays the strict two lines
// that start-stop-daemon and `head -1` read):
//
//   boxjail-state 1
//   pid 1234
//   start-time 56789
//   parent /sys/fs/cgroup/pids/ux          (created above the box's cgroup)
//   cgroup /sys/fs/cgroup/pids/ux/vm1      (the box's cgroup, created)
//
// in the order they were created (outermost first). It is written
// atomically (a temporary and a rename, never through a symlink) under the
// PID file's lock, and trusted only as the PID file is: a regular file,
// owned by boxjail's effective uid, writable by no one else, naming the
// same pid and start time as the PID file, and listing only directories on
// a cgroup file system.
//
// Parent side only; nothing here runs after fork.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "boxjail/pidfile.h"

namespace boxjail {
struct Options;
}

namespace boxjail::stop {

/// The default --stop-timeout.
inline constexpr int64_t kDefaultTimeoutNs = 10LL * 1000 * 1000 * 1000;

struct StateRecord {
  PidRecord box;
  /// Created directories, outermost first; `box_cgroup` marks the box's own
  /// cgroups (killed and removed), the others are parents (removed if empty).
  struct Dir {
    std::string path;
    bool box_cgroup = false;
    bool operator==(const Dir&) const = default;
  };
  std::vector<Dir> dirs;
  bool operator==(const StateRecord&) const = default;
};

/// The state's directories: `created` (outermost first) with those in
/// `box_dirs` (the box's own cgroups) marked.
std::vector<StateRecord::Dir> dirs_of(const std::vector<std::string>& created,
                                      const std::vector<std::string>& box_dirs);

std::string format_state(const StateRecord& r);
/// Strict: the header, pid, start-time, then parent/cgroup lines with
/// absolute paths and no "." or ".." components. `*why` says what is wrong.
bool parse_state(std::string_view text, StateRecord* out, std::string* why);

/// "NAME.state" for the PID file NAME (the last component of its path).
std::string state_name(const std::string& pidfile_path);

/// Writes `r` as the state record of `pidfile_path` in the directory
/// `dir_fd` (the PID file's), atomically.
bool write_state(int dir_fd, const std::string& pidfile_path, const StateRecord& r,
                 std::string* err);

enum class StateRead { kAbsent, kRecord, kRefused };
/// Reads and checks the state record (see above; not the identity, which
/// is the caller's to compare). kRefused comes with `*err`.
StateRead read_state(int dir_fd, const std::string& pidfile_path, const char* flag,
                     StateRecord* out, std::string* err);

/// Unlinks the state record, if there is one.
void remove_state(int dir_fd, const std::string& pidfile_path);

/// Ends every process in the box cgroups of `dirs` and below them
/// (cgroup.kill on v2; else SIGKILL to each pid of cgroup.procs, again
/// until they are empty), then removes the directories, deepest first,
/// and the cgroups PROGRAM made below the box's. A directory that is not
/// on a cgroup file system is left alone. Returns how many directories
/// were removed; `*left` lists the ones that could not be (for a message).
int clear_cgroups(const std::vector<StateRecord::Dir>& dirs, std::vector<std::string>* left);

/// --stop PATH: 0 when the running box was stopped (and its record and
/// cgroups removed), 1 when there was none (absent; or stale, cleaned up),
/// 125 with `*err` when PATH or its state cannot be trusted, or the box
/// survived. `*notes` gets the lines to say at the default level (a stale
/// record cleaned up; SIGKILL after the timeout).
int stop_box(const std::string& path, int64_t timeout_ns, std::vector<std::string>* notes,
             std::string* err);

/// A stale record at PATH (its process is gone): removes its cgroups, its
/// state and the PID file, under the lock, and returns a line saying so
/// ("" when PATH holds no stale record). `flag` names the flag in messages.
/// False (with `*err`) when PATH or its state cannot be trusted.
/// `state_only` (a new start with --pidfile, which replaces the PID file
/// itself): only a stale record's state and cgroups, before the new box's
/// cgroups are made.
bool clean_stale(const std::string& path, const char* flag, std::string* said, std::string* err,
                 bool state_only = false);

/// boxjail --stop PIDFILE [--stop-timeout SECONDS] [-v|-q]: the exit code.
int run(const Options& opts);

}  // namespace boxjail::stop

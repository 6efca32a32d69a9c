// The PID file: an identity record `<pid>\n<start_time>\n` that cannot go
// stale unnoticed, written atomically and never through a symlink.
//
// Parent side only. A PidFile owns three descriptors, all close-on-exec:
// the directory, the lock and the temporary file. The lock is a sidecar
// ".<name>.lock" in the same directory, flock()ed while the existing record
// is checked and the new one written, and unlinked before it is released,
// so nothing is left behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

#include "boxjail/unique_fd.h"

namespace boxjail {
namespace wire {
class In;
class Out;
}  // namespace wire

struct PidRecord {
  pid_t pid = 0;
  uint64_t start_time = 0;  // field 22 of /proc/<pid>/stat, clock ticks since boot
  bool operator==(const PidRecord&) const = default;
};

std::string format_pid_record(const PidRecord& r);
/// Strict: exactly "<pid>\n<start_time>\n", pid > 0.
bool parse_pid_record(std::string_view text, PidRecord* out);

/// Field 22 of /proc/<pid>/stat. False if the process does not exist (or is
/// a zombie, when `alive_only`).
bool read_start_time(pid_t pid, uint64_t* out, bool alive_only = false);

/// Whether `r` names a live process that is still the one recorded.
bool record_is_live(const PidRecord& r);

/// Absolute form of `path` (relative to the working directory), or an
/// error for a path with no file name.
bool absolute_pidfile_path(const std::string& path, std::string* out, std::string* err,
                           const char* flag = "--pidfile");

class PidFile {
 public:
  /// Opens the directory of `path` (absolute) and checks it is not
  /// world-writable without the sticky bit.
  bool open(const std::string& path, std::string* err, const char* flag = "--pidfile");
  const std::string& path() const { return path_; }

  /// Takes the sidecar lock, then refuses if the existing record names a
  /// live process ("already running as pid N (PATH)") or PATH is a symlink,
  /// not a regular file, or owned by another user. A stale record is left
  /// for commit() to replace; `*stale` says why it is stale ("" if none).
  bool lock_and_check(std::string* err, std::string* stale);
  /// Creates the temporary file the record will be written to.
  bool prepare(std::string* err);
  /// Writes `r` to the temporary file and renames it over PATH.
  bool commit(const PidRecord& r, std::string* err);
  /// Unlinks the lock file and releases the lock; removes an uncommitted
  /// temporary file.
  void release();
  /// Removes PATH if it still holds `r` (under the lock).
  bool remove_if_holds(const PidRecord& r, std::string* err);
  /// Takes the sidecar lock only (--stop holds it while it stops the box).
  bool lock(std::string* err) { return take_lock(err); }

  /// For the boxjail that resumes after boxjail-wait (handover.h), once
  /// committed and released: the names, and the directory's descriptor,
  /// whose number goes into `keep` (it must survive the execs).
  void save(wire::Out* out, std::vector<int>* keep) const;
  bool restore(wire::In* in);
  /// With the lock held: removes PATH if it still holds `r`.
  void remove_locked(const PidRecord& r);

  /// What is at PATH now. kRefused (with `*err`) for what must not be
  /// trusted: a symlink, a non-regular file, another user's file, one
  /// others may write, a read error. Never follows a symlink.
  enum class Existing { kAbsent, kRecord, kGarbage, kRefused };
  Existing read_existing(PidRecord* rec, std::string* err) const;

  /// The descriptors this object holds, so they can be kept off --fd targets.
  UniqueFd* dir_fd() { return &dir_; }
  UniqueFd* lock_fd() { return &lock_; }
  UniqueFd* tmp_fd() { return &tmp_; }

  ~PidFile() { release(); }

 private:
  bool take_lock(std::string* err);

  std::string path_, dir_path_, name_, lock_name_, tmp_name_;
  std::string flag_ = "--pidfile";
  UniqueFd dir_, lock_, tmp_;
};

/// --check-pidfile: 0 and the pid on stdout when the record is live, 1 when
/// stale or absent, 125 (with `*err`) when PATH cannot be trusted or read.
int check_pidfile(const std::string& path, std::string* out, std::string* err);

}  // namespace boxjail

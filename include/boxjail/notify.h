// The supervisor's side of seccomp user notification: the listener the
// child hands over (child.h, THE LISTENER HAND-OVER), and the calls it
// brings. Two users: --learn (learn.h), which lets every call through and
// records it, and named denials, which answers what the user's filter
// denies the way the filter would, and says which call it was.
//
// SECCOMP_USER_NOTIF_FLAG_CONTINUE is used only where the filter itself
// would allow the call: by --learn, which enforces nothing, and for the
// child's own calls before it execs PROGRAM. A decision never depends on
// PROGRAM's memory, which PROGRAM could change after it was read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "boxjail/child.h"
#include "boxjail/seccomp.h"
#include "boxjail/unique_fd.h"

namespace boxjail::notify {

/// One notified call, as the kernel reported it.
struct Call {
  uint64_t id = 0;
  pid_t tid = 0;      // the calling thread, in our pid namespace
  int nr = 0;
  uint32_t arch = 0;
  uint64_t args[6] = {};
};

struct Answer {
  enum class Kind { kContinue, kError, kKill } kind = Kind::kContinue;
  int err = 0;  // kError: the call fails with this errno
};

class Handler {
 public:
  virtual ~Handler() = default;
  /// `pre_exec`: the call is the child's own, before PROGRAM runs.
  virtual Answer on_call(const Call& c, bool pre_exec) = 0;
};

class Listener {
 public:
  /// Takes descriptor `number` of `child` (pidfd_getfd), retrying while the
  /// child's seccomp() has not made it yet; gives up when `status_rd` has
  /// something to read (the child failed) or after a few seconds.
  bool take(pid_t child, int number, int status_rd, std::string* err);
  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  void reset() { fd_.reset(); }
  /// Takes a listener descriptor handed over by boxjail-wait (handover.h).
  void adopt(int fd);
  /// Receives one call and answers it as `h` says (killing the caller's
  /// whole process for kKill). False when nothing was received.
  bool serve_one(Handler& h, bool pre_exec);
  /// Whether call `id` is still waiting (its thread alive, in the call).
  bool still_waiting(uint64_t id) const;

 private:
  UniqueFd fd_;
  std::vector<unsigned char> req_, resp_;
};

/// Reads the status pipe `rd` until the child has exec'd (returns 0) or
/// sent a failure (returns sizeof *f, once the child has gone), serving
/// the listener on the way: the hand-over message makes it take it. -1 with
/// a message in *err when the hand-over fails (the child is killed).
ssize_t await_exec(int rd, pid_t child, Listener* l, Handler& h, StepFailure* f,
                   std::string* err);

/// Up to `max` bytes of the NUL-terminated string at `addr` in `tid`'s
/// memory; false if none of it could be read.
bool read_string(pid_t tid, uint64_t addr, size_t max, std::string* out);
/// `len` bytes at `addr` in `tid`'s memory.
bool read_memory(pid_t tid, uint64_t addr, void* buf, size_t len);
/// The process (thread group) `tid` belongs to, or -1.
pid_t thread_group_of(pid_t tid);
/// /proc/TID/comm, without the newline.
std::string comm_of(pid_t tid);
/// The system call's name for messages ("openat"), or "#N".
std::string syscall_name(int nr);

/// Named denials: answers what the user's filter denies as decide() says,
/// and logs one line naming the call: the first three of each call, a
/// hundred in all; the rest are counted.
class Denials : public Handler {
 public:
  Denials(const seccomp::SeccompPlan& plan, pid_t program) : plan_(plan), program_(program) {}
  Answer on_call(const Call& c, bool pre_exec) override;
  /// Whether a denial killed PROGRAM itself (not a descendant).
  bool killed_program() const { return killed_program_; }
  /// The "seccomp" object of --status-fd's end line, or "" if nothing was
  /// denied.
  std::string json() const;
  /// One line counting the denials that were not logged, or "".
  std::string summary() const;

 private:
  static constexpr long kPerCall = 3;     // lines per system call
  static constexpr long kMaxLines = 100;  // lines in all
  const seccomp::SeccompPlan& plan_;
  pid_t program_;
  bool killed_program_ = false;
  long total_ = 0;
  long lines_ = 0;
  std::map<int, long> seen_;  // call (-1: numbers nobody knows) → denials
  std::string first_json_;  // the kill, or else the first denial
  bool first_is_kill_ = false;
};

}  // namespace boxjail::notify

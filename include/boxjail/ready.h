// --ready unix:PATH | file:PATH | fd:N, and --ready-timeout: when PROGRAM
// counts as started (qemu's -qmp unix:PATH,server=on,wait=off; a file
// PROGRAM creates; the systemd/s6 readiness-descriptor convention).
//   - check(): the grammar and the modes, from the parsed options only:
//     --detach, or the default mode with --status-fd (where the ready
//     event goes); never --no-fork, where no boxjail stays to wait.
//     check_fd() then checks fd:N against the descriptors PROGRAM gets.
//   - Waiter, in the parent: for fd:N a pipe made before the child starts
//     (its write end becomes PROGRAM's descriptor N, by one dup2 appended
//     to the descriptor steps), and once PROGRAM runs, the source to poll
//     (the pipe's read end, or a periodic timerfd that tries PATH) and the
//     deadline (a CLOCK_MONOTONIC timerfd at --ready-timeout).
//   - wait_detached(): --detach's wait for the first of: ready, PROGRAM's
//     end (through a pidfd), the deadline. The default mode's supervisor
//     polls the same descriptors in its one loop (supervise.h).
//
// Ready means: unix:PATH accepts a connection (connect() succeeds and the
// server answers: a QMP server answers qmp_capabilities, any other sends a
// first word or keeps the connection open for a second); file:PATH exists
// (lstat); fd:N: PROGRAM wrote a newline to N. PATH is made absolute against boxjail's working
// directory when the plan is made.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "boxjail/unique_fd.h"

namespace boxjail {

struct Options;

namespace ready {

enum class Kind { kUnix, kFile, kFd };

/// The default --ready-timeout.
inline constexpr int64_t kDefaultTimeoutNs = 30LL * 1000 * 1000 * 1000;

struct ReadyPlan {
  bool active = false;
  std::string spec;  // --ready as given
  Kind kind = Kind::kFile;
  std::string path;  // unix:, file:: absolute
  int fd = -1;       // fd:N
  int64_t timeout_ns = kDefaultTimeoutNs;
  std::string timeout_spec = "30";  // --ready-timeout as given, or the default
};

/// Parses KIND:VALUE; a relative PATH is resolved against `cwd`.
bool parse_spec(std::string_view spec, const std::string& cwd, ReadyPlan* plan,
                std::string* err);

/// Checks --ready and --ready-timeout into `*plan`; inactive without them.
bool check(const Options& o, ReadyPlan* plan, std::string* err);

/// fd:N against what else PROGRAM gets: `taken` lists each descriptor
/// number with the flag that gives it ("--fd 3=4"); `soft_nofile` is
/// PROGRAM's soft RLIMIT_NOFILE. True for the other kinds.
bool check_fd(const ReadyPlan& plan, const std::vector<std::pair<int, std::string>>& taken,
              uint64_t soft_nofile, std::string* err);

/// The ready part of --dry-run.
std::string to_json(const ReadyPlan& plan);

/// {"event":"ready","ms":N}, newline-terminated.
std::string ready_line(int64_t ms);

/// Parent side, owns its descriptors (all close-on-exec).
class Waiter {
 public:
  enum class State { kWaiting, kReady, kClosed };

  explicit Waiter(const ReadyPlan& plan) : plan_(plan) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  /// Before the child starts: fd:N's pipe, the timerfds (unarmed).
  bool prepare(std::string* err);
  /// Every descriptor held (so the caller can keep them off --fd targets
  /// and in the child's keep-list; all are close-on-exec).
  std::vector<UniqueFd*> fds() { return {&rd_, &wr_, &tick_, &deadline_}; }
  /// fd:N: the pipe's write end, which becomes PROGRAM's N; -1 otherwise.
  int write_end() const { return wr_.get(); }
  /// Just before the child starts: starts the clock, arms the deadline
  /// (and the ticks that try PATH).
  bool start(std::string* err);
  /// Once the child started: closes the write end here, so that PROGRAM
  /// holds the only one.
  void forked();
  /// The descriptors to keep while waiting (fd(), deadline_fd()).
  std::vector<int> live_fds() const { return {source_fd(), deadline_.get()}; }

  /// What to poll for the source; -1 once it settled.
  int fd() const { return state_ == State::kWaiting ? source_fd() : -1; }
  /// The deadline timerfd; -1 once the source settled.
  int deadline_fd() const { return state_ == State::kWaiting ? deadline_.get() : -1; }
  /// Called when fd() polls readable (or to check once more): reads the
  /// pipe, or tries PATH.
  State on_readable();
  /// Whether the deadline fired (reads the timerfd).
  bool deadline_passed();
  /// Arms the deadline timerfd again, `ns` from now (the default mode's
  /// grace after SIGTERM); it stays polled through grace_fd().
  bool rearm(int64_t ns);
  int grace_fd() const { return deadline_.get(); }
  State state() const { return state_; }
  /// Milliseconds since start().
  int64_t elapsed_ms() const;
  /// "--ready unix:/run/vm1.qmp"
  std::string flag() const { return "--ready " + plan_.spec; }
  /// "--ready-timeout 30"
  std::string timeout_flag() const { return "--ready-timeout " + plan_.timeout_spec; }
  /// The limit for messages: "30 s", "500 ms".
  std::string limit_text() const;
  /// One phrase for messages: "PROGRAM closed descriptor 3 before writing a line".
  std::string closed_reason() const;

 private:
  int source_fd() const { return plan_.kind == Kind::kFd ? rd_.get() : tick_.get(); }
  bool probe();

  const ReadyPlan& plan_;
  UniqueFd rd_, wr_, tick_, deadline_;
  UniqueFd conn_;  // unix:PATH: the connection held until it is answered
  std::string heard_;  // what the server sent on it
  bool qmp_ = false;   // it greeted as QMP, and qmp_capabilities was sent
  int64_t started_ns_ = 0, connected_ns_ = 0;
  State state_ = State::kWaiting;
};

/// --detach's wait, after PROGRAM (pid `child`, our child, the leader of a
/// new session) started and the waiter was start()ed.
enum class Outcome { kReady, kDied, kTimedOut, kClosed };
/// kDied: `*status` is PROGRAM's wait status, and PROGRAM is reaped. A
/// PROGRAM that ends just after becoming ready is ready. kTimedOut and
/// kClosed: PROGRAM is still running (the caller ends it with end_box()).
Outcome wait_detached(Waiter* w, pid_t child, int* status);

/// Ends a detached PROGRAM that did not become ready: SIGTERM (and
/// SIGCONT) to its process group, SIGKILL after `grace_ms`; reaps it.
/// Returns its wait status.
int end_box(pid_t child, int grace_ms);

/// An exit code for a wait status: the code, or 128+signal.
int exit_code_of(int status);
/// "exited with status 1", "was killed by signal 9 (Killed)".
std::string describe_status(int status);

}  // namespace ready
}  // namespace boxjail

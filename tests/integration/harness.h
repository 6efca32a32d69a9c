// Runs the real boxjail binary as a user would, and reads what tests/probe
// reports about the process it became.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace harness {

const std::string kBoxjail = BOXJAIL_BIN;
const std::string kProbe = PROBE_BIN;
const std::string kSysdeny = SYSDENY_BIN;

struct Spawn {
  std::vector<std::string> argv;
  /// Descriptors the command inherits: target number → descriptor in the
  /// test process. Everything else but 0, 1, 2 is closed.
  std::map<int, int> fds;
  /// Targets that get FD_CLOEXEC set before exec.
  std::vector<int> cloexec;
  /// Descriptors spread from 3 up to this many (a dup of /dev/null each),
  /// after raising the soft RLIMIT_NOFILE to the hard one; 0 for none.
  int scatter = 0;
  /// Raise the hard RLIMIT_NOFILE to this first (needs CAP_SYS_RESOURCE).
  rlim_t nofile_hard = 0;
  /// Signals ignored in the command (inherited SIG_IGN).
  std::vector<int> ignore;
  /// Run in a new session on the slave of a fresh pseudo-terminal, as a
  /// shell's foreground job; `pty_master` is set.
  bool pty = false;
  std::vector<std::string> env;  // extra NAME=VALUE
  /// >= 0: systemd socket activation of the command itself: LISTEN_PID is
  /// its pid, LISTEN_FDS this count, LISTEN_FDNAMES "s0:s1:...".
  int listen_fds = -1;
  /// How long read_line(), wait() and wait_stopped() wait before failing.
  int timeout_ms = 20000;
};

struct Result {
  int status = 0;  // raw wait status
  int code() const;  // exit code, or -1 when killed
  int signal() const;  // terminating signal, or 0
  std::string out, err;
};

class Proc {
 public:
  explicit Proc(const Spawn& s);
  ~Proc();
  pid_t pid() const { return pid_; }
  int pty_master() const { return master_; }
  /// Reads stdout until it holds a full line (or EOF / the timeout).
  std::string read_line();
  /// Waits for the process (the timeout, then SIGKILL and a failed test).
  Result wait();
  /// waitpid with WUNTRACED; true if stopped.
  bool wait_stopped();

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1, master_ = -1;
  std::string out_buf_, err_buf_;
  bool waited_ = false;
  int timeout_ms_ = 20000;
};

Result run(const Spawn& s);
/// Shorthand: boxjail ARGS... with nothing special.
Result boxjail(std::vector<std::string> args);
nlohmann::json parse_probe(const std::string& out);

/// Everything readable from `fd` until EOF (the read end of a pipe whose
/// write ends are closed once the writer is done).
std::string read_to_eof(int fd);

/// Runs `s` with the write end of a fresh pipe as its descriptor `target`,
/// and returns the result, with everything written to that pipe (until
/// every writer is gone) in `*piped`.
Result run_with_pipe(Spawn s, int target, std::string* piped);

/// The errno the probe reported for its attempt OP (with argument ARG, when
/// given), or -1 if it made none.
int attempt_errno(const nlohmann::json& probe, const std::string& op, const char* arg = nullptr);

/// The set of descriptor numbers the probe reported.
std::vector<int> fd_numbers(const nlohmann::json& probe);
/// The probe's entry for descriptor `fd`, or null.
nlohmann::json fd_entry(const nlohmann::json& probe, int fd);

/// `err` less the warnings a sanitized boxjail prints where /proc is
/// missing (an unsanitized build prints none, and nothing is removed).
std::string without_sanitizer_warnings(const std::string& err);

/// "" when tests/sysdeny can take away what `flags` name here; else its
/// one-line reason (for example, no private mount namespace in a chroot).
std::string sysdeny_unavailable(const std::vector<std::string>& flags);

/// {"--user", "root"} when this test process is host uid 0 (euid 0 and a
/// uid_map that maps 0 to 0: the initial namespace, or `unshare -Urm` run
/// as root), else {}. A confined PROGRAM that would run as host root is
/// refused unless --user root says so; tests about something else (a
/// Landlock rule, a filter) put this in front of their flags.
std::vector<std::string> root_opt_in();

/// The mount point of the cgroup v2 hierarchy (controller ""), or of the
/// v1 hierarchy with `controller`, from /proc/self/mountinfo; "" if none.
std::string cgroup_mount(const std::string& controller);

ino_t inode_of(int fd);
bool have_cap_sys_resource();

/// A fresh temporary directory, removed by the destructor.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
};

/// Contents of a file, or "" if it cannot be read.
std::string slurp(const std::string& path);
/// Whether `pid` exists and is not a zombie.
bool alive(pid_t pid);
/// Polls until `pid` is gone (or a zombie); false after 10 s.
bool wait_gone(pid_t pid);
/// Field 22 of /proc/<pid>/stat, as text.
std::string start_time_of(pid_t pid);

/// The modes, as flags to put in front of PROGRAM.
const std::vector<std::vector<std::string>>& all_modes();
std::string mode_label(const std::vector<std::string>& mode);

}  // namespace harness

// Command line → Options. Only syntax is checked here; meaning is checked by
// build_plan() in plan.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace boxjail {

/// The flags exactly as given, before any validation.
struct Options {
  std::vector<std::string> rlimits;  // --rlimit NAME=VALUE, in order
  std::vector<std::string> fds;      // --fd TARGET=SOURCE | --fd N, in order
  bool keep_fds = false;
  bool detach = false;
  bool no_fork = false;
  bool dry_run = false;
  std::string dry_run_format;  // --dry-run[=json|text]: "json" without a value
  int verbose = 0;
  bool quiet = false;
  // Flags whose value may legitimately be empty ("--pidfile ''" is an
  // error, not an absent flag) say whether they were given.
  std::string log_level;
  bool has_log_level = false;
  std::string pidfile;               // --pidfile PATH
  bool has_pidfile = false;
  std::string check_pidfile;         // --check-pidfile PATH
  bool has_check_pidfile = false;
  std::string status_fd;             // --status-fd N
  bool has_status_fd = false;
  std::string die_with_parent;       // --die-with-parent[=SIGNAL]
  bool has_die_with_parent = false;
  // Landlock (landlock.h).
  std::vector<std::string> fs_ro, fs_rx, fs_rw, fs_rwx;  // --fs-* PATH
  bool fs_exec_deps = false;
  std::vector<std::string> net_bind, net_connect;  // PORT[-PORT]
  bool net_deny = false;
  bool net_allow_udp = false;        // --net-allow-udp
  std::vector<std::string> scopes;   // --scope unix|signal
  std::string landlock_mode;         // --landlock=require|best-effort
  bool has_landlock_mode = false;
  bool landlock_log = false;
  // seccomp (seccomp.h).
  std::vector<std::string> seccomp_deny, seccomp_allow;  // SYSCALL[:ERRNO][,...]
  std::vector<std::string> seccomp_rule;  // --seccomp-rule 'NAME: EXPR' (minijail's syntax)
  std::string seccomp_default;       // ACTION
  bool has_seccomp_default = false;
  std::string seccomp_profile;       // FILE
  bool has_seccomp_profile = false;
  std::string seccomp_bpf;           // FILE
  bool has_seccomp_bpf = false;
  bool seccomp_keep_io_uring = false;  // --seccomp-keep-io-uring
  std::string learn;                 // --learn FILE
  bool has_learn = false;
  bool exec_once = false;            // --exec-once
  std::string restrict_namespaces;   // --restrict-namespaces[=TYPES], "all" without
  bool has_restrict_namespaces = false;
  std::vector<std::string> restrict_address_families;  // AF,...
  bool memory_deny_write_execute = false;
  /// Every option given (command line or --config) with its values as
  /// written, in the table's order: what --learn writes back into FILE.
  std::vector<std::pair<std::string, std::vector<std::string>>> given;
  // Identity (identity.h).
  bool no_new_privs = false;
  bool allow_new_privs = false;      // --allow-new-privs
  std::string user;                  // USER[:GROUP]
  bool has_user = false;
  std::string groups;                // G1,G2
  bool has_groups = false;
  std::vector<std::string> cap_drop, cap_keep;  // all|CAP[,CAP...]
  bool cap_keep_root_equivalent = false;  // --cap-keep-root-equivalent
  std::vector<std::string> securebits;    // --securebits NAME,...
  // The supervisor (supervise.h) and PROGRAM's directory.
  bool reap = false;
  std::string reap_grace;            // SECONDS
  bool has_reap_grace = false;
  bool signal_group = false;
  std::string chdir;                 // DIR
  bool has_chdir = false;
  // PROGRAM's environment (environ.h).
  bool clear_env = false;            // --clear-env
  std::vector<std::string> set_env;    // --setenv NAME=VALUE, in order
  std::vector<std::string> unset_env;  // --unsetenv NAME
  std::vector<std::string> keep_env;   // --keep-env NAME[,NAME...]
  bool user_env = false;             // --user-env
  // Placement (cgroup.h) and scheduling.
  std::string cgroup;                // --cgroup PATH
  bool has_cgroup = false;
  std::vector<std::string> cgroup_set;  // FILE=VALUE
  std::string cpus;                  // --cpus LIST
  bool has_cpus = false;
  std::string nice;                  // --nice N
  bool has_nice = false;
  std::string oom_score_adj;         // --oom-score-adj N
  bool has_oom_score_adj = false;
  std::string netns;                 // --netns PATH (netns.h)
  bool has_netns = false;
  std::string timeout;               // --timeout DURATION[:SIGNAL] (timeout.h)
  bool has_timeout = false;
  // Detached boxes (ready.h, stop.h).
  std::string ready;                 // --ready unix:PATH|file:PATH|fd:N
  bool has_ready = false;
  std::string ready_timeout;         // --ready-timeout SECONDS
  bool has_ready_timeout = false;
  std::string stop;                  // --stop PIDFILE
  bool has_stop = false;
  std::string stop_timeout;          // --stop-timeout SECONDS
  bool has_stop_timeout = false;
  // Reports and files.
  std::string features;              // --features[=text|json]
  bool has_features = false;
  std::string list_syscall_groups;   // --list-syscall-groups[=GROUP], "all" without one
  bool has_list_syscall_groups = false;
  std::string profile;               // --profile NAME|FILE (profile.h)
  bool has_profile = false;
  std::string profile_label;         // "profile qemu", "profile /etc/boxjail/vm.toml"
  /// Under --profile, where each value of a list key came from: `source`
  /// is profile_label for the profile's values, "" for the user's (then
  /// `sources` says where the key came from).
  struct ValueSource {
    std::string key, value, source;
  };
  std::vector<ValueSource> value_sources;
  /// The profile's values left out, one line each ("fs-rw /dev/net/tun: No
  /// such file or directory"), for --dry-run.
  std::vector<std::string> profile_left_out;
  std::string config;                // --config FILE
  bool has_config = false;
  std::vector<std::string> command;  // PROGRAM ARGS...
  /// "--die-with-parent=TERM" when PROGRAM ("TERM") came right after a
  /// flag whose value is optional, given without '=': what the user
  /// probably meant, for the message when PROGRAM cannot be run.
  std::string program_hint;
  /// Where each given key came from: {"rlimit", "command line"} or
  /// {"pidfile", "/etc/boxjail/box1.toml"}; "command" for PROGRAM.
  std::vector<std::pair<std::string, std::string>> sources;
};

/// What completions offer for a flag's value.
enum class Complete {
  kNone,        // free text
  kFile,
  kDir,
  kRlimit,      // NAME= from the rlimit table
  kSignal,
  kSeccompAction,
  kSyscall,     // comma-separated syscall names
  kCapability,  // comma-separated capability names, or all
  kUser,
  kGroup,
  kLandlockMode,
  kScope,
  kLogLevel,
  kFeatures,    // text or json
  kNamespaces,     // comma-separated namespace types
  kAddressFamily,  // comma-separated address families
  kSecurebits,     // comma-separated securebit names
  kSyscallGroup,  // @NAME of a system call group or family
  kEnvName,     // comma-separated names of exported variables
};

/// One flag of the command line: the single table --help, the parser, the
/// config keys (config.h) and the shell completions (tools/completions.cpp)
/// come from.
struct Flag {
  const char* names;  // CLI11 names: "-p,--pidfile", "--die-with-parent{KILL}"
  const char* value;  // the value's placeholder ("PATH"), or nullptr for a flag
  const char* help;
  Complete complete;
  /// Registers the flag with the parser, bound to its field of Options.
  CLI::Option* (*add)(CLI::App& app, Options& o, const Flag& f);
};

/// The flag table, in --help's order.
const Flag* flag_table(size_t* n);

/// The entry whose long name is `name` ("rlimit"), or nullptr.
const Flag* find_flag(std::string_view name);

struct CliResult {
  enum Kind { kRun, kExit } kind = kRun;
  int exit_code = 0;
  std::string out;  // text for stdout (help, version) when kind == kExit
  std::string err;  // one-line error, without "boxjail: ", when exit_code != 0
};

/// Parses argv. Option parsing stops at "--" or at the first word that is
/// not an option, which becomes PROGRAM.
CliResult parse_cli(int argc, const char* const* argv, Options* out);

/// `msg` (a validation error) with the config file and key in front when
/// the first flag it names came from a config file:
/// "/etc/boxjail/box1.toml: key 'rlimit': --rlimit ...". Otherwise `msg`.
std::string attribute_error(const Options& opts, const std::string& msg);

/// The long name of a table entry: "pidfile" for "-p,--pidfile",
/// "die-with-parent" for "--die-with-parent{KILL}".
std::string long_name(const Flag& f);

}  // namespace boxjail

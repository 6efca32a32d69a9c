// PROGRAM's environment: --clear-env, --setenv, --unsetenv, --keep-env and
// --user-env. Computed in the parent into a nullptr-terminated array that
// execve() is given as it is; the child does no environment work but
// writing its pid into the LISTEN_PID buffer (socket activation, child.h).
//
// The rules, the same whatever order the flags come in:
//   1. start from boxjail's own environment, or from nothing but the
//      --keep-env names with --clear-env;
//   2. remove every --unsetenv name;
//   3. set every --setenv NAME=VALUE;
//   4. with --user-env, set HOME, USER, LOGNAME and SHELL from --user's
//      /etc/passwd entry, except those a per-name flag above names.
// Inherited variables keep their order; the ones set follow, --setenv's in
// the order given, then --user-env's.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace boxjail {

struct Options;

namespace environment {

/// The fields of a passwd entry that --user-env uses.
struct Account {
  std::string name, home, shell;
};

/// Finds USER (a name, or a number as --user takes it) in the user
/// database; false if it has no entry.
using AccountLookup = bool (*)(const std::string& user, Account* out);

/// The real lookup: /etc/passwd read directly, as identity.cpp reads it
/// (boxjail is static and loads no NSS modules).
bool passwd_account(const std::string& user, Account* out);

/// Whether `name` may be given to --setenv, --unsetenv or --keep-env:
/// letters, digits and underscores, not starting with a digit.
bool valid_name(const std::string& name);

struct EnvPlan {
  EnvPlan() = default;
  // envp points into owned: a copy would point into the original.
  EnvPlan(const EnvPlan&) = delete;
  EnvPlan& operator=(const EnvPlan&) = delete;

  bool active = false;  // an environment flag was given (else envp is boxjail's)
  bool clear = false;   // --clear-env
  /// NAME, VALUE for --setenv (in the order given), then --user-env's.
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;  // --unsetenv, in the order given, once each
  std::vector<std::string> keep;   // --keep-env, in the order given, once each
  std::string user_env;            // --user-env: the account's name, else ""
  /// Names of boxjail's variables PROGRAM gets (inherited) and does not get
  /// (removed), in environment order, for --dry-run. Never their values:
  /// they may be secrets.
  std::vector<std::string> inherited, removed;

  /// "NAME=VALUE" for each entry of `set`; envp points into these.
  std::vector<std::string> owned;
  /// PROGRAM's environment, nullptr-terminated: boxjail's strings (which
  /// live as long as the process) and owned's.
  std::vector<char*> envp;
};

/// Checks the environment flags of `o` against boxjail's environment
/// `envp` (nullptr-terminated, may be null) into `*plan`. `lookup` finds
/// --user's account for --user-env. False with a one-line message naming
/// the flag in `*err`.
bool check(const Options& o, char* const* envp, AccountLookup lookup, EnvPlan* plan,
           std::string* err);

/// The environment part of --dry-run: {"clear", "set" (names and the
/// values given), "unset", "keep", "user_env", "inherited", "removed"}.
std::string to_json(const EnvPlan& plan);

}  // namespace environment
}  // namespace boxjail

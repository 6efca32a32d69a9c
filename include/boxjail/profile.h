// --profile NAME|FILE: a set of options to start from, in --config's key
// format (config.h), under what the config file and the command line give.
// Three parts, one per side of the plan:
//   - apply(): at parse time (cli.cpp), the profile's keys are merged into
//     the options CLI11 has read, below them: a list option the user gives
//     adds to the profile's list, any other option the user gives replaces
//     the profile's value; Options::sources and value_sources record where
//     each key and value came from;
//   - check() and add_qemu_rules(): at plan time (plan.cpp), what a
//     built-in profile requires (qemu: --user), and under --profile qemu
//     the Landlock rules for what qemu's own command line names
//     (qemu_args.h);
//   - to_json() and rule_sources_json(): for --dry-run, the profile, and
//     where every Landlock and seccomp rule came from (sources.rules).
//
// A FILE is a policy file, read through read_policy_file (policyfile.h) as
// --config is. A built-in profile is compiled in from profiles/NAME.toml
// (the file the package installs in /usr/share/boxjail/profiles), so the
// two cannot differ.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "boxjail/cli.h"
#include "boxjail/jail.h"
#include "boxjail/landlock.h"
#include "boxjail/qemu_args.h"
#include "boxjail/seccomp.h"

namespace CLI {
class App;
struct ConfigItem;
}  // namespace CLI

namespace boxjail {

namespace config {
/// The keys of a --config or --profile file's text as CLI11 items, each
/// checked against the flag table (and `app`'s options) as
/// TomlReader::from_config checks them. `flag` is "--config" or
/// "--profile"; a profile may hold neither `command` nor `profile`.
/// `command = [...]` goes to `*command`. Throws CLI::ConfigError with a
/// one-line message that starts with the key. Defined in config.cpp, the
/// --config reader; declared here, for its second reader.
std::vector<CLI::ConfigItem> checked_items(const std::string& text, const CLI::App* app,
                                          const std::string& flag,
                                          std::vector<std::string>* command);
}  // namespace config

namespace profile {

/// A profile boxjail carries.
struct Builtin {
  const char* name;
  const char* text;   // profiles/NAME.toml, as built
  bool needs_user;    // --user is required
  bool qemu_args;     // rules are derived from PROGRAM's argv (qemu_args.h)
};

/// The built-in profile `name`, or nullptr.
const Builtin* find_builtin(std::string_view name);
/// "qemu": the built-in names, for messages.
std::string builtin_names();

/// Whether a --profile value names a built-in profile rather than a file:
/// letters, digits and '-' only (a file is given by a path, such as
/// ./qemu.toml).
bool is_name(std::string_view value);

/// Parse side: when `app` (CLI11, after its parse, every flag of the table
/// registered and bound to `*o`) has --profile, reads the profile and
/// merges its keys under what the user gave:
///   - a list option (--fs-ro, --seccomp-allow, ...) gets the profile's
///     values first, then the user's;
///   - --rlimit and --cgroup-set are keyed: a resource (or file) the user
///     sets replaces the profile's setting of it;
///   - a system call the user denies is taken out of the profile's
///     allowlist, and one the user allows out of its deny list;
///   - any other option, flags included, is the user's when given
///     (--net-deny=false turns a profile's flag off);
///   - a profile's --fs-* path that does not exist here is left out (a rule
///     for nothing grants nothing), and said so in --dry-run.
/// Sets has_profile, profile_label, value_sources, profile_left_out, and
/// `sources` for the keys the profile alone gave. False with a one-line
/// `*err` ("--profile FILE: ...") when it cannot be read or a key is wrong.
bool apply(CLI::App& app, Options* o, std::string* err);

struct ProfilePlan {
  bool active = false;
  std::string name;        // "qemu", or FILE as given
  bool builtin = false;
  bool qemu_args = false;  // rules from PROGRAM's argv
  std::vector<std::string> left_out;  // Options::profile_left_out
  std::vector<Options::ValueSource> value_sources;
  std::vector<qemu_args::Derived> derived;  // the rules add_qemu_rules() made
};

/// Plan side, before the other restrictions are checked: the profile's
/// requirements (--profile qemu needs --user; --learn writes a policy of
/// its own and takes no profile). False with a one-line message.
bool check(const Options& o, ProfilePlan* plan, std::string* err);

/// After landlock::check: under a profile with qemu_args, the rules for the
/// files PROGRAM's argv names (qemu_args::add_rules), with `chdir`
/// (--chdir, or "": boxjail's own directory) as qemu's working directory.
bool add_qemu_rules(const std::vector<std::string>& argv, const std::string& chdir,
                    landlock::LandlockPlan* landlock, ProfilePlan* plan,
                    std::vector<std::string>* warnings, std::string* err);

/// The profile part of --dry-run, as a JSON object.
std::string to_json(const ProfilePlan& plan);

/// For --dry-run ("rules" in its "sources"), where each rule came from, as
/// a JSON object with one entry per Landlock path rule, TCP port flag and
/// seccomp rule (the user's filter and the jail's), in the order of the
/// plan: each names its sources, "profile qemu", "qemu -kernel", "command
/// line" or "config FILE". `sources` is Options::sources.
std::string rule_sources_json(const ProfilePlan& plan,
                              const std::vector<std::pair<std::string, std::string>>& sources,
                              const landlock::LandlockPlan& landlock,
                              const seccomp::SeccompPlan& seccomp, const jail::JailPlan& jail);

}  // namespace profile
}  // namespace boxjail

#include "boxjail/cli.h"

#include "boxjail/config.h"
#include "boxjail/help.h"
#include "boxjail/profile.h"
#include "boxjail/suggest.h"
#include "boxjail/version.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace boxjail {
namespace {

// --help's layout (sections, wrapping, [=SIGNAL]) is help.h's.

// Every option with a value takes exactly one word, so that the word after
// it is never swallowed as a second value (it may be PROGRAM).
template <typename T>
CLI::Option* value(CLI::App& app, const Flag& f, T& target) {
  return app.add_option(f.names, target, f.help)->type_name(f.value)->allow_extra_args(false);
}
template <typename T>
CLI::Option* flag(CLI::App& app, const Flag& f, T& target) {
  CLI::Option* opt = app.add_flag(f.names, target, f.help);
  // An optional value ("--die-with-parent{KILL}") is named in --help.
  if (f.value) opt->type_name(f.value);
  return opt;
}

using V = CLI::App;
// The one table of flags, in --help's order.
const Flag kFlags[] = {
    {"--rlimit", "NAME=VALUE", "Set a resource limit for PROGRAM: SOFT:HARD, SOFT:, :HARD or one value",
     Complete::kRlimit,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.rlimits); }},
    {"--fd", "TARGET=SOURCE|N",
     "PROGRAM's descriptor TARGET is boxjail's SOURCE (TARGET>&SOURCE); --fd N keeps N",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.fds); }},
    {"--keep-fds", nullptr, "Do not close other inherited descriptors", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.keep_fds); }},
    {"-d,--detach", nullptr, "Start PROGRAM in a new session and exit once it runs",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.detach); }},
    {"--no-fork", nullptr, "Apply the plan to boxjail itself and exec PROGRAM in place",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.no_fork); }},
    {"-p,--pidfile", "PATH", "Write PROGRAM's pid and start time to PATH, atomically",
     Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.pidfile); }},
    {"--check-pidfile", "PATH", "Exit 0 and print the pid if PATH names a live process, else 1",
     Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.check_pidfile); }},
    {"--status-fd", "N", "Write JSON lines about PROGRAM's start and end to descriptor N",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.status_fd); }},
    {"--ready", "unix:PATH|file:PATH|fd:N",
     "Wait until PATH accepts a connection, PATH exists, or PROGRAM writes a line to its "
     "descriptor N (--detach, or --status-fd)", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.ready); }},
    {"--ready-timeout", "SECONDS",
     "How long --ready waits (default 30; 1.5, 500ms, 2m) before it ends PROGRAM; exit 124",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.ready_timeout); }},
    {"--stop", "PIDFILE",
     "Stop the box PIDFILE records (TERM, then KILL), remove its record and its cgroups; "
     "exit 0, or 1 if none ran", Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.stop); }},
    {"--stop-timeout", "SECONDS", "How long --stop waits after TERM before KILL (default 10)",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.stop_timeout); }},
    {"--die-with-parent{KILL}", "SIGNAL",
     "PROGRAM gets SIGNAL (default KILL) when boxjail's parent dies; a signal is given as "
     "--die-with-parent=SIGNAL", Complete::kSignal,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.die_with_parent); }},
    {"--fs-ro", "PATH", "Landlock: PROGRAM may read files and list directories beneath PATH",
     Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.fs_ro); }},
    {"--fs-rx", "PATH", "Landlock: as --fs-ro, and execute", Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.fs_rx); }},
    {"--fs-rw", "PATH",
     "Landlock: as --fs-ro, and write, truncate, create, remove, rename and link, device ioctls",
     Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.fs_rw); }},
    {"--fs-rwx", "PATH", "Landlock: as --fs-rw, and execute", Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.fs_rwx); }},
    {"--fs-exec-deps", nullptr,
     "Landlock: read+execute on PROGRAM, its interpreter and its shared libraries", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.fs_exec_deps); }},
    {"--net-bind", "PORT[-PORT]", "Landlock: PROGRAM may bind these TCP ports", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.net_bind); }},
    {"--net-connect", "PORT[-PORT]", "Landlock: PROGRAM may connect to these TCP ports",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.net_connect); }},
    {"--net-deny", nullptr, "No network: no socket but unix and netlink (seccomp), no TCP (Landlock)",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.net_deny); }},
    {"--net-allow-udp", nullptr,
     "With --net-bind/--net-connect: allow UDP sockets too (no port rules for UDP)", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.net_allow_udp); }},
    {"--scope", "unix|signal|none",
     "Landlock: no abstract unix sockets, or no signals, beyond the sandbox (default: both)",
     Complete::kScope,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.scopes); }},
    {"--landlock", "MODE",
     "require (default): refuse what the kernel cannot enforce; best-effort: drop it, with a "
     "warning", Complete::kLandlockMode,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.landlock_mode); }},
    {"--landlock-log", nullptr, "Landlock: PROGRAM's denials go to the kernel audit log",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.landlock_log); }},
    {"--seccomp-deny", "SYSCALL[:ERRNO],...",
     "seccomp: these calls fail with ERRNO (default EPERM); everything else is allowed",
     Complete::kSyscall,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.seccomp_deny); }},
    {"--seccomp-allow", "SYSCALL,...",
     "seccomp: an allowlist; every other call gets the --seccomp-default action",
     Complete::kSyscall,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.seccomp_allow); }},
    {"--seccomp-rule", "RULE",
     "seccomp: one rule in minijail's policy syntax, with argument conditions "
     "(ioctl: arg1 == TCGETS || arg1 == FIONREAD)", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.seccomp_rule); }},
    {"--seccomp-default", "ACTION", "kill-process (default), trap, log or errno:NAME",
     Complete::kSeccompAction,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.seccomp_default); }},
    {"--seccomp-profile", "FILE", "seccomp: allow/deny/default rules from FILE, one per line",
     Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.seccomp_profile); }},
    {"--seccomp-bpf", "FILE", "seccomp: load a ready classic-BPF program from FILE",
     Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.seccomp_bpf); }},
    {"--seccomp-keep-io-uring", nullptr,
     "Keep io_uring under a deny list (its operations bypass seccomp)", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.seccomp_keep_io_uring); }},
    {"--learn", "FILE",
     "Run PROGRAM unrestricted by seccomp, record its calls, paths and ports, and write (or "
     "merge into) FILE a config that replays the run under enforcement", Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.learn); }},
    {"--exec-once", nullptr,
     "After boxjail's exec of PROGRAM, every execve and execveat of PROGRAM and its "
     "descendants fails", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.exec_once); }},
    {"--restrict-namespaces{all}", "TYPES",
     "No new namespaces of these types (user,net,mnt,pid,ipc,uts,cgroup,time; all when none "
     "given) by unshare, setns or clone", Complete::kNamespaces,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.restrict_namespaces); }},
    {"--restrict-address-families", "AF,...",
     "socket() and socketpair() only for these families (unix,inet,inet6,netlink,...); others "
     "fail with EAFNOSUPPORT", Complete::kAddressFamily,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.restrict_address_families); }},
    {"--memory-deny-write-execute", nullptr,
     "No memory both writable and executable, and none made executable later (PR_SET_MDWE, "
     "or seccomp)", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.memory_deny_write_execute); }},
    {"--no-new-privs", nullptr, "Set PR_SET_NO_NEW_PRIVS for PROGRAM", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.no_new_privs); }},
    {"--allow-new-privs", nullptr,
     "Let PROGRAM gain privileges through set-user-ID files after --user (no no_new_privs)",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.allow_new_privs); }},
    {"-u,--user", "USER[:GROUP]", "Run PROGRAM as USER (name or number), with USER's groups",
     Complete::kUser,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.user); }},
    {"--groups", "G1,G2", "PROGRAM's supplementary groups (with --user)", Complete::kGroup,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.groups); }},
    {"--cap-drop", "all|CAP,...", "Remove capabilities, bounding set included",
     Complete::kCapability,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.cap_drop); }},
    {"--cap-keep", "CAP,...",
     "Keep capabilities across --user's uid change, as ambient capabilities", Complete::kCapability,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.cap_keep); }},
    {"--cap-keep-root-equivalent", nullptr,
     "Let --cap-keep keep a capability that amounts to root (sys_admin, dac_override, ...)",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.cap_keep_root_equivalent); }},
    {"--securebits", "NAME,...",
     "Securebits for PROGRAM beside those a confined PROGRAM always gets (noroot, "
     "no_cap_ambient_raise, ..._locked)",
     Complete::kSecurebits,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.securebits); }},
    {"--reap", nullptr,
     "Reap every orphan the supervisor adopts (subreaper); end them when PROGRAM ends",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.reap); }},
    {"--reap-grace", "SECONDS",
     "Between SIGTERM and SIGKILL for what is left, and after --timeout's signal (default 2)",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.reap_grace); }},
    {"--signal-group", nullptr,
     "Forward signals to PROGRAM's process group, and end the group after it", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.signal_group); }},
    {"--chdir", "DIR", "PROGRAM's working directory", Complete::kDir,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.chdir); }},
    {"--clear-env", nullptr,
     "PROGRAM starts with no environment variables but --keep-env's and --setenv's",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.clear_env); }},
    {"--setenv", "NAME=VALUE", "Set NAME to VALUE in PROGRAM's environment (repeatable)",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.set_env); }},
    {"--unsetenv", "NAME", "Remove NAME from PROGRAM's environment (repeatable)",
     Complete::kEnvName,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.unset_env); }},
    {"--keep-env", "NAME,...", "With --clear-env: keep these of boxjail's variables",
     Complete::kEnvName,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.keep_env); }},
    {"--user-env", nullptr,
     "Set HOME, USER, LOGNAME and SHELL from --user's passwd entry, as su - does",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.user_env); }},
    {"--cgroup", "PATH", "Run PROGRAM in cgroup PATH (created if missing, removed after)",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.cgroup); }},
    {"--cgroup-set", "FILE=VALUE", "Write VALUE to the cgroup's FILE first (pids.max=64, memory.max=1G)",
     Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.cgroup_set); }},
    {"--cpus", "LIST", "CPUs PROGRAM may run on, such as 0-3,6", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.cpus); }},
    {"--nice", "N", "PROGRAM's nice value", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.nice); }},
    {"--oom-score-adj", "N", "PROGRAM's OOM score adjustment, -1000 to 1000", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.oom_score_adj); }},
    {"--netns", "PATH",
     "Join the network namespace PATH (/run/netns/NAME, /proc/PID/ns/net) before the identity "
     "change", Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.netns); }},
    {"--timeout", "DURATION[:SIGNAL]",
     "After DURATION (30, 1.5, 500ms, 2m) PROGRAM gets SIGNAL (default TERM), then KILL after "
     "--reap-grace; exit 124", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.timeout); }},
    {"--profile", "NAME|FILE",
     "Start from a profile: qemu (built in) or a TOML FILE of --config's keys; options given "
     "add to its lists and replace its other values", Complete::kFile,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.profile); }},
    {"--config", "FILE",
     "Read options from a TOML file, one key per long option; the command line overrides it",
     Complete::kFile,
     [](V& a, Options&, const Flag& f) {
       return a.set_config(f.names, "", f.help)->type_name(f.value)->allow_extra_args(false);
     }},
    {"--features{text}", "FORMAT",
     "Print what this kernel and build support, as text or json, and exit", Complete::kFeatures,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.features); }},
    {"--list-syscall-groups{all}", "GROUP",
     "Print the system call groups, or one group's calls (=@NAME), and exit",
     Complete::kSyscallGroup,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.list_syscall_groups); }},
    {"--dry-run{json}", "FORMAT",
     "Print the launch plan and exit: one line of JSON, or =text to review it", Complete::kFeatures,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.dry_run_format); }},
    {"-v,--verbose", nullptr, "More log output (repeatable)", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.verbose); }},
    {"-q,--quiet", nullptr, "Log errors only", Complete::kNone,
     [](V& a, Options& o, const Flag& f) { return flag(a, f, o.quiet); }},
    {"--log-level", "LEVEL", "trace, debug, info, warn, error or off", Complete::kLogLevel,
     [](V& a, Options& o, const Flag& f) { return value(a, f, o.log_level); }},
};

// The option names argv mentions before "--": "--name" and "--name=..."
// give "name", "-abc" gives "a", "b" and "c". PROGRAM's own options may be
// among them; that only registers a few options more.
std::vector<std::string_view> mentioned(int argc, const char* const* argv) {
  std::vector<std::string_view> names;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
      names.push_back(a.substr(2, a.find('=') == std::string_view::npos ? a.npos : a.find('=') - 2));
    } else if (a.size() > 1 && a[0] == '-') {
      for (size_t k = 1; k < a.size(); ++k) names.push_back(a.substr(k, 1));
    }
  }
  return names;
}

// Whether any of `names` ("-p,--pidfile", "--die-with-parent{KILL}") is in
// `said`.
bool named(std::string_view names, const std::vector<std::string_view>& said) {
  while (!names.empty()) {
    size_t comma = names.find(',');
    std::string_view one = names.substr(0, comma);
    names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
    one = one.substr(0, one.find('{'));
    while (!one.empty() && one[0] == '-') one.remove_prefix(1);
    for (std::string_view s : said)
      if (s == one) return true;
  }
  return false;
}

}  // namespace

std::string long_name(const Flag& f) {
  std::string_view n = f.names;
  size_t dd = n.find("--");
  n = n.substr(dd + 2);
  return std::string(n.substr(0, std::min(n.find(','), n.find('{'))));
}

const Flag* find_flag(std::string_view name) {
  for (const Flag& f : kFlags)
    if (long_name(f) == name) return &f;
  return nullptr;
}

const Flag* flag_table(size_t* n) {
  *n = sizeof kFlags / sizeof kFlags[0];
  return kFlags;
}

namespace {

// "; did you mean --fs-ro?" for an unknown "--fs-r" or "--fs-r=VALUE".
std::string unknown_option_hint(const std::string& word) {
  if (word.rfind("--", 0) != 0) return "";
  std::vector<std::string> known{"help", "version"};
  for (const Flag& f : kFlags) known.push_back(long_name(f));
  return suggest::did_you_mean(word.substr(2, word.find('=') - 2), known, "--");
}

// "FILE: MESSAGE" for an error in the config file, one line.
std::string config_error(const std::string& file, std::string msg) {
  for (char& c : msg)
    if (c == '\n') c = ' ';
  return file + ": " + msg;
}

}  // namespace

CliResult parse_cli(int argc, const char* const* argv, Options* out) {
  CliResult res;
  Options o;
  CLI::App app{"Confine PROGRAM and exec it: Landlock file and network rules, seccomp, identity "
               "and capabilities, cgroups, resource limits and descriptors.",
               "boxjail"};
  app.footer("Exit status: PROGRAM's, or 125 (boxjail failed), 126 (cannot execute), 127 (not found).\n"
             "See boxjail(1).");
  app.set_version_flag("-V,--version", [] {
    std::string v = version_text();
    v.pop_back();  // CLI11 adds the newline
    return v;
  }, "Print the version, git revision and build options, and exit");
  // CLI11 checks each new option's names against every earlier one's, so
  // its set-up grows faster than the table. Only the options argv names are
  // registered (all of them for --help, which lists them, and for --config,
  // whose file may name any): an option argv does not name cannot be given,
  // and an unknown word is reported below as before.
  const std::vector<std::string_view> said = mentioned(argc, argv);
  const bool config = named("--config", said);
  // A profile may name any option too (profile.h).
  const bool help = named("-h,--help", said);
  const bool all = config || named("--profile", said) || help;
  std::vector<std::pair<const Flag*, CLI::Option*>> added;
  for (const Flag& f : kFlags)
    if (all || named(f.names, said)) added.push_back({&f, f.add(app, o, f)});
  // --help's sections and width (help.h), only when it is asked for.
  if (help) {
    app.formatter(help::formatter(help::width_for_stdout()));
    for (const auto& [f, opt] : added) opt->group(help::section_or_other(long_name(*f)));
    app.get_help_ptr()->group(help::section_or_other("help"));
    app.get_version_ptr()->group(help::section_or_other("version"));
  }
  app.prefix_command();
  auto toml = std::make_shared<config::TomlReader>();
  if (config) {
    toml->app = &app;
    app.config_formatter(toml);
    app.allow_config_extras(CLI::config_extras_mode::error);
  }
  // The config file's name, once the command line has been read.
  auto config_file = [&] {
    const CLI::Option* c = app.get_config_ptr();
    return c != nullptr && !c->results().empty() ? c->results().back() : std::string("--config");
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    res.kind = CliResult::kExit;
    res.out = app.help();
    return res;
  } catch (const CLI::CallForVersion& e) {
    res.kind = CliResult::kExit;
    res.out = std::string(e.what()) + "\n";
    return res;
  } catch (const config::PolicyFileError& e) {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    res.err = e.line;  // "--config FILE: writable by others (...)"
    return res;
  } catch (const CLI::ConfigError& e) {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    res.err = config_error(config_file(), e.what());
    return res;
  } catch (const CLI::FileError&) {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    const std::string file = config_file();
    std::ifstream probe(file);
    res.err = "--config " + file + ": " +
              (probe.good() ? std::string("not a regular file") : std::strerror(errno));
    return res;
  } catch (const CLI::ParseError& e) {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    if (config && app.get_config_ptr()->count() > 1) {
      res.err = "--config given twice (one file; the command line overrides it)";
      return res;
    }
    std::string msg = e.what();
    // CLI11 names the option; keep the message on one line.
    for (char& c : msg)
      if (c == '\n') c = ' ';
    res.err = msg + " (see boxjail --help)";
    return res;
  }

  // --profile: its keys go under what the command line and the config
  // file gave (profile.h).
  if (std::string perr; !profile::apply(app, &o, &perr)) {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    res.err = perr;
    return res;
  }

  // Flags whose value may legitimately be empty say whether they were given.
  auto given = [&](const char* names) {
    for (const auto& [f, opt] : added)
      if (std::string_view(f->names) == names) return opt->count() > 0;
    return false;
  };
  o.has_log_level = given("--log-level");
  o.has_pidfile = given("-p,--pidfile");
  o.has_check_pidfile = given("--check-pidfile");
  o.has_status_fd = given("--status-fd");
  o.has_die_with_parent = given("--die-with-parent{KILL}");
  o.has_landlock_mode = given("--landlock");
  o.has_seccomp_default = given("--seccomp-default");
  o.has_seccomp_profile = given("--seccomp-profile");
  o.has_seccomp_bpf = given("--seccomp-bpf");
  o.has_user = given("-u,--user");
  o.has_groups = given("--groups");
  o.has_reap_grace = given("--reap-grace");
  o.has_chdir = given("--chdir");
  o.has_cgroup = given("--cgroup");
  o.has_cpus = given("--cpus");
  o.has_nice = given("--nice");
  o.has_oom_score_adj = given("--oom-score-adj");
  o.has_netns = given("--netns");
  o.has_timeout = given("--timeout");
  o.has_ready = given("--ready");
  o.has_ready_timeout = given("--ready-timeout");
  o.has_stop = given("--stop");
  o.has_stop_timeout = given("--stop-timeout");
  o.has_features = given("--features{text}");
  o.dry_run = given("--dry-run{json}");
  if (o.dry_run && o.dry_run_format != "json" && o.dry_run_format != "text") {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    res.err = "--dry-run=" + o.dry_run_format + ": unknown format (use json or text)";
    return res;
  }
  o.has_list_syscall_groups = given("--list-syscall-groups{all}");
  o.has_learn = given("--learn");
  o.has_restrict_namespaces = given("--restrict-namespaces{all}");
  if (o.has_learn)
    for (const auto& [f, opt] : added)
      if (opt->count() > 0) o.given.push_back({long_name(*f), opt->results()});
  std::vector<std::string> rest = app.remaining();
  size_t first = 0;
  if (!rest.empty() && rest[0] == "--") {
    first = 1;
  } else if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    res.err = "unknown option '" + rest[0] + "'" + unknown_option_hint(rest[0]) +
              " (see boxjail --help; put PROGRAM after --)";
    return res;
  } else if (!rest.empty() && argc > static_cast<int>(rest.size()) + 1) {
    // "--die-with-parent TERM": a flag's optional value is given with '='
    // only, so TERM became PROGRAM. Said if PROGRAM cannot be run.
    const std::string before = argv[argc - static_cast<int>(rest.size()) - 1];
    const Flag* f = before.rfind("--", 0) == 0 ? find_flag(before.substr(2)) : nullptr;
    if (f != nullptr && std::string_view(f->names).find('{') != std::string_view::npos)
      o.program_hint = before + "=" + rest[0];
  }
  // "--user -- true": CLI11 takes "--" as --user's value.
  for (const auto& [f, opt] : added) {
    if (f->value == nullptr || std::string_view(f->names).find('{') != std::string_view::npos)
      continue;
    for (const std::string& v : opt->results())
      if (v == "--") {
        res.kind = CliResult::kExit;
        res.exit_code = 125;
        res.err = "--" + long_name(*f) + ": missing " + f->value + " (the word after it is --)";
        return res;
      }
  }
  o.command.assign(rest.begin() + static_cast<std::ptrdiff_t>(first), rest.end());

  bool command_from_file = false;
  if (config) {
    o.has_config = true;
    o.config = config_file();
    if (o.command.empty() && !toml->command.empty()) {
      o.command = toml->command;
      command_from_file = true;
    }
  }
  // Where each value came from, for --dry-run and for messages about the
  // file: the command line (the words before PROGRAM) wins; what else has a
  // value came from the file.
  if (config || o.has_profile || o.dry_run) {
    const std::vector<std::string_view> on_line =
        mentioned(argc - static_cast<int>(rest.size()), argv);
    for (const auto& [f, opt] : added) {
      if (opt->count() == 0) continue;
      const std::string key = long_name(*f);
      // The keys only a profile gave have their source already.
      if (key == "config" || std::any_of(o.sources.begin(), o.sources.end(),
                                         [&](const auto& s) { return s.first == key; }))
        continue;
      o.sources.push_back({key, named(f->names, on_line) ? "command line" : o.config});
    }
    if (!o.command.empty())
      o.sources.push_back({"command", command_from_file ? o.config : "command line"});
  }
  *out = std::move(o);
  return res;
}

std::string attribute_error(const Options& opts, const std::string& msg) {
  if (!opts.program_hint.empty() && msg.rfind("cannot execute", 0) == 0)
    return msg + "; did you mean " + opts.program_hint + "?";
  if (!opts.has_config && !opts.has_profile) return msg;
  // The first "--NAME" in the message that names a key.
  for (size_t at = msg.find("--"); at != std::string::npos; at = msg.find("--", at + 2)) {
    size_t end = at + 2;
    while (end < msg.size() && (std::isalnum(static_cast<unsigned char>(msg[end])) || msg[end] == '-'))
      ++end;
    const std::string key = msg.substr(at + 2, end - at - 2);
    for (const auto& [k, from] : opts.sources)
      if (k == key) return from == "command line" ? msg : from + ": key '" + key + "': " + msg;
  }
  if (msg.rfind("missing PROGRAM", 0) == 0 && opts.has_config)
    return msg + "; or give command = [...] in " + opts.config;
  if (msg.rfind("cannot execute", 0) == 0 || msg.find("not found") != std::string::npos)
    for (const auto& [k, from] : opts.sources)
      if (k == "command" && from != "command line") return from + ": key 'command': " + msg;
  return msg;
}

}  // namespace boxjail

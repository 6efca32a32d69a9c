#include "boxjail/cli.h"

#include <CLI/CLI.hpp>

namespace boxjail {
namespace {

// --help reads like the man page's SYNOPSIS: PROGRAM in the usage line, and
// an optional value shown as [=SIGNAL] rather than CLI11's "{KILL}".
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App*, std::string) const override {
    return "Usage: boxjail [OPTIONS] [--] PROGRAM [ARGS...]\n";
  }
  std::string make_option_name(const CLI::Option* opt, bool positional) const override {
    std::string name = CLI::Formatter::make_option_name(opt, positional);
    size_t brace = name.find('{');
    if (brace != std::string::npos) name = name.substr(0, brace) + "[=SIGNAL]";
    return name;
  }
};

}  // namespace

CliResult parse_cli(int argc, const char* const* argv, Options* out) {
  CliResult res;
  Options o;
  CLI::App app{"Prepare a process (descriptors, limits, process group) and exec PROGRAM.",
               "boxjail"};
  app.footer("Exit status: PROGRAM's, or 125 (boxjail failed), 126 (cannot execute), 127 (not found).\n"
             "See boxjail(1).");
  app.formatter(std::make_shared<HelpFormatter>());
  app.set_version_flag("-V,--version", "boxjail " BOXJAIL_VERSION);
  // Every option with a value takes exactly one word, so that the word after
  // it is never swallowed as a second value (it may be PROGRAM).
  auto value = [&app](const char* names, auto& target, const char* type, const char* help) {
    return app.add_option(names, target, help)->type_name(type)->allow_extra_args(false);
  };
  value("--rlimit", o.rlimits, "NAME=VALUE",
        "Set a resource limit for PROGRAM: SOFT:HARD, SOFT:, :HARD or one value");
  value("--fd", o.fds, "TARGET=SOURCE|N",
        "PROGRAM's descriptor TARGET is boxjail's SOURCE (TARGET>&SOURCE); --fd N keeps N");
  app.add_flag("--keep-fds", o.keep_fds, "Do not close other inherited descriptors");
  app.add_flag("-d,--detach", o.detach, "Start PROGRAM in a new session and exit once it runs");
  app.add_flag("--no-fork", o.no_fork,
               "Apply the plan to boxjail itself and exec PROGRAM in place");
  auto* pidfile = value("-p,--pidfile", o.pidfile, "PATH",
                        "Write PROGRAM's pid and start time to PATH, atomically");
  auto* check_pidfile = value("--check-pidfile", o.check_pidfile, "PATH",
                              "Exit 0 and print the pid if PATH names a live process, else 1");
  auto* status_fd = value("--status-fd", o.status_fd, "N",
                          "Write JSON lines about PROGRAM's start and end to descriptor N");
  auto* die_with_parent =
      app.add_flag("--die-with-parent{KILL}", o.die_with_parent,
                   "PROGRAM gets SIGNAL (default KILL) when boxjail's parent dies; "
                   "a signal is given as --die-with-parent=SIGNAL");
  value("--fs-ro", o.fs_ro, "PATH", "Landlock: PROGRAM may read files and list directories beneath PATH");
  value("--fs-rx", o.fs_rx, "PATH", "Landlock: as --fs-ro, and execute");
  value("--fs-rw", o.fs_rw, "PATH",
        "Landlock: as --fs-ro, and write, truncate, create, remove, rename and link, device ioctls");
  value("--fs-rwx", o.fs_rwx, "PATH", "Landlock: as --fs-rw, and execute");
  app.add_flag("--fs-exec-deps", o.fs_exec_deps,
               "Landlock: read+execute on PROGRAM, its interpreter and its shared libraries");
  value("--net-bind", o.net_bind, "PORT[-PORT]", "Landlock: PROGRAM may bind these TCP ports");
  value("--net-connect", o.net_connect, "PORT[-PORT]",
        "Landlock: PROGRAM may connect to these TCP ports");
  app.add_flag("--net-deny", o.net_deny, "Landlock: no TCP bind or connect at all");
  value("--scope", o.scopes, "unix|signal",
        "Landlock: no abstract unix sockets, or no signals, beyond the sandbox");
  auto* landlock_mode =
      value("--landlock", o.landlock_mode, "MODE",
            "require (default): refuse what the kernel cannot enforce; best-effort: drop it, "
            "with a warning");
  app.add_flag("--landlock-log", o.landlock_log,
               "Landlock: PROGRAM's denials go to the kernel audit log");
  value("--seccomp-deny", o.seccomp_deny, "SYSCALL[:ERRNO],...",
        "seccomp: these calls fail with ERRNO (default EPERM); everything else is allowed");
  value("--seccomp-allow", o.seccomp_allow, "SYSCALL,...",
        "seccomp: an allowlist; every other call gets the --seccomp-default action");
  auto* seccomp_default = value("--seccomp-default", o.seccomp_default, "ACTION",
                                "kill-process (default), trap, log or errno:NAME");
  auto* seccomp_profile = value("--seccomp-profile", o.seccomp_profile, "FILE",
                                "seccomp: allow/deny/default rules from FILE, one per line");
  auto* seccomp_bpf = value("--seccomp-bpf", o.seccomp_bpf, "FILE",
                            "seccomp: load a ready classic-BPF program from FILE");
  app.add_flag("--no-new-privs", o.no_new_privs, "Set PR_SET_NO_NEW_PRIVS for PROGRAM");
  auto* user = value("-u,--user", o.user, "USER[:GROUP]",
                     "Run PROGRAM as USER (name or number), with USER's groups");
  auto* groups = value("--groups", o.groups, "G1,G2", "PROGRAM's supplementary groups (with --user)");
  value("--cap-drop", o.cap_drop, "all|CAP,...", "Remove capabilities, bounding set included");
  value("--cap-keep", o.cap_keep, "CAP,...",
        "Keep capabilities across --user's uid change, as ambient capabilities");
  app.add_flag("--reap", o.reap,
               "Reap every orphan the supervisor adopts (subreaper); end them when PROGRAM ends");
  auto* reap_grace = value("--reap-grace", o.reap_grace, "SECONDS",
                           "Between SIGTERM and SIGKILL for what is left (default 2)");
  app.add_flag("--signal-group", o.signal_group,
               "Forward signals to PROGRAM's process group, and end the group after it");
  auto* chdir = value("--chdir", o.chdir, "DIR", "PROGRAM's working directory");
  app.add_flag("--dry-run", o.dry_run, "Print the launch plan as JSON and exit");
  app.add_flag("-v,--verbose", o.verbose, "More log output (repeatable)");
  app.add_flag("-q,--quiet", o.quiet, "Log errors only");
  auto* log_level =
      value("--log-level", o.log_level, "LEVEL", "trace, debug, info, warn, error or off");
  app.prefix_command();

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
  } catch (const CLI::ParseError& e) {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    std::string msg = e.what();
    // CLI11 names the option; keep the message on one line.
    for (char& c : msg)
      if (c == '\n') c = ' ';
    res.err = msg + " (see boxjail --help)";
    return res;
  }

  o.has_log_level = log_level->count() > 0;
  o.has_landlock_mode = landlock_mode->count() > 0;
  o.has_seccomp_default = seccomp_default->count() > 0;
  o.has_seccomp_profile = seccomp_profile->count() > 0;
  o.has_seccomp_bpf = seccomp_bpf->count() > 0;
  o.has_user = user->count() > 0;
  o.has_reap_grace = reap_grace->count() > 0;
  o.has_chdir = chdir->count() > 0;
  o.has_groups = groups->count() > 0;
  o.has_pidfile = pidfile->count() > 0;
  o.has_check_pidfile = check_pidfile->count() > 0;
  o.has_status_fd = status_fd->count() > 0;
  o.has_die_with_parent = die_with_parent->count() > 0;
  std::vector<std::string> rest = app.remaining();
  size_t first = 0;
  if (!rest.empty() && rest[0] == "--") {
    first = 1;
  } else if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') {
    res.kind = CliResult::kExit;
    res.exit_code = 125;
    res.err = "unknown option '" + rest[0] + "' (see boxjail --help; put PROGRAM after --)";
    return res;
  }
  o.command.assign(rest.begin() + static_cast<std::ptrdiff_t>(first), rest.end());
  *out = std::move(o);
  return res;
}

}  // namespace boxjail

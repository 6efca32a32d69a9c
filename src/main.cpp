// boxjail: parse, validate, launch. See boxjail(1).
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "boxjail/cli.h"
#include "boxjail/features.h"
#include "boxjail/handover.h"
#include "boxjail/help.h"
#include "boxjail/io.h"
#include "boxjail/launch.h"
#include "boxjail/log.h"
#include "boxjail/pidfile.h"
#include "boxjail/plan.h"
#include "boxjail/plan_text.h"
#include "boxjail/seccomp_groups.h"
#include "boxjail/stop.h"
#include "boxjail/sysfacts.h"
#include "boxjail/wait_abi.h"

namespace {

void write_all(int fd, const std::string& s) { boxjail::write_all_quietly(fd, s); }

}  // namespace

int main(int argc, char** argv) {
  using namespace boxjail;
  // A set-user-ID or set-group-ID boxjail would apply a user's plan with
  // someone else's privileges: not supported, refused before anything.
  if (getuid() != geteuid() || getgid() != getegid()) {
    log::error("refusing to run set-user-ID or set-group-ID (real uid " +
               std::to_string(getuid()) + ", effective uid " + std::to_string(geteuid()) +
               "); install boxjail without the setuid and setgid bits");
    return 125;
  }
  // boxjail-wait, once PROGRAM has ended: the end of a supervised box.
  if (argc == 3 && std::string(argv[1]) == BJ_WAIT_RESUME_FLAG) handover::resume(argv[2]);
  Options opts;
  CliResult cli = parse_cli(argc, argv, &opts);
  if (cli.kind == CliResult::kExit) {
    if (cli.exit_code != 0) log::error(cli.err);
    write_all(1, cli.out);
    return cli.exit_code;
  }
  if (opts.has_features) {
    if (!opts.command.empty()) {
      log::error("--features takes no PROGRAM");
      return 125;
    }
    if (opts.features != "text" && opts.features != "json") {
      log::error("--features=" + opts.features + ": unknown format (use text or json)");
      return 125;
    }
    RealSystemFacts sys;
    write_all(1, features_report(sys, opts.features == "json"));
    return 0;
  }
  if (opts.has_list_syscall_groups) {
    if (!opts.command.empty()) {
      log::error("--list-syscall-groups takes no PROGRAM");
      return 125;
    }
    std::string out, err;
    if (!seccomp::list_groups(opts.list_syscall_groups, &out, &err)) {
      log::error(err);
      return 125;
    }
    write_all(1, out);
    return 0;
  }
  if (opts.has_check_pidfile) {
    if (!opts.command.empty()) {
      log::error("--check-pidfile takes no PROGRAM");
      return 125;
    }
    std::string out, err;
    int rc = check_pidfile(opts.check_pidfile, &out, &err);
    if (rc == 125) log::error(err);
    // A stale record of a box that ended by itself: cleaned up (stop.h).
    if (std::string said; rc == 1 && !stop::clean_stale(opts.check_pidfile, "--check-pidfile",
                                                         &said, &err)) {
      log::error(err);
      rc = 125;
    } else if (!said.empty()) {
      log::warn(said);
    }
    write_all(1, out);
    return rc;
  }
  if (opts.has_stop) return stop::run(opts);
  RealSystemFacts sys;
  LaunchPlan plan;
  PlanError err;
  if (!build_plan(opts, sys, getenv("PATH"), environ, &plan, &err)) {
    log::set_level(plan.log_level);
    log::error(attribute_error(opts, err.msg));
    return err.exit_code;
  }
  log::set_level(plan.log_level);
  if (plan.dry_run) {
    if (opts.dry_run_format != "text") {
      write_all(1, plan_to_json(plan));
      return 0;
    }
    std::string text, terr;
    if (!plan_to_text(plan_to_json(plan), help::width_for_stdout(), &text, &terr)) {
      log::error(terr);
      return 125;
    }
    write_all(1, text);
    return 0;
  }
  if (log::level() <= log::Level::kDebug) {
    std::string json = plan_to_json(plan);
    json.pop_back();  // the newline
    log::debug("plan: " + json);
  }
  return launch(plan);
}

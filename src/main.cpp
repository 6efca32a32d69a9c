// boxjail: parse, validate, launch. See boxjail(1).
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "boxjail/cli.h"
#include "boxjail/io.h"
#include "boxjail/launch.h"
#include "boxjail/log.h"
#include "boxjail/pidfile.h"
#include "boxjail/plan.h"
#include "boxjail/sysfacts.h"

namespace {

void write_all(int fd, const std::string& s) { boxjail::write_all_quietly(fd, s); }

}  // namespace

int main(int argc, char** argv) {
  using namespace boxjail;
  Options opts;
  CliResult cli = parse_cli(argc, argv, &opts);
  if (cli.kind == CliResult::kExit) {
    if (cli.exit_code != 0) log::error(cli.err);
    write_all(1, cli.out);
    return cli.exit_code;
  }
  if (!opts.check_pidfile.empty()) {
    if (!opts.command.empty()) {
      log::error("--check-pidfile takes no PROGRAM");
      return 125;
    }
    std::string out, err;
    int rc = check_pidfile(opts.check_pidfile, &out, &err);
    if (rc == 125) log::error(err);
    write_all(1, out);
    return rc;
  }
  RealSystemFacts sys;
  LaunchPlan plan;
  PlanError err;
  if (!build_plan(opts, sys, getenv("PATH"), environ, &plan, &err)) {
    log::set_level(plan.log_level);
    log::error(err.msg);
    return err.exit_code;
  }
  log::set_level(plan.log_level);
  if (plan.dry_run) {
    write_all(1, plan_to_json(plan));
    return 0;
  }
  if (log::level() <= log::Level::kDebug) {
    std::string json = plan_to_json(plan);
    json.pop_back();  // the newline
    log::debug("plan: " + json);
  }
  return launch(plan);
}

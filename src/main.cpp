// boxjail: parse, validate, launch. See boxjail(1).
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "boxjail/cli.h"
#include "boxjail/launch.h"
#include "boxjail/log.h"
#include "boxjail/plan.h"
#include "boxjail/sysfacts.h"

namespace {

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

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

// The whole command line to launch plan (--dry-run semantics, nothing is
// executed): argv is the input split at NUL bytes. No crash; every failure
// is one line with exit 125/126/127; an accepted plan is consistent (argv
// ends in nullptr, limits soft <= hard, the descriptor program reaches the
// requested table) and its limits read back the same through --rlimit.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../tests/fd_model.h"
#include "../tests/unit/fake_system.h"
#include "boxjail/cli.h"
#include "boxjail/log.h"
#include "boxjail/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args = {"boxjail"};
  size_t pos = 0;
  while (pos <= text.size() && args.size() < 48) {
    size_t z = text.find('\0', pos);
    args.push_back(text.substr(pos, z == std::string::npos ? std::string::npos : z - pos));
    if (z == std::string::npos) break;
    pos = z + 1;
  }
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  boxjail::Options o;
  boxjail::CliResult cli = boxjail::parse_cli(static_cast<int>(argv.size()), argv.data(), &o);
  if (cli.kind == boxjail::CliResult::kExit) {
    if (cli.exit_code != 0 && cli.exit_code != 125) abort();
    if (cli.exit_code == 125 &&
        (cli.err.empty() || boxjail::log::printable(cli.err).find('\n') != std::string::npos))
      abort();
    return 0;
  }
  if (o.has_check_pidfile) return 0;  // an action on the file system, not a plan
  boxjail::testing::FakeSystem sys;
  for (int fd = 3; fd < 12; ++fd) sys.open_fds.insert(fd);
  boxjail::LaunchPlan plan;
  boxjail::PlanError err;
  if (!boxjail::build_plan(o, sys, "/usr/bin:/bin", nullptr, &plan, &err)) {
    if (err.exit_code < 125 || err.exit_code > 127) abort();
    if (err.msg.empty() || boxjail::log::printable(err.msg).find('\n') != std::string::npos) abort();
    return 0;
  }
  if (plan.argv.size() != plan.args.size() + 1 || plan.argv.back() != nullptr) abort();
  for (const auto& r : plan.rlimits) {
    if (r.value.rlim_cur > r.value.rlim_max) abort();
    boxjail::RlimitRequest back;
    std::string e;
    std::string spec = std::string(r.info->name) + "=" + boxjail::format_rlim(r.value.rlim_cur) +
                       ":" + boxjail::format_rlim(r.value.rlim_max);
    if (!boxjail::parse_rlimit(spec, &back, &e)) abort();
    if (*back.soft != r.value.rlim_cur || *back.hard != r.value.rlim_max) abort();
  }
  std::vector<boxjail::FdMapping> maps;
  for (const auto& r : plan.fds) maps.push_back(r.map);
  fdmodel::Table t;
  for (int fd : sys.open_fds) t[fd] = {100 + fd, fd > 2};
  if (!fdmodel::check(maps, t).empty()) abort();
  std::string json = boxjail::plan_to_json(plan);
  if (json.empty() || json.back() != '\n') abort();
  return 0;
}

// --fd specs, one per line, through validation and the planner: no crash,
// and every accepted set of mappings is planned into exactly the requested
// descriptor table (checked on the model table).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../tests/fd_model.h"
#include "../tests/unit/fake_system.h"
#include "boxjail/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  boxjail::testing::FakeSystem sys;
  sys.open_fds.clear();
  for (int fd = 0; fd < 24; ++fd)
    if (fd % 5 != 4) sys.open_fds.insert(fd);  // a few holes
  boxjail::Options o;
  size_t pos = 0;
  while (pos <= text.size() && o.fds.size() < 64) {
    size_t nl = text.find('\n', pos);
    o.fds.push_back(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  o.command = {"/bin/true"};
  boxjail::LaunchPlan plan;
  boxjail::PlanError err;
  if (!boxjail::build_plan(o, sys, "/bin", nullptr, &plan, &err)) {
    if (err.msg.rfind("--fd ", 0) != 0 || err.exit_code != 125) abort();
    return 0;
  }
  std::vector<boxjail::FdMapping> maps;
  for (const auto& r : plan.fds) maps.push_back(r.map);
  fdmodel::Table t;
  for (int fd : sys.open_fds) t[fd] = {100 + fd, fd > 2};
  if (!fdmodel::check(maps, t).empty()) abort();
  // Every accepted spec is also accepted in its canonical form.
  for (const auto& r : plan.fds) {
    boxjail::Options one;
    one.fds = {std::to_string(r.map.target) + "=" + std::to_string(r.map.source)};
    one.command = {"/bin/true"};
    boxjail::LaunchPlan p2;
    if (!boxjail::build_plan(one, sys, "/bin", nullptr, &p2, &err)) abort();
  }
  return 0;
}

// A SystemFacts whose answers the test sets.
#pragma once

#include <map>
#include <set>
#include <string>

#include "boxjail/sysfacts.h"

namespace boxjail::testing {

class FakeSystem final : public SystemFacts {
 public:
  FakeSystem() {
    for (int r = 0; r < RLIM_NLIMITS; ++r) limits[r] = {RLIM_INFINITY, RLIM_INFINITY};
    limits[RLIMIT_NOFILE] = {1024, 20000};
    limits[RLIMIT_STACK] = {8u << 20, RLIM_INFINITY};
    limits[RLIMIT_CORE] = {0, RLIM_INFINITY};
  }
  rlimit current_rlimit(int resource) override { return limits[resource]; }
  bool has_cap_sys_resource() override { return cap; }
  uint64_t nr_open() override { return nr_open_value; }
  bool fd_is_open(int fd) override { return open_fds.count(fd) != 0; }
  int landlock_abi() override { return abi; }
  bool has_cap_sys_admin() override { return cap_sys_admin; }
  std::string mountinfo() override { return mountinfo_text; }
  int oom_score_adj() override { return oom; }
  pid_t pid() override { return 4242; }
  pid_t parent_pid() override { return 4000; }
  uid_t euid() override { return euid_value; }
  std::string uid_map() override { return uid_map_text; }

  std::map<int, rlimit> limits;
  bool cap = false;
  int abi = 7;
  std::string mountinfo_text;
  int oom = 0;
  bool cap_sys_admin = false;
  uid_t euid_value = 1000;
  std::string uid_map_text = "         0          0 4294967295\n";
  uint64_t nr_open_value = 1048576;
  std::set<int> open_fds{0, 1, 2};
};

}  // namespace boxjail::testing

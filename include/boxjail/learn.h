// --learn FILE: PROGRAM runs under a filter that sends every call to the
// supervisor (seccomp user notification), which records the call, the
// paths it names with the access asked for, and the TCP ports of connect
// and bind, then lets it continue. When PROGRAM ends, FILE is written as a
// boxjail config (merged with what FILE held) that replays the run under
// enforcement: seccomp-allow, Landlock rules and the network keys, beside
// the flags the run was given.
//
// The recorder enforces nothing and believes PROGRAM's memory, which a
// hostile PROGRAM can change between the read and the call: learning is
// for a trusted run; the replay enforces.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "boxjail/notify.h"

namespace boxjail {

struct Options;

namespace learn {

/// Access kinds of one path.
enum Access : unsigned {
  kRead = 1,    // read a file, list a directory
  kWrite = 2,   // write, truncate, device ioctls
  kExec = 4,    // execute
  kMake = 8,    // a directory in which entries were made or removed
};

/// At most this many paths are recorded.
constexpr size_t kMaxPaths = 65536;

struct Learned {
  std::set<std::string> syscalls;          // names, as libseccomp knows them
  std::set<int> unknown;                   // numbers without a name here
  std::map<std::string, unsigned> paths;   // canonical absolute path → Access
  bool paths_left_out = false;             // more than kMaxPaths were named
  std::set<std::string> per_process;       // /proc/self/... files read
  std::set<unsigned> connect_ports, bind_ports;
  bool inet = false;                       // an AF_INET or AF_INET6 socket
  bool udp = false;                        // ... of type SOCK_DGRAM
  std::set<std::string> other_families;    // neither unix, netlink nor inet
  long calls = 0;
};

/// The notification handler of a learning run: every call continues.
class Learner : public notify::Handler {
 public:
  explicit Learner(pid_t program) : program_(program) {}
  notify::Answer on_call(const notify::Call& c, bool pre_exec) override;
  const Learned& learned() const { return l_; }

 private:
  void path_access(pid_t tid, int dirfd, uint64_t addr, unsigned access, bool parent);
  void sockaddr_of(const notify::Call& c, bool bind);
  pid_t program_;
  Learned l_;
};

/// Landlock rules from paths: each kind of rule, as --fs-ro/-rx/-rw/-rwx
/// would take them. Several files used under one directory become one
/// rule on the directory, except at "/", a home directory (/home, /home/X,
/// /root), and beneath /proc, /sys, /dev and /etc, where only the files
/// seen are named. `notes` gets a line for each path left out.
struct FsRules {
  std::vector<std::string> ro, rx, rw, rwx;
  std::vector<std::string> notes;
};
FsRules fs_rules(const std::map<std::string, unsigned>& paths);

/// The calls every process needs to start and end, allowed even if the
/// run did not make them (exit_group, rt_sigreturn, ...).
const std::vector<std::string>& base_calls();

/// Writes FILE (atomically, mode 0600): what `l` learned merged with what
/// FILE already holds, and every option the run was given
/// (Options::given) but --learn and the ones that only concern one run.
bool write_config(const std::string& file, const Learned& l,
                  const std::vector<std::pair<std::string, std::vector<std::string>>>& given_opts,
                  const std::string& program, std::string* err);

}  // namespace learn
}  // namespace boxjail

#include "boxjail/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>
#include <sstream>
#include <unordered_map>

#include "boxjail/cli.h"
#include "boxjail/log.h"
#include "boxjail/plan.h"

namespace boxjail::cgroup {
namespace {

const char* const kV1Controllers[] = {"cpu",     "cpuacct", "cpuset",   "memory", "devices",
                                      "freezer", "net_cls", "blkio",    "perf_event",
                                      "net_prio", "hugetlb", "pids",    "rdma",   "misc"};

// Reads `path` whole; false with `*err` set when it cannot.
bool read_all(const std::string& path, std::string* out, int* err) {
  out->clear();
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return *err = errno, false;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return *err = errno, false;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

std::string read_text(const std::string& path) {
  std::string s;
  int err = 0;
  read_all(path, &s, &err);
  return s;
}

// Milliseconds since `start` (CLOCK_MONOTONIC).
long ms_since(const timespec& start) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
}

std::vector<std::string> words(const std::string& s, char sep) {
  std::vector<std::string> v;
  std::string w;
  std::istringstream in(s);
  while (std::getline(in, w, sep)) {
    while (!w.empty() && (w.back() == '\n' || w.back() == ' ')) w.pop_back();
    if (!w.empty()) v.push_back(w);
  }
  return v;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool write_text(const std::string& path, const std::string& text, int* err) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    *err = errno;
    return false;
  }
  return true;
}

// Files that hold a byte count: K to E suffixes (powers of 1024) are
// expanded, "max" is passed on (as -1 for a v1 limit_in_bytes file).
bool is_bytes_file(const std::string& f) {
  return f == "memory.max" || f == "memory.high" || f == "memory.low" || f == "memory.min" ||
         f == "memory.swap.max" || f == "memory.limit_in_bytes" ||
         f == "memory.soft_limit_in_bytes" || f == "memory.memsw.limit_in_bytes";
}

bool parse_bytes(const std::string& s, uint64_t* out) {
  size_t i = 0;
  uint64_t v = 0;
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  std::string suffix = s.substr(i);
  static const char kUnits[] = "KMGTPE";
  int shift = 0;
  if (!suffix.empty()) {
    const char* u = strchr(kUnits, suffix[0] >= 'a' ? suffix[0] - 32 : suffix[0]);
    if (!u || !*u) return false;
    shift = 10 * static_cast<int>(u - kUnits + 1);
    std::string rest = suffix.substr(1);
    if (!rest.empty() && rest != "B" && rest != "iB") return false;
  }
  if (shift && v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}

// ---- The clean-up after PROGRAM: who is in the cgroup, and who started it.
//
// A PROGRAM that can write its cgroup's cgroup.procs (uid 0 owns it, no
// capability needed) can move any process it can name into it. Ending every
// member would make boxjail kill that process for it, so only PROGRAM's
// descendants are ended: those whose chain of parents reaches the
// supervisor, a child subreaper with --cgroup, so that every orphan of
// PROGRAM's is re-parented to it and not to init.

// The parent of `pid` (field 4 of /proc/PID/stat: the real parent, not a
// tracer), or -1 with `*err` set.
pid_t parent_of(pid_t pid, int* err) {
  std::string stat;
  if (!read_all("/proc/" + std::to_string(pid) + "/stat", &stat, err)) return -1;
  const size_t close = stat.rfind(')');
  char state = 0;
  long ppid = -1;
  if (close == std::string::npos || sscanf(stat.c_str() + close + 1, " %c %ld", &state, &ppid) != 2)
    return *err = EINVAL, -1;
  return static_cast<pid_t>(ppid);
}

std::string comm_of(pid_t pid) {
  std::string c = read_text("/proc/" + std::to_string(pid) + "/comm");
  while (!c.empty() && c.back() == '\n') c.pop_back();
  return c.empty() ? "?" : c;
}

enum class Origin { kDescendant, kOutsider, kUnknown, kGone };

// Which members were started (through any number of forks) by `self`,
// remembered for one round of the clean-up.
class Lineage {
 public:
  explicit Lineage(pid_t self) : self_(self) {}
  /// `*err`: why it is kUnknown (or kGone).
  Origin of(pid_t pid, int* err) {
    if (pid <= 0 || pid == self_) return Origin::kOutsider;  // not in our pid namespace; us
    // An ancestor that ends while we walk re-parents what is below it (to
    // us, for a descendant): the walk starts again.
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::vector<pid_t> path;
      pid_t p = pid;
      bool descends = false, known = false;
      while (!known && path.size() < 65536) {
        path.push_back(p);
        const pid_t parent = parent_of(p, err);
        if (parent < 0) break;
        if (parent == self_) {
          descends = known = true;
        } else if (parent <= 0) {
          known = true;  // init, or a parent outside our pid namespace
        } else if (auto at = memo_.find(parent); at != memo_.end()) {
          descends = at->second;
          known = true;
        } else {
          p = parent;
        }
      }
      if (known) {
        for (pid_t q : path) memo_[q] = descends;
        return descends ? Origin::kDescendant : Origin::kOutsider;
      }
      if (path.size() == 1) return *err == ENOENT || *err == ESRCH ? Origin::kGone : Origin::kUnknown;
      if (path.size() >= 65536) return *err = ELOOP, Origin::kUnknown;
    }
    return Origin::kUnknown;
  }

 private:
  pid_t self_;
  std::unordered_map<pid_t, bool> memo_;
};

struct Member {
  pid_t pid;
  std::string dir;  // the cgroup it is in
};

// Every process in cgroup `dir` and in the cgroups below it (PROGRAM may
// have made some, and cgroup.kill ends those too), and those cgroups,
// parents first. False when some part could not be read: then the members
// are not all known.
bool scan(const std::string& dir, std::vector<Member>* members, std::vector<std::string>* below,
          std::set<pid_t>* seen) {
  bool complete = true;
  std::string procs;
  int err = 0;
  if (read_all(dir + "/cgroup.procs", &procs, &err)) {
    for (const auto& w : words(procs, '\n')) {
      char* end = nullptr;
      const long pid = strtol(w.c_str(), &end, 10);
      if (*end || !seen->insert(static_cast<pid_t>(pid)).second) continue;
      members->push_back({static_cast<pid_t>(pid), dir});
    }
  } else if (err != ENOENT) {
    complete = false;  // a threaded cgroup's (EOPNOTSUPP), or worse
  }
  DIR* d = opendir(dir.c_str());
  if (!d) return errno == ENOENT && complete;
  std::vector<std::string> subs;
  while (dirent* e = readdir(d))
    if (e->d_type == DT_DIR && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      subs.push_back(dir + "/" + e->d_name);
  closedir(d);
  for (const auto& sub : subs) {
    below->push_back(sub);
    complete &= scan(sub, members, below, seen);
  }
  return complete;
}

long pidfd_open(pid_t pid) { return syscall(SYS_pidfd_open, pid, 0); }
long pidfd_kill(int pidfd) { return syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0); }

// Waits up to `ms` for the processes behind `pidfds` to end (a pidfd polls
// readable once its process has exited).
void wait_exits(std::vector<UniqueFd>* pidfds, int ms) {
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  std::vector<pollfd> pfds;
  for (const auto& fd : *pidfds) pfds.push_back({fd.get(), POLLIN, 0});
  while (!pfds.empty()) {
    const long spent = ms_since(start);
    if (spent >= ms || poll(pfds.data(), pfds.size(), static_cast<int>(ms - spent)) == 0) break;
    pfds.erase(std::remove_if(pfds.begin(), pfds.end(),
                              [](const pollfd& p) { return p.revents != 0; }),
               pfds.end());
  }
  pidfds->clear();
}

bool at_or_above(const std::string& dir, const std::string& inner) {
  return inner == dir || (inner.size() > dir.size() && inner.compare(0, dir.size(), dir) == 0 &&
                          inner[dir.size()] == '/');
}

// rmdir, retried for a moment: an emptied cgroup can take one to be
// removable.
void remove_dir(const std::string& dir) {
  for (int i = 0; i < 100 && rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
    timespec ts{0, 10 * 1000000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace

std::vector<Hierarchy> parse_mountinfo(const std::string& mountinfo) {
  std::vector<Hierarchy> v2, v1;
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> pre = words(line.substr(0, dash), ' ');
    std::vector<std::string> post = words(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    Hierarchy h;
    h.mount = pre[4];
    if (post[0] == "cgroup2") {
      h.v2 = true;  // its controllers are read when a setting needs them
      v2.push_back(h);
    } else if (post[0] == "cgroup") {
      for (const auto& opt : words(post[2], ','))
        for (const char* c : kV1Controllers)
          if (opt == c) h.controllers.push_back(opt);
      if (!h.controllers.empty()) v1.push_back(h);
    }
  }
  v2.insert(v2.end(), v1.begin(), v1.end());
  return v2;
}

void read_v2_controllers(std::vector<Hierarchy>* all) {
  for (auto& h : *all)
    if (h.v2) h.controllers = words(read_text(h.mount + "/cgroup.controllers"), ' ');
}

bool check(const Options& o, const std::string& mountinfo, CgroupPlan* plan, std::string* err) {
  if (!o.has_cgroup) {
    if (!o.cgroup_set.empty())
      return *err = "--cgroup-set needs --cgroup (the cgroup to set it in)", false;
    return true;
  }
  const std::string& spec = o.cgroup;
  plan->spec = spec;
  std::vector<Hierarchy> all = parse_mountinfo(mountinfo);
  if (!o.cgroup_set.empty()) read_v2_controllers(&all);
  if (spec.empty()) return *err = "--cgroup: empty path", false;
  for (const auto& part : words(spec, '/'))
    if (part == ".." || part == ".")
      return *err = "--cgroup " + spec + ": '" + part + "' is not allowed in a cgroup path", false;

  // The settings' controllers: the prefix of each file's name.
  struct Want {
    std::string spec, file, value, controller;
  };
  std::vector<Want> wants;
  for (const auto& s : o.cgroup_set) {
    size_t eq = s.find('=');
    std::string file = s.substr(0, eq);
    if (eq == std::string::npos || file.empty() || eq + 1 >= s.size() ||
        file.find('/') != std::string::npos || file.find('.') == std::string::npos)
      return *err = "--cgroup-set " + s + ": expected FILE=VALUE, such as pids.max=64", false;
    std::string value = s.substr(eq + 1);
    if (is_bytes_file(file) && value != "max") {
      uint64_t bytes = 0;
      if (!parse_bytes(value, &bytes))
        return *err = "--cgroup-set " + s + ": '" + value +
                      "' is not a byte count (a number with an optional K, M, G, T, P or E "
                      "suffix, or max)",
               false;
      value = std::to_string(bytes);
    }
    wants.push_back({s, file, value, file.substr(0, file.find('.'))});
  }

  auto available = [](const Hierarchy& h, const std::string& c) {
    return has(h.controllers, c) || (h.v2 && c == "cgroup");
  };
  if (spec[0] == '/') {
    // Absolute: one hierarchy, the one it is inside.
    const Hierarchy* in = nullptr;
    for (const auto& h : all)
      if (spec.size() > h.mount.size() && spec.compare(0, h.mount.size(), h.mount) == 0 &&
          spec[h.mount.size()] == '/')
        in = &h;
    if (!in)
      return *err = "--cgroup " + spec + ": not inside a mounted cgroup hierarchy (see "
                                          "/proc/self/mountinfo)",
             false;
    plan->places.push_back({*in, spec, {}});
  } else {
    const Hierarchy* v2 = nullptr;
    for (const auto& h : all)
      if (h.v2) v2 = &h;
    if (v2) plan->places.push_back({*v2, v2->mount + "/" + spec, {}});
    for (const auto& w : wants) {
      if (v2 && available(*v2, w.controller)) continue;
      bool placed = false;
      for (const auto& p : plan->places) placed |= available(p.hierarchy, w.controller);
      if (placed) continue;
      for (const auto& h : all) {
        if (h.v2 || !has(h.controllers, w.controller)) continue;
        plan->places.push_back({h, h.mount + "/" + spec, {}});
        placed = true;
        break;
      }
    }
    if (plan->places.empty())
      return *err = "--cgroup " + spec + ": no cgroup v2 hierarchy is mounted; on a v1 host, name "
                                         "a controller with --cgroup-set",
             false;
  }
  for (const auto& w : wants) {
    size_t at = plan->places.size();
    for (size_t i = 0; i < plan->places.size(); ++i)
      if (available(plan->places[i].hierarchy, w.controller)) {
        at = i;
        break;
      }
    if (at == plan->places.size())
      return *err = "--cgroup-set " + w.spec + ": the " + w.controller +
                    " controller is not available to " + spec +
                    " (not in the cgroup v2 hierarchy's cgroup.controllers, not mounted as a v1 "
                    "hierarchy); delegate it to this cgroup's parent, or mount it",
             false;
    Place& p = plan->places[at];
    std::string value = w.value;
    if (!p.hierarchy.v2 && w.value == "max" && w.file.find("limit_in_bytes") != std::string::npos)
      value = "-1";
    if (p.hierarchy.v2 && w.controller != "cgroup" && !has(p.enable, w.controller))
      p.enable.push_back(w.controller);
    plan->settings.push_back({w.spec, w.file, value, at});
  }
  plan->active = true;
  return true;
}

std::string to_json(const CgroupPlan& plan) {
  std::string j = "{\"path\":";
  json_escape(&j, plan.spec);
  j += ",\"hierarchies\":[";
  for (size_t i = 0; i < plan.places.size(); ++i) {
    const Place& p = plan.places[i];
    if (i) j += ',';
    j += "{\"version\":" + std::string(p.hierarchy.v2 ? "2" : "1") + ",\"mount\":";
    json_escape(&j, p.hierarchy.mount);
    j += ",\"dir\":";
    json_escape(&j, p.dir);
    struct stat st {};
    j += ",\"exists\":";
    j += stat(p.dir.c_str(), &st) == 0 ? "true" : "false";
    j += ",\"enable\":[";
    for (size_t k = 0; k < p.enable.size(); ++k) {
      if (k) j += ',';
      json_escape(&j, p.enable[k]);
    }
    j += "],\"join\":";
    j += p.hierarchy.v2 ? "\"clone3 CLONE_INTO_CGROUP, else cgroup.procs\"" : "\"cgroup.procs\"";
    j += '}';
  }
  j += "],\"settings\":[";
  for (size_t i = 0; i < plan.settings.size(); ++i) {
    const Setting& s = plan.settings[i];
    if (i) j += ',';
    j += "{\"file\":";
    json_escape(&j, plan.places[s.place].dir + "/" + s.file);
    j += ",\"value\":";
    json_escape(&j, s.value);
    j += '}';
  }
  j += "]}";
  return j;
}

CgroupRuntime::~CgroupRuntime() { remove_created(); }

bool CgroupRuntime::prepare(const CgroupPlan& plan, bool will_leave, std::string* err) {
  plan_ = &plan;
  // Where we are now in each hierarchy, to come back to (--no-fork only).
  const std::string self = will_leave ? read_text("/proc/self/cgroup") : "";
  for (const Place& p : plan.places) {
    if (!will_leave) break;
    std::string origin = p.hierarchy.mount;
    for (const auto& line : words(self, '\n')) {
      size_t a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      std::string ctrls = line.substr(a + 1, b - a - 1);
      bool match = p.hierarchy.v2 ? ctrls.empty() : false;
      for (const auto& c : words(ctrls, ',')) match |= has(p.hierarchy.controllers, c);
      if (match) origin = p.hierarchy.mount + (line.substr(b + 1) == "/" ? "" : line.substr(b + 1));
    }
    origins_.push_back(origin);
  }
  for (const Place& p : plan.places) {
    // Create what is missing, from the hierarchy's root down.
    std::string path = p.hierarchy.mount;
    std::vector<std::string> levels;
    for (const auto& part : words(p.dir.substr(p.hierarchy.mount.size()), '/')) {
      path += "/" + part;
      levels.push_back(path);
      if (mkdir(path.c_str(), 0755) == 0) {
        created_.push_back(path);
      } else if (errno != EEXIST) {
        *err = "--cgroup " + plan.spec + ": creating " + path + ": " + std::strerror(errno);
        return false;
      }
    }
    // v2: enable the controllers the settings need, on the way down, only
    // where they are missing (a partly delegated host works).
    std::string parent = p.hierarchy.mount;
    for (size_t i = 0; i + 1 <= levels.size(); ++i) {
      const std::vector<std::string> on = words(read_text(parent + "/cgroup.subtree_control"), ' ');
      for (const auto& c : p.enable) {
        if (has(on, c)) continue;
        int e = 0;
        if (!write_text(parent + "/cgroup.subtree_control", "+" + c, &e)) {
          *err = "--cgroup " + plan.spec + ": enabling the " + c + " controller in " + parent +
                 "/cgroup.subtree_control: " + std::strerror(e) +
                 (e == EBUSY ? " (that cgroup has processes in it, boxjail's own perhaps, and "
                               "cgroup v2 lets only an empty cgroup pass this controller on: "
                               "use a PATH outside it, or set the limit on it, such as a "
                               "unit's MemoryMax=)"
                             : "");
          return false;
        }
      }
      parent = levels[i];
    }
  }
  for (const Setting& s : plan.settings) {
    const std::string file = plan.places[s.place].dir + "/" + s.file;
    int e = 0;
    if (!write_text(file, s.value, &e)) {
      *err = "--cgroup-set " + s.spec + ": " +
             (e == ENOENT ? "there is no " + file
                          : "the kernel refused " + s.value + " for " + file + ": " +
                                std::strerror(e));
      return false;
    }
  }
  for (const Place& p : plan.places) {
    UniqueFd procs(open((p.dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!procs.valid()) {
      *err = "--cgroup " + plan.spec + ": " + p.dir + "/cgroup.procs: " + std::strerror(errno);
      return false;
    }
    if (p.hierarchy.v2) {
      v2_dir_.reset(open(p.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      v2_procs_ = std::move(procs);
    } else {
      v1_procs_.push_back(std::move(procs));
    }
  }
  return true;
}

std::vector<int> CgroupRuntime::procs_fds(bool with_v2) const {
  std::vector<int> v;
  for (const auto& fd : v1_procs_) v.push_back(fd.get());
  if (with_v2 && v2_procs_.valid()) v.push_back(v2_procs_.get());
  return v;
}

std::vector<UniqueFd*> CgroupRuntime::fds() {
  std::vector<UniqueFd*> v = {&v2_dir_, &v2_procs_};
  for (auto& fd : v1_procs_) v.push_back(&fd);
  return v;
}

void CgroupRuntime::release_fds() {
  v2_dir_.reset();
  v2_procs_.reset();
  v1_procs_.clear();
}

Usage CgroupRuntime::finish(bool want_usage) {
  Usage u;
  if (!plan_) return u;
  auto number = [](const std::string& path) -> int64_t {
    std::string t = read_text(path);
    return t.empty() || t[0] < '0' || t[0] > '9' ? -1 : std::stoll(t);
  };
  for (const Place& p : plan_->places) {
    if (!want_usage) break;
    if (p.hierarchy.v2) {
      u.peak_memory = std::max(u.peak_memory, number(p.dir + "/memory.peak"));
      std::string stat = read_text(p.dir + "/cpu.stat");
      size_t at = stat.find("usage_usec ");
      if (at != std::string::npos) u.cpu_usec = std::stoll(stat.substr(at + 11));
    } else {
      if (has(p.hierarchy.controllers, "memory"))
        u.peak_memory = std::max(u.peak_memory, number(p.dir + "/memory.max_usage_in_bytes"));
      if (has(p.hierarchy.controllers, "cpuacct")) {
        int64_t ns = number(p.dir + "/cpuacct.usage");
        if (ns >= 0) u.cpu_usec = ns / 1000;
      }
    }
    u.peak_pids = std::max(u.peak_pids, number(p.dir + "/pids.peak"));
  }
  for (const Place& p : plan_->places)
    if (has(created_, p.dir)) end_descendants(p);
  release_fds();
  remove_created();
  return u;
}

void CgroupRuntime::end_descendants(const Place& p) {
  const pid_t self = getpid();
  const bool proc = access("/proc/self/stat", R_OK) == 0;
  bool use_pidfds = true;
  std::vector<Member> members, left;
  std::vector<std::string> below;
  std::vector<int> left_errs;
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int round = 0;; ++round) {
    members.clear();
    below.clear();
    left.clear();
    left_errs.clear();
    std::set<pid_t> seen;
    const bool complete = scan(p.dir, &members, &below, &seen);
    if (!members.empty() && !proc) {
      log::warn("--cgroup " + plan_->spec + ": /proc cannot be read, so boxjail cannot tell " +
                "PROGRAM's processes from others in " + p.dir + ": none was killed, and the " +
                "cgroup stays");
      busy_.push_back(p.dir);
      return;
    }
    Lineage lineage(self);
    std::vector<UniqueFd> pidfds;  // of the descendants
    std::vector<pid_t> plain;      // descendants without a pidfd
    for (const Member& m : members) {
      // The pidfd first, then the check: if the process behind it is still
      // there when it is signalled, its pid was not reused in between, so
      // the check was about that very process.
      UniqueFd pidfd;
      if (use_pidfds) {
        long fd = pidfd_open(m.pid);
        if (fd >= 0) {
          pidfd.reset(static_cast<int>(fd));
        } else if (errno == ESRCH) {
          continue;  // gone already
        } else if (errno == ENOSYS || errno == EPERM) {
          use_pidfds = false;  // before Linux 5.3, or filtered: kill() by pid
          log::debug(std::string("pidfd_open: ") + std::strerror(errno) + "; using kill()");
        }
      }
      int err = 0;
      switch (lineage.of(m.pid, &err)) {
        case Origin::kGone:
          break;
        case Origin::kDescendant:
          if (pidfd.valid())
            pidfds.push_back(std::move(pidfd));
          else
            plain.push_back(m.pid);
          break;
        case Origin::kOutsider:
          left.push_back(m);
          left_errs.push_back(0);
          break;
        case Origin::kUnknown:
          left.push_back(m);
          left_errs.push_back(err ? err : EIO);
          break;
      }
    }
    if (pidfds.empty() && plain.empty()) break;
    const long spent_ms = ms_since(start);
    if (round >= 200 || spent_ms >= 2000) {  // bounded as before
      log::warn("--cgroup " + plan_->spec + ": " + std::to_string(pidfds.size() + plain.size()) +
                " processes PROGRAM started are still in " + p.dir + " after " +
                std::to_string(spent_ms) + " ms of SIGKILL");
      break;
    }
    // After the first round's kills, a v2 cgroup whose every member is
    // PROGRAM's is ended whole: cgroup.kill also catches what forks in the
    // meantime. Not in the first round: a descendant still running then
    // could move an outside process in between our read and the write.
    int e = 0;
    if (round > 0 && p.hierarchy.v2 && complete && left.empty())
      write_text(p.dir + "/cgroup.kill", "1", &e);
    for (auto it = pidfds.begin(); it != pidfds.end();)
      it = pidfd_kill(it->get()) == 0 ? it + 1 : pidfds.erase(it);
    for (pid_t pid : plain) kill(pid, SIGKILL);
    if (plain.empty()) {
      wait_exits(&pidfds, 50);
    } else {
      timespec ts{0, 10 * 1000000};
      nanosleep(&ts, nullptr);
    }
    // The supervisor adopted them: reap them.
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  for (size_t i = 0; i < left.size(); ++i) {
    const Member& m = left[i];
    const std::string who = "pid " + std::to_string(m.pid) + " (" + comm_of(m.pid) + ") in " + m.dir;
    const std::string stays = "; the cgroup stays (a cgroup with a process in it cannot be removed)";
    if (m.pid == self)
      log::warn("--cgroup " + plan_->spec + ": " + who + " is boxjail's supervisor, moved in " +
                "after PROGRAM started" + stays);
    else if (left_errs[i])
      log::warn("--cgroup " + plan_->spec + ": " + who + ": cannot tell whether PROGRAM started " +
                "it (/proc/" + std::to_string(m.pid) + "/stat: " + std::strerror(left_errs[i]) +
                "), so it was not killed" + stays);
    else
      log::warn("--cgroup " + plan_->spec + ": " + who + " was not started by PROGRAM (it was " +
                "moved in from outside) and was not killed" + stays);
    busy_.push_back(m.dir);
  }
  // The cgroups PROGRAM made below ours: deepest first, as ours.
  for (auto it = below.rbegin(); it != below.rend(); ++it)
    if (!std::any_of(busy_.begin(), busy_.end(),
                     [&](const std::string& b) { return at_or_above(*it, b); }))
      remove_dir(*it);
}

void CgroupRuntime::signal_descendants(int sig, pid_t except_pid, pid_t except_pgid) {
  if (!plan_) return;
  Lineage lineage(getpid());
  std::set<pid_t> seen;  // a process is in one cgroup of every hierarchy
  for (const Place& p : plan_->places) {
    std::vector<Member> members;
    std::vector<std::string> below;
    scan(p.dir, &members, &below, &seen);
    for (const Member& m : members) {
      if (m.pid == except_pid || (except_pgid > 0 && getpgid(m.pid) == except_pgid)) continue;
      // The pidfd first, then the check, as in end_descendants().
      const long fd = pidfd_open(m.pid);
      if (fd < 0 && errno == ESRCH) continue;
      UniqueFd pidfd(fd >= 0 ? static_cast<int>(fd) : -1);
      int err = 0;
      if (lineage.of(m.pid, &err) != Origin::kDescendant) continue;
      if (pidfd.valid())
        syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0);
      else
        kill(m.pid, sig);
    }
  }
}

void CgroupRuntime::leave_and_remove() {
  if (!plan_) return;
  for (size_t i = 0; i < plan_->places.size() && i < origins_.size(); ++i) {
    int e = 0;
    write_text(origins_[i] + "/cgroup.procs", "0", &e);
  }
  release_fds();
  remove_created();
}

void CgroupRuntime::remove_created() {
  // Deepest first. A cgroup that still holds a process boxjail left alone
  // (and every cgroup above it) cannot go: not tried, not waited for.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it)
    if (!std::any_of(busy_.begin(), busy_.end(),
                     [&](const std::string& b) { return at_or_above(*it, b); }))
      remove_dir(*it);
  created_.clear();
  busy_.clear();
}

}  // namespace boxjail::cgroup

#include "boxjail/cgroup.h"
#include "boxjail/wire.h"

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

#include "boxjail/cgroup_v1.h"
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

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

bool write_text(const std::string& path, const std::string& text, int* err) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    *err = errno;
    return false;
  }
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

namespace {

// A mountinfo field with its octal escapes (\040 for a space) undone.
std::string unescape(const std::string& s) {
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      o += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      o += s[i];
    }
  }
  return o;
}

// How well a mount of a hierarchy suits: 2 for the whole hierarchy (mount
// root "/") at the conventional place, 1 for the whole hierarchy elsewhere
// (a chroot's rbind of /sys, a bind mount), 0 for a part of it.
int rank(const std::string& root, const std::string& mount) {
  if (root != "/") return 0;
  return mount == "/sys/fs/cgroup" || mount.rfind("/sys/fs/cgroup/", 0) == 0 ? 2 : 1;
}

// The N of line "KEY N" (memory.events, pids.events, memory.oom_control),
// or -1.
int64_t field(const std::string& text, const std::string& key) {
  for (const auto& line : words(text, '\n'))
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ' ')
      return strtoll(line.c_str() + key.size() + 1, nullptr, 10);
  return -1;
}

int64_t number_in(const std::string& path) {
  const std::string t = read_text(path);
  return t.empty() || t[0] < '0' || t[0] > '9' ? -1 : strtoll(t.c_str(), nullptr, 10);
}

std::string first_line(const std::string& path) {
  std::string t = read_text(path);
  return t.substr(0, t.find('\n'));
}

}  // namespace

CgroupRuntime::Counts CgroupRuntime::counts_of(const Place& p) {
  Counts c;
  const bool memory = p.hierarchy.v2 || has(p.hierarchy.controllers, "memory");
  const bool pids = p.hierarchy.v2 || has(p.hierarchy.controllers, "pids");
  if (p.hierarchy.v2 && memory) {
    // Hierarchical: what happened below counts too. "oom": the limit was
    // reached and reclaim could not make room; "oom_kill": the OOM
    // killer, for any reason, ended a process in it.
    const std::string ev = read_text(p.dir + "/memory.events");
    c.oom_kills = field(ev, "oom_kill");
    c.limit_hits = field(ev, "oom");
  } else if (memory) {
    // v1: oom_kill since Linux 4.13; failcnt counts the times the usage
    // reached memory.limit_in_bytes.
    c.oom_kills = field(read_text(p.dir + "/memory.oom_control"), "oom_kill");
    c.limit_hits = number_in(p.dir + "/memory.failcnt");
    // Some kernels keep failcnt at 0 (6.18 here): the peak at the limit
    // (memory, or memory and swap) says it too.
    for (const char* f : {"/memory.", "/memory.memsw."}) {
      const int64_t peak = number_in(p.dir + f + "max_usage_in_bytes");
      const int64_t limit = number_in(p.dir + f + "limit_in_bytes");
      if (c.limit_hits == 0 && peak >= 0 && limit > 0 && peak + 65536 >= limit) c.limit_hits = 1;
    }
  }
  if (pids) c.pids_max = field(read_text(p.dir + "/pids.events"), "max");
  return c;
}

std::vector<Hierarchy> parse_mountinfo(const std::string& mountinfo) {
  // One mount per superblock (field 3, MAJOR:MINOR): the best ranked, the
  // first of equals. The mount points are relative to this process's root,
  // and the kernel lists no mount outside it.
  struct Seen {
    std::string dev;
    int rank;
    size_t line;  // of the chosen mount
    Hierarchy h;
  };
  std::vector<Seen> seen;
  std::istringstream in(mountinfo);
  std::string line;
  for (size_t n = 0; std::getline(in, line); ++n) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> pre = words(line.substr(0, dash), ' ');
    std::vector<std::string> post = words(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    Hierarchy h;
    h.root = unescape(pre[3]);
    h.mount = unescape(pre[4]);
    if (post[0] == "cgroup2") {
      h.v2 = true;  // its controllers are read when a setting needs them
    } else if (post[0] == "cgroup") {
      for (const auto& opt : words(post[2], ','))
        for (const char* c : kV1Controllers)
          if (opt == c) h.controllers.push_back(opt);
      if (h.controllers.empty()) continue;  // name=systemd and the like
    } else {
      continue;
    }
    const int r = rank(h.root, h.mount);
    auto at = std::find_if(seen.begin(), seen.end(), [&](const Seen& s) { return s.dev == pre[2]; });
    if (at == seen.end())
      seen.push_back({pre[2], r, n, h});
    else if (r > at->rank)
      *at = {pre[2], r, n, h};
  }
  // In the order of the chosen mounts.
  std::stable_sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) { return a.line < b.line; });
  std::vector<Hierarchy> v2, v1;
  for (auto& s : seen) (s.h.v2 ? v2 : v1).push_back(std::move(s.h));
  v2.insert(v2.end(), v1.begin(), v1.end());
  return v2;
}

void read_v2_controllers(std::vector<Hierarchy>* all) {
  for (auto& h : *all)
    if (h.v2) h.controllers = words(read_text(h.mount + "/cgroup.controllers"), ' ');
}

std::string setting_flags(const CgroupPlan& plan, const std::string& controller) {
  std::string s;
  std::vector<std::string> done;
  for (const auto& st : plan.settings) {
    const std::string given = st.from.empty() ? st.file : st.from;
    if (controller_of(given) != controller || has(done, st.spec)) continue;
    done.push_back(st.spec);
    s += (s.empty() ? "--cgroup-set " : ", --cgroup-set ") + st.spec;
  }
  return s;
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

  std::vector<Request> wants;
  for (const auto& s : o.cgroup_set) {
    size_t eq = s.find('=');
    std::string file = s.substr(0, eq);
    if (eq == std::string::npos || file.empty() || eq + 1 >= s.size() ||
        file.find('/') != std::string::npos || file.find('.') == std::string::npos)
      return *err = "--cgroup-set " + s + ": expected FILE=VALUE, such as pids.max=64", false;
    wants.push_back({s, file, s.substr(eq + 1)});
  }

  // Whether hierarchy `h` holds what a file of `controller` sets: v2 by
  // its own names (and the core cgroup.* files), v1 by the v1 names.
  auto available = [](const Hierarchy& h, const std::string& c) {
    return h.v2 ? has(h.controllers, c) || c == "cgroup" : has(h.controllers, v1_controller(c));
  };
  std::string rel;  // the cgroup's path below each hierarchy's root
  if (spec[0] == '/') {
    // Absolute: the hierarchy it is inside; other hierarchies a setting
    // needs get the same relative path.
    const Hierarchy* in = nullptr;
    for (const auto& h : all)
      if (spec.size() > h.mount.size() && spec.compare(0, h.mount.size(), h.mount) == 0 &&
          spec[h.mount.size()] == '/')
        in = &h;
    if (!in)
      return *err = "--cgroup " + spec + ": not inside a mounted cgroup hierarchy (see "
                                          "/proc/self/mountinfo)",
             false;
    rel = spec.substr(in->mount.size() + 1);
    while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
    plan->places.push_back({*in, spec, {}, "--cgroup"});
  } else {
    rel = spec;
    const Hierarchy* v2 = nullptr;
    for (const auto& h : all)
      if (h.v2 && !v2) v2 = &h;
    if (v2) plan->places.push_back({*v2, v2->mount + "/" + spec, {}, "--cgroup"});
  }
  for (const auto& w : wants) {
    const std::string c = controller_of(w.file);
    size_t at = plan->places.size();
    for (size_t i = 0; i < plan->places.size() && at == plan->places.size(); ++i)
      if (available(plan->places[i].hierarchy, c)) at = i;
    if (at == plan->places.size()) {
      // Another hierarchy has it: the same path there.
      for (const auto& h : all) {
        if (!available(h, c)) continue;
        plan->places.push_back(
            {h, h.mount + "/" + rel, {},
             "--cgroup-set " + w.spec + ": " + rel + " in the " +
                 (h.v2 ? std::string("cgroup v2") : joined(h.controllers)) + " hierarchy" +
                 (spec[0] == '/' ? ", the same path as --cgroup's" : "")});
        break;
      }
    }
    if (at == plan->places.size())
      return *err = "--cgroup-set " + w.spec + ": the " + c +
                    (c == "io" ? " (blkio on cgroup v1)" : "") +
                    " controller is not available to " + spec +
                    " (not in the cgroup v2 hierarchy's cgroup.controllers, not mounted as a v1 "
                    "hierarchy); delegate it to this cgroup's parent, or mount it",
             false;
    Place& p = plan->places[at];
    std::vector<Write> writes;
    if (p.hierarchy.v2) {
      Write one;
      if (!for_v2(w, &one, err)) return false;
      writes.push_back(one);
      if (c != "cgroup" && !has(p.enable, c)) p.enable.push_back(c);
    } else if (!for_v1(w, wants, &writes, err)) {
      return false;
    }
    for (const auto& wr : writes) plan->settings.push_back({w.spec, wr.file, wr.value, at, wr.from, wr.note});
  }
  if (plan->places.empty())
    return *err = "--cgroup " + spec + ": no cgroup v2 hierarchy is mounted; on a v1 host, name "
                                       "a controller with --cgroup-set",
           false;
  // v1 counts memory and swap together, never less than memory alone: the
  // memory limit goes first (prepare() handles one that must follow).
  std::stable_partition(plan->settings.begin(), plan->settings.end(), [](const Setting& s) {
    return s.file != "memory.memsw.limit_in_bytes";
  });
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
    j += ",\"why\":";
    json_escape(&j, p.why);
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
    j += ",\"given\":";
    json_escape(&j, s.spec);
    if (!s.from.empty()) {
      j += ",\"translated_from\":";
      json_escape(&j, s.from);
    }
    if (!s.note.empty()) {
      j += ",\"note\":";
      json_escape(&j, s.note);
    }
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
      // The path is from the hierarchy's root; the mount shows its `root`.
      std::string in = line.substr(b + 1);
      const std::string& root = p.hierarchy.root;
      if (root != "/" && at_or_above(root, in)) in = in.substr(root.size());
      if (match) origin = p.hierarchy.mount + (in == "/" ? "" : in);
    }
    origins_.push_back(origin);
  }
  // cgroup v2 passes no controller on from a cgroup with a process in it
  // (the no-internal-process rule). A threaded controller (pids, cpu) is
  // enabled there all the same, but the new child is then "domain
  // invalid", and joining it fails with EOPNOTSUPP. Where the cgroup holds
  // boxjail alone (the shape of a Delegate=yes unit), boxjail moves into a
  // leaf of its own first, as nsjail does; with any other process in it,
  // it refuses before it changes anything.
  for (const Place& p : plan.places) {
    if (!p.hierarchy.v2 || p.enable.empty()) continue;
    std::string level = p.hierarchy.mount;  // the root cgroup is exempt
    for (const auto& part : words(p.dir.substr(p.hierarchy.mount.size()), '/')) {
      const std::string below = level + "/" + part;
      if (level != p.hierarchy.mount && level != moved_from_) {
        const std::vector<std::string> on = words(read_text(level + "/cgroup.subtree_control"), ' ');
        std::string missing;
        for (const auto& c : p.enable)
          if (!has(on, c)) missing += (missing.empty() ? "" : ",") + c;
        const std::vector<std::string> procs = words(read_text(level + "/cgroup.procs"), '\n');
        const std::string me = std::to_string(getpid());
        if (!missing.empty() && !procs.empty()) {
          if (procs.size() != 1 || procs[0] != me) {
            std::string others;
            for (const auto& pid : procs)
              if (pid != me) others += (others.empty() ? "" : ", ") + pid;
            *err = "--cgroup " + plan.spec + ": " + level + " has processes in it besides boxjail (" +
                   others + "), and cgroup v2 passes no controller (" + missing +
                   ") on from a cgroup with processes: start boxjail as that cgroup's only "
                   "process (a unit's ExecStart= with no shell around it), use a PATH outside "
                   "it, or set the limit on " + level + " itself (a unit's TasksMax=, MemoryMax=)";
            return false;
          }
          const std::string leaf = level + "/boxjail-supervisor." + me;
          int e = 0;
          if (mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
            *err = "--cgroup " + plan.spec + ": creating " + leaf +
                   " to move boxjail out of " + level + ": " + std::strerror(errno);
            return false;
          }
          created_.push_back(leaf);
          if (!write_text(leaf + "/cgroup.procs", "0", &e)) {
            *err = "--cgroup " + plan.spec + ": moving boxjail into " + leaf + ": " +
                   std::strerror(e);
            return false;
          }
          moved_from_ = level;
          moved_leaf_ = leaf;
          // --no-fork's way back, after a failed step, is the leaf.
          for (size_t i = 0; i < plan.places.size() && i < origins_.size(); ++i)
            if (plan.places[i].hierarchy.v2 && origins_[i] == level) origins_[i] = leaf;
        }
      }
      if (access(below.c_str(), F_OK) != 0) break;  // created empty below here
      level = below;
    }
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
        if (write_text(parent + "/cgroup.subtree_control", "+" + c, &e)) {
          enabled_.emplace_back(parent, c);
        } else {
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
    // v1 cpuset: a new cgroup starts with no CPUs and no memory nodes, and
    // no process can join it so. It gets its parent's, as with
    // cgroup.clone_children; --cgroup-set cpuset.cpus narrows them after.
    if (!p.hierarchy.v2 && has(p.hierarchy.controllers, "cpuset")) {
      std::string up = p.hierarchy.mount;
      for (const auto& level : levels) {
        for (const char* f : {"/cpuset.cpus", "/cpuset.mems"}) {
          int e = 0;
          const std::string mine = read_text(level + f);
          if (has(created_, level) && (mine.empty() || mine == "\n") &&
              !write_text(level + f, read_text(up + f), &e)) {
            *err = "--cgroup " + plan.spec + ": copying " + up + f + " to " + level + f + ": " +
                   std::strerror(e);
            return false;
          }
        }
        up = level;
      }
    }
  }
  std::vector<bool> written(plan.settings.size(), false);
  auto write_setting = [&](size_t i, int* e) {
    const Setting& s = plan.settings[i];
    return written[i] = write_text(plan.places[s.place].dir + "/" + s.file, s.value, e);
  };
  for (size_t i = 0; i < plan.settings.size(); ++i) {
    if (written[i]) continue;
    const Setting& s = plan.settings[i];
    const std::string file = plan.places[s.place].dir + "/" + s.file;
    int e = 0;
    bool ok = write_setting(i, &e);
    if (!ok && e == EINVAL && s.file == "memory.limit_in_bytes") {
      // v1 keeps memory.memsw.limit_in_bytes at or above this limit: a
      // raise past the current one writes the new one first.
      for (size_t k = i + 1; k < plan.settings.size(); ++k)
        if (plan.settings[k].place == s.place &&
            plan.settings[k].file == "memory.memsw.limit_in_bytes" && write_setting(k, &e)) {
          ok = write_setting(i, &e);
          break;
        }
    }
    if (!ok) {
      std::string hint;
      if (e == ENOENT && s.file == "memory.memsw.limit_in_bytes")
        hint = " (the kernel keeps no swap account: boot it with swapaccount=1)";
      else if (e == ENOENT && s.file == "blkio.weight")
        hint = " (Linux 5.0 removed CFQ, the I/O scheduler it was for; with BFQ, set "
               "blkio.bfq.weight)";
      else if (e == ENOENT && !s.from.empty())
        hint = " (" + s.file + " is cgroup v1's file for " + s.from + ")";
      else if (e == ENOENT && !plan.places[s.place].hierarchy.v2)
        hint = " (a cgroup v1 hierarchy; boxjail translates these cgroup v2 names there: " +
               translated_names() + ")";
      *err = "--cgroup-set " + s.spec + ": " +
             (e == ENOENT ? "there is no " + file + hint
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
  // The limits' counts before PROGRAM (a cgroup that already existed may
  // have some), for finish() to tell what PROGRAM ran into.
  for (const Place& p : plan.places) before_.push_back(counts_of(p));
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
  // What PROGRAM ran into: read always (a death is explained at the
  // default log level), before the clean-up's own kills.
  for (size_t i = 0; i < plan_->places.size() && i < before_.size(); ++i) {
    const Place& p = plan_->places[i];
    const Counts now = counts_of(p);
    auto rise = [](int64_t was, int64_t is) { return was < 0 || is < 0 ? -1 : is - was; };
    if (now.oom_kills >= 0 || now.limit_hits >= 0) {
      u.oom_kills = std::max(u.oom_kills, rise(before_[i].oom_kills, now.oom_kills));
      u.memory_limit_hits = std::max(u.memory_limit_hits, rise(before_[i].limit_hits, now.limit_hits));
      if (u.memory_dir.empty()) {
        u.memory_dir = p.dir;
        u.memory_limit = first_line(p.dir + (p.hierarchy.v2 ? "/memory.max" : "/memory.limit_in_bytes"));
      }
    }
    if (now.pids_max >= 0) {
      u.pids_refused = std::max(u.pids_refused, rise(before_[i].pids_max, now.pids_max));
      if (u.pids_dir.empty()) {
        u.pids_dir = p.dir;
        u.pids_limit = first_line(p.dir + "/pids.max");
      }
    }
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
    if (*it != moved_leaf_ && !std::any_of(busy_.begin(), busy_.end(), [&](const std::string& b) {
          return at_or_above(*it, b);
        }))
      remove_dir(*it);
  // The controllers enabled for what is gone now, last first (a cgroup
  // still in use keeps its own: the kernel refuses, EBUSY).
  for (auto it = enabled_.rbegin(); it != enabled_.rend(); ++it) {
    int e = 0;
    write_text(it->first + "/cgroup.subtree_control", "-" + it->second, &e);
  }
  // Back where boxjail was, and its leaf removed.
  if (!moved_leaf_.empty()) {
    int e = 0;
    if (write_text(moved_from_ + "/cgroup.procs", "0", &e)) remove_dir(moved_leaf_);
  }
  created_.clear();
  enabled_.clear();
  busy_.clear();
  moved_from_.clear();
  moved_leaf_.clear();
}

void CgroupRuntime::save(wire::Out* out) {
  release_fds();
  out->num(plan_ != nullptr);
  if (!plan_) return;
  out->num(plan_->active);
  out->str(plan_->spec);
  out->num(static_cast<int64_t>(plan_->places.size()));
  for (const Place& p : plan_->places) {
    out->str(p.hierarchy.mount);
    out->str(p.hierarchy.root);
    out->num(p.hierarchy.v2);
    out->strs(p.hierarchy.controllers);
    out->str(p.dir);
    out->strs(p.enable);
    out->str(p.why);
  }
  out->num(static_cast<int64_t>(before_.size()));
  for (const Counts& c : before_) {
    out->num(c.oom_kills);
    out->num(c.limit_hits);
    out->num(c.pids_max);
  }
  out->strs(created_);
  out->strs(busy_);
  out->strs(origins_);
  out->num(static_cast<int64_t>(enabled_.size()));
  for (const auto& [dir, controller] : enabled_) {
    out->str(dir);
    out->str(controller);
  }
  out->str(moved_from_);
  out->str(moved_leaf_);
}

bool CgroupRuntime::restore(wire::In* in, CgroupPlan* plan) {
  bool have = false;
  if (!in->num(&have)) return false;
  if (!have) return true;
  size_t n = 0;
  if (!in->num(&plan->active) || !in->str(&plan->spec) || !in->num(&n) || n > 64) return false;
  plan->places.assign(n, Place());
  for (Place& p : plan->places)
    if (!in->str(&p.hierarchy.mount) || !in->str(&p.hierarchy.root) ||
        !in->num(&p.hierarchy.v2) || !in->strs(&p.hierarchy.controllers) || !in->str(&p.dir) ||
        !in->strs(&p.enable) || !in->str(&p.why))
      return false;
  if (!in->num(&n) || n > 64) return false;
  before_.assign(n, Counts());
  for (Counts& c : before_)
    if (!in->num(&c.oom_kills) || !in->num(&c.limit_hits) || !in->num(&c.pids_max)) return false;
  if (!in->strs(&created_) || !in->strs(&busy_) || !in->strs(&origins_) || !in->num(&n) ||
      n > 256)
    return false;
  enabled_.assign(n, {});
  for (auto& [dir, controller] : enabled_)
    if (!in->str(&dir) || !in->str(&controller)) return false;
  if (!in->str(&moved_from_) || !in->str(&moved_leaf_)) return false;
  plan_ = plan;
  return true;
}

}  // namespace boxjail::cgroup

#include "boxjail/stop.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "boxjail/cli.h"
#include "boxjail/log.h"
#include "boxjail/numparse.h"
#include "boxjail/timeout.h"

namespace boxjail::stop {
namespace {

constexpr const char* kHeader = "boxjail-state 1";

std::string errno_text(int e) { return std::strerror(e); }

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, nullptr);
}

long pidfd_open(pid_t pid) { return syscall(SYS_pidfd_open, pid, 0); }
long pidfd_signal(int fd, int sig) { return syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0); }

bool read_fd(int fd, std::string* out, size_t limit) {
  char buf[4096];
  out->clear();
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > limit) return true;
  }
}

std::string read_file(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string s;
  if (fd.valid()) read_fd(fd.get(), &s, 1 << 20);
  return s;
}

bool canonical_u64(std::string_view s, uint64_t* out) {
  size_t used = 0;
  return parse_u64_prefix(s, out, &used) == NumError::kOk && used == s.size() &&
         !(s.size() > 1 && s[0] == '0');
}

bool clean_path(std::string_view p) {
  if (p.size() < 2 || p[0] != '/' || p.back() == '/') return false;
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool exists(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0;
}

// Only a directory of a cgroup file system is ever signalled through or
// removed, whatever a state record says.
bool on_cgroupfs(const std::string& dir) {
  struct statfs fs {};
  if (statfs(dir.c_str(), &fs) != 0) return false;
  return fs.f_type == CGROUP2_SUPER_MAGIC || fs.f_type == CGROUP_SUPER_MAGIC;
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> v;
  DIR* d = opendir(dir.c_str());
  if (!d) return v;
  while (dirent* e = readdir(d)) {
    if (e->d_type != DT_DIR || !std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, ".."))
      continue;
    v.push_back(dir + "/" + e->d_name);
  }
  closedir(d);
  return v;
}

// Every pid in `dir`'s cgroup.procs and in the cgroups below it.
void procs_below(const std::string& dir, std::vector<pid_t>* out, int depth = 0) {
  std::istringstream in(read_file(dir + "/cgroup.procs"));
  long pid = 0;
  while (in >> pid)
    if (pid > 0) out->push_back(static_cast<pid_t>(pid));
  if (depth < 32)
    for (const auto& sub : subdirs(dir)) procs_below(sub, out, depth + 1);
}

// Ends everything in the box's cgroup `dir` and below it: cgroup.kill where
// v2 has it, which the kernel applies to the whole subtree at once (no
// fork escapes it); else SIGKILL to each member, again until none is left.
void kill_subtree(const std::string& dir) {
  if (UniqueFd k(open((dir + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC)); k.valid()) {
    if (write(k.get(), "1", 1) == 1) {
      for (int i = 0; i < 500; ++i) {
        std::vector<pid_t> left;
        procs_below(dir, &left);
        if (left.empty()) return;
        sleep_ms(10);
      }
    }
  }
  for (int i = 0; i < 500; ++i) {
    std::vector<pid_t> left;
    procs_below(dir, &left);
    if (left.empty()) return;
    for (pid_t p : left) kill(p, SIGKILL);
    sleep_ms(10);
  }
}

// rmdir, retried for a moment: an emptied cgroup can take one to be
// removable.
bool remove_dir(const std::string& dir) {
  for (int i = 0; i < 100; ++i) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) return false;
    sleep_ms(10);
  }
  return false;
}

// The cgroups PROGRAM made below its own, deepest first, then `dir`.
bool remove_subtree(const std::string& dir, int depth = 0) {
  if (depth < 32)
    for (const auto& sub : subdirs(dir)) remove_subtree(sub, depth + 1);
  return remove_dir(dir);
}

// Waits up to `ns` for the process behind `pidfd` (or, without one, `pid`
// of record `r`) to end.
bool wait_end(int pidfd, const PidRecord& r, int64_t ns) {
  const int64_t step_ms = 20;
  if (pidfd >= 0) {
    timespec start{}, now{};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      const int64_t spent = (now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec);
      if (spent >= ns) return false;
      pollfd p{pidfd, POLLIN, 0};
      const int left_ms = static_cast<int>((ns - spent + 999999) / 1000000);
      const int n = poll(&p, 1, left_ms);
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) break;
    }
  }
  for (int64_t waited = 0; waited * 1000000 < ns; waited += step_ms) {
    if (!record_is_live(r)) return true;
    sleep_ms(step_ms);
  }
  return !record_is_live(r);
}

std::string seconds_text(int64_t ns) {
  std::string s = std::to_string(ns / 1000000000LL);
  const int64_t ms = (ns / 1000000) % 1000;
  if (ms) {
    std::string frac = std::to_string(1000 + ms).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + " s";
}

// The cleanup common to a stopped box and a stale record: the cgroups,
// the state, the PID file. False (with `*left`) when a directory stays.
bool clean_up(PidFile* pf, const PidRecord& rec, const StateRecord* st, int* removed,
              std::vector<std::string>* left) {
  *removed = st ? clear_cgroups(st->dirs, left) : 0;
  if (!left->empty()) return false;
  if (st) remove_state(pf->dir_fd()->get(), pf->path());
  pf->remove_locked(rec);
  return true;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Opens and locks PATH's record and reads it with its state. Returns 0 to
// go on (a record, `*have_state` says whether its state is this box's), 1
// for no record, 125 with `*err`.
int load(const std::string& path, const char* flag, PidFile* pf, PidRecord* rec,
         StateRecord* st, bool* have_state, std::vector<std::string>* notes, std::string* err) {
  std::string abs;
  if (!absolute_pidfile_path(path, &abs, err, flag)) return 125;
  if (!pf->open(abs, err, flag) || !pf->lock(err)) return 125;
  switch (pf->read_existing(rec, err)) {
    case PidFile::Existing::kRefused:
      return 125;
    case PidFile::Existing::kAbsent:
      if (notes) notes->push_back(std::string(flag) + " " + abs + ": no box is recorded there");
      return 1;
    case PidFile::Existing::kGarbage:
      *err = std::string(flag) + " " + abs +
             ": does not hold a boxjail record (a pid and a start time); left alone";
      return 125;
    case PidFile::Existing::kRecord:
      break;
  }
  *have_state = false;
  switch (read_state(pf->dir_fd()->get(), abs, flag, st, err)) {
    case StateRead::kRefused:
      return 125;
    case StateRead::kAbsent:
      return 0;
    case StateRead::kRecord:
      break;
  }
  if (st->box == *rec) {
    *have_state = true;
  } else if (notes) {
    notes->push_back(std::string(flag) + " " + abs + ": the state record " + state_name(abs) +
                     " names pid " + std::to_string(st->box.pid) + ", not this box's pid " +
                     std::to_string(rec->pid) + "; left alone");
  }
  return 0;
}

std::string stale_line(const char* flag, const std::string& path, const PidRecord& rec,
                       bool had_state, int removed) {
  uint64_t start = 0;
  std::string why = read_start_time(rec.pid, &start, true)
                        ? "pid " + std::to_string(rec.pid) + " now belongs to another process"
                        : "pid " + std::to_string(rec.pid) + " is not running";
  std::string line = std::string(flag) + " " + path + ": a stale record (" + why +
                     "): removed it";
  if (had_state)
    line += ", its state record and " + std::to_string(removed) + " cgroup director" +
            (removed == 1 ? "y" : "ies");
  return line;
}

}  // namespace

std::vector<StateRecord::Dir> dirs_of(const std::vector<std::string>& created,
                                      const std::vector<std::string>& box_dirs) {
  std::vector<StateRecord::Dir> v;
  for (const auto& c : created) {
    bool box = false;
    for (const auto& b : box_dirs) box |= b == c;
    v.push_back({c, box});
  }
  return v;
}

std::string format_state(const StateRecord& r) {
  std::string s = std::string(kHeader) + "\npid " + std::to_string(r.box.pid) + "\nstart-time " +
                  std::to_string(r.box.start_time) + "\n";
  for (const auto& d : r.dirs) s += (d.box_cgroup ? "cgroup " : "parent ") + d.path + "\n";
  return s;
}

bool parse_state(std::string_view text, StateRecord* out, std::string* why) {
  StateRecord r;
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return *why = "the last line is not complete", false;
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  if (lines.size() < 3 || lines[0] != kHeader) return *why = "not a boxjail state record", false;
  uint64_t pid = 0;
  if (lines[1].substr(0, 4) != "pid " || !canonical_u64(lines[1].substr(4), &pid) || pid == 0 ||
      pid > 0x7fffffff)
    return *why = "line 2: expected pid N", false;
  if (lines[2].substr(0, 11) != "start-time " ||
      !canonical_u64(lines[2].substr(11), &r.box.start_time))
    return *why = "line 3: expected start-time N", false;
  r.box.pid = static_cast<pid_t>(pid);
  for (size_t i = 3; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    StateRecord::Dir d;
    if (l.substr(0, 7) == "cgroup ") {
      d.box_cgroup = true;
      l.remove_prefix(7);
    } else if (l.substr(0, 7) == "parent ") {
      l.remove_prefix(7);
    } else {
      return *why = "line " + std::to_string(i + 1) + ": expected cgroup DIR or parent DIR", false;
    }
    if (!clean_path(l))
      return *why = "line " + std::to_string(i + 1) + ": not a clean absolute path", false;
    d.path = std::string(l);
    r.dirs.push_back(std::move(d));
  }
  *out = std::move(r);
  return true;
}

std::string state_name(const std::string& pidfile_path) { return base_name(pidfile_path) + ".state"; }

bool write_state(int dir_fd, const std::string& pidfile_path, const StateRecord& r,
                 std::string* err) {
  const std::string name = state_name(pidfile_path);
  const std::string tmp = "." + name + "." + std::to_string(getpid()) + ".tmp";
  const std::string text = format_state(r);
  unlinkat(dir_fd, tmp.c_str(), 0);
  UniqueFd fd(openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0644));
  if (!fd.valid()) {
    *err = "--pidfile " + pidfile_path + ": the state record: " + errno_text(errno);
    return false;
  }
  // The umask may not have cleared the write bits for others.
  fchmod(fd.get(), 0644);
  ssize_t n = write(fd.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size()) || renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
    *err = "--pidfile " + pidfile_path + ": writing the state record " + name + ": " +
           (n < 0 || n == static_cast<ssize_t>(text.size()) ? errno_text(errno) : "short write");
    unlinkat(dir_fd, tmp.c_str(), 0);
    return false;
  }
  return true;
}

StateRead read_state(int dir_fd, const std::string& pidfile_path, const char* flag,
                     StateRecord* out, std::string* err) {
  const std::string name = state_name(pidfile_path);
  const std::string what = std::string(flag) + " " + pidfile_path + ": the state record " + name;
  UniqueFd fd(openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT) return StateRead::kAbsent;
    *err = what + (errno == ELOOP ? std::string(" is a symbolic link; refusing to follow it")
                                  : ": " + errno_text(errno));
    return StateRead::kRefused;
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) {
    *err = what + ": " + errno_text(errno);
    return StateRead::kRefused;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = what + " is not a regular file";
    return StateRead::kRefused;
  }
  if (st.st_uid != geteuid()) {
    *err = what + " is owned by uid " + std::to_string(st.st_uid) + ", not by uid " +
           std::to_string(geteuid()) + "; refusing to trust it";
    return StateRead::kRefused;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    *err = what + " is writable by " + ((st.st_mode & S_IWOTH) ? "others" : "its group") +
           "; refusing to trust it";
    return StateRead::kRefused;
  }
  std::string text, why;
  if (!read_fd(fd.get(), &text, 64 * 1024)) {
    *err = what + ": " + errno_text(errno);
    return StateRead::kRefused;
  }
  if (!parse_state(text, out, &why)) {
    *err = what + ": " + why + "; refusing to act on it";
    return StateRead::kRefused;
  }
  for (const auto& d : out->dirs) {
    if (exists(d.path) && !on_cgroupfs(d.path)) {
      *err = what + " lists " + d.path + ", which is not on a cgroup file system; refusing to "
             "act on it";
      return StateRead::kRefused;
    }
  }
  return StateRead::kRecord;
}

void remove_state(int dir_fd, const std::string& pidfile_path) {
  unlinkat(dir_fd, state_name(pidfile_path).c_str(), 0);
}

int clear_cgroups(const std::vector<StateRecord::Dir>& dirs, std::vector<std::string>* left) {
  int removed = 0;
  // The box's cgroups first, in every hierarchy: their members are the
  // same processes, and a parent empties only once its child is gone.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
    if (it->box_cgroup && exists(it->path) && on_cgroupfs(it->path)) kill_subtree(it->path);
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    if (!exists(it->path)) continue;
    if (!on_cgroupfs(it->path)) {
      left->push_back(it->path);
      continue;
    }
    // A parent still holding another box's cgroup stays, and that is no
    // failure: it is shared now.
    if (!it->box_cgroup) {
      if (remove_dir(it->path)) ++removed;
      continue;
    }
    if (remove_subtree(it->path))
      ++removed;
    else
      left->push_back(it->path);
  }
  return removed;
}

int stop_box(const std::string& path, int64_t timeout_ns, std::vector<std::string>* notes,
             std::string* err) {
  PidFile pf;
  PidRecord rec;
  StateRecord st;
  bool have_state = false;
  if (int rc = load(path, "--stop", &pf, &rec, &st, &have_state, notes, err); rc != 0) return rc;
  const std::string& abs = pf.path();
  // The pidfd is opened before the identity is checked again, so that it
  // names the recorded process, not a later one with its pid.
  UniqueFd pidfd(static_cast<int>(pidfd_open(rec.pid)));
  const bool live = record_is_live(rec);
  std::vector<std::string> left;
  int removed = 0;
  if (!live) {
    const bool done = clean_up(&pf, rec, have_state ? &st : nullptr, &removed, &left);
    notes->push_back(stale_line("--stop", abs, rec, have_state, removed));
    if (!done) {
      *err = "--stop " + abs + ": cannot remove " + join(left) + " (still in use); the record is "
             "left for another --stop";
      return 125;
    }
    return 1;
  }
  auto send = [&](int sig) {
    if (pidfd.valid()) return pidfd_signal(pidfd.get(), sig) == 0 || errno == ESRCH;
    return kill(rec.pid, sig) == 0 || errno == ESRCH;
  };
  if (!send(SIGTERM)) {
    *err = "--stop " + abs + ": cannot signal pid " + std::to_string(rec.pid) + ": " +
           errno_text(errno);
    return 125;
  }
  if (!wait_end(pidfd.get(), rec, timeout_ns)) {
    notes->push_back("--stop " + abs + ": pid " + std::to_string(rec.pid) +
                     " did not end within " + seconds_text(timeout_ns) +
                     " (--stop-timeout) of SIGTERM: SIGKILL");
    send(SIGKILL);
    if (!wait_end(pidfd.get(), rec, 10LL * 1000000000)) {
      *err = "--stop " + abs + ": pid " + std::to_string(rec.pid) +
             " is still there 10 s after SIGKILL (in uninterruptible sleep?); its record is left";
      return 125;
    }
  }
  if (!clean_up(&pf, rec, have_state ? &st : nullptr, &removed, &left)) {
    *err = "--stop " + abs + ": stopped pid " + std::to_string(rec.pid) + ", but cannot remove " +
           join(left) + " (still in use); the record is left for another --stop";
    return 125;
  }
  return 0;
}

bool clean_stale(const std::string& path, const char* flag, std::string* said, std::string* err,
                 bool state_only) {
  said->clear();
  PidFile pf;
  PidRecord rec;
  StateRecord st;
  bool have_state = false;
  const int rc = load(path, flag, &pf, &rec, &st, &have_state, nullptr, err);
  if (rc == 125) {
    // Garbage is the PID file code's to report; only distrust stops here.
    std::string abs;
    PidFile probe;
    PidRecord ignored;
    std::string e2;
    if (absolute_pidfile_path(path, &abs, &e2, flag) && probe.open(abs, &e2, flag) &&
        probe.read_existing(&ignored, &e2) == PidFile::Existing::kGarbage)
      return err->clear(), true;
    return false;
  }
  if (rc == 1 || record_is_live(rec) || (state_only && !have_state)) return true;
  std::vector<std::string> left;
  int removed = 0;
  bool done = true;
  if (state_only) {
    removed = clear_cgroups(st.dirs, &left);
    done = left.empty();
    if (done) remove_state(pf.dir_fd()->get(), pf.path());
    *said = std::string(flag) + " " + pf.path() + ": the stale record's state: removed it and " +
            std::to_string(removed) + " cgroup director" + (removed == 1 ? "y" : "ies");
  } else {
    done = clean_up(&pf, rec, have_state ? &st : nullptr, &removed, &left);
    *said = stale_line(flag, pf.path(), rec, have_state, removed);
  }
  if (!done) {
    *err = std::string(flag) + " " + pf.path() + ": cannot remove " + join(left) +
           " (still in use) of a stale record; it is left";
    return false;
  }
  return true;
}

int run(const Options& opts) {
  if (!opts.command.empty()) {
    log::error("--stop takes no PROGRAM");
    return 125;
  }
  if (opts.quiet) log::set_level(log::Level::kError);
  if (opts.verbose > 0) log::set_level(log::Level::kInfo);
  int64_t ns = kDefaultTimeoutNs;
  if (opts.has_stop_timeout && !timeout::parse_duration(opts.stop_timeout, &ns)) {
    log::error("--stop-timeout " + opts.stop_timeout +
               ": not a duration (seconds, more than 0, up to three decimals, or with a unit: "
               "10, 1.5, 500ms, 2m)");
    return 125;
  }
  std::vector<std::string> notes;
  std::string err;
  const int rc = stop_box(opts.stop, ns, &notes, &err);
  for (const auto& n : notes) log::warn(n);
  if (rc == 125) log::error(err);
  if (rc == 0) log::info("--stop " + opts.stop + ": stopped");
  return rc;
}

}  // namespace boxjail::stop

#include "boxjail/pidfile.h"
#include "boxjail/wire.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "boxjail/numparse.h"

namespace boxjail {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

bool read_small(int fd, std::string* out) {
  char buf[256];
  out->clear();
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > 4096) return true;  // no record is that long
  }
}

// One canonical decimal number and a newline: no sign, no leading zeros, so
// that a record reads back exactly as it was written.
bool parse_u64_line(std::string_view* text, uint64_t* out) {
  size_t used = 0;
  if (parse_u64_prefix(*text, out, &used) != NumError::kOk) return false;
  if (used > 1 && (*text)[0] == '0') return false;
  if (used >= text->size() || (*text)[used] != '\n') return false;
  text->remove_prefix(used + 1);
  return true;
}

}  // namespace

std::string format_pid_record(const PidRecord& r) {
  return std::to_string(r.pid) + "\n" + std::to_string(r.start_time) + "\n";
}

bool parse_pid_record(std::string_view text, PidRecord* out) {
  uint64_t pid = 0, start = 0;
  if (!parse_u64_line(&text, &pid) || !parse_u64_line(&text, &start) || !text.empty())
    return false;
  if (pid == 0 || pid > 0x7fffffff) return false;
  out->pid = static_cast<pid_t>(pid);
  out->start_time = start;
  return true;
}

bool read_start_time(pid_t pid, uint64_t* out, bool alive_only) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string stat;
  if (!fd.valid() || !read_small(fd.get(), &stat)) return false;
  // The command name may contain anything, including ") "; fields resume
  // after its last closing parenthesis.
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return false;
  std::string_view rest = std::string_view(stat).substr(paren + 1);
  // Fields 3 (state) to 22 (starttime): 20 space-separated tokens.
  for (int field = 3; field <= 22; ++field) {
    while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    size_t end = rest.find(' ');
    std::string_view tok = rest.substr(0, end);
    if (tok.empty()) return false;
    if (field == 3 && alive_only && (tok == "Z" || tok == "X")) return false;
    if (field == 22) {
      size_t used = 0;
      return parse_u64_prefix(tok, out, &used) == NumError::kOk && used == tok.size();
    }
    if (end == std::string_view::npos) return false;
    rest.remove_prefix(end);
  }
  return false;
}

bool record_is_live(const PidRecord& r) {
  uint64_t start = 0;
  return read_start_time(r.pid, &start, /*alive_only=*/true) && start == r.start_time;
}

bool absolute_pidfile_path(const std::string& path, std::string* out, std::string* err,
                           const char* flag) {
  if (path.empty()) {
    *err = std::string(flag) + ": empty path";
    return false;
  }
  size_t slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    *err = std::string(flag) + " " + path + ": not a file name";
    return false;
  }
  if (path[0] == '/') {
    *out = path;
    return true;
  }
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) {
    *err = std::string(flag) + " " + path + ": cannot resolve against the working directory: " +
           errno_text(errno);
    return false;
  }
  *out = std::string(cwd) + (cwd[1] ? "/" : "") + path;
  return true;
}

bool PidFile::open(const std::string& path, std::string* err, const char* flag) {
  path_ = path;
  flag_ = flag;
  size_t slash = path.rfind('/');
  dir_path_ = slash == 0 ? "/" : path.substr(0, slash);
  name_ = path.substr(slash + 1);
  lock_name_ = "." + name_ + ".lock";
  dir_.reset(::open(dir_path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_.valid()) {
    *err = flag_ + " " + path_ + ": directory " + dir_path_ + ": " + errno_text(errno);
    return false;
  }
  struct stat st {};
  if (fstat(dir_.get(), &st) != 0) {
    *err = flag_ + " " + path_ + ": " + errno_text(errno);
    return false;
  }
  if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
    *err = flag_ + " " + path_ + ": directory " + dir_path_ +
           " is world-writable without the sticky bit; anyone could replace the file";
    return false;
  }
  return true;
}

bool PidFile::take_lock(std::string* err) {
  // About 10 s in all: a start holds the lock only across one exec.
  for (int attempt = 0; attempt < 10000; ++attempt) {
    UniqueFd fd(openat(dir_.get(), lock_name_.c_str(),
                       O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      *err = flag_ + " " + path_ + ": lock file " + lock_name_ + ": " + errno_text(errno);
      return false;
    }
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        *err = flag_ + " " + path_ + ": lock: " + errno_text(errno);
        return false;
      }
      timespec ms{0, 1000000};
      nanosleep(&ms, nullptr);
      continue;
    }
    // The holder before us unlinks the lock file before releasing it; a
    // lock on an unlinked file guards nothing, so start over.
    struct stat held {}, linked {};
    if (fstat(fd.get(), &held) == 0 &&
        fstatat(dir_.get(), lock_name_.c_str(), &linked, AT_SYMLINK_NOFOLLOW) == 0 &&
        held.st_ino == linked.st_ino && held.st_dev == linked.st_dev) {
      lock_ = std::move(fd);
      return true;
    }
  }
  *err = flag_ + " " + path_ + ": still locked by another boxjail after 10 s";
  return false;
}

PidFile::Existing PidFile::read_existing(PidRecord* rec, std::string* err) const {
  UniqueFd fd(openat(dir_.get(), name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT) return Existing::kAbsent;
    *err = flag_ + " " + path_ + ": " +
           (errno == ELOOP ? std::string("is a symbolic link; refusing to follow it")
                           : errno_text(errno));
    return Existing::kRefused;
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) {
    *err = flag_ + " " + path_ + ": " + errno_text(errno);
    return Existing::kRefused;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = flag_ + " " + path_ + ": exists and is not a regular file";
    return Existing::kRefused;
  }
  if (st.st_uid != geteuid()) {
    *err = flag_ + " " + path_ + ": owned by uid " + std::to_string(st.st_uid) +
           ", not by uid " + std::to_string(geteuid()) + "; refusing to trust or replace it";
    return Existing::kRefused;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    *err = flag_ + " " + path_ + ": writable by " +
           ((st.st_mode & S_IWOTH) ? "others" : "its group") +
           " (mode " + std::to_string((st.st_mode >> 6) & 7) +
           std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
           "); refusing to trust or replace it";
    return Existing::kRefused;
  }
  std::string text;
  if (!read_small(fd.get(), &text)) {
    *err = flag_ + " " + path_ + ": " + errno_text(errno);
    return Existing::kRefused;
  }
  return parse_pid_record(text, rec) ? Existing::kRecord : Existing::kGarbage;
}

bool PidFile::lock_and_check(std::string* err, std::string* stale) {
  stale->clear();
  if (!take_lock(err)) return false;
  PidRecord rec;
  switch (read_existing(&rec, err)) {
    case Existing::kAbsent:
      return true;
    case Existing::kRefused:
      return false;
    case Existing::kGarbage:
      *stale = "it does not hold a valid record";
      return true;
    case Existing::kRecord:
      break;
  }
  if (record_is_live(rec)) {
    *err = "already running as pid " + std::to_string(rec.pid) + " (" + path_ + ")";
    return false;
  }
  uint64_t start = 0;
  *stale = read_start_time(rec.pid, &start, true)
               ? "pid " + std::to_string(rec.pid) + " now belongs to another process"
               : "pid " + std::to_string(rec.pid) + " is not running";
  return true;
}

bool PidFile::prepare(std::string* err) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    tmp_name_ = "." + name_ + "." + std::to_string(getpid()) + "." +
                std::to_string((ts.tv_nsec + attempt) % 1000000) + ".tmp";
    tmp_.reset(openat(dir_.get(), tmp_name_.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (tmp_.valid()) return true;
    if (errno != EEXIST) break;
  }
  *err = flag_ + " " + path_ + ": cannot create a temporary file in " + dir_path_ + ": " +
         errno_text(errno);
  tmp_name_.clear();
  return false;
}

bool PidFile::commit(const PidRecord& r, std::string* err) {
  const std::string text = format_pid_record(r);
  ssize_t n = pwrite(tmp_.get(), text.data(), text.size(), 0);
  if (n != static_cast<ssize_t>(text.size())) {
    *err = flag_ + " " + path_ + ": writing: " + (n < 0 ? errno_text(errno) : "short write");
    return false;
  }
  // rename() replaces PATH itself, never what a symlink there points to.
  if (renameat(dir_.get(), tmp_name_.c_str(), dir_.get(), name_.c_str()) != 0) {
    *err = flag_ + " " + path_ + ": " + errno_text(errno);
    return false;
  }
  tmp_name_.clear();
  tmp_.reset();
  return true;
}

void PidFile::release() {
  if (!tmp_name_.empty() && dir_.valid()) unlinkat(dir_.get(), tmp_name_.c_str(), 0);
  tmp_name_.clear();
  tmp_.reset();
  if (lock_.valid()) {
    unlinkat(dir_.get(), lock_name_.c_str(), 0);
    lock_.reset();
  }
}

void PidFile::save(wire::Out* out, std::vector<int>* keep) const {
  for (const std::string* s : {&path_, &dir_path_, &name_, &lock_name_, &tmp_name_, &flag_})
    out->str(*s);
  out->num(dir_.get());
  if (dir_.valid()) keep->push_back(dir_.get());
}

bool PidFile::restore(wire::In* in) {
  for (std::string* s : {&path_, &dir_path_, &name_, &lock_name_, &tmp_name_, &flag_})
    if (!in->str(s)) return false;
  int fd = -1;
  if (!in->num(&fd)) return false;
  struct stat st {};
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode))) return false;
  if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
  dir_.reset(fd);
  return true;
}

bool PidFile::remove_if_holds(const PidRecord& r, std::string* err) {
  if (!take_lock(err)) return false;
  PidRecord now;
  std::string ignored;
  if (read_existing(&now, &ignored) == Existing::kRecord && now == r)
    unlinkat(dir_.get(), name_.c_str(), 0);
  release();
  return true;
}

void PidFile::remove_locked(const PidRecord& r) {
  PidRecord now;
  std::string ignored;
  if (read_existing(&now, &ignored) == Existing::kRecord && now == r)
    unlinkat(dir_.get(), name_.c_str(), 0);
}

int check_pidfile(const std::string& path, std::string* out, std::string* err) {
  std::string abs;
  if (!absolute_pidfile_path(path, &abs, err, "--check-pidfile")) return 125;
  PidFile pf;
  if (!pf.open(abs, err, "--check-pidfile")) return 125;
  PidRecord rec;
  switch (pf.read_existing(&rec, err)) {
    case PidFile::Existing::kRefused:
      return 125;
    case PidFile::Existing::kRecord:
      if (!record_is_live(rec)) return 1;
      *out = std::to_string(rec.pid) + "\n";
      return 0;
    default:
      return 1;  // absent, or garbage: nothing runs under this record
  }
}

}  // namespace boxjail

#include "boxjail/policyfile.h"

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "boxjail/unique_fd.h"

namespace boxjail {
namespace {

std::string octal_mode(mode_t mode) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

bool trusted_owner(uid_t owner, uid_t caller) { return owner == 0 || owner == caller; }
bool writable_by_others(mode_t mode) { return (mode & (S_IWGRP | S_IWOTH)) != 0; }

// "(owner NAME (UID), mode 0MMM)", the details every refusal carries.
std::string owner_and_mode(const struct stat& st) {
  return "(owner " + describe_owner(st.st_uid) + ", mode " + octal_mode(st.st_mode) + ")";
}

// The directory `dir` (its canonical path) as opened in `fd`: owned by root
// or the caller, and writable by no one else unless sticky.
bool check_directory(int fd, const std::string& dir, uid_t caller, const std::string& where,
                     std::string* err) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return *err = where + "directory " + dir + ": " + std::strerror(errno), false;
  const std::string rule =
      ": the directories above a policy file must be owned by root or you and writable by no one "
      "else, or be sticky like /tmp; ";
  if (writable_by_others(st.st_mode) && (st.st_mode & S_ISVTX) == 0) {
    *err = where + "directory " + dir + ": writable by others and not sticky " + owner_and_mode(st) +
           rule + "chmod go-w " + dir;
    return false;
  }
  if (!trusted_owner(st.st_uid, caller)) {
    *err = where + "directory " + dir + ": owned by " + describe_owner(st.st_uid) +
           ", not by root or you (mode " + octal_mode(st.st_mode) + ")" + rule +
           "keep the file in a directory of root's or yours";
    return false;
  }
  return true;
}

// Opens the canonical directory `dir` one component at a time from "/",
// checking each; the descriptor of `dir` itself in `*out`. Each step is
// O_NOFOLLOW: `dir` has no symbolic link in it, so one found on the way is
// a change since realpath, refused rather than followed.
bool open_checked_directory(const std::string& dir, uid_t caller, const std::string& where,
                            UniqueFd* out, std::string* err) {
  UniqueFd cur(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cur.valid()) return *err = where + "directory /: " + std::strerror(errno), false;
  if (!check_directory(cur.get(), "/", caller, where, err)) return false;
  std::string so_far;
  for (size_t at = 1; at < dir.size();) {
    size_t end = dir.find('/', at);
    if (end == std::string::npos) end = dir.size();
    const std::string name = dir.substr(at, end - at);
    at = end + 1;
    if (name.empty()) continue;
    so_far += "/" + name;
    UniqueFd next(openat(cur.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid())
      return *err = where + "directory " + so_far + ": " + std::strerror(errno), false;
    if (!check_directory(next.get(), so_far, caller, where, err)) return false;
    cur = std::move(next);
  }
  *out = std::move(cur);
  return true;
}

// The target of the symbolic link `name` in `dirfd`, or "" if unreadable.
std::string link_target(int dirfd, const std::string& name) {
  char buf[PATH_MAX];
  const ssize_t n = readlinkat(dirfd, name.c_str(), buf, sizeof buf);
  return n > 0 && static_cast<size_t>(n) < sizeof buf ? std::string(buf, static_cast<size_t>(n))
                                                       : std::string();
}

bool read_all(int fd, const std::string& where, std::string* contents, std::string* err) {
  std::string buf;
  char chunk[65536];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return *err = where + std::strerror(errno), false;
    }
    if (n == 0) break;
    if (buf.size() + static_cast<size_t>(n) > kPolicyFileMax)
      return *err = where + "larger than 16 MiB (a policy file is a list of rules)", false;
    buf.append(chunk, static_cast<size_t>(n));
  }
  *contents = std::move(buf);
  return true;
}

// Whether `uid` is the overflow uid standing for an owner this user
// namespace does not map (as / is, to an ordinary user in `unshare -Urm`),
// rather than a user of that number.
bool unmapped_owner(uid_t uid) {
  unsigned long overflow = 0, inside = 0, outside = 0, count = 0;
  std::unique_ptr<FILE, int (*)(FILE*)> o(fopen("/proc/sys/kernel/overflowuid", "re"), fclose);
  if (!o || fscanf(o.get(), "%lu", &overflow) != 1 || overflow != uid) return false;
  std::unique_ptr<FILE, int (*)(FILE*)> map(fopen("/proc/self/uid_map", "re"), fclose);
  if (!map) return false;
  while (fscanf(map.get(), "%lu %lu %lu", &inside, &outside, &count) == 3)
    if (uid >= inside && uid - inside < count) return false;
  return true;
}

}  // namespace

std::string describe_owner(uid_t uid) {
  if (unmapped_owner(uid))
    return "a user this user namespace does not map (shown as " + std::to_string(uid) + ")";
  // fgetpwent_r on the file itself: getpwuid would load NSS modules, which
  // a static binary cannot.
  std::unique_ptr<FILE, int (*)(FILE*)> f(fopen("/etc/passwd", "re"), fclose);
  if (f) {
    struct passwd pw {};
    struct passwd* found = nullptr;
    char buf[4096];
    // A line too long for buf (ERANGE) ends the search: glibc would hand the
    // same line back again.
    while (fgetpwent_r(f.get(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr)
      if (pw.pw_uid == uid) return std::string(pw.pw_name) + " (" + std::to_string(uid) + ")";
  }
  return "uid " + std::to_string(uid);
}

bool read_policy_file_as(uid_t caller, const std::string& flag, const std::string& path,
                         std::string* contents, std::string* err) {
  if (path.empty()) return *err = flag + ": empty path", false;
  const std::string where = flag + " " + path + ": ";
  // The directory that holds the file, and the file's name in it. A path
  // that ends in "/" names a directory, opened below as "." (and refused as
  // not a regular file).
  const size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty()) name = ".";
  char canonical[PATH_MAX];
  if (realpath(dir.c_str(), canonical) == nullptr) return *err = where + std::strerror(errno), false;
  UniqueFd dirfd;
  if (!open_checked_directory(canonical, caller, where, &dirfd, err)) return false;

  UniqueFd fd(openat(dirfd.get(), name.c_str(),
                     O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    // `name` is one component, so ELOOP under O_NOFOLLOW means it is a link.
    if (errno == ELOOP) {
      const std::string to = link_target(dirfd.get(), name);
      *err = where + "a symbolic link" + (to.empty() ? "" : " (to " + to + ")") +
             ": a policy file is opened without following symbolic links, which others might "
             "repoint; give the file's own path";
      return false;
    }
    return *err = where + std::strerror(errno), false;
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return *err = where + std::strerror(errno), false;
  if (!S_ISREG(st.st_mode)) return *err = where + "not a regular file", false;
  const std::string rule = ": a policy file must be owned by root or you and writable by no one else; ";
  if (writable_by_others(st.st_mode))
    return *err = where + "writable by others " + owner_and_mode(st) + rule + "chmod go-w it", false;
  if (!trusted_owner(st.st_uid, caller)) {
    *err = where + "owned by " + describe_owner(st.st_uid) + ", not by root or you (mode " +
           octal_mode(st.st_mode) + ")" + rule + "chown it to root or to yourself";
    return false;
  }
  if (st.st_size > static_cast<off_t>(kPolicyFileMax))
    return *err = where + "larger than 16 MiB (a policy file is a list of rules)", false;
  // O_NONBLOCK only kept the open from waiting on a FIFO; reads of the
  // regular file are blocking, as usual.
  const int fl = fcntl(fd.get(), F_GETFL);
  if (fl < 0 || fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0)
    return *err = where + std::strerror(errno), false;
  return read_all(fd.get(), where, contents, err);
}

bool read_policy_file(const std::string& flag, const std::string& path, std::string* contents,
                      std::string* err) {
  return read_policy_file_as(geteuid(), flag, path, contents, err);
}

}  // namespace boxjail

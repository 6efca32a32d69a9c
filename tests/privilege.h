// Preconditions that depend on the caller's privileges, checked the way the
// kernel answers them, so that a test skips only where it truly cannot run
// and says exactly why.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace privilege {

/// chown(path, uid, gid); "" on success, else why the test cannot go on:
/// without CAP_CHOWN the kernel says EPERM, and inside a user namespace
/// that does not map `uid` it says EINVAL.
inline std::string give_away(const std::string& path, uid_t uid, gid_t gid) {
  if (chown(path.c_str(), uid, gid) == 0) return "";
  if (errno == EPERM) return "needs CAP_CHOWN (to give a file to uid " + std::to_string(uid) + ")";
  if (errno == EINVAL)
    return "uid " + std::to_string(uid) + " is not mapped in this user namespace";
  return std::string("chown: ") + std::strerror(errno);
}

/// Whether this process could switch to uid/gid `id` (a throwaway child
/// tries); "" if so, else why not.
inline std::string can_become(uid_t id) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    int e = 0;
    if (setgroups(0, nullptr) != 0) e = -errno;  // told apart below
    else if (setresgid(id, id, id) != 0 || setresuid(id, id, id) != 0) e = errno;
    (void)!write(p[1], &e, sizeof e);
    _exit(0);
  }
  close(p[1]);
  int e = -1;
  (void)!read(p[0], &e, sizeof e);
  close(p[0]);
  waitpid(pid, nullptr, 0);
  if (e == 0) return "";
  if (e == -EPERM && geteuid() == 0)
    return "setgroups is denied in this user namespace (/proc/self/setgroups)";
  if (e < 0) e = -e;
  if (e == EPERM) return "needs CAP_SETUID and CAP_SETGID (to become uid " + std::to_string(id) + ")";
  if (e == EINVAL) return "uid " + std::to_string(id) + " is not mapped in this user namespace";
  return std::string("setresuid: ") + std::strerror(e);
}

/// "" if boxjail can accept a policy file (--config, --seccomp-profile,
/// --seccomp-bpf) in directory `dir`: every directory from / down to it
/// owned by root or us, and writable by no one else unless sticky. Else
/// which one is not: as an ordinary user in `unshare -Urm`, / is owned by
/// a uid the namespace does not map, shown as 65534.
inline std::string policy_files_refused_in(const std::string& dir) {
  std::string so_far;
  for (const auto& part : std::filesystem::weakly_canonical(dir)) {
    so_far = part == "/" ? "/" : (so_far == "/" ? "" : so_far) + "/" + part.string();
    struct stat st {};
    if (stat(so_far.c_str(), &st) != 0) return "cannot stat " + so_far;
    if (st.st_uid != 0 && st.st_uid != geteuid())
      return "boxjail refuses policy files below " + so_far + ": it is owned by uid " +
             std::to_string(st.st_uid) + ", not by root or us (in a user namespace, an unmapped "
             "owner shows as 65534)";
    if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0)
      return "boxjail refuses policy files below " + so_far +
             ": it is writable by others and not sticky";
  }
  return "";
}

}  // namespace privilege

#include "boxjail/exec_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace boxjail {
namespace {

// 0 when `path` is an executable regular file, otherwise an errno.
int check_candidate(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (access(path.c_str(), X_OK) != 0) return errno;
  return 0;
}

}  // namespace

int resolve_program(std::string_view program, const char* path_env,
                    std::string* resolved) {
  if (program.empty()) return ENOENT;
  if (program.find('/') != std::string_view::npos) {
    std::string p(program);
    int e = check_candidate(p);
    if (e == 0) *resolved = std::move(p);
    return e;
  }
  std::string_view path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  int result = ENOENT;
  for (;;) {
    size_t colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    std::string cand = dir.empty() ? std::string(program)
                                   : std::string(dir) + "/" + std::string(program);
    int e = check_candidate(cand);
    if (e == 0) {
      *resolved = dir.empty() ? "./" + cand : std::move(cand);
      return 0;
    }
    // Like execvp: remember that something was there but not runnable.
    if (e == EACCES || e == EISDIR) result = EACCES;
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return result;
}

}  // namespace boxjail

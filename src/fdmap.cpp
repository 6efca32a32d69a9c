#include "boxjail/fdmap.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace boxjail {

FdProgram plan_fd_moves(const std::vector<FdMapping>& mappings) {
  FdProgram prog;
  int highest = 2;
  for (const auto& m : mappings) highest = std::max({highest, m.target, m.source});
  prog.temp_floor = highest + 1;

  // A pending move's source is either a real descriptor (>= 0) or a temp
  // slot, encoded as -(slot + 1).
  struct Pending {
    int target;
    int source;
  };
  std::vector<Pending> pending;
  for (const auto& m : mappings) {
    if (m.source == m.target) {
      // Never overwritten (targets are distinct), so only the flag changes.
      prog.steps.push_back({FdOp::kClearCloexec, m.target, 0});
    } else {
      pending.push_back({m.target, m.source});
    }
  }
  auto needed_as_source = [&](int fd, size_t self) {
    for (size_t i = 0; i < pending.size(); ++i)
      if (i != self && pending[i].source == fd) return true;
    return false;
  };
  while (!pending.empty()) {
    size_t pick = pending.size();
    for (size_t i = 0; i < pending.size(); ++i) {
      if (!needed_as_source(pending[i].target, i)) {
        pick = i;
        break;
      }
    }
    if (pick == pending.size()) {
      // Only cycles remain: park one target's current file in a temporary
      // and let its readers read the temporary instead.
      const int fd = pending[0].target;
      const int slot = prog.temp_count++;
      prog.steps.push_back({FdOp::kSaveTemp, fd, slot});
      for (auto& p : pending)
        if (p.source == fd) p.source = -(slot + 1);
      continue;
    }
    const Pending p = pending[pick];
    if (p.source >= 0) {
      prog.steps.push_back({FdOp::kDup2, p.source, p.target});
    } else {
      prog.steps.push_back({FdOp::kDup2Temp, -p.source - 1, p.target});
    }
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  for (int slot = 0; slot < prog.temp_count; ++slot)
    prog.steps.push_back({FdOp::kCloseTemp, slot, 0});
  return prog;
}

int run_fd_program(const FdStep* steps, size_t n, int temp_floor, int* temps,
                   size_t* failed) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const FdStep& s = steps[i];
    int rc = 0;
    switch (s.op) {
      case FdOp::kDup2:
        rc = dup2(s.a, s.b);
        break;
      case FdOp::kClearCloexec:
        rc = fcntl(s.a, F_SETFD, 0);
        break;
      case FdOp::kSaveTemp:
        rc = fcntl(s.a, F_DUPFD_CLOEXEC, temp_floor);
        if (rc >= 0) temps[s.b] = rc;
        break;
      case FdOp::kDup2Temp:
        rc = dup2(temps[s.a], s.b);
        break;
      case FdOp::kCloseTemp:
        rc = close(temps[s.a]);
        break;
    }
    if (rc < 0) {
      *failed = i;
      return errno;
    }
  }
  return 0;
}

namespace {

bool kept(const int* keep, size_t n, int fd) noexcept {
  return std::binary_search(keep, keep + n, fd);
}

// close_range() over [3, first kept), the gaps between kept descriptors and
// everything above the last one.
int close_by_range(const int* keep, size_t n) noexcept {
  unsigned lo = 3;
  for (size_t i = 0; i < n; ++i) {
    if (keep[i] < 0 || static_cast<unsigned>(keep[i]) < lo) continue;  // 0, 1, 2
    const auto k = static_cast<unsigned>(keep[i]);
    if (k > lo && syscall(SYS_close_range, lo, k - 1, 0) != 0) return errno;
    lo = k + 1;
  }
  return syscall(SYS_close_range, lo, ~0u, 0) != 0 ? errno : 0;
}

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];  // really variable length, NUL-terminated
};

// Reads /proc/self/fd with getdents64 into a stack buffer. Closing entries
// while reading is safe: the directory position of /proc/self/fd is the
// descriptor number, so closing one does not shift the rest.
int close_by_proc(const int* keep, size_t n) noexcept {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return errno;
  alignas(8) char buf[4096];
  for (;;) {
    long got = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (got < 0) {
      int e = errno;
      close(dir);
      return e;
    }
    if (got == 0) break;
    for (long off = 0; off < got;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += d->d_reclen;
      int fd = 0;
      const char* p = d->d_name;
      if (*p < '0' || *p > '9') continue;  // "." and ".."
      for (; *p >= '0' && *p <= '9'; ++p) fd = fd * 10 + (*p - '0');
      if (fd < 3 || fd == dir || kept(keep, n, fd)) continue;
      close(fd);
    }
  }
  close(dir);
  return 0;
}

int close_by_loop(const int* keep, size_t n) noexcept {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return errno;
  rlim_t top = r.rlim_max < static_cast<rlim_t>(INT_MAX) ? r.rlim_max : INT_MAX;
  for (int fd = 3; static_cast<rlim_t>(fd) < top; ++fd)
    if (!kept(keep, n, fd)) close(fd);
  return 0;
}

}  // namespace

int close_fds_except(const int* keep, size_t n, CloseMethod method,
                     CloseMethod* used) noexcept {
  if (method == CloseMethod::kCloseRange) {
    *used = CloseMethod::kCloseRange;
    if (close_by_range(keep, n) == 0) return 0;
    method = CloseMethod::kProcFd;
  }
  if (method == CloseMethod::kProcFd) {
    *used = CloseMethod::kProcFd;
    if (close_by_proc(keep, n) == 0) return 0;
  }
  *used = CloseMethod::kLoop;
  return close_by_loop(keep, n);
}

const char* close_method_name(CloseMethod m) {
  switch (m) {
    case CloseMethod::kCloseRange: return "close_range";
    case CloseMethod::kProcFd: return "proc";
    case CloseMethod::kLoop: return "loop";
  }
  return "?";
}

}  // namespace boxjail

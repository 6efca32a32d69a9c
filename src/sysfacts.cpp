#include "boxjail/sysfacts.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "boxjail/numparse.h"
#include "boxjail/unique_fd.h"

namespace boxjail {

rlimit RealSystemFacts::current_rlimit(int resource) {
  rlimit r{};
  getrlimit(static_cast<__rlimit_resource>(resource), &r);
  return r;
}

namespace {

bool effective_cap(int cap) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

// The effective set alone is not the kernel's answer: inside a user
// namespace it shows CAP_SYS_RESOURCE, but raising a hard limit needs the
// capability in the initial namespace. So ask the kernel: raise one finite
// hard limit by one and put it back (lowering a hard limit is always
// allowed). Nothing else runs yet, so the moment of the raise is unseen.
bool RealSystemFacts::has_cap_sys_resource() {
  if (cap_ < 0) {
    cap_ = 0;
    if (effective_cap(CAP_SYS_RESOURCE)) {
      static const int kTry[] = {RLIMIT_MSGQUEUE, RLIMIT_SIGPENDING, RLIMIT_MEMLOCK,
                                 RLIMIT_NPROC, RLIMIT_NOFILE};
      bool tried = false;
      for (int res : kTry) {
        const auto r = static_cast<__rlimit_resource>(res);
        rlimit old{};
        if (getrlimit(r, &old) != 0 || old.rlim_max >= RLIM_INFINITY - 1) continue;
        if (res == RLIMIT_NOFILE && old.rlim_max >= nr_open()) continue;
        rlimit up{old.rlim_cur, old.rlim_max + 1};
        tried = true;
        if (setrlimit(r, &up) == 0) {
          setrlimit(r, &old);
          cap_ = 1;
        }
        break;
      }
      // Every hard limit is already unlimited: no raise is possible anyway,
      // and the effective set is the only answer left.
      if (!tried) cap_ = 1;
    }
  }
  return cap_ == 1;
}

uint64_t RealSystemFacts::nr_open() {
  if (nr_open_ == 0) {
    nr_open_ = 1024 * 1024;  // the kernel default, used if /proc is absent
    UniqueFd fd(open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC));
    char buf[32];
    ssize_t n = fd.valid() ? read(fd.get(), buf, sizeof buf) : -1;
    uint64_t v = 0;
    size_t used = 0;
    if (n > 0 &&
        parse_u64_prefix(std::string_view(buf, static_cast<size_t>(n)), &v,
                         &used) == NumError::kOk) {
      nr_open_ = v;
    }
  }
  return nr_open_;
}

int RealSystemFacts::landlock_abi() {
  long v = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u /* VERSION */);
  return v < 0 ? -errno : static_cast<int>(v);
}

bool RealSystemFacts::has_cap_sys_admin() { return effective_cap(CAP_SYS_ADMIN); }

namespace {
std::string read_all(const char* path) {
  UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  std::string s;
  char buf[4096];
  ssize_t n;
  while (fd.valid() && (n = read(fd.get(), buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}
}  // namespace

std::string RealSystemFacts::mountinfo() { return read_all("/proc/self/mountinfo"); }

uid_t RealSystemFacts::euid() { return geteuid(); }

std::string RealSystemFacts::uid_map() { return read_all("/proc/self/uid_map"); }

int RealSystemFacts::oom_score_adj() {
  std::string s = read_all("/proc/self/oom_score_adj");
  return s.empty() ? 0 : std::atoi(s.c_str());
}

bool RealSystemFacts::fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }
pid_t RealSystemFacts::pid() { return getpid(); }
pid_t RealSystemFacts::parent_pid() { return getppid(); }

}  // namespace boxjail

#include "boxjail/sysfacts.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "boxjail/numparse.h"
#include "boxjail/unique_fd.h"

namespace boxjail {

rlimit RealSystemFacts::current_rlimit(int resource) {
  rlimit r{};
  getrlimit(static_cast<__rlimit_resource>(resource), &r);
  return r;
}

bool RealSystemFacts::has_cap_sys_resource() {
  if (cap_ < 0) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capget, &hdr, data) != 0) {
      cap_ = 0;
    } else {
      cap_ = (data[CAP_SYS_RESOURCE / 32].effective &
              (1u << (CAP_SYS_RESOURCE % 32))) != 0;
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

bool RealSystemFacts::fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }
pid_t RealSystemFacts::pid() { return getpid(); }
pid_t RealSystemFacts::parent_pid() { return getppid(); }

}  // namespace boxjail

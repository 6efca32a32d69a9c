#include "boxjail/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "boxjail/cli.h"
#include "boxjail/plan.h"
#include "boxjail/sysfacts.h"
#include "boxjail/unique_fd.h"

namespace boxjail::netns {
namespace {

const char* file_kind(mode_t m) {
  if (S_ISREG(m)) return "a regular file";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a namespace";
}

const char* ns_kind(int type) {
  switch (type) {
    case CLONE_NEWNS: return "a mnt namespace";
    case CLONE_NEWUTS: return "a uts namespace";
    case CLONE_NEWIPC: return "an ipc namespace";
    case CLONE_NEWUSER: return "a user namespace";
    case CLONE_NEWPID: return "a pid namespace";
    case CLONE_NEWCGROUP: return "a cgroup namespace";
#ifdef CLONE_NEWTIME
    case CLONE_NEWTIME: return "a time namespace";
#endif
  }
  return "another kind of namespace";
}

const char kHint[] = "use /run/netns/NAME from `ip netns add NAME`, or /proc/PID/ns/net";

}  // namespace

std::string not_a_netns(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return std::strerror(errno);
  struct statfs fs {};
  if (fstatfs(fd, &fs) != 0) return std::strerror(errno);
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC) return file_kind(st.st_mode);
  const int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0)
    return errno == ENOTTY || errno == EINVAL
               ? "a namespace whose type this kernel cannot tell (NS_GET_NSTYPE needs Linux 4.11)"
               : std::strerror(errno);
  return type == CLONE_NEWNET ? "" : ns_kind(type);
}

bool check(const Options& o, SystemFacts& sys, NetnsPlan* plan, std::string* err) {
  if (!o.has_netns) return true;
  const std::string flag = "--netns " + o.netns;
  if (o.netns.empty()) return *err = "--netns: empty path (" + std::string(kHint) + ")", false;
  UniqueFd fd(open(o.netns.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) return *err = flag + ": " + std::strerror(errno), false;
  if (std::string what = not_a_netns(fd.get()); !what.empty())
    return *err = flag + ": not a network namespace but " + what + " (" + kHint + ")", false;
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return *err = flag + ": " + std::strerror(errno), false;
  if (!sys.has_cap_sys_admin())
    return *err = flag + ": joining a network namespace needs CAP_SYS_ADMIN, which boxjail "
                         "does not have (run it as root, or with that capability)",
           false;
  plan->active = true;
  plan->path = o.netns;
  plan->dev = st.st_dev;
  plan->inode = st.st_ino;
  return true;
}

int open_checked(const NetnsPlan& plan, std::string* err) {
  const std::string flag = "--netns " + plan.path;
  UniqueFd fd(open(plan.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) return *err = flag + ": " + std::strerror(errno), -1;
  struct stat st {};
  if (!not_a_netns(fd.get()).empty() || fstat(fd.get(), &st) != 0 || st.st_dev != plan.dev ||
      st.st_ino != plan.inode)
    return *err = flag + ": it changed after it was checked (it is no longer network namespace "
                         "net:[" + std::to_string(plan.inode) + "])",
           -1;
  return fd.release();
}

std::string to_json(const NetnsPlan& plan) {
  std::string j = "{\"path\":";
  json_escape(&j, plan.path);
  return j + ",\"inode\":" + std::to_string(plan.inode) + "}";
}

}  // namespace boxjail::netns

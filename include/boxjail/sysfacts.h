// The seam between validation and the running system. Validation asks these
// questions and nothing else, so unit tests can answer them with a fake.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace boxjail {

class SystemFacts {
 public:
  virtual ~SystemFacts() = default;
  /// Current limits of this process for `resource`.
  virtual rlimit current_rlimit(int resource) = 0;
  /// Whether this process may raise hard limits.
  virtual bool has_cap_sys_resource() = 0;
  /// /proc/sys/fs/nr_open: the kernel's ceiling for RLIMIT_NOFILE.
  virtual uint64_t nr_open() = 0;
  /// Whether descriptor `fd` is open in this process.
  virtual bool fd_is_open(int fd) = 0;
  /// The Landlock ABI version, or -errno when Landlock is unavailable.
  virtual int landlock_abi() = 0;
  /// Whether this process has CAP_SYS_ADMIN in its user namespace (the
  /// check Landlock and seccomp make instead of requiring no_new_privs).
  virtual bool has_cap_sys_admin() = 0;
  /// The text of /proc/self/mountinfo ("" if unreadable).
  virtual std::string mountinfo() = 0;
  /// /proc/self/oom_score_adj (0 if unreadable).
  virtual int oom_score_adj() = 0;
  /// getpid() and getppid().
  virtual pid_t pid() = 0;
  virtual pid_t parent_pid() = 0;
  /// geteuid(), and the text of /proc/self/uid_map ("" if unreadable).
  virtual uid_t euid() = 0;
  virtual std::string uid_map() = 0;
};

/// Answers from the real process, reading each fact at most once.
class RealSystemFacts final : public SystemFacts {
 public:
  rlimit current_rlimit(int resource) override;
  bool has_cap_sys_resource() override;
  uint64_t nr_open() override;
  bool fd_is_open(int fd) override;
  int landlock_abi() override;
  bool has_cap_sys_admin() override;
  std::string mountinfo() override;
  int oom_score_adj() override;
  pid_t pid() override;
  pid_t parent_pid() override;
  uid_t euid() override;
  std::string uid_map() override;

 private:
  int cap_ = -1;
  uint64_t nr_open_ = 0;
};

}  // namespace boxjail

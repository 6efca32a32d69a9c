// minijail_policy: a reader of minijail's (and crosvm's) seccomp policy
// lines, `NAME: EXPR`, for --seccomp-profile. It turns text into rules of
// the seccomp model (seccomp.h) and knows nothing of files or flags: the
// profile reader hands it one line at a time, with the line's place.
//
// Supported, as minijail writes them:
//   read: 1                                  allow the call
//   uname: return EPERM                      fail it (a number or a name)
//   ioctl: arg1 == TCGETS || arg1 == FIONREAD
//   socket: arg0 == AF_UNIX && arg1 & SOCK_CLOEXEC
//   mmap: arg2 in ~PROT_EXEC                 no bit outside the mask
//   socket: arg0 == AF_UNIX; return EAFNOSUPPORT   else fail with that errno
// with ==, !=, <, <=, >, >=, & (any of the bits), in, named constants and
// numbers joined by | (and ~ in front), in any base. `&&` binds tighter
// than `||`. Everything else (parentheses, @include, @frequency, kill,
// trap, log, user-notify) is refused with the line's place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boxjail/seccomp.h"

namespace boxjail::minijail {

/// One rule a policy line gives: the call, the conditions that must all
/// hold, and its action (allow, or fail with `err`). A line with `||`
/// gives one rule per alternative; one with `; return E` gives the allow
/// rules and the deny rules of the complement.
struct PolicyRule {
  std::string name;
  bool allow = true;
  int err = 0;
  std::vector<seccomp::Cond> conds;
};

/// Whether `line` (comment removed, trimmed) is minijail's form: a name,
/// then `:` (`read: 1`), or a directive starting with `@`.
bool is_policy_line(const std::string& line);

/// Parses one such line into `*out` (appended). False with
/// "WHERE: reason (what to do)" in `*err`; `where` is "FILE:LINE".
bool parse_line(const std::string& line, const std::string& where, std::vector<PolicyRule>* out,
                std::string* err);

/// Parses a whole text, line by line: comments (#) and blank lines are
/// skipped. Each rule's place is "FILE:LINE" in `*places`, one per rule.
bool parse(const std::string& text, const std::string& file, std::vector<PolicyRule>* out,
           std::vector<std::string>* places, std::string* err);

/// The value of a named constant (AF_UNIX, PROT_EXEC, TCGETS, KVM_RUN, ...),
/// taken from the system headers at compile time.
bool constant(const std::string& name, uint64_t* value);

}  // namespace boxjail::minijail

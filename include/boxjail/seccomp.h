// seccomp: --seccomp-deny, --seccomp-allow, --seccomp-default,
// --seccomp-profile and --seccomp-bpf. The parent resolves every rule with
// libseccomp for the native architecture and exports the filter to a
// classic-BPF program, before anything is created; the child only calls
// seccomp(SECCOMP_SET_MODE_FILTER) as its very last step before execve
// (child.h). A filter boxjail builds kills the process on any system call
// made through another ABI of the CPU (i386 int 0x80, x32).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace boxjail {

struct Options;

namespace seccomp {

struct Rule {
  std::string name;    // the system call, as libseccomp names it
  int nr = 0;          // its native number
  bool allow = false;  // allowlist entry; else fails with err
  int err = 0;
  std::string from;    // "--seccomp-deny ptrace" or "FILE:LINE"
};

struct SeccompPlan {
  bool active = false;
  bool allowlist = false;        // default action applies to the rest
  std::string default_action;    // "allow", "kill-process", "trap", "log", "errno:EPERM"
  std::vector<Rule> rules;
  std::string bpf_file;          // --seccomp-bpf FILE, or ""
  std::vector<sock_filter> program;  // what the child loads
};

/// Checks and resolves the seccomp flags of `o` into `*plan`, building the
/// BPF program. False with a one-line message naming the flag in `*err`.
bool check(const Options& o, SeccompPlan* plan, std::string* err);

/// The seccomp part of --dry-run, as a JSON object.
std::string to_json(const SeccompPlan& plan);

/// "EPERM" → EPERM, "13" → 13; false if neither.
bool parse_errno(const std::string& text, int* out);
/// EPERM → "EPERM" (or the number, if it has no name here).
std::string errno_name(int e);

}  // namespace seccomp
}  // namespace boxjail

// The --rlimit grammar and its resolution against the current limits.
//
//   NAME=VALUE      VALUE := SOFT:HARD | SOFT: | :HARD | BOTH
//
// Parsing is pure (parse_rlimit); resolution (resolve_rlimit) consults the
// SystemFacts seam for the current limits, CAP_SYS_RESOURCE and fs.nr_open.
#pragma once

#include <sys/resource.h>

#include <optional>
#include <string>
#include <string_view>

#include "boxjail/sysfacts.h"

namespace boxjail {

/// What a value of a given limit may be written as.
enum class RlimitUnit {
  kBytes,     // K M G T P E suffixes, powers of 1024, optional B / iB
  kSeconds,   // cpu: s, m / min, h
  kMicros,    // rttime: us, ms, s
  kCount,     // plain integer
  kNice,      // plain integer 0..40 (the raw RLIMIT_NICE ceiling)
  kPriority,  // plain integer 0..99 (RLIMIT_RTPRIO)
};

struct RlimitInfo {
  const char* name;  // lower case, without RLIMIT_
  int resource;      // RLIMIT_*
  RlimitUnit unit;
};

/// Looks a name up case-insensitively, with or without the RLIMIT_ prefix.
const RlimitInfo* find_rlimit(std::string_view name);

/// Every limit --rlimit knows, in name order (for completions).
const RlimitInfo* rlimit_table(size_t* n);

/// One parsed --rlimit flag. Unset optionals mean "keep the current value".
struct RlimitRequest {
  const RlimitInfo* info = nullptr;
  std::optional<rlim_t> soft;
  std::optional<rlim_t> hard;
  std::string spec;  // the flag's argument as the user typed it
};

/// A limit ready for setrlimit(): both values final and checked.
struct RlimitSetting {
  int resource = 0;
  rlimit value{};
  const RlimitInfo* info = nullptr;
  std::string spec;
};

/// Parses one --rlimit argument. On error returns false and sets `*err` to a
/// one-line message without the "boxjail: " prefix.
bool parse_rlimit(std::string_view spec, RlimitRequest* out, std::string* err);

/// Fills in kept values from the current limits and checks what the kernel
/// would refuse: soft above hard, a hard raise without CAP_SYS_RESOURCE,
/// nofile above fs.nr_open.
bool resolve_rlimit(const RlimitRequest& req, SystemFacts& sys,
                    RlimitSetting* out, std::string* err);

/// "unlimited" or the decimal number.
std::string format_rlim(rlim_t v);

}  // namespace boxjail

// --rlimit NAME=VALUE: no crash, and what is accepted reads back the same
// when written as numbers.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "boxjail/log.h"
#include "boxjail/rlimit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string spec(reinterpret_cast<const char*>(data), size);
  boxjail::RlimitRequest r;
  std::string err;
  if (!boxjail::parse_rlimit(spec, &r, &err)) {
    // What reaches stderr is always one line.
    if (err.empty() || boxjail::log::printable(err).find('\n') != std::string::npos) abort();
    return 0;
  }
  if (r.soft && r.hard && *r.soft > *r.hard) abort();
  std::string again = std::string(r.info->name) + "=" +
                      (r.soft ? boxjail::format_rlim(*r.soft) : "") + ":" +
                      (r.hard ? boxjail::format_rlim(*r.hard) : "");
  boxjail::RlimitRequest back;
  if (!boxjail::parse_rlimit(again, &back, &err)) abort();  // accepted once, refused now
  if (back.info != r.info || back.soft != r.soft || back.hard != r.hard) abort();
  return 0;
}

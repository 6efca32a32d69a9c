// PID-file records as read back: no crash, and an accepted record is
// exactly what boxjail would write for it.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "boxjail/pidfile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  boxjail::PidRecord r;
  if (!boxjail::parse_pid_record(text, &r)) return 0;
  if (r.pid <= 0) abort();
  if (boxjail::format_pid_record(r) != text) abort();
  return 0;
}

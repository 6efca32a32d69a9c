// --die-with-parent=SIGNAL: no crash, and an accepted signal's name parses
// back to the same signal.
#include <signal.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "boxjail/signames.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  int sig = 0;
  if (!boxjail::parse_signal(text, &sig)) return 0;
  if (sig < 1 || sig > SIGRTMAX) abort();
  int back = 0;
  if (!boxjail::parse_signal(boxjail::signal_name(sig), &back) || back != sig) abort();
  return 0;
}

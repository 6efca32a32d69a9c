// Signal names as users write them: KILL, SIGKILL, sigterm, 9, RTMIN+2.
#pragma once

#include <string>
#include <string_view>

namespace boxjail {

/// Parses a signal name or number (1..SIGRTMAX). Names are
/// case-insensitive, with or without the SIG prefix; RTMIN+N and RTMAX-N
/// name real-time signals.
bool parse_signal(std::string_view text, int* out);

/// "SIGTERM", or "SIGRTMIN+3", or the number.
std::string signal_name(int sig);

}  // namespace boxjail

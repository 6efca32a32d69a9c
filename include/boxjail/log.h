// Parent-side logging: spdlog, created lazily on the first line that is
// actually emitted, so a quiet launch never pays for it. Every line is
// prefixed "boxjail: ". Never call these after fork.
#pragma once

#include <string>
#include <string_view>

namespace boxjail::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

void set_level(Level level);
Level level();
/// Parses trace/debug/info/warn/error/off.
bool parse_level(std::string_view name, Level* out);
/// Lines go to descriptor `fd` (default 2) from now on.
void set_fd(int fd);
int fd();

/// Whether a line at `level` would be written; check it before building an
/// expensive message.
bool enabled(Level level);

/// `msg` made safe for one line of a terminal: control characters (a
/// newline in a flag's value, an escape sequence) become \n, \r or \xNN.
/// Every line goes through it.
std::string printable(std::string_view msg);

void write(Level level, std::string_view msg);
inline void error(std::string_view msg) { write(Level::kError, msg); }
inline void warn(std::string_view msg) { write(Level::kWarn, msg); }
inline void info(std::string_view msg) { write(Level::kInfo, msg); }
inline void debug(std::string_view msg) { write(Level::kDebug, msg); }

}  // namespace boxjail::log

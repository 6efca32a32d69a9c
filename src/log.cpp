#include "boxjail/log.h"

#include "boxjail/io.h"

#include <unistd.h>

#include <memory>
#include <spdlog/details/null_mutex.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

namespace boxjail::log {
namespace {

Level g_level = Level::kWarn;
int g_fd = 2;

// Writes whole lines to a raw descriptor with one write(2) each, so lines
// from concurrent boxjail processes sharing a stderr do not interleave.
class FdSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    write_all_quietly(g_fd, std::string_view(buf.data(), buf.size()));
  }
  void flush_() override {}
};

spdlog::logger& logger() {
  static spdlog::logger* l = [] {
    auto* lg = new spdlog::logger("boxjail", std::make_shared<FdSink>());
    lg->set_pattern("boxjail: %v");
    lg->set_level(spdlog::level::trace);
    return lg;
  }();
  return *l;
}

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: break;
  }
  return spdlog::level::off;
}

}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }
void set_fd(int fd) { g_fd = fd; }
int fd() { return g_fd; }

bool parse_level(std::string_view name, Level* out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"trace", Level::kTrace}, {"debug", Level::kDebug},
      {"info", Level::kInfo},   {"warn", Level::kWarn},
      {"warning", Level::kWarn}, {"error", Level::kError},
      {"off", Level::kOff}};
  for (const auto& [n, l] : kNames) {
    if (n == name) {
      *out = l;
      return true;
    }
  }
  return false;
}

bool enabled(Level level) { return level >= g_level && level != Level::kOff; }

std::string printable(std::string_view msg) {
  std::string out;
  out.reserve(msg.size());
  static const char kHex[] = "0123456789abcdef";
  for (char ch : msg) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

void write(Level level, std::string_view msg) {
  if (!enabled(level)) return;
  logger().log(to_spd(level), "{}", printable(msg));
}

}  // namespace boxjail::log

#include "boxjail/timeout.h"

#include <signal.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "boxjail/cli.h"
#include "boxjail/numparse.h"
#include "boxjail/plan.h"
#include "boxjail/signames.h"

namespace boxjail::timeout {
namespace {

constexpr int64_t kMs = 1000000, kS = 1000 * kMs, kMaxNs = 10000LL * 86400 * kS;

// The unit's length in nanoseconds, or 0 if `u` names none.
int64_t unit_ns(std::string_view u) {
  if (u.empty() || u == "s") return kS;
  if (u == "ms") return kMs;
  if (u == "m") return 60 * kS;
  if (u == "h") return 3600 * kS;
  if (u == "d") return 86400 * kS;
  return 0;
}

}  // namespace

bool parse_duration(std::string_view text, int64_t* ns) {
  uint64_t whole = 0, frac = 0;
  size_t used = 0;
  if (parse_u64_prefix(text, &whole, &used) != NumError::kOk) return false;
  std::string_view rest = text.substr(used);
  size_t decimals = 0;
  if (!rest.empty() && rest[0] == '.') {
    rest.remove_prefix(1);
    if (parse_u64_prefix(rest, &frac, &decimals) != NumError::kOk || decimals > 3) return false;
    rest.remove_prefix(decimals);
  }
  const int64_t unit = unit_ns(rest);
  if (unit == 0 || whole > static_cast<uint64_t>(kMaxNs / unit)) return false;
  for (size_t i = decimals; i < 3; ++i) frac *= 10;
  const int64_t v = static_cast<int64_t>(whole) * unit + static_cast<int64_t>(frac) * (unit / 1000);
  if (v <= 0 || v > kMaxNs) return false;
  *ns = v;
  return true;
}

bool check(const Options& o, TimeoutPlan* plan, std::string* err) {
  if (!o.has_timeout) return true;
  const std::string flag = "--timeout " + o.timeout;
  for (const auto& [on, mode] : {std::pair{o.detach, "--detach"}, std::pair{o.no_fork, "--no-fork"}})
    if (on)
      return *err = "--timeout cannot be combined with " + std::string(mode) +
                    " (no supervisor stays to end PROGRAM; --rlimit cpu=SECONDS limits CPU "
                    "time, not wall-clock time)",
             false;
  const size_t colon = o.timeout.find(':');
  const std::string duration = o.timeout.substr(0, colon);
  if (!parse_duration(duration, &plan->ns))
    return *err = flag + ": not a duration (more than 0 and at most 10000d, up to three "
                         "decimals: 30, 1.5, 500ms, 2m, 1h, 1d)",
           false;
  plan->signal = SIGTERM;
  if (colon != std::string::npos) {
    const std::string sig = o.timeout.substr(colon + 1);
    if (!parse_signal(sig, &plan->signal))
      return *err = flag + ": unknown signal '" + sig +
                    "' (use a name such as TERM or INT, or a number)",
             false;
  }
  plan->active = true;
  plan->spec = o.timeout;
  return true;
}

int start_timer(int64_t ns, std::string* err) {
  const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  itimerspec at{};
  at.it_value.tv_sec = static_cast<time_t>(ns / kS);
  at.it_value.tv_nsec = static_cast<long>(ns % kS);
  if (fd < 0 || timerfd_settime(fd, 0, &at, nullptr) != 0) {
    *err = std::string("--timeout: timerfd: ") + std::strerror(errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

std::string to_json(const TimeoutPlan& plan, const char* to, int grace_ms) {
  std::string j = "{\"ms\":" + std::to_string(plan.ns / kMs) + ",\"signal\":";
  json_escape(&j, signal_name(plan.signal));
  j += ",\"to\":";
  json_escape(&j, to);
  return j + ",\"then\":\"SIGKILL\",\"grace_ms\":" + std::to_string(grace_ms) +
         ",\"exit_code\":124}";
}

}  // namespace boxjail::timeout

#include "boxjail/signames.h"

#include <signal.h>

#include <cstdint>

#include "boxjail/numparse.h"

namespace boxjail {
namespace {

struct Named {
  const char* name;
  int sig;
};

constexpr Named kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

bool small_number(std::string_view s, int max, int* out) {
  uint64_t v = 0;
  size_t used = 0;
  if (parse_u64_prefix(s, &v, &used) != NumError::kOk || used != s.size()) return false;
  if (v > static_cast<uint64_t>(max)) return false;
  *out = static_cast<int>(v);
  return true;
}

// "RTMIN" / "RTMIN+N" (sign '+', direction 1) and "RTMAX" / "RTMAX-N".
bool parse_realtime(std::string_view text, std::string_view base, char sign, int origin,
                    int direction, int* out) {
  if (text.size() < base.size() || !iequals(text.substr(0, base.size()), base)) return false;
  std::string_view rest = text.substr(base.size());
  int n = 0;
  if (!rest.empty() && (rest[0] != sign || !small_number(rest.substr(1), SIGRTMAX - SIGRTMIN, &n)))
    return false;
  *out = origin + direction * n;
  return true;
}

}  // namespace

bool parse_signal(std::string_view text, int* out) {
  int n = 0;
  if (small_number(text, SIGRTMAX, &n)) {
    if (n < 1) return false;
    *out = n;
    return true;
  }
  if (text.size() > 3 && iequals(text.substr(0, 3), "SIG")) text.remove_prefix(3);
  for (const auto& s : kSignals) {
    if (iequals(text, s.name)) {
      *out = s.sig;
      return true;
    }
  }
  return parse_realtime(text, "RTMIN", '+', SIGRTMIN, 1, out) ||
         parse_realtime(text, "RTMAX", '-', SIGRTMAX, -1, out);
}

std::string signal_name(int sig) {
  for (const auto& s : kSignals)
    if (s.sig == sig) return std::string("SIG") + s.name;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  return std::to_string(sig);
}

}  // namespace boxjail

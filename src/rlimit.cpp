#include "boxjail/rlimit.h"

#include <array>
#include <cstdint>

#include "boxjail/numparse.h"
#include "boxjail/suggest.h"

#include <string>
#include <vector>

namespace boxjail {
namespace {

constexpr std::array<RlimitInfo, 16> kLimits{{
    {"as", RLIMIT_AS, RlimitUnit::kBytes},
    {"core", RLIMIT_CORE, RlimitUnit::kBytes},
    {"cpu", RLIMIT_CPU, RlimitUnit::kSeconds},
    {"data", RLIMIT_DATA, RlimitUnit::kBytes},
    {"fsize", RLIMIT_FSIZE, RlimitUnit::kBytes},
    {"locks", RLIMIT_LOCKS, RlimitUnit::kCount},
    {"memlock", RLIMIT_MEMLOCK, RlimitUnit::kBytes},
    {"msgqueue", RLIMIT_MSGQUEUE, RlimitUnit::kBytes},
    {"nice", RLIMIT_NICE, RlimitUnit::kNice},
    {"nofile", RLIMIT_NOFILE, RlimitUnit::kCount},
    {"nproc", RLIMIT_NPROC, RlimitUnit::kCount},
    {"rss", RLIMIT_RSS, RlimitUnit::kBytes},
    {"rtprio", RLIMIT_RTPRIO, RlimitUnit::kPriority},
    {"rttime", RLIMIT_RTTIME, RlimitUnit::kMicros},
    {"sigpending", RLIMIT_SIGPENDING, RlimitUnit::kCount},
    {"stack", RLIMIT_STACK, RlimitUnit::kBytes},
}};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Multiplier for `suffix` under `unit`, or 0 when it does not belong there.
uint64_t suffix_factor(RlimitUnit unit, std::string_view suffix) {
  if (suffix.empty()) return 1;
  switch (unit) {
    case RlimitUnit::kBytes: {
      if (suffix == "B") return 1;
      static constexpr std::string_view kLetters = "KMGTPE";
      size_t pos = kLetters.find(suffix[0]);
      if (pos == std::string_view::npos) return 0;
      std::string_view rest = suffix.substr(1);
      if (!rest.empty() && rest != "B" && rest != "iB") return 0;
      return uint64_t{1} << (10 * (pos + 1));
    }
    case RlimitUnit::kSeconds:
      if (suffix == "s") return 1;
      if (suffix == "m" || suffix == "min") return 60;
      if (suffix == "h") return 3600;
      return 0;
    case RlimitUnit::kMicros:
      if (suffix == "us") return 1;
      if (suffix == "ms") return 1000;
      if (suffix == "s") return 1000000;
      return 0;
    default:
      return 0;
  }
}

const char* suffix_hint(RlimitUnit unit) {
  switch (unit) {
    case RlimitUnit::kBytes: return "use K, M, G, T, P or E, optionally followed by B or iB";
    case RlimitUnit::kSeconds: return "use s, m, min or h";
    case RlimitUnit::kMicros: return "use us, ms or s";
    default: return "";
  }
}

// Parses one side of VALUE. `what` is "soft " / "hard " / "" for messages.
bool parse_value(const RlimitInfo& info, std::string_view text,
                 std::string_view what, rlim_t* out, std::string* err) {
  if (text.empty()) {
    *err = std::string("empty ") + std::string(what) + "value";
    return false;
  }
  if (iequals(text, "unlimited") || iequals(text, "infinity")) {
    *out = RLIM_INFINITY;
    return true;
  }
  if (text[0] == '-') {
    *err = "negative value '" + std::string(text) + "'";
    return false;
  }
  uint64_t v = 0;
  size_t used = 0;
  switch (parse_u64_prefix(text, &v, &used)) {
    case NumError::kOk:
      break;
    case NumError::kOverflow:
      *err = "'" + std::string(text) + "' is out of range";
      return false;
    default:
      *err = "'" + std::string(text) +
             "' is not a number (or 'unlimited')";
      return false;
  }
  std::string_view suffix = text.substr(used);
  uint64_t factor = suffix_factor(info.unit, suffix);
  if (factor == 0) {
    const char* hint = suffix_hint(info.unit);
    if (*hint == '\0') {
      *err = std::string(info.name) + " takes a plain number, not '" +
             std::string(text) + "'";
    } else {
      *err = "unknown suffix '" + std::string(suffix) + "' in '" +
             std::string(text) + "' (" + hint + ")";
    }
    return false;
  }
  if (v > (RLIM_INFINITY - 1) / factor) {
    *err = "'" + std::string(text) + "' is out of range (use 'unlimited')";
    return false;
  }
  v *= factor;
  uint64_t ceiling = info.unit == RlimitUnit::kNice       ? 40
                     : info.unit == RlimitUnit::kPriority ? 99
                                                          : UINT64_MAX;
  if (v > ceiling) {
    *err = std::string(info.name) + " must be between 0 and " +
           std::to_string(ceiling) + " (or 'unlimited'), not '" +
           std::string(text) + "'";
    return false;
  }
  *out = v;
  return true;
}

std::string names_list() {
  std::string s;
  for (const auto& l : kLimits) {
    if (!s.empty()) s += ' ';
    s += l.name;
  }
  return s;
}

}  // namespace

const RlimitInfo* rlimit_table(size_t* n) {
  *n = kLimits.size();
  return kLimits.data();
}

const RlimitInfo* find_rlimit(std::string_view name) {
  if (name.size() > 7 && iequals(name.substr(0, 7), "RLIMIT_")) name.remove_prefix(7);
  for (const auto& l : kLimits)
    if (iequals(name, l.name)) return &l;
  return nullptr;
}

std::string format_rlim(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

bool parse_rlimit(std::string_view spec, RlimitRequest* out, std::string* err) {
  auto fail = [&](const std::string& why) {
    *err = "--rlimit " + std::string(spec) + ": " + why;
    return false;
  };
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos) return fail("expected NAME=VALUE");
  std::string_view name = spec.substr(0, eq);
  std::string_view value = spec.substr(eq + 1);
  if (name.empty()) return fail("empty limit name (known: " + names_list() + ")");
  const RlimitInfo* info = find_rlimit(name);
  if (!info) {
    size_t n = 0;
    const RlimitInfo* t = rlimit_table(&n);
    std::vector<std::string> known;
    for (size_t i = 0; i < n; ++i) known.push_back(t[i].name);
    return fail("unknown limit '" + std::string(name) + "'" + suggest::did_you_mean(name, known) +
                " (known: " + names_list() + ")");
  }
  RlimitRequest r;
  r.info = info;
  r.spec = std::string(spec);
  std::string why;
  size_t colon = value.find(':');
  if (colon == std::string_view::npos) {
    rlim_t v = 0;
    if (!parse_value(*info, value, "", &v, &why)) return fail(why);
    r.soft = v;
    r.hard = v;
  } else {
    std::string_view soft = value.substr(0, colon);
    std::string_view hard = value.substr(colon + 1);
    if (hard.find(':') != std::string_view::npos)
      return fail("too many ':' (expected SOFT:HARD)");
    if (soft.empty() && hard.empty())
      return fail("empty soft and hard values (expected SOFT:HARD, SOFT:, :HARD or one value)");
    rlim_t v = 0;
    if (!soft.empty()) {
      if (!parse_value(*info, soft, "soft ", &v, &why)) return fail(why);
      r.soft = v;
    }
    if (!hard.empty()) {
      if (!parse_value(*info, hard, "hard ", &v, &why)) return fail(why);
      r.hard = v;
    }
    if (r.soft && r.hard && *r.soft > *r.hard)
      return fail("soft limit above hard limit");
  }
  *out = std::move(r);
  return true;
}

bool resolve_rlimit(const RlimitRequest& req, SystemFacts& sys,
                    RlimitSetting* out, std::string* err) {
  auto fail = [&](const std::string& why) {
    *err = "--rlimit " + req.spec + ": " + why;
    return false;
  };
  const rlimit cur = sys.current_rlimit(req.info->resource);
  rlimit v{};
  v.rlim_max = req.hard.value_or(cur.rlim_max);
  if (req.soft) {
    v.rlim_cur = *req.soft;
    if (v.rlim_cur > v.rlim_max)
      return fail("soft limit " + format_rlim(v.rlim_cur) +
                  " above the current hard limit " + format_rlim(v.rlim_max));
  } else {
    // ":HARD" keeps the soft limit, lowered to fit under the new hard one.
    v.rlim_cur = cur.rlim_cur < v.rlim_max ? cur.rlim_cur : v.rlim_max;
  }
  // Only a raise can newly cross fs.nr_open (reading it costs a few
  // syscalls on every launch); a lower hard limit that the kernel still
  // refuses is reported by the setrlimit step.
  if (req.info->resource == RLIMIT_NOFILE && v.rlim_max > cur.rlim_max &&
      v.rlim_max > sys.nr_open())
    return fail("above fs.nr_open (" + std::to_string(sys.nr_open()) +
                "), the kernel's ceiling for nofile; raise the sysctl first");
  if (v.rlim_max > cur.rlim_max && !sys.has_cap_sys_resource())
    return fail("raising the hard limit above " + format_rlim(cur.rlim_max) +
                " needs CAP_SYS_RESOURCE, which boxjail does not have");
  out->resource = req.info->resource;
  out->value = v;
  out->info = req.info;
  out->spec = req.spec;
  return true;
}

}  // namespace boxjail

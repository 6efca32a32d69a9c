#include "boxjail/cgroup_v1.h"

#include <cstring>

namespace boxjail::cgroup {
namespace {

const char* const kTranslated[] = {"memory.max", "memory.swap.max", "memory.high",
                                   "pids.max",   "cpu.max",         "cpu.weight",
                                   "io.weight",  "cpuset.cpus",     "cpuset.mems"};

// A decimal number without sign or suffix, at most `max`.
bool parse_count(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

std::vector<std::string> fields(const std::string& s) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) v.push_back(s.substr(i, j - i));
    i = j;
  }
  return v;
}

std::string not_bytes(const Request& r) {
  return "--cgroup-set " + r.spec + ": '" + r.value +
         "' is not a byte count (a number with an optional K, M, G, T, P or E suffix, or max)";
}

// A byte count or "max" as a v1 limit file wants it: "-1" for max.
bool v1_bytes(const Request& r, std::string* value, std::string* err) {
  if (r.value == "max") return *value = "-1", true;
  uint64_t b = 0;
  if (!parse_bytes(r.value, &b)) return *err = not_bytes(r), false;
  *value = std::to_string(b);
  return true;
}

bool swap_for_v1(const Request& r, const std::vector<Request>& all, std::vector<Write>* out,
                 std::string* err) {
  const std::string what = "--cgroup-set " + r.spec +
                           ": on cgroup v1 this is memory.memsw.limit_in_bytes, which counts "
                           "memory and swap together";
  uint64_t swap = 0;
  if (r.value != "max" && !parse_bytes(r.value, &swap)) return *err = not_bytes(r), false;
  const Request* memory = nullptr;
  for (const auto& o : all)
    if (o.file == "memory.max" || o.file == "memory.limit_in_bytes") memory = &o;
  if (r.value == "max") {
    out->push_back({"memory.memsw.limit_in_bytes", "-1", r.file, ""});
    return true;
  }
  if (!memory)
    return *err = what + ": give memory.max too (boxjail writes their sum)", false;
  if (memory->value == "max")
    return *err = what + ", which cannot be limited while memory.max is max", false;
  uint64_t mem = 0;
  if (!parse_bytes(memory->value, &mem)) return *err = not_bytes(*memory), false;
  constexpr uint64_t kMax = INT64_MAX;  // the kernel's page counters stop below
  if (mem > kMax || swap > kMax - mem)
    return *err = what + ": memory.max plus this is too large", false;
  out->push_back({"memory.memsw.limit_in_bytes", std::to_string(mem + swap), r.file,
                  "memory.max + memory.swap.max (v1 limits memory and swap together)"});
  return true;
}

bool cpu_max_for_v1(const Request& r, std::vector<Write>* out, std::string* err) {
  const std::vector<std::string> f = fields(r.value);
  const std::string bad = "--cgroup-set " + r.spec +
                          ": expected \"QUOTA PERIOD\", \"QUOTA\", \"max PERIOD\" or \"max\", in "
                          "microseconds (such as \"50000 100000\": half a CPU)";
  if (f.empty() || f.size() > 2) return *err = bad, false;
  uint64_t quota = 0, period = 0;
  if (f[0] != "max" && !parse_count(f[0], INT64_MAX, &quota)) return *err = bad, false;
  if (f.size() == 2 && !parse_count(f[1], INT64_MAX, &period)) return *err = bad, false;
  // The kernel's bounds (kernel/sched/core.c), checked here so that the
  // message names the flag.
  if (f.size() == 2 && (period < 1000 || period > 1000000))
    return *err = "--cgroup-set " + r.spec +
                  ": the period must be 1000 to 1000000 microseconds (1 ms to 1 s)",
           false;
  if (f[0] != "max" && quota < 1000)
    return *err = "--cgroup-set " + r.spec + ": the quota must be at least 1000 microseconds (1 ms)",
           false;
  // The period first: the quota is checked against it.
  if (f.size() == 2) out->push_back({"cpu.cfs_period_us", f[1], r.file, ""});
  out->push_back({"cpu.cfs_quota_us", f[0] == "max" ? "-1" : f[0], r.file, ""});
  return true;
}

bool weight_for_v1(const Request& r, std::vector<Write>* out, std::string* err) {
  const bool io = r.file == "io.weight";
  std::vector<std::string> f = fields(r.value);
  std::string device;  // io.weight's "MAJ:MIN W"
  if (io && f.size() == 2 && f[0] == "default") {
    f.erase(f.begin());
  } else if (io && f.size() == 2 && f[0].find(':') != std::string::npos) {
    device = f[0];
    f.erase(f.begin());
  }
  uint64_t w = 0;
  if (f.size() != 1 || !parse_count(f[0], 10000, &w) || w < 1)
    return *err = "--cgroup-set " + r.spec + ": not a weight (1 to 10000" +
                  (io ? ", \"default N\" or \"MAJOR:MINOR N\")" : ")"),
           false;
  if (!io) {
    // systemd's cgroup_cpu_weight_to_shares(): the default weight, 100,
    // is the default share, 1024; the range stays inside 2..262144.
    out->push_back({"cpu.shares", std::to_string(w * 1024 / 100), r.file,
                    "cpu.weight*1024/100, as systemd maps CPUWeight= to CPUShares="});
    return true;
  }
  // systemd's cgroup_weight_io_to_blkio(): 100 is blkio's default, 500.
  uint64_t b = w * 500 / 100;
  b = b < 10 ? 10 : b > 1000 ? 1000 : b;
  const std::string note = "io.weight*500/100 clamped to 10..1000, as systemd maps IOWeight=";
  if (device.empty())
    out->push_back({"blkio.weight", std::to_string(b), r.file, note});
  else
    out->push_back({"blkio.weight_device", device + " " + std::to_string(b), r.file, note});
  return true;
}

}  // namespace

bool parse_bytes(const std::string& s, uint64_t* out) {
  size_t i = 0;
  uint64_t v = 0;
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  std::string suffix = s.substr(i);
  static const char kUnits[] = "KMGTPE";
  int shift = 0;
  if (!suffix.empty()) {
    const char* u = strchr(kUnits, suffix[0] >= 'a' ? suffix[0] - 32 : suffix[0]);
    if (!u || !*u) return false;
    shift = 10 * static_cast<int>(u - kUnits + 1);
    std::string rest = suffix.substr(1);
    if (!rest.empty() && rest != "B" && rest != "iB") return false;
  }
  if (shift && v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}

bool is_bytes_file(const std::string& f) {
  return f == "memory.max" || f == "memory.high" || f == "memory.low" || f == "memory.min" ||
         f == "memory.swap.max" || f == "memory.swap.high" || f == "memory.limit_in_bytes" ||
         f == "memory.soft_limit_in_bytes" || f == "memory.memsw.limit_in_bytes" ||
         f == "memory.kmem.limit_in_bytes" || f == "memory.kmem.tcp.limit_in_bytes";
}

std::string controller_of(const std::string& file) { return file.substr(0, file.find('.')); }

std::string v1_controller(const std::string& controller) {
  return controller == "io" ? "blkio" : controller;
}

bool translated(const std::string& file) {
  for (const char* t : kTranslated)
    if (file == t) return true;
  return false;
}

std::string translated_names() {
  std::string s;
  for (const char* t : kTranslated) s += (s.empty() ? "" : ", ") + std::string(t);
  return s;
}

bool for_v2(const Request& r, Write* out, std::string* err) {
  *out = {r.file, r.value, "", ""};
  if (!is_bytes_file(r.file) || r.value == "max") return true;
  uint64_t b = 0;
  if (!parse_bytes(r.value, &b)) return *err = not_bytes(r), false;
  out->value = std::to_string(b);
  return true;
}

bool for_v1(const Request& r, const std::vector<Request>& all, std::vector<Write>* out,
            std::string* err) {
  std::string v;
  if (r.file == "memory.max") {
    if (!v1_bytes(r, &v, err)) return false;
    out->push_back({"memory.limit_in_bytes", v, r.file, ""});
    return true;
  }
  if (r.file == "memory.swap.max") return swap_for_v1(r, all, out, err);
  if (r.file == "memory.high") {
    if (!v1_bytes(r, &v, err)) return false;
    out->push_back({"memory.soft_limit_in_bytes", v, r.file,
                    "approximate: v1 pushes the cgroup back to it only when the host is short "
                    "of memory, where v2 throttles it at this point"});
    return true;
  }
  if (r.file == "cpu.max") return cpu_max_for_v1(r, out, err);
  if (r.file == "cpu.weight" || r.file == "io.weight") return weight_for_v1(r, out, err);
  // pids.max, cpuset.cpus, cpuset.mems have the same names on v1; the
  // rest is a v1 name (or one the kernel will refuse, naming the file).
  if (is_bytes_file(r.file)) {
    if (!v1_bytes(r, &v, err)) return false;
    out->push_back({r.file, v, "", ""});
    return true;
  }
  out->push_back({r.file, r.value, "", ""});
  return true;
}

}  // namespace boxjail::cgroup

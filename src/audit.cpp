#include "boxjail/audit.h"

#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

namespace boxjail::audit {
namespace {

constexpr size_t kMaxPending = 64;       // access records waiting for their domain
constexpr size_t kMaxDomains = 4096;     // allocated records remembered
constexpr int kMaxPerDrain = 4096;       // datagrams read by one drain()
constexpr size_t kBufferSize = 1 << 16;  // a record is at most a few KiB
constexpr int kReceiveBuffer = 1 << 20;
constexpr char kHex[] = "0123456789abcdef";

struct Field {
  std::string_view key, value;
  bool quoted = false;
};

// A field name as the kernel spells them: "ino", "nl-mcgrp".
bool is_name(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

// "key=value key2="quoted" key3=4142": the kernel separates fields by one
// space and never puts a space or a quote inside a quoted value (it
// hex-encodes such strings instead). A token without '=', or whose name is
// not one, is skipped.
std::vector<Field> split_fields(std::string_view s) {
  std::vector<Field> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '=') ++i;
    if (i >= s.size() || s[i] != '=') continue;
    Field f;
    f.key = s.substr(start, i - start);
    ++i;
    if (i < s.size() && s[i] == '"') {
      const size_t close = s.find('"', i + 1);
      const size_t end = close == std::string_view::npos ? s.size() : close;
      f.value = s.substr(i + 1, end - i - 1);
      f.quoted = true;
      i = end + 1;
    } else {
      const size_t end = std::min(s.find(' ', i), s.size());
      f.value = s.substr(i, end - i);
      i = end;
    }
    if (is_name(f.key)) out.push_back(f);
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The fields audit_log_untrustedstring() writes: quoted, or else hex.
bool is_untrusted_string(std::string_view key) {
  for (std::string_view k : {"path", "name", "dev", "exe", "comm", "ocomm"})
    if (key == k) return true;
  return false;
}

// A string field's value: quoted as is, unquoted hex decoded. An unquoted
// value that is not hex ("<too_long>", "(null)") stays as written.
std::string decoded(const Field& f) {
  if (f.quoted || !is_untrusted_string(f.key) || f.value.empty() || f.value.size() % 2 != 0)
    return std::string(f.value);
  std::string out;
  out.reserve(f.value.size() / 2);
  for (size_t i = 0; i < f.value.size(); i += 2) {
    const int hi = hex_digit(f.value[i]), lo = hex_digit(f.value[i + 1]);
    if (hi < 0 || lo < 0) return std::string(f.value);
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

bool parse_hex_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    const int d = hex_digit(c);
    if (d < 0) return false;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  *out = v;
  return v != 0;
}

bool parse_dec_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// The length of the valid UTF-8 sequence at s[i], or 0. With `c1`, the C1
// controls (U+0080..U+009F) count as valid.
size_t utf8_length(std::string_view s, size_t i, bool c1 = false) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, cp = c & 0x1fu;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, cp = c & 0x0fu;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, cp = c & 0x07u;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0u) != 0x80u) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3fu);
  }
  const uint32_t least[] = {0, 0, c1 ? 0x80u : 0xa0u, 0x800, 0x10000};
  if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

bool is_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = utf8_length(s, i, true);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// `s` for one line of a report: as is when it holds only printable
// characters other than the quote and the backslash, else quoted with C
// escapes (\xNN for a control character or a byte that is not UTF-8).
std::string shown(std::string_view s) {
  bool plain = !s.empty();
  for (size_t i = 0; plain && i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_length(s, i);
      plain = n > 0;
      i += std::max<size_t>(n, 1);
    } else {
      plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
      ++i;
    }
  }
  if (plain) return std::string(s);
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c >= 0x80 ? utf8_length(s, i) : 0;
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void append_json_string(std::string* out, std::string_view s) {
  *out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += ch;
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (c < 0x20) {
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 15];
    } else {
      *out += ch;
    }
  }
  *out += '"';
}

// As the kernel hex-encodes: upper case.
std::string upper_hex(std::string_view s) {
  static const char kUpper[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    out += kUpper[c >> 4];
    out += kUpper[c & 15];
  }
  return out;
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

long elapsed_ms(const timespec& since) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since.tv_sec) * 1000 + (now.tv_nsec - since.tv_nsec) / 1000000;
}

// Whether the kernel's audit is on: 1 (or 2, locked on), 0, or -1 where
// boxjail may not ask (AUDIT_GET needs CAP_AUDIT_CONTROL). The kernel sends
// the status from a thread of its own, so it is waited for, briefly.
int audit_enabled() {
  UniqueFd s(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
  if (!s.valid()) return -1;
  struct {
    nlmsghdr h;
    audit_status st;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = AUDIT_GET;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(s.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return -1;
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long left = 500; left > 0; left = 500 - elapsed_ms(start)) {
    pollfd p{s.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    alignas(nlmsghdr) char buf[1024];
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = recvfrom(s.get(), buf, sizeof buf, MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < static_cast<ssize_t>(NLMSG_HDRLEN) || from.nl_pid != 0) continue;
    nlmsghdr h;
    memcpy(&h, buf, sizeof h);
    if (h.nlmsg_type == NLMSG_ERROR && static_cast<size_t>(n) >= NLMSG_HDRLEN + sizeof(nlmsgerr)) {
      nlmsgerr e;
      memcpy(&e, buf + NLMSG_HDRLEN, sizeof e);
      if (e.error != 0) return -1;  // EPERM: not ours to ask
    } else if (h.nlmsg_type == AUDIT_GET &&
               static_cast<size_t>(n) >= NLMSG_HDRLEN + offsetof(audit_status, failure)) {
      audit_status st{};
      memcpy(&st, buf + NLMSG_HDRLEN, std::min(sizeof st, static_cast<size_t>(n) - NLMSG_HDRLEN));
      return static_cast<int>(st.enabled);
    }
  }
  return -1;
}

// Whether boxjail is in a PID namespace other than the initial one, whose
// inode has been fixed since Linux 3.8 (PROC_PID_INIT_INO). Without /proc,
// false: nothing to go by.
bool in_pid_namespace() {
  struct stat st {};
  return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != 0xeffffffcu;
}

}  // namespace

bool parse_record(int type, std::string_view text, Record* out, std::string* why) {
  *out = Record{};
  if (type != kLandlockAccess && type != kLandlockDomain) {
    *why = "not a Landlock record (type " + std::to_string(type) + ")";
    return false;
  }
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.remove_suffix(1);
  if (text.rfind("audit(", 0) == 0) {
    const size_t close = text.find("): ");
    if (close != std::string_view::npos) {
      out->serial = std::string(text.substr(6, close - 6));
      text.remove_prefix(close + 3);
    }
  }
  const std::vector<Field> fields = split_fields(text);
  const auto find = [&](std::string_view key) -> const Field* {
    for (const Field& f : fields)
      if (f.key == key) return &f;
    return nullptr;
  };
  const Field* domain = find("domain");
  if (!domain || !parse_hex_u64(domain->value, &out->domain)) {
    *why = "no domain=ID";
    return false;
  }
  if (type == kLandlockAccess) {
    out->kind = Record::Kind::kAccess;
    const Field* blockers = find("blockers");
    if (!blockers || blockers->value.empty()) {
      *why = "no blockers=";
      return false;
    }
    // "fs.make_reg,fs.refer": names the kernel spells in a-z, 0-9, '_'.
    for (char c : blockers->value) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ',')) {
        *why = "bad blockers=";
        return false;
      }
    }
    out->blockers = std::string(blockers->value);
    if (const Field* path = find("path")) {
      out->has_path = true;
      out->path = decoded(*path);
      if (!out->path.empty() && out->path[0] == '\0') out->path[0] = '@';  // abstract socket
      return true;
    }
    for (const Field& f : fields) {
      if (&f == domain || &f == blockers) continue;
      if (!out->object.empty()) out->object += ' ';
      out->object += std::string(f.key) + "=" + shown(decoded(f));
    }
    return true;
  }
  const Field* status = find("status");
  const std::string_view st = status ? status->value : std::string_view();
  if (st == "allocated") {
    out->kind = Record::Kind::kAllocated;
    const Field* pid = find("pid");
    uint64_t v = 0;
    if (!pid || !parse_dec_u64(pid->value, &v) || v == 0 || v > 0x7fffffff) {
      *why = "no pid=";
      return false;
    }
    out->pid = static_cast<pid_t>(v);
    if (const Field* f = find("exe")) out->exe = decoded(*f);
    if (const Field* f = find("comm")) out->comm = decoded(*f);
    return true;
  }
  if (st == "deallocated") {
    out->kind = Record::Kind::kDeallocated;
    const Field* denials = find("denials");
    if (denials && !parse_dec_u64(denials->value, &out->denials)) {
      *why = "bad denials=";
      return false;
    }
    return true;
  }
  *why = "unknown status=" + std::string(st);
  return false;
}

bool LandlockDenials::open(std::string* why) {
  fd_.reset();
  if (in_pid_namespace()) {
    *why =
        "boxjail is in a PID namespace, and the audit log names processes by their pids in "
        "the initial one";
    return false;
  }
  UniqueFd s(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT));
  if (!s.valid()) {
    *why = errno == EPROTONOSUPPORT ? "the kernel has no audit (CONFIG_AUDIT, or audit=0 at boot)"
                                    : std::string("socket(NETLINK_AUDIT): ") + strerror(errno);
    return false;
  }
  sockaddr_nl group{};
  group.nl_family = AF_NETLINK;
  group.nl_groups = AUDIT_NLGRP_READLOG;
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&group), sizeof group) != 0) {
    *why = errno == EPERM ? "needs CAP_AUDIT_READ"
                          : std::string("bind(AUDIT_NLGRP_READLOG): ") + strerror(errno);
    return false;
  }
  if (audit_enabled() == 0) {
    *why = "audit is disabled (auditctl -e 1)";
    return false;
  }
  // Room for a burst while the caller is busy elsewhere; beyond
  // net.core.rmem_max only with CAP_NET_ADMIN.
  const int size = kReceiveBuffer;
  if (setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    setsockopt(s.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  buf_.resize(kBufferSize);
  fd_ = std::move(s);
  return true;
}

void LandlockDenials::drain(pid_t program) {
  if (!fd_.valid()) return;
  for (int i = 0; i < kMaxPerDrain; ++i) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    const ssize_t got = recvfrom(fd_.get(), buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // the socket overflowed: records were lost
        ++overflows_;
        continue;
      }
      break;  // EAGAIN: nothing more waiting
    }
    // A process with CAP_NET_ADMIN (a PROGRAM that kept it, say) may send
    // to this socket too: only the kernel's messages are records.
    if (from.nl_pid != 0) continue;
    if (static_cast<size_t>(got) > buf_.size()) {  // cut short: would mislead
      ++overflows_;
      continue;
    }
    // One record per message; a datagram could carry several.
    const size_t n = static_cast<size_t>(got);
    for (size_t off = 0; off + NLMSG_HDRLEN <= n;) {
      nlmsghdr h;
      memcpy(&h, buf_.data() + off, sizeof h);
      if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > n - off) break;
      ++received_;
      feed(program, h.nlmsg_type,
           std::string_view(buf_.data() + off + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN));
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
}

void LandlockDenials::feed(pid_t program, int type, std::string_view text) {
  program_ = program;
  if (type != kLandlockAccess && type != kLandlockDomain) return;
  Record r;
  std::string why;
  if (!parse_record(type, text, &r, &why)) return;
  switch (r.kind) {
    case Record::Kind::kAccess: {
      auto d = domains_.find(r.domain);
      if (d == domains_.end()) {
        // Its allocated record follows, or it came before open().
        if (pending_.size() >= kMaxPending) pending_.erase(pending_.begin());
        pending_.push_back(std::move(r));
      } else if (d->second.creator == program_) {
        add(r);
      }
      break;
    }
    case Record::Kind::kAllocated: {
      if (domains_.size() >= kMaxDomains) {
        std::erase_if(domains_, [&](const auto& kv) { return kv.second.creator != program_; });
        if (domains_.size() >= kMaxDomains) domains_.clear();
      }
      domains_.insert({r.domain, Domain{r.pid, false}});
      resolve(program);
      break;
    }
    case Record::Kind::kDeallocated: {
      auto d = domains_.find(r.domain);
      if (d != domains_.end() && d->second.creator == program_) {
        if (!d->second.gone) kernel_count_ += r.denials;
        d->second.gone = true;
      } else {
        if (d != domains_.end()) domains_.erase(d);
        std::erase_if(pending_, [&](const Record& p) { return p.domain == r.domain; });
      }
      break;
    }
  }
}

// Hands the waiting records of domains now known to their owner.
void LandlockDenials::resolve(pid_t program) {
  std::vector<Record> still;
  for (Record& p : pending_) {
    auto d = domains_.find(p.domain);
    if (d == domains_.end()) {
      still.push_back(std::move(p));
    } else if (d->second.creator == program) {
      add(p);
    }
  }
  pending_ = std::move(still);
}

void LandlockDenials::add(const Record& r) {
  ++logged_;
  std::string key = r.blockers;
  key += '\0';
  key += r.has_path ? r.path : r.object;
  auto it = index_.find(key);
  if (it != index_.end()) {
    ++entries_[it->second].count;
  } else if (entries_.size() < kMaxEntries) {
    index_.emplace(std::move(key), entries_.size());
    entries_.push_back({r.blockers, r.has_path, r.has_path ? r.path : r.object, 1});
  } else {
    ++unlisted_;
  }
}

void LandlockDenials::settle(pid_t program, int max_ms) {
  if (!fd_.valid()) return;
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    drain(program);
    bool seen = false;
    for (const auto& [id, d] : domains_) seen = seen || d.creator == program;
    const long limit = seen ? max_ms : std::min(max_ms, 50);
    const long left = limit - elapsed_ms(start);
    if ((seen && !awaiting()) || left <= 0) return;
    pollfd p{fd_.get(), POLLIN, 0};
    poll(&p, 1, static_cast<int>(left));
  }
}

bool LandlockDenials::awaiting() const {
  for (const auto& [id, d] : domains_)
    if (d.creator == program_ && !d.gone) return true;
  return false;
}

std::vector<size_t> LandlockDenials::order() const {
  std::vector<size_t> idx(entries_.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return entries_[a].count > entries_[b].count; });
  return idx;
}

std::vector<std::string> LandlockDenials::report(size_t max) const {
  std::vector<std::string> lines;
  if (max == 0 || logged_ == 0) return lines;
  const std::vector<size_t> idx = order();
  const bool all = idx.size() <= max && unlisted_ == 0;
  const size_t shown_entries = all ? idx.size() : std::min(idx.size(), max - 1);
  for (size_t i = 0; i < shown_entries; ++i) {
    const Entry& e = entries_[idx[i]];
    lines.push_back(e.blockers + " " + (e.has_path ? shown(e.object) : e.object) + " (" +
                    (e.count == 1 ? std::string("once") : std::to_string(e.count) + " times") +
                    ")");
  }
  if (!all) {
    uint64_t rest = unlisted_;
    for (size_t i = shown_entries; i < idx.size(); ++i) rest += entries_[idx[i]].count;
    std::string line = (shown_entries > 0 ? "... and " + std::to_string(rest) + " more "
                                          : std::to_string(rest) + " ") +
                       (rest == 1 ? "denial" : "denials");
    if (unlisted_ == 0) line += " of " + plural(idx.size() - shown_entries, "kind", "kinds");
    lines.push_back(line);
  }
  return lines;
}

std::string LandlockDenials::json() const {
  std::string out = "[";
  for (size_t i : order()) {
    const Entry& e = entries_[i];
    if (out.size() > 1) out += ',';
    out += "{\"blockers\":";
    append_json_string(&out, e.blockers);
    if (!e.has_path) {
      out += ",\"object\":";
      append_json_string(&out, e.object);
    } else if (is_utf8(e.object)) {
      out += ",\"path\":";
      append_json_string(&out, e.object);
    } else {
      out += ",\"path_hex\":\"" + upper_hex(e.object) + "\"";
    }
    out += ",\"count\":" + std::to_string(e.count) + "}";
  }
  return out + "]";
}

std::string LandlockDenials::caveat() const {
  std::string out;
  const auto add_part = [&](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  if (overflows_ > 0)
    add_part("the audit socket overflowed " + plural(overflows_, "time", "times") +
             ", records were lost");
  if (kernel_count_ > logged_ && !awaiting())
    add_part("the kernel counted " + plural(kernel_count_, "denial", "denials") + ", " +
             std::to_string(logged_) +
             " of them logged: audit's backlog or rate limit (auditctl -b, -r) dropped the "
             "others, or they came before PROGRAM's exec");
  if (received_ == 0)
    add_part(
        "no audit record reached boxjail, not even its own subscription's: audit rules, or "
        "a network namespace other than the initial one, may hide them");
  return out;
}

}  // namespace boxjail::audit

#include "boxjail/wire.h"

#include <charconv>

namespace boxjail::wire {

// Numbers are decimal and end in ' '; a string is its length, ':' and its
// bytes.

void Out::num(int64_t v) {
  d_ += std::to_string(v);
  d_ += ' ';
}

void Out::str(std::string_view s) {
  d_ += std::to_string(s.size());
  d_ += ':';
  d_ += s;
}

void Out::strs(const std::vector<std::string>& v) {
  num(static_cast<int64_t>(v.size()));
  for (const auto& s : v) str(s);
}

bool In::num(int64_t* v) {
  if (!ok_) return false;
  const char* end = d_.data() + d_.size();
  auto [p, ec] = std::from_chars(d_.data(), end, *v);
  if (ec != std::errc() || p == end || *p != ' ') return fail();
  d_.remove_prefix(static_cast<size_t>(p + 1 - d_.data()));
  return true;
}

bool In::str(std::string* s) {
  if (!ok_) return false;
  size_t n = 0;
  const char* end = d_.data() + d_.size();
  auto [p, ec] = std::from_chars(d_.data(), end, n);
  if (ec != std::errc() || p == end || *p != ':') return fail();
  const size_t at = static_cast<size_t>(p + 1 - d_.data());
  if (n > d_.size() - at) return fail();
  s->assign(d_.substr(at, n));
  d_.remove_prefix(at + n);
  return true;
}

bool In::strs(std::vector<std::string>* v) {
  int64_t n = 0;
  if (!num(&n) || n < 0 || static_cast<uint64_t>(n) > d_.size()) return fail();
  v->assign(static_cast<size_t>(n), std::string());
  for (auto& s : *v)
    if (!str(&s)) return false;
  return true;
}

}  // namespace boxjail::wire

// A flat record of numbers and strings, for state that crosses an execve of
// boxjail's own (the hand-over to boxjail-wait and the resume: handover.h).
// Written and read in the same order by the same build; a reader that finds
// anything else fails, and every later read fails too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace boxjail::wire {

class Out {
 public:
  void num(int64_t v);
  void str(std::string_view s);
  void strs(const std::vector<std::string>& v);
  const std::string& data() const { return d_; }

 private:
  std::string d_;
};

class In {
 public:
  explicit In(std::string_view d) : d_(d) {}
  bool num(int64_t* v);
  template <class T>
  bool num(T* v) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    int64_t n = 0;
    if (!num(&n)) return false;
    *v = static_cast<T>(n);
    return true;
  }
  bool str(std::string* s);
  bool strs(std::vector<std::string>* v);
  /// Everything read, and nothing left over.
  bool done() const { return ok_ && d_.empty(); }
  bool ok() const { return ok_; }

 private:
  bool fail() { return ok_ = false; }
  std::string_view d_;
  bool ok_ = true;
};

}  // namespace boxjail::wire

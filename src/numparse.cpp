#include "boxjail/numparse.h"

#include <climits>

namespace boxjail {

NumError parse_u64_prefix(std::string_view s, uint64_t* out, size_t* used) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    auto digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return NumError::kOverflow;
    v = v * 10 + digit;
    ++i;
  }
  if (i == 0) return s.empty() ? NumError::kEmpty : NumError::kNotNumber;
  *out = v;
  *used = i;
  return NumError::kOk;
}

NumError parse_fd_number(std::string_view s, int* out) {
  uint64_t v = 0;
  size_t used = 0;
  NumError e = parse_u64_prefix(s, &v, &used);
  if (e != NumError::kOk) return e;
  if (used != s.size()) return NumError::kNotNumber;
  if (v > static_cast<uint64_t>(INT_MAX)) return NumError::kOverflow;
  *out = static_cast<int>(v);
  return NumError::kOk;
}

}  // namespace boxjail

// Strict decimal number parsing shared by every value grammar.
#pragma once

#include <cstdint>
#include <string_view>

namespace boxjail {

enum class NumError { kOk, kEmpty, kNotNumber, kOverflow };

/// Parses a run of ASCII digits at the start of `s` into `*out`.
/// `*used` receives how many characters were consumed. No sign, no
/// whitespace, no base prefixes: "+1", " 1", "0x10" are kNotNumber.
NumError parse_u64_prefix(std::string_view s, uint64_t* out, size_t* used);

/// Parses all of `s` as a descriptor number (0..INT_MAX).
NumError parse_fd_number(std::string_view s, int* out);

}  // namespace boxjail

// --help: the flags of cli.h's table in sections, wrapped to the terminal.
// The table of flags (cli.h) stays the one list of flags; this module only
// says which section each belongs in, by long name, and lays them out.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace CLI {
class Formatter;
}  // namespace CLI

namespace boxjail::help {

/// The sections in --help's order. The last, kOther, holds any flag the
/// section table does not name, so that no flag is ever left out of
/// --help (a unit test fails while one is there).
const char* const* sections(size_t* n);
inline constexpr const char* kOther = "Other options";

/// The section of the flag with this long name ("fs-ro", "help"), or
/// nullptr when the table has none (then --help shows it under kOther).
const char* section_of(std::string_view long_name);

/// section_of(long_name), or kOther.
const char* section_or_other(std::string_view long_name);

/// The width --help wraps to: $COLUMNS when it is a number, else stdout's
/// terminal width (TIOCGWINSZ), else 80; never below kMinWidth.
size_t width_for_stdout();
inline constexpr size_t kMinWidth = 40;

/// `text` as lines of at most `width` columns: the first starts after
/// `used` columns already on the line, the others with `indent` spaces.
/// Breaks at spaces; a word longer than a line is cut. Every line ends in
/// '\n'.
std::string wrap(std::string_view text, size_t width, size_t used, size_t indent);

/// The formatter parse_cli gives CLI11: the usage line of the man page's
/// SYNOPSIS, optional values as [=SIGNAL], the options by section in the
/// order of sections(), each wrapped to `width`.
std::shared_ptr<CLI::Formatter> formatter(size_t width);

}  // namespace boxjail::help

// "Did you mean ...?" for a misspelt name, as git and cargo say it: the
// closest of the known names by edit distance, when it is close enough.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace boxjail::suggest {

/// Optimal string alignment distance (Levenshtein with adjacent
/// transpositions), case-insensitive: "ptrce" → "ptrace" is 1, "ptarce" → 1.
size_t distance(std::string_view a, std::string_view b);

/// The known name closest to `word`, or "" when none is close enough: at
/// most a third of the longer name's length in edits (at least 1, at most
/// 3, and fewer than `word` has letters), or `word` a prefix of exactly one name that is at most 4 characters
/// longer ("fs-r" → "fs-ro" is both). Ties go to the first in `known`, so
/// a table's order decides. `word` itself, exactly, is never suggested.
std::string closest(std::string_view word, const std::vector<std::string>& known);

/// "; did you mean NAME?" for closest(word, known), or "" when nothing is
/// close: appended to a one-line message.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& known,
                         std::string_view prefix = "");

}  // namespace boxjail::suggest

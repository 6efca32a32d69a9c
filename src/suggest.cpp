#include "boxjail/suggest.h"

#include <algorithm>
#include <cctype>

namespace boxjail::suggest {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool iprefix(std::string_view prefix, std::string_view s) {
  return prefix.size() <= s.size() && iequal(prefix, s.substr(0, prefix.size()));
}

// How many edits a name of this length may be away and still be meant.
size_t allowed(size_t len) { return std::clamp<size_t>(len / 3, 1, 3); }

}  // namespace

size_t distance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic programme: the one before the previous is
  // what a transposition looks back to.
  std::vector<size_t> two(b.size() + 1), one(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) one[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = lower(a[i - 1]) == lower(b[j - 1]);
      cur[j] = std::min({one[j] + 1, cur[j - 1] + 1, one[j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        cur[j] = std::min(cur[j], two[j - 2] + 1);
    }
    std::swap(two, one);
    std::swap(one, cur);
  }
  return one[b.size()];
}

std::string closest(std::string_view word, const std::vector<std::string>& known) {
  if (word.empty()) return "";
  const std::string* best = nullptr;
  size_t best_d = 0;
  for (const std::string& k : known) {
    if (iequal(word, k)) return "";  // known already: the problem is elsewhere
    const size_t d = distance(word, k);
    // Never every letter replaced: "x" is no typo of "y".
    if (d > allowed(std::max(word.size(), k.size())) || d >= word.size()) continue;
    if (best == nullptr || d < best_d) {
      best = &k;
      best_d = d;
    }
  }
  if (best != nullptr) return *best;
  // A prefix of exactly one name, not much shorter than it ("seccomp-prof").
  const std::string* only = nullptr;
  for (const std::string& k : known) {
    if (!iprefix(word, k) || k.size() - word.size() > 4 || word.size() < 3) continue;
    if (only != nullptr) return "";
    only = &k;
  }
  return only != nullptr ? *only : "";
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& known,
                         std::string_view prefix) {
  const std::string c = closest(word, known);
  return c.empty() ? "" : "; did you mean " + std::string(prefix) + c + "?";
}

}  // namespace boxjail::suggest

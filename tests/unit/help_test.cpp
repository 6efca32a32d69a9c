#include "boxjail/help.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "boxjail/cli.h"

namespace boxjail {
namespace {

std::string help_at(const char* columns) {
  setenv("COLUMNS", columns, 1);
  Options o;
  const char* argv[] = {"boxjail", "--help"};
  CliResult r = parse_cli(2, argv, &o);
  unsetenv("COLUMNS");
  EXPECT_EQ(r.kind, CliResult::kExit);
  EXPECT_EQ(r.exit_code, 0);
  return r.out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// A flag added to cli.cpp's table must be given a section in help.cpp's.
TEST(Help, PlacesEveryFlagInASection) {
  size_t n = 0;
  const Flag* table = flag_table(&n);
  for (size_t i = 0; i < n; ++i) {
    const std::string name = long_name(table[i]);
    EXPECT_NE(help::section_of(name), nullptr)
        << "--" << name << " has no --help section: add it to kPlacements in src/help.cpp";
  }
  EXPECT_NE(help::section_of("help"), nullptr);
  EXPECT_NE(help::section_of("version"), nullptr);
  // And a section it names is one of the list's, not kOther.
  size_t ns = 0;
  const char* const* sections = help::sections(&ns);
  for (size_t i = 0; i < n; ++i) {
    const char* s = help::section_of(long_name(table[i]));
    if (s == nullptr) continue;
    EXPECT_NE(std::find(sections, sections + ns - 1, std::string_view(s)), sections + ns - 1)
        << long_name(table[i]) << " is in '" << s << "', which --help does not list";
  }
}

// An unplaced flag is still shown, under kOther, and so is an option in a
// group the list does not know.
TEST(Help, NeverDropsAFlag) {
  EXPECT_STREQ(help::section_or_other("no-such-flag"), help::kOther);
  CLI::App app{"Desc"};
  app.formatter(help::formatter(80));
  bool a = false, b = false, c = false;
  app.add_flag("--placed", a, "placed")->group("Network");
  app.add_flag("--unplaced", b, "unplaced")->group(help::section_or_other("unplaced"));
  app.add_flag("--odd", c, "odd")->group("Some group of its own");
  const std::string out = app.help();
  EXPECT_NE(out.find("\nNetwork:\n  --placed "), std::string::npos) << out;
  EXPECT_NE(out.find("\nOther options:\n  --unplaced "), std::string::npos) << out;
  EXPECT_NE(out.find("\nSome group of its own:\n  --odd "), std::string::npos) << out;
}

TEST(Help, FirstLineSaysWhatIsConfined) {
  const std::string first = lines_of(help_at("200"))[0];
  for (const char* word : {"Confine PROGRAM", "Landlock", "seccomp", "identity", "cgroups"})
    EXPECT_NE(first.find(word), std::string::npos) << word << " not in: " << first;
}

// Every line fits the width; each flag is listed once, on a line of its
// own that starts "  --name" or "  -x,--name" (what the completion tests
// and tools/completions.cpp read), in its section.
TEST(Help, SectionsWrappedToTheWidth) {
  size_t n = 0;
  const Flag* table = flag_table(&n);
  for (const char* columns : {"40", "57", "80", "100", "132"}) {
    const std::string out = help_at(columns);
    const size_t width = std::stoul(columns);
    std::string section;
    std::map<std::string, std::string> seen;  // flag -> section
    const std::regex flag_line("^  (-[a-zA-Z],)?--([a-z0-9-]+)");
    for (const std::string& l : lines_of(out)) {
      EXPECT_LE(l.size(), width) << "COLUMNS=" << columns << ": " << l;
      if (!l.empty() && l[0] != ' ' && l.back() == ':') section = l.substr(0, l.size() - 1);
      std::smatch m;
      if (std::regex_search(l, m, flag_line)) {
        EXPECT_EQ(seen.count(m[2]), 0u) << m[2] << " listed twice";
        seen[m[2]] = section;
      }
    }
    for (size_t i = 0; i < n; ++i) {
      const std::string name = long_name(table[i]);
      ASSERT_EQ(seen.count(name), 1u) << "--" << name << " not in --help at COLUMNS=" << columns;
      EXPECT_EQ(seen[name], help::section_or_other(name)) << name;
    }
    EXPECT_EQ(seen["help"], help::section_or_other("help"));
    EXPECT_EQ(seen.size(), n + 2) << "flags --help lists that the table does not have";
  }
  // The sections in their order, none empty.
  const std::string out = help_at("80");
  size_t at = 0, ns = 0;
  const char* const* sections = help::sections(&ns);
  for (size_t i = 0; i + 1 < ns; ++i) {
    const size_t next = out.find("\n\n" + std::string(sections[i]) + ":\n  -", at);
    EXPECT_NE(next, std::string::npos) << sections[i] << " missing or out of order";
    if (next != std::string::npos) at = next;
  }
  EXPECT_EQ(out.find("\nOptions:\n"), std::string::npos) << "an option outside the sections";
  // 80 columns exactly, as on a terminal of 80.
  EXPECT_NE(out.find("\n  --die-with-parent[=SIGNAL]  PROGRAM gets SIGNAL (default KILL) when "
                     "boxjail's\n                              parent dies;"),
            std::string::npos)
      << out;
}

TEST(Help, WidthFromColumnsElse80) {
  setenv("COLUMNS", "120", 1);
  EXPECT_EQ(help::width_for_stdout(), 120u);
  setenv("COLUMNS", "10", 1);
  EXPECT_EQ(help::width_for_stdout(), help::kMinWidth);
  setenv("COLUMNS", "wide", 1);
  const size_t fallback = help::width_for_stdout();
  unsetenv("COLUMNS");
  EXPECT_EQ(help::width_for_stdout(), fallback);
  if (!isatty(1)) {
    EXPECT_EQ(fallback, 80u);
  }
}

TEST(Help, Wrap) {
  EXPECT_EQ(help::wrap("aaa bbb ccc", 7, 0, 0), "aaa bbb\nccc\n");
  EXPECT_EQ(help::wrap("aaa bbb ccc", 10, 6, 2), "aaa\n  bbb ccc\n");
  EXPECT_EQ(help::wrap("aaa bbb ccc", 10, 4, 4), "aaa\n    bbb\n    ccc\n");
  EXPECT_EQ(help::wrap("", 10, 0, 2), "\n");
  // Runs of spaces collapse; a word longer than a line is cut.
  EXPECT_EQ(help::wrap("a   b", 10, 0, 0), "a b\n");
  EXPECT_EQ(help::wrap("abcdefghij", 6, 2, 2), "abcd\n  efgh\n  ij\n");
}

}  // namespace
}  // namespace boxjail

#include "boxjail/config.h"

#include <gtest/gtest.h>

#include <sstream>

using boxjail::config::join_arrays;

namespace {

std::string joined(const std::string& text) {
  std::istringstream in(text);
  return join_arrays(in);
}

std::string error_of(const std::string& text) {
  try {
    joined(text);
  } catch (const CLI::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigText, MultiLineArraysJoinOntoTheirKey) {
  EXPECT_EQ(joined("a = [\n  \"x\",  # first\n  \"y\",\n]\nb = 1\n"), "a = [\"x\",\"y\"]\nb = 1\n");
  EXPECT_EQ(joined("a = [\"x\",\n\"y\"]\n"), "a = [\"x\",\"y\"]\n");
  EXPECT_EQ(joined("a = [\n]\n"), "a = []\n");
}

TEST(ConfigText, TrailingCommaOnOneLine) {
  EXPECT_EQ(joined("a = [\"x\", \"y\", ]\n"), "a = [\"x\", \"y\" ]\n");
  EXPECT_EQ(joined("a = \"x,]\"\n"), "a = \"x,]\"\n");  // not an array
}

TEST(ConfigText, QuotesHideBracketsAndComments) {
  EXPECT_EQ(joined("a = [\"]\", '#[',\n \"b\\\"]\"]\n"), "a = [\"]\", '#[',\"b\\\"]\"]\n");
  EXPECT_EQ(joined("a = \"# not a comment [\"\n"), "a = \"# not a comment [\"\n");
}

TEST(ConfigText, OtherLinesPassUnchanged) {
  EXPECT_EQ(joined("# comment\n\nkey = true # c\n"), "# comment\n\nkey = true # c\n");
}

TEST(ConfigText, Errors) {
  EXPECT_EQ(error_of("a = 1\nb = 2\na = 3\n"), "key 'a': given twice");
  EXPECT_EQ(error_of("\"a\" = 1\na = 2\n"), "key 'a': given twice");
  // The line an unclosed array opens on, and the key.
  EXPECT_EQ(error_of("a = [\n\"x\"\n"), "line 1: key 'a': the array is not closed with ]");
  EXPECT_EQ(error_of("# c\nb = 1\na = [\"x\",\n\"y\"\n"),
            "line 3: key 'a': the array is not closed with ]");
  // A table header, with its line, not the reader's "key 't.++'".
  EXPECT_EQ(error_of("[t]\na = 1\n"),
            "line 1: table [t]: tables are not supported (one key per long option, at the top)");
  EXPECT_EQ(error_of("a = 1\n  [[t]] # c\n"),
            "line 2: table [[t]]: tables are not supported (one key per long option, at the top)");
  // A '[' inside an array's lines is no table.
  EXPECT_EQ(error_of("a = [\n[\"x\"],\n]\n"), "");
}

}  // namespace

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
  EXPECT_EQ(error_of("a = [\n\"x\"\n"), "an array is not closed with ]");
  // Keys in a table are left to the reader (which refuses tables).
  EXPECT_EQ(error_of("[t]\na = 1\na = 2\n"), "");
}

}  // namespace

#include "boxjail/suggest.h"

#include <gtest/gtest.h>

namespace boxjail::suggest {
namespace {

TEST(Suggest, Distance) {
  EXPECT_EQ(distance("", ""), 0u);
  EXPECT_EQ(distance("abc", ""), 3u);
  EXPECT_EQ(distance("ptrce", "ptrace"), 1u);   // a letter left out
  EXPECT_EQ(distance("ptarce", "ptrace"), 1u);  // two swapped
  EXPECT_EQ(distance("ptrxce", "ptrace"), 1u);  // one wrong
  EXPECT_EQ(distance("PTRACE", "ptrace"), 0u);  // case does not count
  EXPECT_EQ(distance("kitten", "sitting"), 3u);
}

TEST(Suggest, Closest) {
  const std::vector<std::string> flags = {"fs-ro", "fs-rx", "fs-rw", "fs-rwx", "seccomp-profile",
                                          "seccomp-deny", "rlimit"};
  EXPECT_EQ(closest("fs-r", flags), "fs-ro");  // a tie: the table's first
  EXPECT_EQ(closest("seccomp-profil", flags), "seccomp-profile");
  EXPECT_EQ(closest("seccomp-prof", flags), "seccomp-profile");  // a prefix of one only
  EXPECT_EQ(closest("rlimitt", flags), "rlimit");
  EXPECT_EQ(closest("fs-ro", flags), "");  // known: nothing to suggest
  EXPECT_EQ(closest("bogus", flags), "");  // too far from all
  EXPECT_EQ(closest("", flags), "");
  EXPECT_EQ(closest("x", {"y"}), "");       // one letter of one: not a typo worth naming
  EXPECT_EQ(closest("ab", {"ac"}), "ac");
}

TEST(Suggest, DidYouMean) {
  EXPECT_EQ(did_you_mean("ptrce", {"read", "ptrace"}), "; did you mean ptrace?");
  EXPECT_EQ(did_you_mean("fs-r", {"fs-ro"}, "--"), "; did you mean --fs-ro?");
  EXPECT_EQ(did_you_mean("zzzz", {"ptrace"}), "");
}

}  // namespace
}  // namespace boxjail::suggest

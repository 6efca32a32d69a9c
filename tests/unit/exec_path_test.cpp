#include "boxjail/exec_path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace boxjail {
namespace {

class ExecPath : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/boxjail-path-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    mkdir((dir_ + "/a").c_str(), 0755);
    mkdir((dir_ + "/b").c_str(), 0755);
    make(dir_ + "/a/tool", 0644);  // not executable
    make(dir_ + "/b/tool", 0755);
    make(dir_ + "/a/only-noexec", 0644);
    mkdir((dir_ + "/b/adir").c_str(), 0755);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static void make(const std::string& p, mode_t mode) {
    std::ofstream(p) << "#!/bin/sh\n";
    chmod(p.c_str(), mode);
  }
  std::string dir_;
};

TEST_F(ExecPath, SearchesInOrderSkippingNonExecutable) {
  std::string path = dir_ + "/a:" + dir_ + "/b", out;
  EXPECT_EQ(resolve_program("tool", path.c_str(), &out), 0);
  EXPECT_EQ(out, dir_ + "/b/tool");
}

TEST_F(ExecPath, NotFoundAndNotExecutable) {
  std::string path = dir_ + "/a:" + dir_ + "/b", out;
  EXPECT_EQ(resolve_program("missing", path.c_str(), &out), ENOENT);
  EXPECT_EQ(resolve_program("only-noexec", path.c_str(), &out), EACCES);
  EXPECT_EQ(resolve_program("adir", path.c_str(), &out), EACCES);
  EXPECT_EQ(resolve_program("", path.c_str(), &out), ENOENT);
}

TEST_F(ExecPath, SlashMeansNoSearch) {
  std::string out;
  EXPECT_EQ(resolve_program(dir_ + "/b/tool", "/nonexistent", &out), 0);
  EXPECT_EQ(out, dir_ + "/b/tool");
  EXPECT_EQ(resolve_program(dir_ + "/a/tool", nullptr, &out), EACCES);
  EXPECT_EQ(resolve_program(dir_ + "/b", nullptr, &out), EISDIR);
  EXPECT_EQ(resolve_program(dir_ + "/nope", nullptr, &out), ENOENT);
  EXPECT_EQ(resolve_program(dir_ + "/b/tool/x", nullptr, &out), ENOTDIR);
}

TEST_F(ExecPath, EmptyEntryIsWorkingDirectory) {
  char old[4096];
  ASSERT_NE(getcwd(old, sizeof old), nullptr);
  ASSERT_EQ(chdir((dir_ + "/b").c_str()), 0);
  std::string out;
  int e = resolve_program("tool", "/nonexistent::/also-not", &out);
  ASSERT_EQ(chdir(old), 0);
  EXPECT_EQ(e, 0);
  EXPECT_EQ(out, "./tool");
}

TEST_F(ExecPath, DefaultPathWhenUnset) {
  std::string out;
  EXPECT_EQ(resolve_program("sh", nullptr, &out), 0);
  EXPECT_EQ(out, "/usr/bin/sh");
}

}  // namespace
}  // namespace boxjail

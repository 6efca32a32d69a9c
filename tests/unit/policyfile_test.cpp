// read_policy_file: what it accepts and the exact refusals, on real files in
// a fresh directory under /tmp. The tests that give a file or a directory to
// another user need root (CAP_CHOWN, and that user mapped); the others run
// as anyone.
#include "boxjail/policyfile.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "privilege.h"

namespace boxjail {
namespace {

const std::string kFileRule =
    ": a policy file must be owned by root or you and writable by no one else; ";
const std::string kDirRule =
    ": the directories above a policy file must be owned by root or you and writable by no one "
    "else, or be sticky like /tmp; ";

// "NAME (UID)" through the C library's own lookup, to check describe_owner.
std::string owner_name(uid_t uid) {
  const passwd* pw = getpwuid(uid);
  return pw != nullptr ? std::string(pw->pw_name) + " (" + std::to_string(uid) + ")"
                       : "uid " + std::to_string(uid);
}


class PolicyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/boxjail-policyfile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    char canonical[PATH_MAX];
    ASSERT_NE(realpath(tmpl, canonical), nullptr);
    dir_ = canonical;
    untrusted_ = privilege::policy_files_refused_in(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    EXPECT_EQ(chmod(p.c_str(), mode), 0) << p;
    return p;
  }
  std::string mkdir_in(const std::string& name, mode_t mode) {
    const std::string p = dir_ + "/" + name;
    EXPECT_EQ(mkdir(p.c_str(), 0700), 0) << p;
    EXPECT_EQ(chmod(p.c_str(), mode), 0) << p;
    return p;
  }

  std::string dir_;
  std::string untrusted_;  // why no file under dir_ can be accepted, or ""
  std::string text_, err_;
};

// Skips a test that needs an accepted path where none can be one.
#define NEED_TRUSTED_DIR() \
  if (!untrusted_.empty()) GTEST_SKIP() << untrusted_

TEST_F(PolicyFile, ReadsAFileOnlyRootAndTheCallerCanWrite) {
  NEED_TRUSTED_DIR();
  for (mode_t mode : {0600u, 0644u, 0400u, 0444u, 0755u}) {
    const std::string f = write("box.toml", "deny ptrace\n", mode);
    ASSERT_TRUE(read_policy_file("--config", f, &text_, &err_)) << std::oct << mode << ": " << err_;
    EXPECT_EQ(text_, "deny ptrace\n");
    unlink(f.c_str());
  }
  // An empty file is an empty policy (what it means is its reader's call).
  const std::string empty = write("empty", "");
  ASSERT_TRUE(read_policy_file("--seccomp-bpf", empty, &text_, &err_)) << err_;
  EXPECT_EQ(text_, "");
}

TEST_F(PolicyFile, RelativePathIsRelativeToTheWorkingDirectory) {
  NEED_TRUSTED_DIR();
  write("box.toml", "nice = 1\n");
  mkdir_in("sub", 0755);
  write("sub/p.profile", "deny ptrace\n");
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  const bool plain = read_policy_file("--config", "box.toml", &text_, &err_);
  const std::string plain_text = text_;
  std::string sub_text, sub_err;
  const bool sub = read_policy_file("--seccomp-profile", "sub/p.profile", &sub_text, &sub_err);
  std::string bad_err;
  chmod("box.toml", 0666);
  const bool bad = read_policy_file("--config", "box.toml", &text_, &bad_err);
  ASSERT_EQ(chdir(cwd), 0);
  EXPECT_TRUE(plain) << err_;
  EXPECT_EQ(plain_text, "nice = 1\n");
  EXPECT_TRUE(sub) << sub_err;
  EXPECT_EQ(sub_text, "deny ptrace\n");
  // The message names the file as given.
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad_err, "--config box.toml: writable by others (owner " + owner_name(geteuid()) +
                         ", mode 0666)" + kFileRule + "chmod go-w it");
}

TEST_F(PolicyFile, GroupWritableFileIsRefused) {
  NEED_TRUSTED_DIR();
  const std::string f = write("box.toml", "nice = 1\n", 0664);
  EXPECT_FALSE(read_policy_file("--config", f, &text_, &err_));
  EXPECT_EQ(err_, "--config " + f + ": writable by others (owner " + owner_name(geteuid()) +
                      ", mode 0664)" + kFileRule + "chmod go-w it");
  EXPECT_EQ(text_, "");
}

TEST_F(PolicyFile, WorldWritableFileIsRefused) {
  NEED_TRUSTED_DIR();
  for (const auto& [mode, text] :
       std::vector<std::pair<mode_t, std::string>>{{0666, "0666"}, {0602, "0602"}, {0646, "0646"}}) {
    const std::string f = write("p.profile", "deny ptrace\n", mode);
    EXPECT_FALSE(read_policy_file("--seccomp-profile", f, &text_, &err_));
    EXPECT_EQ(err_, "--seccomp-profile " + f + ": writable by others (owner " +
                        owner_name(geteuid()) + ", mode " + text + ")" + kFileRule +
                        "chmod go-w it");
  }
}

TEST_F(PolicyFile, SymbolicLinkAsTheFileIsRefused) {
  NEED_TRUSTED_DIR();
  write("box.toml", "nice = 1\n");
  const std::string link = dir_ + "/link.toml";
  ASSERT_EQ(symlink("box.toml", link.c_str()), 0);
  EXPECT_FALSE(read_policy_file("--config", link, &text_, &err_));
  EXPECT_EQ(err_, "--config " + link +
                      ": a symbolic link (to box.toml): a policy file is opened without following "
                      "symbolic links, which others might repoint; give the file's own path");
  // Dangling, too: refused as a link, not as a missing file.
  const std::string dangling = dir_ + "/dangling";
  ASSERT_EQ(symlink("/nonexistent/box.toml", dangling.c_str()), 0);
  EXPECT_FALSE(read_policy_file("--seccomp-bpf", dangling, &text_, &err_));
  EXPECT_EQ(err_, "--seccomp-bpf " + dangling +
                      ": a symbolic link (to /nonexistent/box.toml): a policy file is opened "
                      "without following symbolic links, which others might repoint; give the "
                      "file's own path");
}

TEST_F(PolicyFile, SymbolicLinkAboveTheFileIsResolvedAndTheRealDirectoryChecked) {
  NEED_TRUSTED_DIR();
  const std::string real = mkdir_in("real", 0755);
  write("real/box.toml", "nice = 1\n");
  ASSERT_EQ(symlink("real", (dir_ + "/alias").c_str()), 0);
  EXPECT_TRUE(read_policy_file("--config", dir_ + "/alias/box.toml", &text_, &err_)) << err_;
  EXPECT_EQ(text_, "nice = 1\n");
  // What is checked is the directory the link leads to, and named so.
  ASSERT_EQ(chmod(real.c_str(), 0777), 0);
  EXPECT_FALSE(read_policy_file("--config", dir_ + "/alias/box.toml", &text_, &err_));
  EXPECT_EQ(err_, "--config " + dir_ + "/alias/box.toml: directory " + real +
                      ": writable by others and not sticky (owner " + owner_name(geteuid()) +
                      ", mode 0777)" + kDirRule + "chmod go-w " + real);
}

TEST_F(PolicyFile, DirectoryWritableByOthersWithoutStickyIsRefused) {
  NEED_TRUSTED_DIR();
  for (const auto& [mode, text] :
       std::vector<std::pair<mode_t, std::string>>{{0777, "0777"}, {0775, "0775"}, {0757, "0757"}}) {
    const std::string sub = mkdir_in("sub", mode);
    const std::string f = write("sub/box.toml", "nice = 1\n");
    EXPECT_FALSE(read_policy_file("--config", f, &text_, &err_));
    EXPECT_EQ(err_, "--config " + f + ": directory " + sub +
                        ": writable by others and not sticky (owner " + owner_name(geteuid()) +
                        ", mode " + text + ")" + kDirRule + "chmod go-w " + sub);
    std::filesystem::remove_all(sub);
  }
  // Any directory above, not only the file's own.
  const std::string top = mkdir_in("top", 0777);
  mkdir_in("top/mid", 0755);
  const std::string f = write("top/mid/box.toml", "nice = 1\n");
  EXPECT_FALSE(read_policy_file("--config", f, &text_, &err_));
  EXPECT_EQ(err_, "--config " + f + ": directory " + top +
                      ": writable by others and not sticky (owner " + owner_name(geteuid()) +
                      ", mode 0777)" + kDirRule + "chmod go-w " + top);
}

TEST_F(PolicyFile, StickyDirectoryWritableByOthersIsAccepted) {
  NEED_TRUSTED_DIR();
  for (mode_t mode : {01777u, 01775u}) {
    const std::string sub = mkdir_in("sticky", mode);
    const std::string f = write("sticky/box.toml", "nice = 1\n");
    EXPECT_TRUE(read_policy_file("--config", f, &text_, &err_)) << std::oct << mode << ": " << err_;
    EXPECT_EQ(text_, "nice = 1\n");
    std::filesystem::remove_all(sub);
  }
}

TEST_F(PolicyFile, FifoIsRefusedWithoutBlocking) {
  NEED_TRUSTED_DIR();
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  alarm(20);  // a blocking open would end the test here, not hang it
  const bool ok = read_policy_file("--seccomp-profile", fifo, &text_, &err_);
  alarm(0);
  EXPECT_FALSE(ok);
  EXPECT_EQ(err_, "--seccomp-profile " + fifo + ": not a regular file");
}

TEST_F(PolicyFile, DirectoryAsTheFileIsRefused) {
  NEED_TRUSTED_DIR();
  EXPECT_FALSE(read_policy_file("--config", dir_, &text_, &err_));
  EXPECT_EQ(err_, "--config " + dir_ + ": not a regular file");
  EXPECT_FALSE(read_policy_file("--config", dir_ + "/", &text_, &err_));
  EXPECT_EQ(err_, "--config " + dir_ + "/: not a regular file");
  EXPECT_FALSE(read_policy_file("--config", "/", &text_, &err_));
  EXPECT_EQ(err_, "--config /: not a regular file");
}

TEST_F(PolicyFile, MissingAndEmptyNames) {
  NEED_TRUSTED_DIR();
  EXPECT_FALSE(read_policy_file("--config", dir_ + "/missing.toml", &text_, &err_));
  EXPECT_EQ(err_, "--config " + dir_ + "/missing.toml: No such file or directory");
  EXPECT_FALSE(read_policy_file("--config", dir_ + "/no/box.toml", &text_, &err_));
  EXPECT_EQ(err_, "--config " + dir_ + "/no/box.toml: No such file or directory");
  const std::string f = write("box.toml", "");
  EXPECT_FALSE(read_policy_file("--config", f + "/", &text_, &err_));
  EXPECT_EQ(err_, "--config " + f + "/: directory " + f + ": Not a directory");
  EXPECT_FALSE(read_policy_file("--seccomp-bpf", "", &text_, &err_));
  EXPECT_EQ(err_, "--seccomp-bpf: empty path");
}

TEST_F(PolicyFile, FileLargerThanTheCapIsRefused) {
  NEED_TRUSTED_DIR();
  const std::string f = write("big", "");
  ASSERT_EQ(truncate(f.c_str(), static_cast<off_t>(kPolicyFileMax) + 1), 0);  // sparse
  EXPECT_FALSE(read_policy_file("--seccomp-bpf", f, &text_, &err_));
  EXPECT_EQ(err_, "--seccomp-bpf " + f + ": larger than 16 MiB (a policy file is a list of rules)");
  ASSERT_EQ(truncate(f.c_str(), static_cast<off_t>(kPolicyFileMax)), 0);
  EXPECT_TRUE(read_policy_file("--seccomp-bpf", f, &text_, &err_)) << err_;
  EXPECT_EQ(text_.size(), kPolicyFileMax);
}

TEST_F(PolicyFile, FileOwnedByAnotherUserIsRefused) {
  NEED_TRUSTED_DIR();
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_CHOWN, to give a file to uid 65534)";
  const std::string f = write("box.toml", "nice = 1\n");
  if (std::string why = privilege::give_away(f, 65534, 65534); !why.empty()) GTEST_SKIP() << why;
  EXPECT_FALSE(read_policy_file("--config", f, &text_, &err_));
  EXPECT_EQ(err_, "--config " + f + ": owned by " + owner_name(65534) +
                      ", not by root or you (mode 0644)" + kFileRule +
                      "chown it to root or to yourself");
  // Writable by others wins: the first thing to fix.
  ASSERT_EQ(chmod(f.c_str(), 0666), 0);
  EXPECT_FALSE(read_policy_file("--config", f, &text_, &err_));
  EXPECT_EQ(err_, "--config " + f + ": writable by others (owner " + owner_name(65534) +
                      ", mode 0666)" + kFileRule + "chmod go-w it");
}

TEST_F(PolicyFile, DirectoryOwnedByAnotherUserIsRefused) {
  NEED_TRUSTED_DIR();
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_CHOWN, to give a directory to uid 65534)";
  const std::string sub = mkdir_in("theirs", 0755);
  const std::string f = write("theirs/box.toml", "nice = 1\n");
  if (std::string why = privilege::give_away(sub, 65534, 65534); !why.empty()) GTEST_SKIP() << why;
  EXPECT_FALSE(read_policy_file("--config", f, &text_, &err_));
  EXPECT_EQ(err_, "--config " + f + ": directory " + sub + ": owned by " + owner_name(65534) +
                      ", not by root or you (mode 0755)" + kDirRule +
                      "keep the file in a directory of root's or yours");
  // Sticky does not help a directory that is someone else's.
  ASSERT_EQ(chmod(sub.c_str(), 01777), 0);
  EXPECT_FALSE(read_policy_file("--config", f, &text_, &err_));
  EXPECT_EQ(err_, "--config " + f + ": directory " + sub + ": owned by " + owner_name(65534) +
                      ", not by root or you (mode 1777)" + kDirRule +
                      "keep the file in a directory of root's or yours");
}

// Without root: the same refusals, with the caller played by another uid.
TEST_F(PolicyFile, OnlyRootAndTheCallerAreTrusted) {
  NEED_TRUSTED_DIR();
  const uid_t me = geteuid();
  const uid_t other = me == 4242 ? 4243 : 4242;
  const std::string f = write("box.toml", "nice = 1\n");
  const bool ok = read_policy_file_as(other, "--config", f, &text_, &err_);
  if (me == 0) {
    EXPECT_TRUE(ok) << "root's files are trusted whoever runs boxjail: " << err_;
  } else {
    EXPECT_FALSE(ok);
    EXPECT_EQ(err_, "--config " + f + ": directory " + dir_ + ": owned by " + owner_name(me) +
                        ", not by root or you (mode 0700)" + kDirRule +
                        "keep the file in a directory of root's or yours");
    // A file of ours straight in /tmp (sticky, root's): the file's owner.
    char tmpl[] = "/tmp/boxjail-policyfile-XXXXXX";
    const int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    const bool in_tmp = read_policy_file_as(other, "--config", tmpl, &text_, &err_);
    unlink(tmpl);
    EXPECT_FALSE(in_tmp);
    EXPECT_EQ(err_, std::string("--config ") + tmpl + ": owned by " + owner_name(me) +
                        ", not by root or you (mode 0600)" + kFileRule +
                        "chown it to root or to yourself");
  }
}

// As an ordinary user inside `unshare -Urm`, / is owned by a uid the
// namespace does not map: it could be anyone outside, and is refused.
TEST_F(PolicyFile, OwnerOutsideTheUserNamespaceIsRefused) {
  struct stat root {};
  ASSERT_EQ(stat("/", &root), 0);
  if (root.st_uid == 0 || root.st_uid == geteuid())
    GTEST_SKIP() << "/ is owned by root or us here (this case needs an ordinary user inside "
                    "unshare -Urm, where / shows as 65534)";
  const std::string f = write("box.toml", "nice = 1\n");
  EXPECT_FALSE(read_policy_file("--config", f, &text_, &err_));
  char mode[8];
  snprintf(mode, sizeof mode, "%04o", root.st_mode & 07777);
  EXPECT_EQ(err_, "--config " + f +
                      ": directory /: owned by a user this user namespace does not map (shown as " +
                      std::to_string(root.st_uid) + "), not by root or you (mode " + mode + ")" +
                      kDirRule + "keep the file in a directory of root's or yours");
}

TEST(PolicyFileOwner, NamesFromEtcPasswd) {
  EXPECT_EQ(describe_owner(0), owner_name(0));
  EXPECT_EQ(describe_owner(0), "root (0)");
  const uid_t unknown = 2147480000;
  ASSERT_EQ(getpwuid(unknown), nullptr);
  EXPECT_EQ(describe_owner(unknown), "uid 2147480000");
}

}  // namespace
}  // namespace boxjail

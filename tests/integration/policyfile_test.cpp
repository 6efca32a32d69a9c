// Policy files that others could have written are refused, for each flag
// that reads one (--config, --seccomp-profile, --seccomp-bpf): boxjail
// exits 125 before PROGRAM runs, with one line that names the file or the
// directory, its owner and its mode. Each case has a control, the same
// file made safe, that runs PROGRAM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>

#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;

const std::string kFileRule =
    ": a policy file must be owned by root or you and writable by no one else; ";
const std::string kDirRule =
    ": the directories above a policy file must be owned by root or you and writable by no one "
    "else, or be sticky like /tmp; ";

std::string owner_name(uid_t uid) {
  const passwd* pw = getpwuid(uid);
  return pw != nullptr ? std::string(pw->pw_name) + " (" + std::to_string(uid) + ")"
                       : "uid " + std::to_string(uid);
}


// A BPF program from libseccomp: everything allowed but uname.
bool write_bpf(const std::string& path) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return false;
  bool ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(uname), 0) == 0;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ok = ok && fd >= 0 && seccomp_export_bpf(ctx, fd) == 0;
  if (fd >= 0) close(fd);
  seccomp_release(ctx);
  return ok;
}

// The parameter: the flag that reads the file.
class ByFlag : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char canonical[PATH_MAX];
    ASSERT_NE(realpath(dir_.path.c_str(), canonical), nullptr);
    dir_path_ = canonical;
    untrusted_ = privilege::policy_files_refused_in(dir_path_);
    // Confinement that leaves PROGRAM as root may be refused unless uid 0
    // is asked for; where setgroups is allowed, ask (it changes nothing).
    if (geteuid() == 0 && privilege::can_become(0).empty()) as_root_ = {"--user", "root"};
  }
  const std::string& flag() const { return GetParam(); }

  // A valid file for flag() at `rel` under the directory, mode 0644.
  std::string write_policy(const std::string& rel) {
    const std::string p = dir_path_ + "/" + rel;
    if (flag() == "--config")
      std::ofstream(p) << "rlimit = \"core=0\"\n";
    else if (flag() == "--seccomp-profile")
      std::ofstream(p) << "deny uname\n";
    else
      EXPECT_TRUE(write_bpf(p)) << p;
    EXPECT_EQ(chmod(p.c_str(), 0644), 0) << p;
    return p;
  }
  std::string mkdir_in(const std::string& rel, mode_t mode) {
    const std::string p = dir_path_ + "/" + rel;
    EXPECT_EQ(mkdir(p.c_str(), 0700), 0) << p;
    EXPECT_EQ(chmod(p.c_str(), mode), 0) << p;
    return p;
  }
  // boxjail FLAG FILE -- echo ran
  Result box(const std::string& file) const {
    std::vector<std::string> args = as_root_;
    args.insert(args.end(), {flag(), file, "--", "/bin/echo", "ran"});
    return boxjail(args);
  }

  // PROGRAM ran, and boxjail said nothing.
  static void expect_ran(const Result& r, const std::string& what) {
    EXPECT_EQ(r.code(), 0) << what << ": " << r.err;
    EXPECT_EQ(r.out, "ran\n") << what;
    EXPECT_EQ(r.err, "") << what;
  }
  // Refused with exit 125 before PROGRAM, the one line "boxjail: FLAG FILE:
  // REASON". For --config, parse_cli prints errors in the file as "FILE:
  // MESSAGE", and the refusal so reads "boxjail: FILE: REASON" (until it
  // prints config::PolicyFileError's whole line): either is accepted.
  void expect_refused(const Result& r, const std::string& file, const std::string& reason) const {
    EXPECT_EQ(r.code(), 125) << r.err;
    EXPECT_EQ(r.out, "") << "PROGRAM ran";
    const std::string line = "boxjail: " + flag() + " " + file + ": " + reason + "\n";
    if (flag() == "--config" && r.err == "boxjail: " + file + ": " + reason + "\n") return;
    EXPECT_EQ(r.err, line);
  }

  TempDir dir_;
  std::string dir_path_;   // canonical
  std::string untrusted_;  // why no file under it can be accepted, or ""
  std::vector<std::string> as_root_;  // "--user root", or nothing
};

#define NEED_TRUSTED_DIR() \
  if (!untrusted_.empty()) GTEST_SKIP() << untrusted_

TEST_P(ByFlag, FileWritableByOthersIsRefused) {
  NEED_TRUSTED_DIR();
  const std::string f = write_policy("policy");
  expect_ran(box(f), "control, mode 0644");
  ASSERT_EQ(chmod(f.c_str(), 0666), 0);
  Result r = box(f);
  expect_refused(r, f, "writable by others (owner " + owner_name(geteuid()) + ", mode 0666)" +
                           kFileRule + "chmod go-w it");
  // Whatever the prefix, the line names the file and its mode.
  EXPECT_NE(r.err.find(f), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mode 0666"), std::string::npos) << r.err;
  ASSERT_EQ(chmod(f.c_str(), 0664), 0);
  expect_refused(box(f), f, "writable by others (owner " + owner_name(geteuid()) + ", mode 0664)" +
                                kFileRule + "chmod go-w it");
}

TEST_P(ByFlag, FileOwnedByAnotherUserIsRefused) {
  NEED_TRUSTED_DIR();
  const std::string f = write_policy("policy");
  expect_ran(box(f), "control, our own file");
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_CHOWN, to give the file to uid 65534)";
  if (std::string why = privilege::give_away(f, 65534, 65534); !why.empty()) GTEST_SKIP() << why;
  expect_refused(box(f), f, "owned by " + owner_name(65534) + ", not by root or you (mode 0644)" +
                                kFileRule + "chown it to root or to yourself");
}

TEST_P(ByFlag, ParentDirectoryWritableByOthersIsRefusedUnlessSticky) {
  NEED_TRUSTED_DIR();
  const std::string sub = mkdir_in("sub", 0755);
  const std::string f = write_policy("sub/policy");
  expect_ran(box(f), "control, directory 0755");
  ASSERT_EQ(chmod(sub.c_str(), 01777), 0);
  expect_ran(box(f), "directory 1777 (sticky, as /tmp)");
  ASSERT_EQ(chmod(sub.c_str(), 0777), 0);
  Result r = box(f);
  expect_refused(r, f, "directory " + sub + ": writable by others and not sticky (owner " +
                           owner_name(geteuid()) + ", mode 0777)" + kDirRule + "chmod go-w " + sub);
  EXPECT_NE(r.err.find("directory " + sub), std::string::npos) << r.err;
}

TEST_P(ByFlag, SymbolicLinkAsTheFileIsRefused) {
  NEED_TRUSTED_DIR();
  const std::string f = write_policy("policy");
  expect_ran(box(f), "control, the file itself");
  const std::string link = dir_path_ + "/link";
  ASSERT_EQ(symlink("policy", link.c_str()), 0);
  expect_refused(box(link), link,
                 "a symbolic link (to policy): a policy file is opened without following "
                 "symbolic links, which others might repoint; give the file's own path");
}

INSTANTIATE_TEST_SUITE_P(PolicyFile, ByFlag,
                         ::testing::Values("--config", "--seccomp-profile", "--seccomp-bpf"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param.substr(2);
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace

#include "boxjail/pidfile.h"

#include "privilege.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "boxjail/signames.h"

namespace boxjail {
namespace {

TEST(PidRecordFormat, RoundTrip) {
  PidRecord r{1234, 987654321};
  EXPECT_EQ(format_pid_record(r), "1234\n987654321\n");
  PidRecord back;
  ASSERT_TRUE(parse_pid_record("1234\n987654321\n", &back));
  EXPECT_EQ(back, r);
}

TEST(PidRecordFormat, RejectsAnythingElse) {
  PidRecord r;
  for (const char* bad : {"", "\n", "1234", "1234\n", "1234\n5", "1234\n5\n6\n", "0\n5\n",
                          "-1\n5\n", " 1\n5\n", "1\n 5\n", "1\n5\n\n", "99999999999\n5\n",
                          "1x\n5\n", "1\r\n5\r\n", "01\n5\n", "1\n05\n"}) {
    EXPECT_FALSE(parse_pid_record(bad, &r)) << bad;
  }
}

TEST(StartTime, MatchesProcForSelfAndFailsForTheDead) {
  uint64_t t = 0;
  ASSERT_TRUE(read_start_time(getpid(), &t));
  std::ifstream f("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), {});
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string tok;
  for (int field = 3; field <= 22; ++field) rest >> tok;
  EXPECT_EQ(std::to_string(t), tok);
  EXPECT_TRUE(record_is_live({getpid(), t}));
  EXPECT_FALSE(record_is_live({getpid(), t + 1}));
  EXPECT_FALSE(read_start_time(0x7ffffff0, &t));
}

TEST(StartTime, ZombieIsNotLive) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  uint64_t t = 0;
  for (int i = 0; i < 500; ++i) {  // wait until it is a zombie
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), {});
    if (s.find(") Z ") != std::string::npos) break;
    usleep(2000);
  }
  EXPECT_TRUE(read_start_time(pid, &t, false));
  EXPECT_FALSE(record_is_live({pid, t}));
  waitpid(pid, nullptr, 0);
}

TEST(PidfilePath, RelativeIsResolvedAgainstTheWorkingDirectory) {
  std::string out, err;
  ASSERT_TRUE(absolute_pidfile_path("x/box.pid", &out, &err));
  EXPECT_EQ(out, std::filesystem::current_path().string() + "/x/box.pid");
  ASSERT_TRUE(absolute_pidfile_path("/run/a.pid", &out, &err));
  EXPECT_EQ(out, "/run/a.pid");
  EXPECT_FALSE(absolute_pidfile_path("", &out, &err));
  EXPECT_EQ(err, "--pidfile: empty path");
}

class PidFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/boxjail-pid-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/box.pid";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::vector<std::string> entries() const {
    std::vector<std::string> v;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      v.push_back(e.path().filename());
    std::sort(v.begin(), v.end());
    return v;
  }
  std::string dir_, path_;
};

TEST_F(PidFileTest, WritesAtomicallyAndLeavesNothingElse) {
  PidFile pf;
  std::string err, stale;
  ASSERT_TRUE(pf.open(path_, &err)) << err;
  ASSERT_TRUE(pf.lock_and_check(&err, &stale)) << err;
  EXPECT_EQ(stale, "");
  ASSERT_TRUE(pf.prepare(&err)) << err;
  EXPECT_FALSE(std::filesystem::exists(path_));  // nothing visible before commit
  uint64_t t = 0;
  read_start_time(getpid(), &t);
  ASSERT_TRUE(pf.commit({getpid(), t}, &err)) << err;
  pf.release();
  EXPECT_EQ(entries(), std::vector<std::string>{"box.pid"});
  std::ifstream f(path_);
  std::string text((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(text, std::to_string(getpid()) + "\n" + std::to_string(t) + "\n");
  struct stat st {};
  stat(path_.c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0644 & ~umask(022));
  umask(022);

  // Now it is live: a second start is refused.
  PidFile again;
  ASSERT_TRUE(again.open(path_, &err));
  EXPECT_FALSE(again.lock_and_check(&err, &stale));
  EXPECT_EQ(err, "already running as pid " + std::to_string(getpid()) + " (" + path_ + ")");
  again.release();
  std::string out;
  EXPECT_EQ(check_pidfile(path_, &out, &err), 0);
  EXPECT_EQ(out, std::to_string(getpid()) + "\n");

  // Removal only while it holds our record.
  PidFile rm;
  ASSERT_TRUE(rm.open(path_, &err));
  ASSERT_TRUE(rm.remove_if_holds({getpid(), t + 1}, &err));
  EXPECT_TRUE(std::filesystem::exists(path_));
  ASSERT_TRUE(rm.remove_if_holds({getpid(), t}, &err));
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(check_pidfile(path_, &out, &err), 1);
}

TEST_F(PidFileTest, StaleRecordsAreReported) {
  uint64_t t = 0;
  read_start_time(getpid(), &t);
  const std::pair<std::string, std::string> cases[] = {
      {"garbage", "it does not hold a valid record"},
      {"", "it does not hold a valid record"},
      {std::to_string(getpid()) + "\n" + std::to_string(t + 7) + "\n",
       "pid " + std::to_string(getpid()) + " now belongs to another process"},
      {"2147483000\n5\n", "pid 2147483000 is not running"},
  };
  for (const auto& [content, why] : cases) {
    std::ofstream(path_) << content;
    PidFile pf;
    std::string err, stale;
    ASSERT_TRUE(pf.open(path_, &err));
    ASSERT_TRUE(pf.lock_and_check(&err, &stale)) << err;
    EXPECT_EQ(stale, why);
    std::string out;
    EXPECT_EQ(check_pidfile(path_, &out, &err), 1);
    EXPECT_EQ(out, "");
  }
}

TEST_F(PidFileTest, RefusesSymlinksNonRegularFilesAndUnsafeDirectories) {
  ASSERT_EQ(symlink("/etc/passwd", path_.c_str()), 0);
  PidFile pf;
  std::string err, stale, out;
  ASSERT_TRUE(pf.open(path_, &err));
  EXPECT_FALSE(pf.lock_and_check(&err, &stale));
  EXPECT_EQ(err, "--pidfile " + path_ + ": is a symbolic link; refusing to follow it");
  pf.release();
  EXPECT_EQ(check_pidfile(path_, &out, &err), 125);
  EXPECT_EQ(err, "--check-pidfile " + path_ + ": is a symbolic link; refusing to follow it");
  unlink(path_.c_str());

  ASSERT_EQ(mkfifo(path_.c_str(), 0644), 0);
  PidFile fifo;
  ASSERT_TRUE(fifo.open(path_, &err));
  EXPECT_FALSE(fifo.lock_and_check(&err, &stale));
  EXPECT_EQ(err, "--pidfile " + path_ + ": exists and is not a regular file");
  fifo.release();
  unlink(path_.c_str());

  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  PidFile open_dir;
  EXPECT_FALSE(open_dir.open(path_, &err));
  EXPECT_EQ(err, "--pidfile " + path_ + ": directory " + dir_ +
                     " is world-writable without the sticky bit; anyone could replace the file");
  ASSERT_EQ(chmod(dir_.c_str(), 01777), 0);
  PidFile sticky;
  EXPECT_TRUE(sticky.open(path_, &err)) << err;

  PidFile missing;
  EXPECT_FALSE(missing.open(dir_ + "/nope/box.pid", &err));
  EXPECT_EQ(err, "--pidfile " + dir_ + "/nope/box.pid: directory " + dir_ +
                     "/nope: No such file or directory");
}

TEST_F(PidFileTest, RefusesAFileOwnedBySomeoneElse) {
  std::ofstream(path_) << "1\n1\n";
  if (std::string why = privilege::give_away(path_, 65534, 65534); !why.empty())
    GTEST_SKIP() << why;
  PidFile pf;
  std::string err, stale, out;
  ASSERT_TRUE(pf.open(path_, &err));
  EXPECT_FALSE(pf.lock_and_check(&err, &stale));
  EXPECT_EQ(err, "--pidfile " + path_ + ": owned by uid 65534, not by uid " +
                     std::to_string(geteuid()) + "; refusing to trust or replace it");
  EXPECT_EQ(check_pidfile(path_, &out, &err), 125);
}

TEST(SignalNames, ParseAndName) {
  int s = 0;
  for (const char* k : {"KILL", "kill", "SIGKILL", "sigKill", "9"}) {
    ASSERT_TRUE(parse_signal(k, &s)) << k;
    EXPECT_EQ(s, SIGKILL);
  }
  ASSERT_TRUE(parse_signal("RTMIN+2", &s));
  EXPECT_EQ(s, SIGRTMIN + 2);
  ASSERT_TRUE(parse_signal("SIGRTMAX-1", &s));
  EXPECT_EQ(s, SIGRTMAX - 1);
  for (const char* bad : {"", "0", "65", "SIG", "KIL", "RTMIN+99", "RTMIN-1", " 9", "9 "})
    EXPECT_FALSE(parse_signal(bad, &s)) << bad;
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
  EXPECT_EQ(signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
}

}  // namespace
}  // namespace boxjail

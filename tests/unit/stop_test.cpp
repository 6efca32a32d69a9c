// The state record beside a PID file: its format, its trust checks, and
// the cgroup clean-up's refusal of anything outside a cgroup file system.
#include "boxjail/stop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "privilege.h"

namespace boxjail {
namespace {

TEST(StateRecord, RoundTrip) {
  stop::StateRecord r;
  r.box = {1234, 5678};
  r.dirs = {{"/sys/fs/cgroup/pids/ux", false}, {"/sys/fs/cgroup/pids/ux/vm1", true}};
  const std::string text = stop::format_state(r);
  EXPECT_EQ(text,
            "boxjail-state 1\npid 1234\nstart-time 5678\nparent /sys/fs/cgroup/pids/ux\n"
            "cgroup /sys/fs/cgroup/pids/ux/vm1\n");
  stop::StateRecord back;
  std::string why;
  ASSERT_TRUE(stop::parse_state(text, &back, &why)) << why;
  EXPECT_EQ(back, r);
  EXPECT_EQ(stop::dirs_of({"/a", "/a/b", "/c/d"}, {"/a/b", "/c/d"}),
            (std::vector<stop::StateRecord::Dir>{{"/a", false}, {"/a/b", true}, {"/c/d", true}}));
}

TEST(StateRecord, RejectsAnythingElse) {
  const std::pair<const char*, const char*> bad[] = {
      {"", "not a boxjail state record"},
      {"boxjail-state 2\npid 1\nstart-time 1\n", "not a boxjail state record"},
      {"boxjail-state 1\npid 1\nstart-time 1", "the last line is not complete"},
      {"boxjail-state 1\npid 0\nstart-time 1\n", "line 2: expected pid N"},
      {"boxjail-state 1\npid 01\nstart-time 1\n", "line 2: expected pid N"},
      {"boxjail-state 1\npid 1\nstart 1\n", "line 3: expected start-time N"},
      {"boxjail-state 1\npid 1\nstart-time 1\nrm /x\n", "line 4: expected cgroup DIR or parent DIR"},
      {"boxjail-state 1\npid 1\nstart-time 1\ncgroup x\n", "line 4: not a clean absolute path"},
      {"boxjail-state 1\npid 1\nstart-time 1\ncgroup /a/../b\n", "line 4: not a clean absolute path"},
      {"boxjail-state 1\npid 1\nstart-time 1\ncgroup /a//b\n", "line 4: not a clean absolute path"},
      {"boxjail-state 1\npid 1\nstart-time 1\ncgroup /\n", "line 4: not a clean absolute path"},
      {"boxjail-state 1\npid 1\nstart-time 1\nparent /a/\n", "line 4: not a clean absolute path"},
  };
  for (const auto& [text, msg] : bad) {
    stop::StateRecord r;
    std::string why;
    EXPECT_FALSE(stop::parse_state(text, &r, &why)) << text;
    EXPECT_EQ(why, msg) << text;
  }
}

class StateFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/boxjail-state-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
    pidfile_ = dir_ + "/box.pid";
    fd_ = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  void TearDown() override {
    close(fd_);
    std::filesystem::remove_all(dir_);
  }
  std::string state() const { return pidfile_ + ".state"; }
  std::string dir_, pidfile_;
  int fd_ = -1;
};

TEST_F(StateFile, WrittenAtomicallyAndReadBack) {
  stop::StateRecord r;
  r.box = {42, 7};
  r.dirs = {{"/sys/fs/cgroup/pids/nonexistent-boxjail-test", true}};
  std::string err;
  const mode_t old = umask(0);
  ASSERT_TRUE(stop::write_state(fd_, pidfile_, r, &err)) << err;
  umask(old);
  struct stat st {};
  ASSERT_EQ(stat(state().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);  // no temporary
  stop::StateRecord back;
  ASSERT_EQ(stop::read_state(fd_, pidfile_, "--stop", &back, &err), stop::StateRead::kRecord) << err;
  EXPECT_EQ(back, r);
  stop::remove_state(fd_, pidfile_);
  EXPECT_EQ(stop::read_state(fd_, pidfile_, "--stop", &back, &err), stop::StateRead::kAbsent);
}

TEST_F(StateFile, UntrustworthyRecordsAreRefused) {
  stop::StateRecord r;
  std::string err;
  ASSERT_EQ(symlink("/etc/passwd", state().c_str()), 0);
  EXPECT_EQ(stop::read_state(fd_, pidfile_, "--stop", &r, &err), stop::StateRead::kRefused);
  EXPECT_EQ(err, "--stop " + pidfile_ + ": the state record box.pid.state is a symbolic link; "
                 "refusing to follow it");
  unlink(state().c_str());

  std::ofstream(state()) << "boxjail-state 1\npid 1\nstart-time 1\n";
  chmod(state().c_str(), 0664);
  EXPECT_EQ(stop::read_state(fd_, pidfile_, "--stop", &r, &err), stop::StateRead::kRefused);
  EXPECT_EQ(err, "--stop " + pidfile_ + ": the state record box.pid.state is writable by its "
                 "group; refusing to trust it");
  chmod(state().c_str(), 0644);
  EXPECT_EQ(stop::read_state(fd_, pidfile_, "--stop", &r, &err), stop::StateRead::kRecord) << err;

  // A directory that is not a cgroup.
  std::ofstream(state()) << "boxjail-state 1\npid 1\nstart-time 1\ncgroup " << dir_ << "\n";
  EXPECT_EQ(stop::read_state(fd_, pidfile_, "--stop", &r, &err), stop::StateRead::kRefused);
  EXPECT_EQ(err, "--stop " + pidfile_ + ": the state record box.pid.state lists " + dir_ +
                     ", which is not on a cgroup file system; refusing to act on it");
  std::vector<std::string> left;
  EXPECT_EQ(stop::clear_cgroups({{dir_, true}}, &left), 0);
  EXPECT_EQ(left, std::vector<std::string>{dir_});
  EXPECT_TRUE(std::filesystem::exists(dir_));

  std::ofstream(state()) << "garbage\n";
  EXPECT_EQ(stop::read_state(fd_, pidfile_, "--stop", &r, &err), stop::StateRead::kRefused);
  EXPECT_EQ(err, "--stop " + pidfile_ + ": the state record box.pid.state: not a boxjail state "
                 "record; refusing to act on it");

  std::ofstream(state()) << "boxjail-state 1\npid 1\nstart-time 1\n";
  if (std::string why = privilege::give_away(state(), 65534, 65534); !why.empty())
    GTEST_SKIP() << why;
  EXPECT_EQ(stop::read_state(fd_, pidfile_, "--stop", &r, &err), stop::StateRead::kRefused);
  EXPECT_EQ(err, "--stop " + pidfile_ + ": the state record box.pid.state is owned by uid 65534, "
                 "not by uid " + std::to_string(geteuid()) + "; refusing to trust it");
}

TEST_F(StateFile, StopWithoutARecordIsOneAndGarbageIsLeftAlone) {
  std::vector<std::string> notes;
  std::string err;
  EXPECT_EQ(stop::stop_box(pidfile_, stop::kDefaultTimeoutNs, &notes, &err), 1);
  EXPECT_EQ(notes, std::vector<std::string>{"--stop " + pidfile_ + ": no box is recorded there"});
  std::ofstream(pidfile_) << "garbage\n";
  notes.clear();
  EXPECT_EQ(stop::stop_box(pidfile_, stop::kDefaultTimeoutNs, &notes, &err), 125);
  EXPECT_EQ(err, "--stop " + pidfile_ +
                     ": does not hold a boxjail record (a pid and a start time); left alone");
  EXPECT_TRUE(std::filesystem::exists(pidfile_));
  // No lock file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

}  // namespace
}  // namespace boxjail

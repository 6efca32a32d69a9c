// The --cgroup clean-up as a confused deputy: a uid-0 PROGRAM writes the
// pid of an unrelated process into its own cgroup's cgroup.procs (root owns
// that file, so no capability is needed) and waits for boxjail's clean-up
// to kill it. These tests play the attacker and look at the victim: it must
// still be alive (the same process, by its start time) after boxjail has
// exited, while what PROGRAM itself started, orphans included, is gone.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "harness.h"

namespace {

using namespace harness;

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.flush();
  return static_cast<bool>(f);
}

// The cgroup `pid` is in, in the hierarchy `key` names in /proc/PID/cgroup
// ("" for v2's "0::" line, "pids" for v1's "N:pids:" one).
std::string cgroup_of(pid_t pid, const std::string& key) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/cgroup"));
  std::string l;
  while (std::getline(in, l))
    if (key.empty() ? l.rfind("0::", 0) == 0 : l.find(":" + key + ":") != std::string::npos)
      return l.substr(l.rfind(':') + 1);
  return "";
}

// PPid from /proc/PID/status.
pid_t parent_of(pid_t pid) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string l;
  while (std::getline(in, l))
    if (l.rfind("PPid:", 0) == 0) return std::stoi(l.substr(5));
  return -1;
}

// A pid PROGRAM printed, or -1.
pid_t pid_in(const std::string& line) {
  char* end = nullptr;
  const long pid = strtol(line.c_str(), &end, 10);
  return end != line.c_str() && (*end == '\n' || !*end) && pid > 0 ? static_cast<pid_t>(pid) : -1;
}

class Deputy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0)
      GTEST_SKIP() << "needs uid 0 (the attack is a uid-0 PROGRAM moving a process it does not "
                      "own into its cgroup)";
    v2_ = cgroup_mount("");
    pids_ = cgroup_mount("pids");
    if (v2_.empty() && pids_.empty())
      GTEST_SKIP() << "no cgroup hierarchy is mounted here (/proc/self/mountinfo)";
    const std::string probe = (v2_.empty() ? pids_ : v2_) + "/boxjail-write-check";
    if (mkdir(probe.c_str(), 0755) != 0)
      GTEST_SKIP() << "needs write access to the cgroup hierarchy (mkdir " << probe << ": "
                   << strerror(errno) << ")";
    rmdir(probe.c_str());
    top_ = "boxjail-deputy-" + std::to_string(getpid());
    name_ = top_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    go_ = dir_.path + "/go";
  }

  // The victim back to the root cgroups, then ended; the cgroups the attack
  // left behind removed (PROGRAM's own below ours first).
  void TearDown() override {
    write_file(go_, "");
    for (const auto& m : {v2_, pids_}) {
      if (m.empty()) continue;
      if (victim_ > 0) write_file(m + "/cgroup.procs", std::to_string(victim_));
      rmdir((m + "/" + name_ + "/sub").c_str());
      rmdir((m + "/" + name_).c_str());
      rmdir((m + "/" + top_).c_str());
    }
    if (victim_ > 0) {
      kill(victim_, SIGKILL);
      waitpid(victim_, nullptr, 0);
      victim_ = -1;
    }
  }

  // An unrelated process, started by the test outside any box: `sleep 600`.
  pid_t start_victim() {
    victim_ = fork();
    if (victim_ == 0) {
      execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
      _exit(127);
    }
    // Until it is sleep (and not the test binary's copy) it is not the
    // process the attack names.
    for (int i = 0; i < 500 && slurp("/proc/" + std::to_string(victim_) + "/comm") != "sleep\n";
         ++i)
      usleep(2000);
    return victim_;
  }

  // A PROGRAM that moves `victim` into `procs_files` (one cgroup.procs path
  // each), leaves an orphan of its own behind (prints its pid), says
  // "moved", and exits once the test creates go_ (at most 10 s later).
  std::string attack(pid_t victim, const std::vector<std::string>& procs_files) {
    std::string s;
    for (const auto& f : procs_files) s += "echo " + std::to_string(victim) + " > " + f + " || exit 9; ";
    s += "(sleep 600 & echo $!); echo moved; i=0; while [ ! -e " + go_ +
         " ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; exit 3";
    return s;
  }

  // Runs boxjail FLAGS -- sh -c SCRIPT, where SCRIPT is attack(), checks
  // the attack's precondition while PROGRAM waits (the victim is in the
  // box's cgroup in each of `keys`' hierarchies; PROGRAM's orphan is the
  // supervisor's child), then lets PROGRAM end. Returns boxjail's result;
  // `*orphan` is the orphan's pid.
  Result run_attack(const std::vector<std::string>& flags, const std::vector<std::string>& keys,
                    const std::vector<std::string>& procs_files, const std::string& expect_cg,
                    pid_t* orphan, double* after_go_s) {
    unlink(go_.c_str());  // a previous run's
    Spawn s{.argv = {kBoxjail}};
    s.argv.insert(s.argv.end(), flags.begin(), flags.end());
    s.argv.insert(s.argv.end(), {"--", "/bin/sh", "-c", attack(victim_, procs_files)});
    Proc p(s);
    const std::string first = p.read_line();
    const std::string second = p.read_line();
    EXPECT_EQ(second, "moved\n") << first;
    *orphan = pid_in(first);
    EXPECT_GT(*orphan, 0) << first;
    for (const auto& key : keys) {
      EXPECT_EQ(cgroup_of(victim_, key), expect_cg) << "hierarchy '" << key << "'";
    }
    // The subshell that started the orphan has exited: the supervisor (a
    // subreaper with --cgroup) is its parent now, not init.
    for (int i = 0; i < 500 && *orphan > 0 && parent_of(*orphan) != p.pid(); ++i) usleep(2000);
    EXPECT_EQ(parent_of(*orphan), p.pid());
    EXPECT_TRUE(write_file(go_, ""));
    const auto go = std::chrono::steady_clock::now();
    Result r = p.wait();
    *after_go_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - go).count();
    return r;
  }

  std::string v2_, pids_, top_, name_, go_;
  TempDir dir_;
  pid_t victim_ = -1;
};

// The attack on v2, where the clean-up could write cgroup.kill, as root
// with --cgroup alone and confined as uid 0 (--user root, with and without
// capabilities).
TEST_F(Deputy, AProcessMovedIntoTheV2CgroupSurvivesTheCleanUp) {
  if (v2_.empty()) GTEST_SKIP() << "no cgroup v2 hierarchy is mounted here";
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {}, {"--user", "root"}, {"--user", "root", "--cap-drop", "all"}}) {
    std::string label = "--cgroup";
    for (const auto& e : extra) label += " " + e;
    SCOPED_TRACE(label);
    const pid_t victim = start_victim();
    const std::string born = start_time_of(victim);
    std::vector<std::string> flags = {"--cgroup", name_};
    flags.insert(flags.end(), extra.begin(), extra.end());
    pid_t orphan = -1;
    double after_go = 0;
    Result r = run_attack(flags, {""}, {v2_ + "/" + name_ + "/cgroup.procs"}, "/" + name_,
                          &orphan, &after_go);
    EXPECT_EQ(r.code(), 3) << r.err;  // PROGRAM's status, still
    // The victim: alive, the same process, still in the cgroup it was moved to.
    EXPECT_TRUE(alive(victim));
    EXPECT_EQ(start_time_of(victim), born);
    EXPECT_EQ(cgroup_of(victim, ""), "/" + name_);
    EXPECT_NE(r.err.find("pid " + std::to_string(victim) + " (sleep)"), std::string::npos) << r.err;
    // PROGRAM's own orphan did not survive it.
    EXPECT_TRUE(wait_gone(orphan));
    // The cgroup holding the victim stays, and boxjail did not wait on it.
    EXPECT_TRUE(exists(v2_ + "/" + name_));
    EXPECT_LT(after_go, 1.9) << r.err;
    TearDown();
  }
}

// The same on v1 (the pids hierarchy, with --cgroup-set), where the
// clean-up signals each member of cgroup.procs; and on v2 at once.
TEST_F(Deputy, AProcessMovedIntoTheV1CgroupSurvivesTheCleanUp) {
  if (pids_.empty()) GTEST_SKIP() << "no cgroup v1 pids hierarchy is mounted here";
  const pid_t victim = start_victim();
  const std::string born = start_time_of(victim);
  std::vector<std::string> keys = {"pids"}, files = {pids_ + "/" + name_ + "/cgroup.procs"};
  if (!v2_.empty()) {
    keys.push_back("");
    files.push_back(v2_ + "/" + name_ + "/cgroup.procs");
  }
  pid_t orphan = -1;
  double after_go = 0;
  Result r = run_attack({"--cgroup", name_, "--cgroup-set", "pids.max=64"}, keys, files,
                        "/" + name_, &orphan, &after_go);
  EXPECT_EQ(r.code(), 3) << r.err;
  EXPECT_TRUE(alive(victim));
  EXPECT_EQ(start_time_of(victim), born);
  EXPECT_EQ(cgroup_of(victim, "pids"), "/" + name_);
  EXPECT_NE(r.err.find(pids_ + "/" + name_), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pid " + std::to_string(victim) + " (sleep)"), std::string::npos) << r.err;
  EXPECT_TRUE(wait_gone(orphan));
  EXPECT_TRUE(exists(pids_ + "/" + name_));
  EXPECT_LT(after_go, 1.9) << r.err;
}

// The victim in a cgroup PROGRAM made below its own: cgroup.kill of the box
// would end it too, and so must not be used.
TEST_F(Deputy, AProcessMovedIntoACgroupProgramMadeBelowSurvives) {
  const std::string root = v2_.empty() ? pids_ : v2_;
  const std::string key = v2_.empty() ? "pids" : "";
  const pid_t victim = start_victim();
  Spawn s{.argv = {kBoxjail, "--cgroup", name_}};
  if (v2_.empty()) s.argv.insert(s.argv.end(), {"--cgroup-set", "pids.max=64"});
  const std::string dir = root + "/" + name_;
  s.argv.insert(s.argv.end(),
                {"--", "/bin/sh", "-c",
                 "mkdir " + dir + "/sub && echo " + std::to_string(victim) + " > " + dir +
                     "/sub/cgroup.procs || exit 9; (sleep 600 & echo $!); echo moved; "
                     "i=0; while [ ! -e " + go_ + " ] && [ $i -lt 200 ]; do sleep 0.05; "
                     "i=$((i+1)); done"});
  Proc p(s);
  const pid_t orphan = pid_in(p.read_line());
  ASSERT_EQ(p.read_line(), "moved\n");
  ASSERT_GT(orphan, 0);
  EXPECT_EQ(cgroup_of(victim, key), "/" + name_ + "/sub");
  write_file(go_, "");
  Result r = p.wait();
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_TRUE(alive(victim));
  EXPECT_NE(r.err.find("pid " + std::to_string(victim) + " (sleep) in " + dir + "/sub"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(wait_gone(orphan));
}

// PROGRAM's own descendants, a double-forked orphan among them, are still
// ended, and the cgroups removed, quietly.
TEST_F(Deputy, ProgramsOwnDescendantsAreStillKilledAndTheCgroupRemoved) {
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {}, {"--cgroup-set", "pids.max=64"}, {"--user", "root"},
           {"--user", "root", "--cap-drop", "all"}}) {
    std::string label = "--cgroup";
    for (const auto& e : extra) label += " " + e;
    SCOPED_TRACE(label);
    std::vector<std::string> argv = {kBoxjail, "--cgroup", name_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"--", "/bin/sh", "-c",
                             "(sleep 600 &) ; (sleep 600 & echo $!); sleep 600 & echo $!; "
                             "exit 0"});
    Result r = run({.argv = argv});
    ASSERT_EQ(r.code(), 0) << r.err;
    std::istringstream out(r.out);
    pid_t orphan = -1, child = -1;
    out >> orphan >> child;
    EXPECT_TRUE(wait_gone(orphan)) << r.out;
    EXPECT_TRUE(wait_gone(child)) << r.out;
    EXPECT_EQ(r.err, "");
    for (const auto& m : {v2_, pids_})
      if (!m.empty()) {
        EXPECT_FALSE(exists(m + "/" + top_)) << m;
      }
    TearDown();
  }
}

// PROGRAM moves the supervisor itself into its cgroup: on v2 a cgroup.kill
// would end boxjail, and PROGRAM's status with it.
TEST_F(Deputy, TheSupervisorMovedIntoTheCgroupIsNotKilled) {
  const std::string root = v2_.empty() ? pids_ : v2_;
  Spawn s{.argv = {kBoxjail, "--cgroup", name_}};
  if (v2_.empty()) s.argv.insert(s.argv.end(), {"--cgroup-set", "pids.max=64"});
  s.argv.insert(s.argv.end(), {"--", "/bin/sh", "-c",
                               "echo $PPID > " + root + "/" + name_ +
                                   "/cgroup.procs || exit 9; sleep 600 & exit 5"});
  Result r = run(s);
  EXPECT_EQ(r.code(), 5) << r.status << r.err;
  EXPECT_NE(r.err.find("is boxjail's supervisor"), std::string::npos) << r.err;
}

// Where pidfd_open is missing (before Linux 5.3: ENOSYS, injected here with
// strace), the clean-up falls back to kill() by pid, after the same check.
TEST_F(Deputy, WithoutPidfdsTheVictimSurvivesAndTheOrphanIsKilled) {
  if (access("/usr/bin/strace", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/strace";
  const std::string root = v2_.empty() ? pids_ : v2_;
  const std::string key = v2_.empty() ? "pids" : "";
  const pid_t victim = start_victim();
  const std::string trace = dir_.path + "/trace";
  Spawn s{.argv = {"/usr/bin/strace", "-qq", "-e", "trace=pidfd_open,kill", "-e",
                   "inject=pidfd_open:error=ENOSYS", "-o", trace, kBoxjail, "--cgroup", name_}};
  if (v2_.empty()) s.argv.insert(s.argv.end(), {"--cgroup-set", "pids.max=64"});
  s.argv.insert(s.argv.end(), {"--", "/bin/sh", "-c", attack(victim, {root + "/" + name_ + "/cgroup.procs"})});
  Proc p(s);
  const pid_t orphan = pid_in(p.read_line());
  ASSERT_EQ(p.read_line(), "moved\n");
  ASSERT_GT(orphan, 0);
  EXPECT_EQ(cgroup_of(victim, key), "/" + name_);
  write_file(go_, "");
  Result r = p.wait();
  EXPECT_EQ(r.code(), 3) << r.err;
  EXPECT_TRUE(alive(victim));
  EXPECT_TRUE(wait_gone(orphan));
  const std::string t = slurp(trace);
  EXPECT_NE(t.find("pidfd_open("), std::string::npos) << t;
  EXPECT_NE(t.find("ENOSYS (Function not implemented) (INJECTED)"), std::string::npos) << t;
  EXPECT_NE(t.find("kill(" + std::to_string(orphan) + ", SIGKILL)"), std::string::npos) << t;
  EXPECT_EQ(t.find("kill(" + std::to_string(victim)), std::string::npos) << t;
}

}  // namespace

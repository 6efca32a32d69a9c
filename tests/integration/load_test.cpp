// Load: 1,000 launches per mode, 100 at a time, of a target that checks its
// own descriptors and limits; and a long-lived supervisor whose own
// descriptors must not grow.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

int count_fds(pid_t pid) {
  int n = 0;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

TEST(Load, ThousandLaunchesPerModeHundredAtATime) {
  constexpr int kLaunches = 1000, kParallel = 100;
  // Orphans (detached targets) come to us, so none is left unreaped.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  TempDir d;
  const std::string fail_file = d.path + "/failures";
  for (const auto& mode : all_modes()) {
    const std::string label = mode_label(mode);
    const std::string piddir = d.path + "/" + label;
    std::filesystem::create_directory(piddir);
    auto start = std::chrono::steady_clock::now();
    int launched = 0, ok = 0;
    std::vector<std::unique_ptr<Proc>> running;
    auto finish_one = [&](std::unique_ptr<Proc>& p) {
      Result r = p->wait();
      if (r.code() == 0 && r.err.empty()) {
        ++ok;
      } else {
        ADD_FAILURE() << label << ": exit " << r.status << " " << r.err;
      }
    };
    while (launched < kLaunches || !running.empty()) {
      while (launched < kLaunches && static_cast<int>(running.size()) < kParallel) {
        Spawn s{.argv = {kBoxjail}};
        s.argv.insert(s.argv.end(), mode.begin(), mode.end());
        s.argv.insert(s.argv.end(),
                      {"--rlimit", "nofile=256", "--pidfile",
                       piddir + "/" + std::to_string(launched) + ".pid", kProbe, "--check-fds",
                       "0,1,2", "--check-nofile", "256", "--fail-file", fail_file});
        s.fds = {{5, 2}, {9, 1}};  // inherited strays the target must not see
        running.push_back(std::make_unique<Proc>(s));
        ++launched;
      }
      finish_one(running.front());
      running.erase(running.begin());
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(ok, kLaunches) << label;
    // Reap the detached targets, which were reparented to us.
    for (int i = 0; i < 1000; ++i) {
      int st = 0;
      pid_t r = waitpid(-1, &st, WNOHANG);
      if (r < 0 && errno == ECHILD) break;
      if (r > 0) {
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << label << ": a target failed its check";
        continue;
      }
      usleep(10000);
    }
    int st = 0;
    EXPECT_EQ(waitpid(-1, &st, WNOHANG), -1) << "a child is left";
    // Only PID files may remain (detached and in-place targets keep theirs),
    // never a lock or a temporary.
    int pidfiles = 0;
    for (const auto& e : std::filesystem::directory_iterator(piddir)) {
      std::string name = e.path().filename();
      EXPECT_NE(name[0], '.') << label << ": stray " << name;
      ++pidfiles;
    }
    EXPECT_EQ(pidfiles, mode.empty() ? 0 : kLaunches) << label;
    std::printf("load %-9s %d launches, %d at a time: %.0f launches/s\n", label.c_str(), kLaunches,
                kParallel, kLaunches / secs);
    RecordProperty("launches_per_second_" + label, static_cast<int>(kLaunches / secs));
  }
  EXPECT_EQ(slurp(fail_file), "") << "targets that saw a leaked descriptor or a wrong limit";
}

TEST(Load, LongLivedSupervisorKeepsItsDescriptorCount) {
  TempDir d;
  int st[2];
  ASSERT_EQ(pipe2(st, O_CLOEXEC), 0);
  Proc p({.argv = {kBoxjail, "--pidfile", d.path + "/box.pid", "--status-fd", "3", "/bin/sh",
                   "-c",
                   "n=0; trap 'n=$((n+1))' USR1 HUP WINCH; trap 'exit $((n % 256))' TERM; "
                   "echo ready; while :; do sleep 0.01; done"},
          .fds = {{3, st[1]}}});
  close(st[1]);
  ASSERT_EQ(p.read_line(), "ready\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int before = count_fds(p.pid());
  if (before < 0 && errno == EACCES)
    GTEST_SKIP() << "the supervisor is non-dumpable: reading its /proc/PID/fd needs "
                    "CAP_SYS_PTRACE";
  ASSERT_GT(before, 0);
  for (int i = 0; i < 300; ++i) {
    kill(p.pid(), i % 3 == 0 ? SIGUSR1 : i % 3 == 1 ? SIGHUP : SIGWINCH);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count_fds(p.pid()), before);
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  EXPECT_TRUE(WIFEXITED(r.status)) << r.status;
  close(st[0]);
}

}  // namespace

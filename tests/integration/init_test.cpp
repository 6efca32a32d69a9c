// The supervisor as an init: reaping orphans (as PID 1, or with --reap),
// ending what PROGRAM leaves behind, signalling PROGRAM's whole process
// group, and holding no directory of its caller.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "harness.h"

namespace {

using namespace harness;

// Children of `pid` (from /proc), and how many of them are zombies.
std::vector<pid_t> children(pid_t pid) {
  std::vector<pid_t> v;
  std::string list = slurp("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  size_t at = 0;
  while (at < list.size()) {
    size_t sp = list.find(' ', at);
    if (sp == std::string::npos) sp = list.size();
    if (sp > at) v.push_back(std::stoi(list.substr(at, sp - at)));
    at = sp + 1;
  }
  return v;
}

int zombies(pid_t pid) {
  int n = 0;
  for (pid_t c : children(pid)) {
    std::string st = slurp("/proc/" + std::to_string(c) + "/stat");
    size_t p = st.rfind(')');
    if (p != std::string::npos && st.compare(p, 4, ") Z ") == 0) ++n;
  }
  return n;
}

// PROGRAM: leaves 100 orphans that end after a second, lives on for a
// while, then exits 7.
const std::string kOrphans =
    "for i in $(seq 100); do (sleep 1 &); done; echo spawned; sleep 2.5; exit 7";

// Polls until `done`; false after 10 s.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(Init, AsPid1ReapsEveryOrphanAndPassesTheStatusOn) {
  Result ns = run({.argv = {"/usr/bin/unshare", "-fp", "--mount-proc", "/bin/true"}});
  if (ns.code() != 0)
    GTEST_SKIP() << "needs a new pid namespace (unshare -fp --mount-proc, as root): " << ns.err;
  Proc p({.argv = {"/usr/bin/unshare", "-fp", "--mount-proc", kBoxjail, "--", "/bin/sh", "-c",
                   kOrphans}});
  ASSERT_EQ(p.read_line(), "spawned\n");
  std::vector<pid_t> kids;
  ASSERT_TRUE(eventually([&] { return !(kids = children(p.pid())).empty(); }));
  const pid_t init = kids[0];  // boxjail, PID 1 inside
  // The orphans are boxjail's now; once they end (after a second) they must
  // not stay zombies.
  std::this_thread::sleep_for(std::chrono::milliseconds(1800));
  EXPECT_EQ(zombies(init), 0);
  EXPECT_LE(children(init).size(), 1u);  // PROGRAM alone, or nothing
  Result r = p.wait();
  EXPECT_EQ(r.code(), 7) << r.err;
}

TEST(Init, ReapAsSubreaperAndEndWhatIsLeft) {
  TempDir d;
  Proc p({.argv = {kBoxjail, "--reap", "--", "/bin/sh", "-c", kOrphans}});
  ASSERT_EQ(p.read_line(), "spawned\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(1800));
  EXPECT_EQ(zombies(p.pid()), 0);
  Result r = p.wait();
  EXPECT_EQ(r.code(), 7) << r.err;
  // What PROGRAM leaves running gets SIGTERM, and SIGKILL after the grace
  // period if it ignores that; boxjail exits only once they are gone.
  const std::string note = d.path + "/note";
  Proc q({.argv = {kBoxjail, "--reap", "--reap-grace", "0.3", "--", "/bin/sh", "-c",
                   "(" + kProbe + " --wait --note " + note + " --out " + d.path +
                       "/r1 &); (trap '' TERM; exec sleep 300) & echo $! > " + d.path +
                       "/stubborn; sleep 0.5; exit 4"}});
  Result rq = q.wait();
  EXPECT_EQ(rq.code(), 4) << rq.err;
  EXPECT_EQ(slurp(note), "15\n");  // the probe got SIGTERM
  pid_t stubborn = std::stoi(slurp(d.path + "/stubborn"));
  EXPECT_FALSE(alive(stubborn));  // killed after the grace period
}

TEST(Init, SignalGroupReachesEveryProcessOfAPipeline) {
  TempDir d;
  auto probe_to = [&](int i) {
    return kProbe + " --wait --note " + d.path + "/n" + std::to_string(i) + " --out " + d.path +
           "/r" + std::to_string(i);
  };
  Proc p({.argv = {kBoxjail, "--signal-group", "--", "/bin/sh", "-c",
                   probe_to(1) + " | " + probe_to(2) + " | " + probe_to(3) + "; exit 0"}});
  ASSERT_TRUE(eventually([&] {
    return access((d.path + "/r1").c_str(), F_OK) == 0 && access((d.path + "/r2").c_str(), F_OK) == 0 &&
           access((d.path + "/r3").c_str(), F_OK) == 0;
  }));
  kill(p.pid(), SIGTERM);
  Result r = p.wait();
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(slurp(d.path + "/n" + std::to_string(i)), "15\n") << "probe " << i;
  EXPECT_EQ(r.signal(), SIGTERM) << r.status;  // the shell died of it
  // Without --signal-group only the shell gets it: the pipeline's probes
  // are left, and killed here.
  TempDir e;
  Proc q({.argv = {kBoxjail, "--", "/bin/sh", "-c",
                   kProbe + " --wait --note " + e.path + "/n --out " + e.path + "/r; exit 0"}});
  ASSERT_TRUE(eventually([&] { return access((e.path + "/r").c_str(), F_OK) == 0; }));
  const pid_t left = parse_probe(slurp(e.path + "/r"))["pid"].get<pid_t>();
  kill(q.pid(), SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(slurp(e.path + "/n"), "");
  EXPECT_TRUE(alive(left));
  kill(left, SIGKILL);
  q.wait();
}

TEST(Init, SignalGroupEndsWhatPROGRAMLeavesInItsGroup) {
  TempDir d;
  Proc p({.argv = {kBoxjail, "--signal-group", "--", "/bin/sh", "-c",
                   kProbe + " --wait --note " + d.path + "/n --out " + d.path +
                       "/r & while [ ! -e " + d.path + "/r ]; do sleep 0.05; done; exit 3"}});
  Result r = p.wait();
  EXPECT_EQ(r.code(), 3) << r.err;
  EXPECT_EQ(slurp(d.path + "/n"), "15\n");
}

// The waiting supervisor holds no directory of its caller: a tmpfs that was
// boxjail's working directory unmounts while PROGRAM runs elsewhere.
TEST(Init, SupervisorHoldsNoDirectory) {
  TempDir d;
  const std::string mnt = d.path + "/mnt", out = d.path + "/report";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  std::vector<std::string> unshare = {"/usr/bin/unshare", "-m"};
  if (geteuid() != 0) unshare = {"/usr/bin/unshare", "-Urm"};
  Result can = run({.argv = {unshare[0], unshare[1], "/bin/true"}});
  if (can.code() != 0) GTEST_SKIP() << "needs a mount namespace (" << unshare[1] << "): " << can.err;
  const std::string script =
      "mount -t tmpfs none " + mnt + " && cd " + mnt + " && { " + kBoxjail + " --chdir " +
      d.path + " -- " + kProbe + " --wait --out " + out + " & } && pid=$! && cd / && " +
      "while [ ! -e " + out + " ]; do sleep 0.05; done; sleep 0.2; " +
      "umount " + mnt + " && echo unmounted; kill $pid; wait";
  std::vector<std::string> argv = unshare;
  argv.insert(argv.end(), {"/bin/sh", "-c", script});
  Result r = run({.argv = argv});
  EXPECT_NE(r.out.find("unmounted"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(parse_probe(slurp(out))["cwd"], d.path);  // --chdir
}

TEST(Init, RefusalsComeFirst) {
  for (const auto& [flags, msg] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--chdir", "/no/such/dir"}, "--chdir /no/such/dir: No such file or directory"},
           {{"--chdir", "/etc/passwd"}, "--chdir /etc/passwd: not a directory"},
           {{"--reap", "--detach"},
            "--reap cannot be combined with --detach (it is the supervisor's job)"},
           {{"--signal-group", "--no-fork"},
            "--signal-group cannot be combined with --no-fork (it is the supervisor's job)"},
           {{"--reap-grace", "1"}, "--reap-grace needs --reap, --signal-group, --timeout or --ready"},
           {{"--reap", "--reap-grace", "1.2345"},
            "--reap-grace 1.2345: not a number of seconds (0 to 86400, such as 2 or 0.5)"},
       }) {
    std::vector<std::string> args = flags;
    args.insert(args.end(), {"--", kProbe});
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125) << msg;
    EXPECT_EQ(r.err, "boxjail: " + msg + "\n");
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace

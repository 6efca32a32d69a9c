// --ready and --ready-timeout: the grammar, the mode refusals, fd:N against
// the other descriptors, --reap-grace beside it, the dry run; and the
// Waiter on a real pipe and a real file.
#include "boxjail/ready.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include "boxjail/plan.h"
#include "fake_system.h"

namespace boxjail {
namespace {

TEST(ReadySpec, Grammar) {
  ready::ReadyPlan p;
  std::string err;
  ASSERT_TRUE(ready::parse_spec("unix:/run/vm1.qmp", "/x", &p, &err)) << err;
  EXPECT_EQ(p.kind, ready::Kind::kUnix);
  EXPECT_EQ(p.path, "/run/vm1.qmp");
  ASSERT_TRUE(ready::parse_spec("file:up/now", "/srv", &p, &err)) << err;
  EXPECT_EQ(p.kind, ready::Kind::kFile);
  EXPECT_EQ(p.path, "/srv/up/now");
  ASSERT_TRUE(ready::parse_spec("file:up", "/", &p, &err)) << err;
  EXPECT_EQ(p.path, "/up");
  ASSERT_TRUE(ready::parse_spec("fd:7", "/", &p, &err)) << err;
  EXPECT_EQ(p.kind, ready::Kind::kFd);
  EXPECT_EQ(p.fd, 7);
  EXPECT_EQ(p.spec, "fd:7");

  const std::pair<const char*, std::string> bad[] = {
      {"", "--ready : expected unix:PATH, file:PATH or fd:N"},
      {"unix", "--ready unix: expected unix:PATH, file:PATH or fd:N"},
      {"tcp:80", "--ready tcp:80: expected unix:PATH, file:PATH or fd:N"},
      {"UNIX:/x", "--ready UNIX:/x: expected unix:PATH, file:PATH or fd:N"},
      {"unix:", "--ready unix:: empty path"},
      {"file:", "--ready file:: empty path"},
      {"fd:", "--ready fd:: '' is not a descriptor number"},
      {"fd:x", "--ready fd:x: 'x' is not a descriptor number"},
      {"fd:-1", "--ready fd:-1: '-1' is not a descriptor number"},
      {"fd:0", "--ready fd:0: descriptors 0, 1 and 2 are PROGRAM's; use one from 3 up"},
      {"fd:2", "--ready fd:2: descriptors 0, 1 and 2 are PROGRAM's; use one from 3 up"},
  };
  for (const auto& [spec, msg] : bad) {
    ready::ReadyPlan q;
    EXPECT_FALSE(ready::parse_spec(spec, "/x", &q, &err)) << spec;
    EXPECT_EQ(err, msg);
  }
  const std::string long_path = "/" + std::string(107, 'a');
  EXPECT_FALSE(ready::parse_spec("unix:" + long_path, "/", &p, &err));
  EXPECT_EQ(err, "--ready unix:" + long_path + ": the path " + long_path +
                     " is longer than a unix socket address (107 bytes)");
  EXPECT_TRUE(ready::parse_spec("unix:" + long_path.substr(0, 107), "/", &p, &err)) << err;
  EXPECT_TRUE(ready::parse_spec("file:" + long_path + long_path, "/", &p, &err)) << err;
  EXPECT_FALSE(ready::parse_spec("unix:rel", "", &p, &err));
  EXPECT_EQ(err, "--ready unix:rel: cannot resolve the relative path against the working directory");
}

struct Built {
  bool ok;
  std::string msg;
};

Built build(Options o, LaunchPlan* plan, testing::FakeSystem* sys = nullptr) {
  testing::FakeSystem own;
  if (!sys) sys = &own;
  if (o.command.empty()) o.command = {"/bin/true"};
  PlanError err;
  bool ok = build_plan(o, *sys, "/usr/bin:/bin", nullptr, plan, &err);
  if (!ok) {
    EXPECT_EQ(err.exit_code, 125) << err.msg;
  }
  return {ok, err.msg};
}

Options detached(const std::string& spec) {
  Options o;
  o.detach = true;
  o.ready = spec;
  o.has_ready = true;
  return o;
}

TEST(Ready, ModesAndTimeout) {
  LaunchPlan plan;
  ASSERT_TRUE(build(detached("file:/run/up"), &plan).ok);
  EXPECT_TRUE(plan.ready.active);
  EXPECT_EQ(plan.ready.timeout_ns, ready::kDefaultTimeoutNs);
  EXPECT_EQ(plan.ready.timeout_spec, "30");

  Options o = detached("file:/run/up");
  o.ready_timeout = "1.5";
  o.has_ready_timeout = true;
  o.reap_grace = "0.5";
  o.has_reap_grace = true;
  LaunchPlan p2;
  ASSERT_TRUE(build(o, &p2).ok) << build(o, &p2).msg;
  EXPECT_EQ(p2.ready.timeout_ns, 1500LL * 1000000);
  EXPECT_EQ(p2.grace_ms, 500);

  // The default mode, with --status-fd.
  testing::FakeSystem sys;
  sys.open_fds = {0, 1, 2, 9};
  Options d;
  d.ready = "fd:5";
  d.has_ready = true;
  d.status_fd = "9";
  d.has_status_fd = true;
  LaunchPlan p3;
  ASSERT_TRUE(build(d, &p3, &sys).ok) << build(d, &p3, &sys).msg;
  EXPECT_EQ(p3.keep, (std::vector<int>{0, 1, 2, 5}));

  const std::pair<Options, std::string> bad[] = {
      {[] {
         Options x = detached("fd:3");
         x.detach = false;
         x.no_fork = true;
         return x;
       }(),
       "--ready cannot be combined with --no-fork (boxjail becomes PROGRAM: no one stays to wait "
       "for it)"},
      {[] {
         Options x = detached("fd:3");
         x.detach = false;
         return x;
       }(),
       "--ready needs --detach, or --status-fd in the default mode (where the ready event goes)"},
      {[] {
         Options x;
         x.detach = true;
         x.ready_timeout = "3";
         x.has_ready_timeout = true;
         return x;
       }(),
       "--ready-timeout needs --ready (what to wait for)"},
      {[] {
         Options x = detached("fd:3");
         x.ready_timeout = "0";
         x.has_ready_timeout = true;
         return x;
       }(),
       "--ready-timeout 0: not a duration (seconds, more than 0, up to three decimals, or with a "
       "unit: 30, 1.5, 500ms, 2m)"},
      {[] {
         Options x;
         x.detach = true;
         x.reap_grace = "1";
         x.has_reap_grace = true;
         return x;
       }(),
       "--reap-grace cannot be combined with --detach (it is the supervisor's job)"},
      {[] {
         Options x;
         x.stop_timeout = "1";
         x.has_stop_timeout = true;
         return x;
       }(),
       "--stop-timeout needs --stop (the box to stop)"},
  };
  for (const auto& [opts, msg] : bad) {
    LaunchPlan p;
    Built b = build(opts, &p);
    EXPECT_FALSE(b.ok) << msg;
    EXPECT_EQ(b.msg, msg);
  }
}

TEST(Ready, FdNAgainstTheOtherDescriptors) {
  testing::FakeSystem sys;
  sys.open_fds = {0, 1, 2, 4, 9};
  Options o = detached("fd:4");
  o.fds = {"4"};
  LaunchPlan p;
  Built b = build(o, &p, &sys);
  EXPECT_EQ(b.msg, "--ready fd:4 cannot be combined with --fd 4: both give PROGRAM descriptor 4");
  Options s = detached("fd:9");
  s.status_fd = "9";
  s.has_status_fd = true;
  LaunchPlan p2;
  b = build(s, &p2, &sys);
  EXPECT_EQ(b.msg, "--ready fd:9 cannot be combined with --status-fd 9: both give PROGRAM "
                   "descriptor 9");
  Options n = detached("fd:2000");
  LaunchPlan p3;
  b = build(n, &p3, &sys);
  EXPECT_EQ(b.msg, "--ready fd:2000: descriptor 2000 is at or above PROGRAM's soft RLIMIT_NOFILE "
                   "1024");
  // The plan keeps N, and the dry run names the wait.
  Options ok = detached("fd:6");
  ok.fds = {"3=4"};
  LaunchPlan p4;
  ASSERT_TRUE(build(ok, &p4, &sys).ok) << build(ok, &p4, &sys).msg;
  EXPECT_EQ(p4.keep, (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_NE(plan_to_json(p4).find(",\"ready\":{\"kind\":\"fd\",\"fd\":6,\"timeout_ms\":30000}"),
            std::string::npos)
      << plan_to_json(p4);
}

TEST(ReadyWaiter, PipeLineAndClose) {
  ready::ReadyPlan plan;
  std::string err;
  ASSERT_TRUE(ready::parse_spec("fd:5", "/", &plan, &err));
  {
    ready::Waiter w(plan);
    ASSERT_TRUE(w.prepare(&err)) << err;
    ASSERT_TRUE(w.start(&err)) << err;
    const int wr = dup(w.write_end());
    w.forked();
    EXPECT_EQ(w.on_readable(), ready::Waiter::State::kWaiting);
    ASSERT_EQ(write(wr, "almost", 6), 6);
    EXPECT_EQ(w.on_readable(), ready::Waiter::State::kWaiting);
    ASSERT_EQ(write(wr, "\n", 1), 1);
    EXPECT_EQ(w.on_readable(), ready::Waiter::State::kReady);
    EXPECT_EQ(w.fd(), -1);
    close(wr);
  }
  ready::Waiter w(plan);
  ASSERT_TRUE(w.prepare(&err)) << err;
  ASSERT_TRUE(w.start(&err)) << err;
  w.forked();  // no writer is left
  EXPECT_EQ(w.on_readable(), ready::Waiter::State::kClosed);
  EXPECT_EQ(w.closed_reason(), "PROGRAM closed descriptor 5 before writing a line");
}

TEST(ReadyWaiter, FileAndDeadline) {
  char dir[] = "/tmp/boxjail-ready-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  const std::string f = std::string(dir) + "/up";
  ready::ReadyPlan plan;
  std::string err;
  ASSERT_TRUE(ready::parse_spec("file:" + f, "/", &plan, &err));
  plan.timeout_ns = 1000000;  // 1 ms
  ready::Waiter w(plan);
  ASSERT_TRUE(w.prepare(&err)) << err;
  ASSERT_TRUE(w.start(&err)) << err;
  EXPECT_EQ(w.on_readable(), ready::Waiter::State::kWaiting);
  usleep(20000);
  EXPECT_TRUE(w.deadline_passed());
  EXPECT_EQ(w.limit_text(), "1 ms");
  std::ofstream(f) << "";
  EXPECT_EQ(w.on_readable(), ready::Waiter::State::kReady);
  unlink(f.c_str());
  rmdir(dir);
}

// A QMP server is ready on its answer to qmp_capabilities, not on its
// greeting (qemu's monitor thread greets before the machine exists).
TEST(ReadyWaiter, QmpGreetingAloneIsNotReady) {
  char dir[] = "/tmp/boxjail-qmp-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  const std::string path = std::string(dir) + "/qmp";
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(l, 4), 0);
  ready::ReadyPlan plan;
  std::string err;
  ASSERT_TRUE(ready::parse_spec("unix:" + path, "/", &plan, &err));
  ready::Waiter w(plan);
  ASSERT_TRUE(w.prepare(&err)) << err;
  ASSERT_TRUE(w.start(&err)) << err;
  EXPECT_EQ(w.on_readable(), ready::Waiter::State::kWaiting);  // connected, unanswered
  int c = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(c, 0);
  const std::string greeting = "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n";
  ASSERT_EQ(write(c, greeting.data(), greeting.size()), static_cast<ssize_t>(greeting.size()));
  EXPECT_EQ(w.on_readable(), ready::Waiter::State::kWaiting);
  char buf[256] = {};
  ASSERT_GT(read(c, buf, sizeof buf - 1), 0);
  EXPECT_EQ(std::string(buf), "{\"execute\":\"qmp_capabilities\"}\n");
  EXPECT_EQ(w.on_readable(), ready::Waiter::State::kWaiting);
  const std::string answer = "{\"return\": {}}\r\n";
  ASSERT_EQ(write(c, answer.data(), answer.size()), static_cast<ssize_t>(answer.size()));
  EXPECT_EQ(w.on_readable(), ready::Waiter::State::kReady);
  close(c);
  close(l);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(ReadyLine, IsOneJsonLine) {
  EXPECT_EQ(ready::ready_line(42), "{\"event\":\"ready\",\"ms\":42}\n");
}

}  // namespace
}  // namespace boxjail

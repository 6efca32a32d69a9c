#include "boxjail/plan.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "fake_system.h"

namespace boxjail {
namespace {

struct Built {
  bool ok;
  PlanError err;
};

Built build(Options o, testing::FakeSystem& sys, LaunchPlan* plan) {
  if (o.command.empty()) o.command = {"/bin/true"};
  PlanError err;
  bool ok = build_plan(o, sys, "/usr/bin:/bin", nullptr, plan, &err);
  return {ok, err};
}

std::string error_of(const Options& o, testing::FakeSystem& sys, int want_code = 125) {
  LaunchPlan plan;
  Built b = build(o, sys, &plan);
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(b.err.exit_code, want_code) << b.err.msg;
  return b.err.msg;
}

TEST(Plan, ModesAndConflicts) {
  testing::FakeSystem sys;
  Options o;
  o.detach = true;
  o.no_fork = true;
  EXPECT_EQ(error_of(o, sys), "--detach cannot be combined with --no-fork");
  o = {};
  o.verbose = 1;
  o.quiet = true;
  EXPECT_EQ(error_of(o, sys), "--verbose cannot be combined with --quiet");
  o = {};
  o.log_level = "loud";
  o.has_log_level = true;
  EXPECT_EQ(error_of(o, sys),
            "--log-level loud: unknown level (use trace, debug, info, warn, error or off)");
  o = {};
  o.quiet = true;
  o.log_level = "info";
  o.has_log_level = true;
  EXPECT_EQ(error_of(o, sys), "--log-level cannot be combined with --quiet");

  for (auto [detach, nofork, mode] : {std::tuple{false, false, Mode::kSupervise},
                                      std::tuple{true, false, Mode::kDetach},
                                      std::tuple{false, true, Mode::kNoFork}}) {
    LaunchPlan plan;
    o = {};
    o.detach = detach;
    o.no_fork = nofork;
    ASSERT_TRUE(build(o, sys, &plan).ok);
    EXPECT_EQ(plan.mode, mode);
  }
}

TEST(Plan, MissingOrBadProgram) {
  testing::FakeSystem sys;
  LaunchPlan plan;
  PlanError err;
  Options o;
  EXPECT_FALSE(build_plan(o, sys, nullptr, nullptr, &plan, &err));
  EXPECT_EQ(err.msg, "missing PROGRAM (usage: boxjail [OPTIONS] [--] PROGRAM [ARGS...])");
  o.command = {"no-such-program-xyz"};
  EXPECT_EQ(error_of(o, sys, 127), "cannot execute 'no-such-program-xyz': No such file or directory");
  o.command = {"/etc"};
  EXPECT_EQ(error_of(o, sys, 126), "cannot execute '/etc': Is a directory");
  o.command = {"/etc/passwd"};
  EXPECT_EQ(error_of(o, sys, 126), "cannot execute '/etc/passwd': Permission denied");
}

TEST(Plan, ArgvIsReadyForExecve) {
  testing::FakeSystem sys;
  LaunchPlan plan;
  Options o;
  o.command = {"sh", "-c", "echo hi"};
  ASSERT_TRUE(build(o, sys, &plan).ok);
  EXPECT_EQ(plan.path, "/usr/bin/sh");
  ASSERT_EQ(plan.argv.size(), 4u);
  EXPECT_STREQ(plan.argv[0], "sh");
  EXPECT_STREQ(plan.argv[2], "echo hi");
  EXPECT_EQ(plan.argv[3], nullptr);
}

TEST(Plan, RlimitTwiceIsAnError) {
  testing::FakeSystem sys;
  Options o;
  o.rlimits = {"nofile=10", "NOFILE=20"};
  EXPECT_EQ(error_of(o, sys), "--rlimit NOFILE=20: nofile is already set by --rlimit nofile=10");
}

TEST(Plan, FdValidation) {
  testing::FakeSystem sys;
  sys.open_fds = {0, 1, 2, 3, 4};
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"3=9"}, "--fd 3=9: descriptor 9 is not open in boxjail"},
      {{"9"}, "--fd 9: descriptor 9 is not open in boxjail"},
      {{"3=4", "3=1"}, "--fd 3=1: target 3 is already given by --fd 3=4"},
      {{"3", "3=1"}, "--fd 3=1: target 3 is already given by --fd 3"},
      {{"-1=3"}, "--fd -1=3: negative descriptor '-1'"},
      {{"3=-4"}, "--fd 3=-4: negative descriptor '-4'"},
      {{"x=3"}, "--fd x=3: not a descriptor number 'x' (expected TARGET=SOURCE or N)"},
      {{"3=x"}, "--fd 3=x: not a descriptor number 'x' (expected TARGET=SOURCE or N)"},
      {{""}, "--fd : empty descriptor number '' (expected TARGET=SOURCE or N)"},
      {{"=3"}, "--fd =3: empty descriptor number '' (expected TARGET=SOURCE or N)"},
      {{"3="}, "--fd 3=: empty descriptor number '' (expected TARGET=SOURCE or N)"},
      {{" 3"}, "--fd  3: not a descriptor number ' 3' (expected TARGET=SOURCE or N)"},
      {{"3=4=5"}, "--fd 3=4=5: not a descriptor number '4=5' (expected TARGET=SOURCE or N)"},
      {{"99999999999=1"},
       "--fd 99999999999=1: descriptor number out of range '99999999999' (expected "
       "TARGET=SOURCE or N)"},
      {{"1024=1"},
       "--fd 1024=1: target 1024 is at or above PROGRAM's soft RLIMIT_NOFILE 1024 "
       "(inherited; raise it with --rlimit nofile=N)"},
  };
  for (const auto& [fds, want] : cases) {
    Options o;
    o.fds = fds;
    EXPECT_EQ(error_of(o, sys), want);
  }
  Options o;
  o.rlimits = {"nofile=64"};
  o.fds = {"64=1"};
  EXPECT_EQ(error_of(o, sys),
            "--fd 64=1: target 64 is at or above PROGRAM's soft RLIMIT_NOFILE 64 (set by "
            "--rlimit nofile=64)");
}

TEST(Plan, FdKeepListAndNofileOrder) {
  testing::FakeSystem sys;
  sys.open_fds = {0, 1, 2, 3, 4};
  LaunchPlan plan;
  Options o;
  o.rlimits = {"as=1G", "nofile=4096"};
  o.fds = {"3000=4", "3", "1=2"};
  ASSERT_TRUE(build(o, sys, &plan).ok) << build(o, sys, &plan).err.msg;
  EXPECT_EQ(plan.keep, (std::vector<int>{0, 1, 2, 3, 3000}));
  // Raising nofile must come before the moves that need the room.
  EXPECT_EQ(plan.nofile_first, 1);
  EXPECT_GT(plan.fd_program.temp_floor, 3000);

  LaunchPlan lower;
  o.rlimits = {"nofile=512"};
  o.fds = {"3"};
  ASSERT_TRUE(build(o, sys, &lower).ok);
  EXPECT_EQ(lower.nofile_first, -1);
}

TEST(Plan, DryRunJson) {
  testing::FakeSystem sys;
  sys.open_fds = {0, 1, 2, 4};
  LaunchPlan plan;
  Options o;
  o.command = {"sh", "-c", "a \"b\"\n"};
  o.rlimits = {"nofile=100:200", "as=unlimited"};
  o.fds = {"3=4"};
  o.detach = true;
  ASSERT_TRUE(build(o, sys, &plan).ok);
  EXPECT_EQ(plan_to_json(plan),
            "{\"program\":\"/usr/bin/sh\",\"argv\":[\"sh\",\"-c\",\"a \\\"b\\\"\\n\"],"
            "\"sources\":{},\"mode\":\"detach\",\"rlimits\":[{\"name\":\"nofile\",\"soft\":100,\"hard\":200},"
            "{\"name\":\"as\",\"soft\":\"unlimited\",\"hard\":\"unlimited\"}],"
            "\"fds\":[{\"target\":3,\"source\":4}],\"close_fds\":true,\"pidfile\":null,"
            "\"status_fd\":null,\"die_with_parent\":null,\"listen_fds\":null,"
            "\"chdir\":null,\"supervisor\":{\"reap\":false,\"signal_group\":false,"
            "\"grace_ms\":2000,\"subreaper\":false},\"cgroup\":null,\"scheduling\":{\"cpus\":null,\"nice\":null,"
            "\"oom_score_adj\":null},\"landlock\":null,\"seccomp\":null,\"jail\":null,\"learn\":null,"
            "\"die_with_supervisor\":null,\"restrict_early\":false,\"identity\":null,"
            "\"no_new_privs\":{\"set\":false,\"why\":\"not asked for\"}}\n");

  LaunchPlan more;
  o = {};
  o.command = {"/bin/true"};
  o.pidfile = "/run/box1.pid";
  o.has_pidfile = true;
  o.status_fd = "4";
  o.has_status_fd = true;
  o.die_with_parent = "term";
  o.has_die_with_parent = true;
  ASSERT_TRUE(build(o, sys, &more).ok);
  std::string j = plan_to_json(more);
  EXPECT_NE(j.find("\"pidfile\":\"/run/box1.pid\",\"status_fd\":4,"
                   "\"die_with_parent\":\"SIGTERM\",\"listen_fds\":null,"),
            std::string::npos)
      << j;
}

TEST(Plan, PidfileStatusFdAndDieWithParent) {
  testing::FakeSystem sys;
  sys.open_fds = {0, 1, 2, 3, 4};
  const std::pair<Options, std::string> cases[] = {
      {{.detach = true, .die_with_parent = "KILL", .has_die_with_parent = true},
       "--die-with-parent cannot be combined with --detach (boxjail's parent is gone as soon "
       "as PROGRAM runs)"},
      {{.die_with_parent = "NOPE", .has_die_with_parent = true},
       "--die-with-parent=NOPE: unknown signal 'NOPE' (use a name such as KILL or TERM, or a "
       "number)"},
      {{.die_with_parent = "0", .has_die_with_parent = true},
       "--die-with-parent=0: unknown signal '0' (use a name such as KILL or TERM, or a number)"},
      {{.status_fd = "1", .has_status_fd = true},
       "--status-fd 1: descriptors 0, 1 and 2 are PROGRAM's; use one from 3 up"},
      {{.status_fd = "9", .has_status_fd = true}, "--status-fd 9: descriptor 9 is not open in boxjail"},
      {{.status_fd = "x", .has_status_fd = true}, "--status-fd x: not a descriptor number"},
      {{.fds = {"5=3"}, .status_fd = "3", .has_status_fd = true},
       "--status-fd 3 cannot be combined with --fd 5=3: PROGRAM would inherit the status "
       "descriptor"},
      {{.fds = {"3=1"}, .status_fd = "3", .has_status_fd = true},
       "--status-fd 3 cannot be combined with --fd 3=1: PROGRAM would inherit the status "
       "descriptor"},
      {{.pidfile = "/run/", .has_pidfile = true}, "--pidfile /run/: not a file name"},
      {{.pidfile = "run/..", .has_pidfile = true}, "--pidfile run/..: not a file name"},
  };
  for (const auto& [opts, want] : cases) EXPECT_EQ(error_of(opts, sys), want);

  LaunchPlan plan;
  Options o;
  o.pidfile = "box.pid";
  o.has_pidfile = true;
  o.die_with_parent = "SIGTERM";
  o.has_die_with_parent = true;
  ASSERT_TRUE(build(o, sys, &plan).ok);
  EXPECT_EQ(plan.pidfile.front(), '/');
  EXPECT_EQ(plan.pidfile.substr(plan.pidfile.size() - 8), "/box.pid");
  EXPECT_EQ(plan.die_signal, SIGTERM);
  EXPECT_EQ(plan.parent_pid, 4000);
}

TEST(Plan, SocketActivation) {
  testing::FakeSystem sys;  // pid 4242
  sys.open_fds = {0, 1, 2, 3, 4, 7};
  std::string lp = "LISTEN_PID=4242", lf = "LISTEN_FDS=2", other = "HOME=/root";
  std::vector<char*> env = {other.data(), lp.data(), lf.data(), nullptr};
  auto with_env = [&](Options o, LaunchPlan* plan) {
    if (o.command.empty()) o.command = {"/bin/true"};
    PlanError err;
    bool ok = build_plan(o, sys, "/usr/bin:/bin", env.data(), plan, &err);
    return std::make_pair(ok, err.msg);
  };
  {
    LaunchPlan plan;
    auto [ok, msg] = with_env({.fds = {"5=7"}}, &plan);
    ASSERT_TRUE(ok) << msg;
    EXPECT_TRUE(plan.socket_activation);
    EXPECT_EQ(plan.listen_fds, 2);
    EXPECT_EQ(plan.listen_pid_index, 1);
    EXPECT_EQ(plan.keep, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  }
  {
    LaunchPlan plan;
    auto [ok, msg] = with_env({.no_fork = true}, &plan);
    ASSERT_TRUE(ok) << msg;
    EXPECT_EQ(plan.listen_pid_index, -1);  // same pid: nothing to rewrite
    EXPECT_EQ(plan.keep, (std::vector<int>{0, 1, 2, 3, 4}));
  }
  {
    LaunchPlan plan;
    auto [ok, msg] = with_env({.fds = {"4=7"}}, &plan);
    EXPECT_FALSE(ok);
    EXPECT_EQ(msg, "--fd 4=7 would replace socket-activation descriptor 4 (LISTEN_FDS=2); use "
                   "a target from 5 up");
  }
  {
    LaunchPlan plan;
    auto [ok, msg] = with_env({.status_fd = "4", .has_status_fd = true}, &plan);
    EXPECT_FALSE(ok);
    EXPECT_EQ(msg, "--status-fd 4 is a socket-activation descriptor (LISTEN_FDS=2)");
  }
  {
    lp = "LISTEN_PID=1";  // someone else's: nothing changes
    env[1] = lp.data();
    LaunchPlan plan;
    auto [ok, msg] = with_env({}, &plan);
    ASSERT_TRUE(ok) << msg;
    EXPECT_FALSE(plan.socket_activation);
    EXPECT_EQ(plan.keep, (std::vector<int>{0, 1, 2}));
  }
}

}  // namespace
}  // namespace boxjail

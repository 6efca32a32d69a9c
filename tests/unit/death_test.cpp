// Deaths explained (death.h) on made-up ends: each reason, its line and
// its status fields, and the ends that are no reason.
#include "boxjail/death.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace boxjail::death {
namespace {

int exited(int code) { return code << 8; }
int killed(int sig) { return sig; }

Facts base(int status) {
  Facts f;
  f.program = "/usr/bin/probe";
  f.pid = 42;
  f.status = status;
  return f;
}

TEST(DeathReason, TheCgroupMemoryLimit) {
  Facts f = base(killed(SIGKILL));
  f.cgroup.oom_kills = 1;
  f.cgroup.memory_limit_hits = 12;
  f.cgroup.memory_dir = "/sys/fs/cgroup/memory/ux/t";
  f.cgroup.memory_limit = "33554432";
  f.memory_flags = "--cgroup-set memory.max=32M";
  Reason r = explain(f);
  EXPECT_EQ(r.cause, "memory");
  EXPECT_EQ(r.line,
            "'/usr/bin/probe' (pid 42) was killed by SIGKILL: out of memory at the cgroup's limit "
            "(--cgroup-set memory.max=32M); the OOM killer ended 1 process in "
            "/sys/fs/cgroup/memory/ux/t");
  EXPECT_FALSE(r.logged);
  EXPECT_EQ(json_fields(r), ", \"reason\": \"memory\", \"reason-limit\": \"--cgroup-set memory.max=32M\"");
  // A limit set outside boxjail (a cgroup that existed) is named by value.
  f.memory_flags = "";
  f.cgroup.oom_kills = 2;
  f.cgroup.memory_limit_hits = -1;  // v2 without the oom count: still the limit
  EXPECT_EQ(explain(f).line,
            "'/usr/bin/probe' (pid 42) was killed by SIGKILL: out of memory at the cgroup's limit "
            "(its memory limit, 33554432 bytes); the OOM killer ended 2 processes in "
            "/sys/fs/cgroup/memory/ux/t");
  // The OOM killer for the host (or a parent's limit): not the box's limit.
  f.cgroup.memory_limit_hits = 0;
  EXPECT_EQ(explain(f).cause, "");
  // A SIGKILL from someone else: no OOM kill counted.
  f.cgroup.memory_limit_hits = 3;
  f.cgroup.oom_kills = 0;
  EXPECT_EQ(explain(f).cause, "");
}

TEST(DeathReason, PidsMaxRefusedForks) {
  Facts f = base(exited(3));
  f.cgroup.pids_refused = 2;
  f.cgroup.pids_dir = "/sys/fs/cgroup/pids/ux/t";
  f.cgroup.pids_limit = "5";
  f.pids_flags = "--cgroup-set pids.max=5";
  Reason r = explain(f);
  EXPECT_EQ(r.cause, "pids");
  EXPECT_EQ(r.line,
            "'/usr/bin/probe' (pid 42) exited with status 3 after the cgroup's process limit "
            "(--cgroup-set pids.max=5) refused 2 forks in /sys/fs/cgroup/pids/ux/t");
  f.cgroup.pids_refused = 1;
  f.pids_flags = "";
  f.status = killed(SIGABRT);
  EXPECT_EQ(explain(f).line,
            "'/usr/bin/probe' (pid 42) was killed by SIGABRT after the cgroup's process limit "
            "(its pids.max, 5) refused 1 fork in /sys/fs/cgroup/pids/ux/t");
  // It coped: exit 0 is no death.
  f.status = exited(0);
  EXPECT_EQ(explain(f).cause, "");
  f.status = exited(1);
  f.cgroup.pids_refused = 0;
  EXPECT_EQ(explain(f).cause, "");
}

TEST(DeathReason, RlimitCpuSoftAndHard) {
  Facts f = base(killed(SIGXCPU));
  f.cpu = {true, 1, 3, "--rlimit cpu=1:3"};
  f.cpu_seconds = 1.01;
  Reason r = explain(f);
  EXPECT_EQ(r.cause, "cpu");
  EXPECT_EQ(r.line,
            "'/usr/bin/probe' (pid 42) was killed by SIGXCPU: it used up its CPU time (--rlimit "
            "cpu=1:3: soft limit 1 s)");
  EXPECT_EQ(json_fields(r), ", \"reason\": \"cpu\", \"reason-limit\": \"--rlimit cpu=1:3\"");
  f = base(killed(SIGKILL));
  f.cpu = {true, 2, 2, "--rlimit cpu=2"};
  f.cpu_seconds = 1.97;  // tick-sampled, a little short of the limit the kernel saw
  EXPECT_EQ(explain(f).line,
            "'/usr/bin/probe' (pid 42) was killed by SIGKILL: it used up its CPU time (--rlimit "
            "cpu=2: hard limit 2 s)");
  // A SIGKILL well short of the hard limit is someone else's.
  f.cpu_seconds = 0.5;
  EXPECT_EQ(explain(f).cause, "");
  // No --rlimit cpu: a SIGXCPU is not the jail's.
  f = base(killed(SIGXCPU));
  EXPECT_EQ(explain(f).cause, "");
}

TEST(DeathReason, RlimitFsize) {
  Facts f = base(killed(SIGXFSZ));
  f.fsize = {true, 1048576, 1048576, "--rlimit fsize=1M"};
  EXPECT_EQ(explain(f).line,
            "'/usr/bin/probe' (pid 42) was killed by SIGXFSZ: it wrote past its file size limit "
            "(--rlimit fsize=1M: 1048576 bytes)");
  f.fsize = {};
  EXPECT_EQ(explain(f).cause, "");
}

TEST(DeathReason, SeccompIsNotSaidTwice) {
  Facts f = base(killed(SIGSYS));
  f.seccomp = true;
  Reason r = explain(f);
  EXPECT_EQ(r.cause, "seccomp");
  EXPECT_FALSE(r.logged);
  EXPECT_EQ(r.line,
            "'/usr/bin/probe' (pid 42) was killed by SIGSYS: its seccomp filter denied a system "
            "call (named only in the kernel's audit log)");
  EXPECT_EQ(json_fields(r), ", \"reason\": \"seccomp\"");
  f.seccomp_logged = true;  // the listener named the call
  r = explain(f);
  EXPECT_EQ(r.cause, "seccomp");
  EXPECT_TRUE(r.logged);
  f.seccomp = false;  // no filter: PROGRAM's own SIGSYS
  EXPECT_EQ(explain(f).cause, "");
}

TEST(DeathReason, TheTimeoutIsCarriedNotRepeated) {
  Facts f = base(killed(SIGTERM));
  f.timed_out = true;
  f.timeout_flag = "--timeout 1s";
  // Even with other counts: boxjail ended it.
  f.cgroup.pids_refused = 4;
  Reason r = explain(f);
  EXPECT_EQ(r.cause, "timeout");
  EXPECT_TRUE(r.logged);
  EXPECT_EQ(json_fields(r), ", \"reason\": \"timeout\", \"reason-limit\": \"--timeout 1s\"");
}

TEST(DeathReason, PlainEndsAreNoReason) {
  for (int status : {exited(0), exited(1), exited(137), killed(SIGTERM), killed(SIGKILL),
                     killed(SIGSEGV), killed(SIGINT)}) {
    Facts f = base(status);
    f.cpu = {true, 10, 10, "--rlimit cpu=10"};
    f.fsize = {true, 1, 1, "--rlimit fsize=1"};
    f.cgroup.oom_kills = 0;
    f.cgroup.pids_refused = 0;
    const Reason r = explain(f);
    EXPECT_EQ(r.cause, "") << status;
    EXPECT_EQ(json_fields(r), "") << status;
  }
  EXPECT_EQ(who("sh", 7), "'sh' (pid 7)");
}

TEST(DeathReason, LimitOfFindsTheFlag) {
  RlimitSetting cpu;
  cpu.resource = RLIMIT_CPU;
  cpu.value = {1, 2};
  cpu.spec = "cpu=1:2";
  const Limit l = limit_of({cpu}, RLIMIT_CPU);
  EXPECT_TRUE(l.set);
  EXPECT_EQ(l.soft, 1u);
  EXPECT_EQ(l.hard, 2u);
  EXPECT_EQ(l.flag, "--rlimit cpu=1:2");
  EXPECT_FALSE(limit_of({cpu}, RLIMIT_FSIZE).set);
}

}  // namespace
}  // namespace boxjail::death

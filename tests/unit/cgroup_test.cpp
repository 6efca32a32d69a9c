// --cgroup and --cgroup-set without touching a cgroup: the v2-to-v1
// translation table (cgroup_v1.h), the choice among the mounts in a
// mountinfo text, and where check() puts each setting.
#include "boxjail/cgroup.h"

#include <gtest/gtest.h>

#include "boxjail/cgroup_v1.h"
#include "boxjail/cli.h"

namespace boxjail::cgroup {
namespace {

Request req(const std::string& spec) {
  const size_t eq = spec.find('=');
  return {spec, spec.substr(0, eq), spec.substr(eq + 1)};
}

// "FILE=VALUE FILE=VALUE" for what for_v1() writes for `spec` (with `also`
// given beside it), or "error: MESSAGE".
std::string v1(const std::string& spec, const std::vector<std::string>& also = {}) {
  std::vector<Request> all = {req(spec)};
  for (const auto& a : also) all.push_back(req(a));
  std::vector<Write> out;
  std::string err;
  if (!for_v1(all[0], all, &out, &err)) return "error: " + err;
  std::string s;
  for (const auto& w : out) s += (s.empty() ? "" : " ") + w.file + "=" + w.value;
  return s;
}

TEST(CgroupV1, TheTable) {
  EXPECT_EQ(v1("memory.max=32M"), "memory.limit_in_bytes=33554432");
  EXPECT_EQ(v1("memory.max=max"), "memory.limit_in_bytes=-1");
  EXPECT_EQ(v1("memory.max=1G"), "memory.limit_in_bytes=1073741824");
  EXPECT_EQ(v1("memory.swap.max=1G", {"memory.max=1G"}),
            "memory.memsw.limit_in_bytes=2147483648");
  EXPECT_EQ(v1("memory.swap.max=0", {"memory.max=64M"}), "memory.memsw.limit_in_bytes=67108864");
  EXPECT_EQ(v1("memory.swap.max=512M", {"memory.limit_in_bytes=512M"}),
            "memory.memsw.limit_in_bytes=1073741824");
  EXPECT_EQ(v1("memory.swap.max=max"), "memory.memsw.limit_in_bytes=-1");
  EXPECT_EQ(v1("memory.high=100M"), "memory.soft_limit_in_bytes=104857600");
  EXPECT_EQ(v1("memory.high=max"), "memory.soft_limit_in_bytes=-1");
  EXPECT_EQ(v1("pids.max=64"), "pids.max=64");
  EXPECT_EQ(v1("pids.max=max"), "pids.max=max");
  EXPECT_EQ(v1("cpu.max=50000 100000"), "cpu.cfs_period_us=100000 cpu.cfs_quota_us=50000");
  EXPECT_EQ(v1("cpu.max=max 250000"), "cpu.cfs_period_us=250000 cpu.cfs_quota_us=-1");
  EXPECT_EQ(v1("cpu.max=20000"), "cpu.cfs_quota_us=20000");
  EXPECT_EQ(v1("cpu.max=max"), "cpu.cfs_quota_us=-1");
  EXPECT_EQ(v1("cpu.weight=100"), "cpu.shares=1024");
  EXPECT_EQ(v1("cpu.weight=1"), "cpu.shares=10");
  EXPECT_EQ(v1("cpu.weight=50"), "cpu.shares=512");
  EXPECT_EQ(v1("cpu.weight=10000"), "cpu.shares=102400");
  EXPECT_EQ(v1("io.weight=100"), "blkio.weight=500");
  EXPECT_EQ(v1("io.weight=1"), "blkio.weight=10");
  EXPECT_EQ(v1("io.weight=10000"), "blkio.weight=1000");
  EXPECT_EQ(v1("io.weight=default 50"), "blkio.weight=250");
  EXPECT_EQ(v1("io.weight=8:16 200"), "blkio.weight_device=8:16 1000");
  EXPECT_EQ(v1("cpuset.cpus=0-1"), "cpuset.cpus=0-1");
  EXPECT_EQ(v1("cpuset.mems=0"), "cpuset.mems=0");
  // v1 names go as they are, byte counts expanded.
  EXPECT_EQ(v1("memory.limit_in_bytes=32M"), "memory.limit_in_bytes=33554432");
  EXPECT_EQ(v1("memory.limit_in_bytes=max"), "memory.limit_in_bytes=-1");
  EXPECT_EQ(v1("cpu.shares=2048"), "cpu.shares=2048");
  EXPECT_EQ(v1("blkio.bfq.weight=300"), "blkio.bfq.weight=300");
}

TEST(CgroupV1, WhatTheDryRunSays) {
  std::vector<Write> out;
  std::string err;
  const Request high = req("memory.high=1G");
  ASSERT_TRUE(for_v1(high, {high}, &out, &err));
  EXPECT_EQ(out[0].from, "memory.high");
  EXPECT_NE(out[0].note.find("approximate"), std::string::npos);
  out.clear();
  const Request plain = req("memory.limit_in_bytes=1G");
  ASSERT_TRUE(for_v1(plain, {plain}, &out, &err));
  EXPECT_EQ(out[0].from, "");
}

TEST(CgroupV1, Refusals) {
  EXPECT_EQ(v1("memory.max=12Q"),
            "error: --cgroup-set memory.max=12Q: '12Q' is not a byte count (a number with an "
            "optional K, M, G, T, P or E suffix, or max)");
  EXPECT_EQ(v1("memory.swap.max=1G"),
            "error: --cgroup-set memory.swap.max=1G: on cgroup v1 this is "
            "memory.memsw.limit_in_bytes, which counts memory and swap together: give memory.max "
            "too (boxjail writes their sum)");
  EXPECT_EQ(v1("memory.swap.max=1G", {"memory.max=max"}),
            "error: --cgroup-set memory.swap.max=1G: on cgroup v1 this is "
            "memory.memsw.limit_in_bytes, which counts memory and swap together, which cannot be "
            "limited while memory.max is max");
  EXPECT_EQ(v1("memory.swap.max=1G", {"memory.max=lots"}),
            "error: --cgroup-set memory.max=lots: 'lots' is not a byte count (a number with an "
            "optional K, M, G, T, P or E suffix, or max)");
  EXPECT_EQ(v1("memory.swap.max=8E", {"memory.max=8E"}),
            "error: --cgroup-set memory.swap.max=8E: on cgroup v1 this is "
            "memory.memsw.limit_in_bytes, which counts memory and swap together: memory.max plus "
            "this is too large");
  const std::string cpu_grammar =
      ": expected \"QUOTA PERIOD\", \"QUOTA\", \"max PERIOD\" or \"max\", in microseconds (such "
      "as \"50000 100000\": half a CPU)";
  for (const char* bad : {"cpu.max=half", "cpu.max=50000 100000 3", "cpu.max=-5 100000",
                          "cpu.max=50000 max", "cpu.max= "})
    EXPECT_EQ(v1(bad), "error: --cgroup-set " + std::string(bad) + cpu_grammar) << bad;
  EXPECT_EQ(v1("cpu.max=50000 999"),
            "error: --cgroup-set cpu.max=50000 999: the period must be 1000 to 1000000 "
            "microseconds (1 ms to 1 s)");
  EXPECT_EQ(v1("cpu.max=999 100000"),
            "error: --cgroup-set cpu.max=999 100000: the quota must be at least 1000 "
            "microseconds (1 ms)");
  for (const char* bad : {"cpu.weight=0", "cpu.weight=10001", "cpu.weight=x", "cpu.weight=1 2"})
    EXPECT_EQ(v1(bad), "error: --cgroup-set " + std::string(bad) + ": not a weight (1 to 10000)");
  EXPECT_EQ(v1("io.weight=0"),
            "error: --cgroup-set io.weight=0: not a weight (1 to 10000, \"default N\" or "
            "\"MAJOR:MINOR N\")");
}

TEST(CgroupV1, V2ValuesAreWrittenAsGivenWithByteCountsExpanded) {
  Write w;
  std::string err;
  ASSERT_TRUE(for_v2(req("memory.max=1G"), &w, &err));
  EXPECT_EQ(w.file + "=" + w.value, "memory.max=1073741824");
  ASSERT_TRUE(for_v2(req("cpu.max=50000 100000"), &w, &err));
  EXPECT_EQ(w.file + "=" + w.value, "cpu.max=50000 100000");
  ASSERT_TRUE(for_v2(req("memory.swap.max=max"), &w, &err));
  EXPECT_EQ(w.value, "max");
  EXPECT_FALSE(for_v2(req("memory.high=1X"), &w, &err));
  EXPECT_EQ(err, "--cgroup-set memory.high=1X: '1X' is not a byte count (a number with an "
                 "optional K, M, G, T, P or E suffix, or max)");
  EXPECT_EQ(v1_controller("io"), "blkio");
  EXPECT_EQ(v1_controller("memory"), "memory");
}

// This machine's hybrid layout, and a chroot's rbind of /sys before and
// after it (as a private mount namespace made them: different mount ids,
// the same superblocks).
const char* const kHybrid =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* const kChroot =
    "90 80 0:29 / /srv/chroot/sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "91 80 0:32 / /srv/chroot/sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "92 80 0:36 / /srv/chroot/sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "93 80 0:38 / /srv/chroot/sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "94 80 0:35 / /srv/chroot/sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n";

std::string mounts(const std::string& mountinfo) {
  std::string s;
  for (const auto& h : parse_mountinfo(mountinfo))
    s += (s.empty() ? "" : " ") + h.mount + (h.root == "/" ? "" : "[" + h.root + "]");
  return s;
}

TEST(CgroupMountinfo, EachHierarchyOnceAtTheConventionalPlace) {
  const std::string want =
      "/sys/fs/cgroup/unified /sys/fs/cgroup/cpu /sys/fs/cgroup/memory /sys/fs/cgroup/blkio "
      "/sys/fs/cgroup/pids";
  EXPECT_EQ(mounts(kHybrid), want);
  EXPECT_EQ(mounts(std::string(kHybrid) + kChroot), want);
  EXPECT_EQ(mounts(std::string(kChroot) + kHybrid), want);
  // Only elsewhere: the first of those.
  EXPECT_EQ(mounts(std::string(kChroot) +
                   "95 80 0:36 / /other/pids rw,relatime - cgroup cgroup rw,pids\n"),
            "/srv/chroot/sys/fs/cgroup/unified /srv/chroot/sys/fs/cgroup/cpu "
            "/srv/chroot/sys/fs/cgroup/memory /srv/chroot/sys/fs/cgroup/pids "
            "/srv/chroot/sys/fs/cgroup/blkio");
  // A part of a hierarchy (a container's view) is taken only when nothing
  // shows all of it; the whole one wins wherever it is.
  EXPECT_EQ(mounts("50 1 0:40 /box /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                   "51 1 0:40 / /mnt/all\\040of\\040it rw - cgroup2 cgroup2 rw\n"),
            "/mnt/all of it");
  EXPECT_EQ(mounts("50 1 0:40 /box /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
            "/sys/fs/cgroup[/box]");
  EXPECT_EQ(mounts("garbage\n\n1 2 3 - cgroup2\n"), "");
}

Options with(const std::string& path, const std::vector<std::string>& sets) {
  Options o;
  o.has_cgroup = true;
  o.cgroup = path;
  o.cgroup_set = sets;
  return o;
}

// "DIR/FILE=VALUE ..." for what check() plans, or "error: MESSAGE".
std::string planned(const std::string& mountinfo, const Options& o, CgroupPlan* plan) {
  std::string err;
  if (!check(o, mountinfo, plan, &err)) return "error: " + err;
  std::string s;
  for (const auto& st : plan->settings)
    s += (s.empty() ? "" : " ") + plan->places[st.place].dir + "/" + st.file + "=" + st.value;
  return s;
}

TEST(CgroupCheck, V2NamesOnAHybridHostGoToTheV1Files) {
  const std::string mi = std::string(kChroot) + kHybrid;
  CgroupPlan plan;
  EXPECT_EQ(planned(mi, with("ux/t", {"memory.max=1G", "pids.max=5", "cpu.weight=200",
                                      "memory.swap.max=0"}),
                    &plan),
            "/sys/fs/cgroup/memory/ux/t/memory.limit_in_bytes=1073741824 "
            "/sys/fs/cgroup/pids/ux/t/pids.max=5 /sys/fs/cgroup/cpu/ux/t/cpu.shares=2048 "
            "/sys/fs/cgroup/memory/ux/t/memory.memsw.limit_in_bytes=1073741824");
  ASSERT_EQ(plan.places.size(), 4u);
  EXPECT_EQ(plan.places[0].dir, "/sys/fs/cgroup/unified/ux/t");
  EXPECT_EQ(plan.places[0].why, "--cgroup");
  EXPECT_EQ(plan.places[1].why, "--cgroup-set memory.max=1G: ux/t in the memory hierarchy");
  EXPECT_EQ(setting_flags(plan, "memory"),
            "--cgroup-set memory.max=1G, --cgroup-set memory.swap.max=0");
  EXPECT_EQ(setting_flags(plan, "pids"), "--cgroup-set pids.max=5");
  EXPECT_EQ(setting_flags(plan, "io"), "");
  const std::string j = to_json(plan);
  EXPECT_NE(j.find("{\"file\":\"/sys/fs/cgroup/memory/ux/t/memory.limit_in_bytes\",\"value\":"
                   "\"1073741824\",\"given\":\"memory.max=1G\",\"translated_from\":\"memory.max\"}"),
            std::string::npos)
      << j;
  // The memory limit before the memory+swap one, whatever the order given.
  CgroupPlan swapped;
  EXPECT_EQ(planned(mi, with("ux/t", {"memory.swap.max=1G", "memory.max=1G"}), &swapped),
            "/sys/fs/cgroup/memory/ux/t/memory.limit_in_bytes=1073741824 "
            "/sys/fs/cgroup/memory/ux/t/memory.memsw.limit_in_bytes=2147483648");
  CgroupPlan io;
  EXPECT_EQ(planned(mi, with("ux/t", {"io.weight=100"}), &io),
            "/sys/fs/cgroup/blkio/ux/t/blkio.weight=500");
}

TEST(CgroupCheck, AnAbsolutePathLendsItsRelativePathToTheOtherHierarchies) {
  CgroupPlan plan;
  EXPECT_EQ(planned(kHybrid, with("/sys/fs/cgroup/memory/ux/a", {"pids.max=5", "memory.max=64M"}),
                    &plan),
            "/sys/fs/cgroup/pids/ux/a/pids.max=5 "
            "/sys/fs/cgroup/memory/ux/a/memory.limit_in_bytes=67108864");
  ASSERT_EQ(plan.places.size(), 2u);
  EXPECT_EQ(plan.places[0].dir, "/sys/fs/cgroup/memory/ux/a");
  EXPECT_EQ(plan.places[1].why,
            "--cgroup-set pids.max=5: ux/a in the pids hierarchy, the same path as --cgroup's");
  EXPECT_NE(to_json(plan).find("\"why\":\"--cgroup-set pids.max=5: ux/a in the pids hierarchy, "
                               "the same path as --cgroup's\""),
            std::string::npos);
}

TEST(CgroupCheck, Refusals) {
  CgroupPlan plan;
  EXPECT_EQ(planned(kHybrid, with("ux/t", {"rdma.max=1"}), &plan),
            "error: --cgroup-set rdma.max=1: the rdma controller is not available to ux/t (not in "
            "the cgroup v2 hierarchy's cgroup.controllers, not mounted as a v1 hierarchy); "
            "delegate it to this cgroup's parent, or mount it");
  CgroupPlan p2;
  EXPECT_EQ(planned("41 31 0:38 / /nonexistent/cgroup rw - cgroup2 cgroup2 rw\n",
                    with("ux/t", {"io.weight=100"}), &p2),
            "error: --cgroup-set io.weight=100: the io (blkio on cgroup v1) controller is not "
            "available to ux/t (not in the cgroup v2 hierarchy's cgroup.controllers, not mounted "
            "as a v1 hierarchy); delegate it to this cgroup's parent, or mount it");
  CgroupPlan p3;
  EXPECT_EQ(planned(kHybrid, with("ux/t", {"memory.swap.max=1G"}), &p3),
            "error: --cgroup-set memory.swap.max=1G: on cgroup v1 this is "
            "memory.memsw.limit_in_bytes, which counts memory and swap together: give memory.max "
            "too (boxjail writes their sum)");
  CgroupPlan p4;
  EXPECT_EQ(planned(kHybrid, with("/elsewhere/x", {}), &p4),
            "error: --cgroup /elsewhere/x: not inside a mounted cgroup hierarchy (see "
            "/proc/self/mountinfo)");
  CgroupPlan p5;
  EXPECT_EQ(planned(kHybrid, with("ux/t", {"pids"}), &p5),
            "error: --cgroup-set pids: expected FILE=VALUE, such as pids.max=64");
}

}  // namespace
}  // namespace boxjail::cgroup

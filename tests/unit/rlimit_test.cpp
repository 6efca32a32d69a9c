#include "boxjail/rlimit.h"

#include <gtest/gtest.h>

#include "fake_system.h"

namespace boxjail {
namespace {

constexpr rlim_t kInf = RLIM_INFINITY;

struct Parsed {
  bool ok;
  std::optional<rlim_t> soft, hard;
  std::string err;
};

Parsed parse(const std::string& spec) {
  RlimitRequest r;
  std::string err;
  bool ok = parse_rlimit(spec, &r, &err);
  return {ok, r.soft, r.hard, err};
}

TEST(RlimitGrammar, NamesAreCaseInsensitiveWithOptionalPrefix) {
  for (const char* s : {"nofile=1", "NOFILE=1", "RLIMIT_NOFILE=1", "rlimit_NoFile=1"}) {
    RlimitRequest r;
    std::string err;
    ASSERT_TRUE(parse_rlimit(s, &r, &err)) << s << ": " << err;
    EXPECT_EQ(r.info->resource, RLIMIT_NOFILE);
  }
  for (const char* n : {"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
                        "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending",
                        "stack"}) {
    EXPECT_NE(find_rlimit(n), nullptr) << n;
  }
  EXPECT_EQ(find_rlimit("RLIMIT_"), nullptr);
  EXPECT_EQ(find_rlimit("files"), nullptr);
}

TEST(RlimitGrammar, ValueForms) {
  Parsed p = parse("nofile=10:20");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.soft, 10u);
  EXPECT_EQ(p.hard, 20u);
  p = parse("nofile=10:");
  EXPECT_EQ(p.soft, 10u);
  EXPECT_FALSE(p.hard);
  p = parse("nofile=:20");
  EXPECT_FALSE(p.soft);
  EXPECT_EQ(p.hard, 20u);
  p = parse("nofile=30");
  EXPECT_EQ(p.soft, 30u);
  EXPECT_EQ(p.hard, 30u);
  p = parse("as=unlimited");
  EXPECT_EQ(p.soft, kInf);
  p = parse("as=1G:INFINITY");
  EXPECT_EQ(p.soft, 1u << 30);
  EXPECT_EQ(p.hard, kInf);
  p = parse("nofile=0");
  EXPECT_EQ(p.soft, 0u);
}

TEST(RlimitGrammar, ByteSuffixes) {
  EXPECT_EQ(parse("as=1K").soft, 1024u);
  EXPECT_EQ(parse("as=1KB").soft, 1024u);
  EXPECT_EQ(parse("as=1KiB").soft, 1024u);
  EXPECT_EQ(parse("as=3M").soft, 3u << 20);
  EXPECT_EQ(parse("as=2G").soft, 2ull << 30);
  EXPECT_EQ(parse("as=1T").soft, 1ull << 40);
  EXPECT_EQ(parse("as=1P").soft, 1ull << 50);
  EXPECT_EQ(parse("as=15E").soft, 15ull << 60);
  EXPECT_EQ(parse("stack=512B").soft, 512u);
  EXPECT_EQ(parse("core=0").soft, 0u);
}

TEST(RlimitGrammar, TimeSuffixes) {
  EXPECT_EQ(parse("cpu=10").soft, 10u);
  EXPECT_EQ(parse("cpu=10s").soft, 10u);
  EXPECT_EQ(parse("cpu=2m").soft, 120u);
  EXPECT_EQ(parse("cpu=2min").soft, 120u);
  EXPECT_EQ(parse("cpu=1h").soft, 3600u);
  EXPECT_EQ(parse("rttime=5").soft, 5u);
  EXPECT_EQ(parse("rttime=5us").soft, 5u);
  EXPECT_EQ(parse("rttime=5ms").soft, 5000u);
  EXPECT_EQ(parse("rttime=5s").soft, 5000000u);
}

TEST(RlimitGrammar, PriorityRanges) {
  EXPECT_EQ(parse("nice=40").soft, 40u);
  EXPECT_EQ(parse("nice=0").soft, 0u);
  EXPECT_EQ(parse("rtprio=99").soft, 99u);
  EXPECT_EQ(parse("nice=unlimited").soft, kInf);
}

TEST(RlimitGrammar, ExactErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"nofile", "--rlimit nofile: expected NAME=VALUE"},
      {"=5", "--rlimit =5: empty limit name (known: as core cpu data fsize locks memlock "
             "msgqueue nice nofile nproc rss rtprio rttime sigpending stack)"},
      {"files=5", "--rlimit files=5: unknown limit 'files' (known: as core cpu data fsize "
                  "locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack)"},
      {"nofile=", "--rlimit nofile=: empty value"},
      {"nofile=:", "--rlimit nofile=:: empty soft and hard values (expected SOFT:HARD, SOFT:, "
                   ":HARD or one value)"},
      {"nofile=1:2:3", "--rlimit nofile=1:2:3: too many ':' (expected SOFT:HARD)"},
      {"nofile=-1", "--rlimit nofile=-1: negative value '-1'"},
      {"nofile=:-1", "--rlimit nofile=:-1: negative value '-1'"},
      {"nofile=abc", "--rlimit nofile=abc: 'abc' is not a number (or 'unlimited')"},
      {"nofile= 1", "--rlimit nofile= 1: ' 1' is not a number (or 'unlimited')"},
      {"nofile=+1", "--rlimit nofile=+1: '+1' is not a number (or 'unlimited')"},
      {"nofile=1x", "--rlimit nofile=1x: nofile takes a plain number, not '1x'"},
      {"nofile=1K", "--rlimit nofile=1K: nofile takes a plain number, not '1K'"},
      {"nproc=1 ", "--rlimit nproc=1 : nproc takes a plain number, not '1 '"},
      {"as=1X", "--rlimit as=1X: unknown suffix 'X' in '1X' (use K, M, G, T, P or E, "
                "optionally followed by B or iB)"},
      {"as=1k", "--rlimit as=1k: unknown suffix 'k' in '1k' (use K, M, G, T, P or E, "
                "optionally followed by B or iB)"},
      {"as=1KiBx", "--rlimit as=1KiBx: unknown suffix 'KiBx' in '1KiBx' (use K, M, G, T, P or "
                   "E, optionally followed by B or iB)"},
      {"cpu=1ms", "--rlimit cpu=1ms: unknown suffix 'ms' in '1ms' (use s, m, min or h)"},
      {"rttime=1h", "--rlimit rttime=1h: unknown suffix 'h' in '1h' (use us, ms or s)"},
      {"nofile=18446744073709551616",
       "--rlimit nofile=18446744073709551616: '18446744073709551616' is out of range"},
      {"nofile=18446744073709551615",
       "--rlimit nofile=18446744073709551615: '18446744073709551615' is out of range (use "
       "'unlimited')"},
      {"as=16E", "--rlimit as=16E: '16E' is out of range (use 'unlimited')"},
      {"cpu=99999999999999999h",
       "--rlimit cpu=99999999999999999h: '99999999999999999h' is out of range (use 'unlimited')"},
      {"nice=41", "--rlimit nice=41: nice must be between 0 and 40 (or 'unlimited'), not '41'"},
      {"rtprio=100",
       "--rlimit rtprio=100: rtprio must be between 0 and 99 (or 'unlimited'), not '100'"},
      {"nofile=2048:1024", "--rlimit nofile=2048:1024: soft limit above hard limit"},
      {"as=unlimited:1G", "--rlimit as=unlimited:1G: soft limit above hard limit"},
  };
  for (const auto& [spec, want] : cases) {
    Parsed p = parse(spec);
    EXPECT_FALSE(p.ok) << spec;
    EXPECT_EQ(p.err, want) << spec;
  }
}

RlimitSetting resolve_ok(const std::string& spec, testing::FakeSystem& sys) {
  RlimitRequest r;
  std::string err;
  EXPECT_TRUE(parse_rlimit(spec, &r, &err)) << err;
  RlimitSetting s;
  EXPECT_TRUE(resolve_rlimit(r, sys, &s, &err)) << spec << ": " << err;
  return s;
}

std::string resolve_err(const std::string& spec, testing::FakeSystem& sys) {
  RlimitRequest r;
  std::string err;
  EXPECT_TRUE(parse_rlimit(spec, &r, &err)) << err;
  RlimitSetting s;
  EXPECT_FALSE(resolve_rlimit(r, sys, &s, &err)) << spec;
  return err;
}

TEST(RlimitResolve, KeptSidesComeFromCurrentLimits) {
  testing::FakeSystem sys;  // nofile 1024:20000
  RlimitSetting s = resolve_ok("nofile=100:", sys);
  EXPECT_EQ(s.value.rlim_cur, 100u);
  EXPECT_EQ(s.value.rlim_max, 20000u);
  s = resolve_ok("nofile=:5000", sys);
  EXPECT_EQ(s.value.rlim_cur, 1024u);
  EXPECT_EQ(s.value.rlim_max, 5000u);
  // ":HARD" lowers the soft limit when it would be above the new hard one.
  s = resolve_ok("nofile=:500", sys);
  EXPECT_EQ(s.value.rlim_cur, 500u);
  EXPECT_EQ(s.value.rlim_max, 500u);
  s = resolve_ok("nofile=20000", sys);
  EXPECT_EQ(s.value.rlim_cur, 20000u);
}

TEST(RlimitResolve, ExactErrors) {
  testing::FakeSystem sys;
  EXPECT_EQ(resolve_err("nofile=30000:", sys),
            "--rlimit nofile=30000:: soft limit 30000 above the current hard limit 20000");
  EXPECT_EQ(resolve_err("nofile=30000", sys),
            "--rlimit nofile=30000: raising the hard limit above 20000 needs "
            "CAP_SYS_RESOURCE, which boxjail does not have");
  EXPECT_EQ(resolve_err("nofile=2000000", sys),
            "--rlimit nofile=2000000: above fs.nr_open (1048576), the kernel's ceiling for "
            "nofile; raise the sysctl first");
  EXPECT_EQ(resolve_err("nofile=unlimited", sys),
            "--rlimit nofile=unlimited: above fs.nr_open (1048576), the kernel's ceiling for "
            "nofile; raise the sysctl first");
  sys.limits[RLIMIT_CORE] = {0, 0};
  EXPECT_EQ(resolve_err("core=unlimited", sys),
            "--rlimit core=unlimited: raising the hard limit above 0 needs CAP_SYS_RESOURCE, "
            "which boxjail does not have");
}

TEST(RlimitResolve, CapSysResourceAllowsRaising) {
  testing::FakeSystem sys;
  sys.cap = true;
  RlimitSetting s = resolve_ok("nofile=1048576", sys);
  EXPECT_EQ(s.value.rlim_max, 1048576u);
  sys.limits[RLIMIT_CORE] = {0, 0};
  s = resolve_ok("core=unlimited", sys);
  EXPECT_EQ(s.value.rlim_max, kInf);
}

TEST(RlimitFormat, Unlimited) {
  EXPECT_EQ(format_rlim(kInf), "unlimited");
  EXPECT_EQ(format_rlim(42), "42");
}

}  // namespace
}  // namespace boxjail

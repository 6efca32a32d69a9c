#include "boxjail/cli.h"

#include <gtest/gtest.h>

namespace boxjail {
namespace {

CliResult parse(std::vector<const char*> args, Options* o) {
  args.insert(args.begin(), "boxjail");
  return parse_cli(static_cast<int>(args.size()), args.data(), o);
}

TEST(Cli, FirstNonOptionWordEndsOptions) {
  Options o;
  CliResult r = parse({"--rlimit", "nofile=1024", "krun-shim", "--some-shim-flag", "-d"}, &o);
  ASSERT_EQ(r.kind, CliResult::kRun) << r.err;
  EXPECT_EQ(o.rlimits, std::vector<std::string>{"nofile=1024"});
  EXPECT_EQ(o.command, (std::vector<std::string>{"krun-shim", "--some-shim-flag", "-d"}));
  EXPECT_FALSE(o.detach);
}

TEST(Cli, DoubleDashEndsOptions) {
  Options o;
  CliResult r = parse({"-d", "--", "--weird", "--", "x"}, &o);
  ASSERT_EQ(r.kind, CliResult::kRun) << r.err;
  EXPECT_TRUE(o.detach);
  EXPECT_EQ(o.command, (std::vector<std::string>{"--weird", "--", "x"}));
}

TEST(Cli, RepeatableAndCombinedForms) {
  Options o;
  CliResult r = parse({"--rlimit=as=1G", "--rlimit", "nofile=5", "--fd", "3=4", "--fd=5",
                       "--keep-fds", "-vv", "--dry-run", "--no-fork", "true"},
                      &o);
  ASSERT_EQ(r.kind, CliResult::kRun) << r.err;
  EXPECT_EQ(o.rlimits, (std::vector<std::string>{"as=1G", "nofile=5"}));
  EXPECT_EQ(o.fds, (std::vector<std::string>{"3=4", "5"}));
  EXPECT_TRUE(o.keep_fds);
  EXPECT_EQ(o.verbose, 2);
  EXPECT_TRUE(o.dry_run);
  EXPECT_TRUE(o.no_fork);
}

TEST(Cli, OptionValueIsNotProgram) {
  Options o;
  CliResult r = parse({"--rlimit", "a", "b"}, &o);
  ASSERT_EQ(r.kind, CliResult::kRun);
  EXPECT_EQ(o.rlimits, std::vector<std::string>{"a"});
  EXPECT_EQ(o.command, std::vector<std::string>{"b"});
}

TEST(Cli, UnknownOptionIsAnError) {
  Options o;
  CliResult r = parse({"--bogus", "true"}, &o);
  EXPECT_EQ(r.kind, CliResult::kExit);
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err, "unknown option '--bogus' (see boxjail --help; put PROGRAM after --)");
}

TEST(Cli, MissingValue) {
  Options o;
  CliResult r = parse({"--rlimit"}, &o);
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("--rlimit"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), std::string::npos);
}

TEST(Cli, EachFlagParsesWhenItIsTheOnlyOneNamed) {
  Options o;
  ASSERT_EQ(parse({"--seccomp-deny=uname", "-u", "nobody", "-vv", "--", "x"}, &o).exit_code, 0);
  EXPECT_EQ(o.seccomp_deny, std::vector<std::string>{"uname"});
  EXPECT_TRUE(o.has_user);
  EXPECT_EQ(o.user, "nobody");
  EXPECT_EQ(o.verbose, 2);
  EXPECT_FALSE(o.has_pidfile);
  EXPECT_EQ(o.command, std::vector<std::string>{"x"});
  // PROGRAM's own options stay PROGRAM's.
  ASSERT_EQ(parse({"--rlimit", "nofile=9", "shim", "--pidfile", "p"}, &o).exit_code, 0);
  EXPECT_FALSE(o.has_pidfile);
  EXPECT_EQ(o.command, (std::vector<std::string>{"shim", "--pidfile", "p"}));
}

TEST(Cli, HelpAndVersion) {
  Options o;
  CliResult r = parse({"--help"}, &o);
  EXPECT_EQ(r.kind, CliResult::kExit);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--rlimit", "--fd", "--keep-fds", "--detach", "--no-fork",
                           "--dry-run", "--verbose", "--quiet", "--log-level", "--version"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  // Reads like the man page's SYNOPSIS.
  EXPECT_NE(r.out.find("\nUsage: boxjail [OPTIONS] [--] PROGRAM [ARGS...]\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  --die-with-parent[=SIGNAL]  "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
  // Only the options argv names are registered, except for --help, which
  // lists the whole table.
  size_t n = 0;
  const Flag* table = flag_table(&n);
  ASSERT_GT(n, 30u);
  for (size_t i = 0; i < n; ++i) {
    std::string names = table[i].names;
    std::string longest = names.substr(names.rfind(',') == std::string::npos ? 0 : names.rfind(',') + 1);
    longest = longest.substr(0, longest.find('{'));
    EXPECT_NE(r.out.find("  " + (names.find(',') != std::string::npos ? names.substr(0, names.find(',') + 1) : "") + longest),
              std::string::npos)
        << longest;
  }
  r = parse({"-V"}, &o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("boxjail ", 0), 0u) << r.out;
}

}  // namespace
}  // namespace boxjail

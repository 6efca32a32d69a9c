// --config FILE: every kind of flag round-trips through a TOML file to the
// same launch plan as on the command line; the command line overrides the
// file; errors name the file and the key; PROGRAM sees what the file set.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>

#include "harness.h"
#include "privilege.h"

using namespace harness;
using nlohmann::json;

namespace {

class Config : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = privilege::policy_files_refused_in(dir_.path); !why.empty())
      GTEST_SKIP() << why;
  }
  std::string write(const std::string& text, const std::string& name = "box.toml") {
    std::string p = dir_.path + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  // The dry-run plan, less the "sources" field.
  static json plan_of(const Result& r) {
    json j = json::parse(r.out);
    j.erase("sources");
    return j;
  }
  TempDir dir_;
};

std::string nofile_spec(rlim_t soft_div) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  const rlim_t hard = std::min<rlim_t>(nofile.rlim_max, 4096);
  return "nofile=" + std::to_string(hard / soft_div) + ":" + std::to_string(hard);
}

TEST_F(Config, EveryKindOfFlagRoundTrips) {
  // {TOML, the same on the command line}: repeatable values (arrays and a
  // single string), single values, booleans, the counting flag, the flag
  // with an optional value (bare and with a value), and PROGRAM.
  const std::string dir = dir_.path;
  struct Case {
    std::string toml;
    std::vector<std::string> argv;
  };
  const Case cases[] = {
      {"rlimit = [\"" + nofile_spec(2) + "\", \"core=0\"]\n",
       {"--rlimit", nofile_spec(2), "--rlimit", "core=0"}},
      {"rlimit = \"core=0\"\n", {"--rlimit", "core=0"}},
      {"fd = [\"3=1\"]\nkeep-fds = true\n", {"--fd", "3=1", "--keep-fds"}},
      {"pidfile = \"" + dir + "/p.pid\"\n", {"--pidfile", dir + "/p.pid"}},
      {"detach = true\n", {"--detach"}},
      {"no-fork = true\nlog-level = \"info\"\n", {"--no-fork", "--log-level", "info"}},
      {"die-with-parent = true\n", {"--die-with-parent"}},
      {"die-with-parent = \"TERM\"\n", {"--die-with-parent=TERM"}},
      {"verbose = 2\n", {"-v", "-v"}},
      {"verbose = true\n", {"-v"}},
      {"quiet = true\nkeep-fds = false\n", {"-q"}},
      {"fs-ro = [\"/usr\", \"/etc\"]\nfs-rw = \"" + dir + "\"\nfs-exec-deps = true\n"
       "net-deny = true\nscope = [\"unix\", \"signal\"]\nlandlock = \"best-effort\"\n",
       {"--fs-ro", "/usr", "--fs-ro", "/etc", "--fs-rw", dir, "--fs-exec-deps", "--net-deny",
        "--scope", "unix", "--scope", "signal", "--landlock", "best-effort"}},
      {"net-bind = [\"8080\", \"9000-9010\"]\nnet-connect = \"443\"\n",
       {"--net-bind", "8080", "--net-bind", "9000-9010", "--net-connect", "443"}},
      {"seccomp-deny = [\"@ptrace\", \"@mount:EACCES\"]\n",
       {"--seccomp-deny", "@ptrace", "--seccomp-deny", "@mount:EACCES"}},
      {"no-new-privs = true\ncap-drop = \"all\"\n", {"--no-new-privs", "--cap-drop", "all"}},
      {"reap = true\nreap-grace = \"0.5\"\nsignal-group = true\nchdir = \"/\"\n",
       {"--reap", "--reap-grace", "0.5", "--signal-group", "--chdir", "/"}},
      {"nice = 5\ncpus = \"0\"\n", {"--nice", "5", "--cpus", "0"}},
  };
  // Most cases confine PROGRAM: as root, both sides keep uid 0 knowingly.
  const std::vector<std::string> opt_in = root_opt_in();
  for (const auto& c : cases) {
    const std::string file = write(c.toml + "command = [\"" + kProbe + "\", \"a b\"]\n");
    std::vector<std::string> file_argv = {"--config", file, "--dry-run"};
    file_argv.insert(file_argv.end(), opt_in.begin(), opt_in.end());
    Result from_file = boxjail(file_argv);
    std::vector<std::string> argv = c.argv;
    argv.insert(argv.begin(), opt_in.begin(), opt_in.end());
    argv.insert(argv.begin(), "--dry-run");
    argv.insert(argv.end(), {"--", kProbe, "a b"});
    Result from_line = boxjail(argv);
    ASSERT_EQ(from_line.code(), 0) << c.toml << from_line.err;
    ASSERT_EQ(from_file.code(), 0) << c.toml << from_file.err;
    EXPECT_EQ(plan_of(from_file), plan_of(from_line)) << c.toml;
    // Every key of the file is marked as the file's.
    json sources = json::parse(from_file.out)["sources"];
    EXPECT_EQ(sources["command"], file);
    EXPECT_EQ(sources["dry-run"], "command line");
    for (const std::string& a : c.argv) {
      if (a.rfind("--", 0) != 0) continue;
      std::string key = a.substr(2, a.find('=') - 2);
      EXPECT_EQ(sources[key], file) << c.toml << " key " << key;
    }
  }
}

TEST_F(Config, EveryLongOptionIsAKey) {
  // Each long option --help lists is accepted as a key (or refused as one
  // that belongs on the command line), never "unknown".
  Result help = boxjail({"--help"});
  ASSERT_EQ(help.code(), 0);
  size_t at = 0, keys = 0;
  while ((at = help.out.find("--", at)) != std::string::npos) {
    size_t end = help.out.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-", at + 2);
    std::string key = help.out.substr(at + 2, end - at - 2);
    at = end;
    if (key.empty() || help.out[end] == '>' || key == "die-with-parent=") continue;
    const std::string file = write(key + " = \"x\"\n", "k.toml");
    Result r = boxjail({"--config", file, "--dry-run", "--", "true"});
    EXPECT_EQ(r.err.find("key '" + key + "': unknown ("), std::string::npos) << r.err;
    ++keys;
  }
  EXPECT_GT(keys, 40u);
}

TEST_F(Config, CommandLineOverridesTheFile) {
  // The probe sees the command line's nofile, the file's core limit, and
  // the command line's PROGRAM arguments.
  const std::string file = write("rlimit = [\"" + nofile_spec(2) + "\"]\nnice = 3\n"
                                 "command = [\"" + kProbe + "\", \"from-file\"]\n");
  Spawn s;
  s.argv = {kBoxjail, "--config", file, "--rlimit", nofile_spec(4), "--", kProbe, "from-line"};
  Result r = run(s);
  ASSERT_EQ(r.code(), 0) << r.err;
  json j = parse_probe(r.out);
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  const rlim_t hard = std::min<rlim_t>(nofile.rlim_max, 4096);
  EXPECT_EQ(j["rlimits"]["nofile"], (json{hard / 4, hard}));
  EXPECT_EQ(j["argv"], (json{kProbe, "from-line"}));
  EXPECT_EQ(j["nice"], 3);
  // A flag the file sets is turned off with --FLAG=false.
  const std::string flags = write("keep-fds = true\nno-new-privs = true\ncommand = [\"true\"]\n", "f.toml");
  std::vector<std::string> args = {"--config", flags, "--keep-fds=false", "--dry-run"};
  for (const auto& a : root_opt_in()) args.push_back(a);  // no-new-privs confines PROGRAM
  Result dry = boxjail(args);
  ASSERT_EQ(dry.code(), 0) << dry.err;
  json plan = json::parse(dry.out);
  EXPECT_EQ(plan["close_fds"], true);
  EXPECT_EQ(plan["sources"]["keep-fds"], "command line");
  EXPECT_EQ(plan["no_new_privs"]["set"], true);
  args.erase(args.begin() + 2);  // without --keep-fds=false
  EXPECT_EQ(json::parse(boxjail(args).out)["close_fds"], false);
  // Without the command line's, the file's apply.
  s.argv = {kBoxjail, "--config", file};
  r = run(s);
  ASSERT_EQ(r.code(), 0) << r.err;
  j = parse_probe(r.out);
  EXPECT_EQ(j["rlimits"]["nofile"], (json{hard / 2, hard}));
  EXPECT_EQ(j["argv"], (json{kProbe, "from-file"}));
}

TEST_F(Config, TargetSeesWhatTheFileSets) {
  // A unit's pattern: everything in the file, a PID file, in every mode.
  for (const auto& mode : all_modes()) {
    const std::string pidfile = dir_.path + "/box.pid";
    const std::string file =
        write("# box1\nrlimit = [\n  \"core=0\",\n  \"" + nofile_spec(8) + "\",  # trailing comma\n]\n" +
              "pidfile = '" + pidfile + "'\nno-new-privs = true\n");
    std::vector<std::string> args = {"--config", file};
    args.insert(args.end(), mode.begin(), mode.end());
    for (const auto& a : root_opt_in()) args.push_back(a);  // no-new-privs confines PROGRAM
    args.insert(args.end(), {"--", kProbe});
    Spawn s;
    s.argv = {kBoxjail};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    Result r = run(s);
    ASSERT_EQ(r.code(), 0) << mode_label(mode) << r.err;
    json j = parse_probe(r.out);
    rlimit nofile{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    const rlim_t hard = std::min<rlim_t>(nofile.rlim_max, 4096);
    EXPECT_EQ(j["rlimits"]["nofile"], (json{hard / 8, hard})) << mode_label(mode);
    EXPECT_EQ(j["rlimits"]["core"], (json{0, 0}));
    EXPECT_EQ(j["nnp"], 1) << j.dump();
    // The supervisor removes its PID file when PROGRAM ends; the other
    // modes leave the record, which names the probe.
    const std::string record = slurp(pidfile);
    if (mode.empty())
      EXPECT_EQ(record, "");
    else
      EXPECT_EQ(record.substr(0, record.find('\n')), std::to_string(j["pid"].get<int>()))
          << mode_label(mode);
    unlink(pidfile.c_str());
  }
}

TEST_F(Config, ErrorsNameTheFileAndTheKey) {
  struct Case {
    std::string toml;
    std::string err;  // after "boxjail: FILE: "
  };
  const Case cases[] = {
      {"rlimitt = \"nofile=1\"\n", "key 'rlimitt': unknown; did you mean rlimit? (see boxjail --help)"},
      {"xyzzy = 1\n",
       "key 'xyzzy': unknown (a key is a long option without its --, such as rlimit; see "
       "boxjail --help)"},
      {"pidfile = [\"a\", \"b\"]\n", "key 'pidfile': takes one value, not an array"},
      {"detach = \"yes\"\n", "key 'detach': expected true or false, not 'yes'"},
      {"detach = true\ndetach = false\n", "key 'detach': given twice"},
      {"[box]\nnice = 1\n",
       "line 1: table [box]: tables are not supported (one key per long option, at the top)"},
      {"box.nice = 1\n",
       "key 'box.nice': tables are not supported (one key per long option, at the top)"},
      {"config = \"other.toml\"\n",
       "key 'config': not allowed in a config file (give --config on the command line)"},
      {"help = true\n", "key 'help': not allowed in a config file (give --help on the command line)"},
      {"rlimit = [\"nofile=abc\"]\n",
       "key 'rlimit': --rlimit nofile=abc: 'abc' is not a number (or 'unlimited')"},
      {"nice = 99\n", "key 'nice': --nice 99: not a nice value (-20 to 19)"},
      {"command = []\n",
       "key 'command': empty (give PROGRAM and its arguments, such as command = "
       "[\"qemu-system-x86_64\", \"-m\", \"1G\"])"},
      {"command = [\"/nonexistent/prog\"]\n",
       "key 'command': cannot execute '/nonexistent/prog': No such file or directory"},
      {"fs-ro = [\n\"/usr\"\n", "line 1: key 'fs-ro': the array is not closed with ]"},
      {"nice = 1\nfs-ro = [\"/usr\",\n\"/etc\"\n", "line 2: key 'fs-ro': the array is not closed with ]"},
  };
  for (const auto& c : cases) {
    const std::string file = write(c.toml);
    std::vector<std::string> args = {"--config", file};
    if (c.toml.find("command") == std::string::npos) args.insert(args.end(), {"--", "true"});
    Result r = boxjail(args);
    EXPECT_NE(r.code(), 0) << c.toml;
    EXPECT_EQ(r.err, "boxjail: " + file + ": " + c.err + "\n") << c.toml;
    EXPECT_EQ(r.out, "");
  }
  // The same refusal from the command line names no file; exit codes are
  // the command line's.
  const std::string file = write("nice = 5\n");
  Result r = boxjail({"--config", file, "--rlimit", "nofile=abc", "--", "true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --rlimit nofile=abc: 'abc' is not a number (or 'unlimited')\n");
  r = boxjail({"--config", write("command = [\"/nonexistent/prog\"]\n")});
  EXPECT_EQ(r.code(), 127);
  r = boxjail({"--config", dir_.path + "/missing.toml", "--", "true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --config " + dir_.path + "/missing.toml: No such file or directory\n");
  r = boxjail({"--config", dir_.path, "--", "true"});
  EXPECT_EQ(r.err, "boxjail: --config " + dir_.path + ": not a regular file\n");
  r = boxjail({"--config", file, "--config", file, "--", "true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --config given twice (one file; the command line overrides it)\n");
  // Nothing was started by any refusal: no PID file.
  r = boxjail({"--config", write("pidfile = \"" + dir_.path + "/x.pid\"\nnice = 99\n"), "--",
               "true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(slurp(dir_.path + "/x.pid"), "");
}

TEST_F(Config, MissingProgramPointsAtTheFile) {
  const std::string file = write("nice = 1\n");
  Result r = boxjail({"--config", file});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: missing PROGRAM (usage: boxjail [OPTIONS] [--] PROGRAM [ARGS...]); "
                   "or give command = [...] in " + file + "\n");
}

}  // namespace

// --profile: the built-in text, the merge under the command line and the
// config file (through parse_cli, as boxjail runs it), the exact errors,
// the plan-time requirements and the rule sources of --dry-run.
#include "boxjail/profile.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "boxjail/cli.h"
#include "privilege.h"

namespace boxjail {
namespace {

CliResult parse(std::vector<const char*> args, Options* o) {
  args.insert(args.begin(), "boxjail");
  return parse_cli(static_cast<int>(args.size()), args.data(), o);
}

std::string source_of(const Options& o, const std::string& key) {
  for (const auto& [k, from] : o.sources)
    if (k == key) return from;
  return "";
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A directory of our own under /tmp, for profile and config files.
struct Dir {
  Dir() {
    char tmpl[] = "/tmp/boxjail-profile-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Dir() { EXPECT_EQ(std::system(("rm -rf " + path).c_str()), 0); }
  std::string file(const std::string& name, const std::string& text, mode_t mode = 0644) {
    const std::string p = path + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
  std::string path;
};

TEST(Profile, TheBuiltInIsTheSourceFile) {
  std::ifstream in(std::string(BOXJAIL_SOURCE_DIR) + "/profiles/qemu.toml");
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_NE(profile::find_builtin("qemu"), nullptr);
  EXPECT_EQ(profile::find_builtin("qemu")->text, text.str());
  EXPECT_EQ(profile::find_builtin("kvm"), nullptr);
  EXPECT_EQ(profile::builtin_names(), "qemu");
}

TEST(Profile, NamesAndFiles) {
  EXPECT_TRUE(profile::is_name("qemu"));
  EXPECT_TRUE(profile::is_name("qemu-7"));
  EXPECT_FALSE(profile::is_name("qemu.toml"));
  EXPECT_FALSE(profile::is_name("./qemu"));
  EXPECT_FALSE(profile::is_name("/etc/boxjail/qemu"));
  EXPECT_FALSE(profile::is_name(""));
}

TEST(Profile, TheQemuProfileAlone) {
  Options o;
  CliResult r = parse({"--profile", "qemu", "--user", "nobody", "--", "qemu-system-x86_64"}, &o);
  ASSERT_EQ(r.kind, CliResult::kRun) << r.err;
  EXPECT_TRUE(o.has_profile);
  EXPECT_EQ(o.profile_label, "profile qemu");
  EXPECT_EQ(o.rlimits, (std::vector<std::string>{"core=0", "nofile=1024"}));
  EXPECT_TRUE(o.no_new_privs);
  EXPECT_TRUE(o.net_deny);
  EXPECT_TRUE(o.fs_exec_deps);
  EXPECT_EQ(o.fs_rx, std::vector<std::string>{"/usr/lib/x86_64-linux-gnu/qemu"});
  EXPECT_EQ(o.seccomp_default, "kill-process");
  EXPECT_TRUE(o.has_seccomp_default);
  EXPECT_TRUE(has(o.seccomp_allow, "execve"));
  EXPECT_TRUE(has(o.seccomp_allow, "rt_sigreturn"));
  EXPECT_TRUE(has(o.seccomp_allow, "ioctl"));
  EXPECT_FALSE(has(o.seccomp_allow, "io_uring_setup"));
  EXPECT_TRUE(has(o.seccomp_deny, "io_uring_setup:EPERM"));
  EXPECT_EQ(source_of(o, "seccomp-allow"), "profile qemu");
  EXPECT_EQ(source_of(o, "net-deny"), "profile qemu");
  EXPECT_EQ(source_of(o, "user"), "command line");
  EXPECT_EQ(source_of(o, "profile"), "command line");
  for (const auto& v : o.value_sources) EXPECT_EQ(v.source, "profile qemu") << v.key << v.value;
}

TEST(Profile, TheUsersFlagsAddToItsLists) {
  Options o;
  CliResult r = parse({"--fs-ro", "/srv/vm1", "--seccomp-allow", "kill,getppid", "--profile", "qemu",
                       "--user", "nobody", "--rlimit", "as=4G", "qemu-system-x86_64"},
                      &o);
  ASSERT_EQ(r.kind, CliResult::kRun) << r.err;
  ASSERT_GE(o.fs_ro.size(), 2u);
  EXPECT_EQ(o.fs_ro.front(), "/usr/share/qemu");  // the profile's first
  EXPECT_EQ(o.fs_ro.back(), "/srv/vm1");
  EXPECT_EQ(o.seccomp_allow.back(), "kill,getppid");
  EXPECT_TRUE(has(o.seccomp_allow, "futex"));
  EXPECT_EQ(o.rlimits, (std::vector<std::string>{"core=0", "nofile=1024", "as=4G"}));
  EXPECT_EQ(source_of(o, "fs-ro"), "command line");
  bool mine = false, theirs = false;
  for (const auto& v : o.value_sources) {
    if (v.key == "fs-ro" && v.value == "/srv/vm1") mine = v.source.empty();
    if (v.key == "fs-ro" && v.value == "/usr/share/qemu") theirs = v.source == "profile qemu";
  }
  EXPECT_TRUE(mine);
  EXPECT_TRUE(theirs);
}

TEST(Profile, TheUsersValuesReplaceItsOthers) {
  Options o;
  CliResult r = parse({"--profile", "qemu", "--user", "nobody", "--rlimit", "nofile=4096",
                       "--seccomp-default", "errno:EPERM", "--net-deny=false", "--seccomp-deny",
                       "mremap:ENOMEM,ptrace", "--seccomp-allow", "io_uring_enter",
                       "qemu-system-x86_64"},
                      &o);
  ASSERT_EQ(r.kind, CliResult::kRun) << r.err;
  // A resource the user sets replaces the profile's setting of it.
  EXPECT_EQ(o.rlimits, (std::vector<std::string>{"core=0", "nofile=4096"}));
  EXPECT_EQ(o.seccomp_default, "errno:EPERM");
  EXPECT_FALSE(o.net_deny);
  EXPECT_EQ(source_of(o, "net-deny"), "command line");
  // A call the user denies leaves the profile's allowlist, and one the
  // user allows its deny list.
  EXPECT_FALSE(has(o.seccomp_allow, "mremap"));
  EXPECT_EQ(o.seccomp_deny, (std::vector<std::string>{"io_uring_setup:EPERM",
                                                      "io_uring_register:EPERM",
                                                      "mremap:ENOMEM,ptrace"}));
  EXPECT_TRUE(has(o.profile_left_out, "rlimit nofile=1024: replaced by the user's rlimit nofile=4096"));
  EXPECT_TRUE(has(o.profile_left_out, "seccomp-allow mremap: the user's --seccomp-deny names it"));
  EXPECT_TRUE(has(o.profile_left_out,
                  "seccomp-deny io_uring_enter:EPERM: the user's --seccomp-allow names it"));
}

TEST(Profile, AFileProfileAndAConfigFile) {
  Dir d;
  if (std::string why = privilege::policy_files_refused_in(d.path); !why.empty())
    GTEST_SKIP() << why;
  const std::string prof = d.file("vm.toml",
                                  "# mine\nfs-ro = [\"/\", \"" + d.path + "/missing\"]\n"
                                  "nice = 5\nreap = true\nseccomp-deny = [\"ptrace\"]\n");
  const std::string conf = d.file("box.toml", "fs-ro = [\"/etc\"]\nnice = 7\ncommand = [\"true\"]\n");
  Options o;
  CliResult r = parse({"--config", conf.c_str(), "--profile", prof.c_str(), "--fs-ro", "/usr"}, &o);
  ASSERT_EQ(r.kind, CliResult::kRun) << r.err;
  // The profile's, then the user's: the command line's replace the file's
  // (as without a profile).
  EXPECT_EQ(o.fs_ro, (std::vector<std::string>{"/", "/usr"}));
  EXPECT_EQ(o.nice, "7");
  EXPECT_TRUE(o.reap);
  EXPECT_EQ(o.command, std::vector<std::string>{"true"});
  EXPECT_EQ(source_of(o, "fs-ro"), "command line");
  EXPECT_EQ(source_of(o, "nice"), conf);
  EXPECT_EQ(source_of(o, "reap"), "profile " + prof);
  EXPECT_EQ(o.profile_left_out, std::vector<std::string>{
                                    "fs-ro " + d.path +
                                    "/missing: No such file or directory (no rule: there is "
                                    "nothing there to reach)"});

  // The config file may name the profile.
  const std::string conf2 = d.file("box2.toml", "profile = \"" + prof + "\"\ncommand = [\"true\"]\n");
  Options o2;
  r = parse({"--config", conf2.c_str()}, &o2);
  ASSERT_EQ(r.kind, CliResult::kRun) << r.err;
  EXPECT_TRUE(o2.reap);
  EXPECT_EQ(source_of(o2, "profile"), conf2);
  EXPECT_EQ(source_of(o2, "reap"), "profile " + prof);
}

TEST(Profile, Errors) {
  Dir d;
  if (std::string why = privilege::policy_files_refused_in(d.path); !why.empty())
    GTEST_SKIP() << why;
  auto error = [](std::vector<const char*> args) {
    Options o;
    CliResult r = parse(args, &o);
    EXPECT_EQ(r.exit_code, r.err.empty() ? 0 : 125);
    return r.err;
  };
  EXPECT_EQ(error({"--profile", "qemuu", "true"}),
            "--profile qemuu: no built-in profile of that name (built in: qemu); a profile file "
            "is given by its path, such as ./qemuu.toml");
  EXPECT_EQ(error({"--profile", "", "true"}), "--profile: empty (give a built-in profile, qemu, or a FILE)");
  const std::string missing = d.path + "/none.toml";
  EXPECT_EQ(error({"--profile", missing.c_str(), "true"}),
            "--profile " + missing + ": No such file or directory");
  // A policy file: one anyone could write is refused, as for --config.
  const std::string open = d.file("open.toml", "reap = true\n", 0666);
  EXPECT_EQ(error({"--profile", open.c_str(), "true"}).rfind("--profile " + open + ": writable by others", 0), 0u);
  const std::string bad = d.file("bad.toml", "reapp = true\n");
  EXPECT_EQ(error({"--profile", bad.c_str(), "true"}),
            "--profile " + bad + ": key 'reapp': unknown; did you mean reap? (see boxjail --help)");
  const std::string cmd = d.file("cmd.toml", "command = [\"sh\"]\n");
  EXPECT_EQ(error({"--profile", cmd.c_str(), "true"}),
            "--profile " + cmd + ": key 'command': not allowed in a profile (PROGRAM comes from "
            "the command line or from --config)");
  const std::string nested = d.file("nested.toml", "profile = \"qemu\"\n");
  EXPECT_EQ(error({"--profile", nested.c_str(), "true"}),
            "--profile " + nested + ": key 'profile': not allowed in a profile (give --profile on "
            "the command line)");
}

TEST(Profile, PlanRequirements) {
  Options o;
  o.has_profile = true;
  o.profile = "qemu";
  profile::ProfilePlan p;
  std::string err;
  EXPECT_FALSE(profile::check(o, &p, &err));
  EXPECT_EQ(err,
            "--profile qemu needs --user: the profile keeps qemu away from root's files only when "
            "it runs as another user (such as --user nobody; better, a user of the VM's own: see "
            "boxjail(1), Profiles)");
  EXPECT_TRUE(p.qemu_args);
  o.has_user = true;
  o.user = "nobody";
  profile::ProfilePlan ok;
  EXPECT_TRUE(profile::check(o, &ok, &err)) << err;
  o.has_learn = true;
  profile::ProfilePlan learn;
  EXPECT_FALSE(profile::check(o, &learn, &err));
  EXPECT_EQ(err, "--learn cannot be combined with --profile: --learn writes a whole policy of its "
                 "own (learn without the profile, then replay FILE with --config)");
  // A profile file requires nothing, and derives no rules.
  Options f;
  f.has_profile = true;
  f.profile = "/etc/boxjail/vm.toml";
  profile::ProfilePlan fp;
  EXPECT_TRUE(profile::check(f, &fp, &err));
  EXPECT_FALSE(fp.qemu_args);
  EXPECT_FALSE(fp.builtin);
}

TEST(Profile, RuleSources) {
  profile::ProfilePlan p;
  p.active = true;
  p.value_sources = {{"fs-ro", "/usr/share/qemu", "profile qemu"},
                     {"fs-ro", "/srv", ""},
                     {"seccomp-allow", "read", "profile qemu"},
                     {"seccomp-allow", "kill", ""}};
  qemu_args::Derived d;
  d.use = {"-kernel", "/srv/vmlinuz", "/srv/vmlinuz", qemu_args::Use::kRead};
  d.rule_path = "/srv/vmlinuz";
  p.derived = {d};
  const std::vector<std::pair<std::string, std::string>> sources = {
      {"fs-ro", "command line"}, {"fs-exec-deps", "profile qemu"},
      {"net-bind", "/etc/boxjail/box.toml"}, {"seccomp-allow", "command line"}};
  landlock::LandlockPlan l;
  l.paths.push_back({"/usr/share/qemu", "--fs-ro", true, 1, 1, landlock::kRo});
  l.paths.push_back({"/srv", "--fs-ro", true, 1, 2, landlock::kRo});
  l.paths.push_back({"/srv/vmlinuz", "--fs-exec-deps qemu -kernel", false, 1, 3, landlock::kReadFile});
  l.port_specs = {"--net-bind 8080"};
  seccomp::SeccompPlan s;
  s.rules.push_back({"read", 0, true, 0, "--seccomp-allow read", {}});
  s.rules.push_back({"kill", 62, true, 0, "--seccomp-allow kill", {}});
  s.rules.push_back({"bpf", 321, false, 1, "/etc/box.profile:3", {}});
  jail::JailPlan j;
  j.rules.push_back({"ioctl", 16, false, 1, "jail: terminal", {}});
  EXPECT_EQ(profile::rule_sources_json(p, sources, l, s, j),
            "{\"landlock\":["
            "{\"path\":\"/usr/share/qemu\",\"from\":\"--fs-ro\",\"sources\":[\"profile qemu\"]},"
            "{\"path\":\"/srv\",\"from\":\"--fs-ro\",\"sources\":[\"command line\"]},"
            "{\"path\":\"/srv/vmlinuz\",\"from\":\"--fs-exec-deps qemu -kernel\","
            "\"sources\":[\"profile qemu\",\"qemu -kernel\"],\"arguments\":[\"-kernel /srv/vmlinuz\"]}],"
            "\"ports\":[{\"from\":\"--net-bind 8080\",\"sources\":[\"config /etc/boxjail/box.toml\"]}],"
            "\"seccomp\":["
            "{\"syscall\":\"read\",\"from\":\"--seccomp-allow read\",\"sources\":[\"profile qemu\"]},"
            "{\"syscall\":\"kill\",\"from\":\"--seccomp-allow kill\",\"sources\":[\"command line\"]},"
            "{\"syscall\":\"bpf\",\"from\":\"/etc/box.profile:3\",\"sources\":[\"command line\"]}],"
            "\"jail\":[{\"syscall\":\"ioctl\",\"from\":\"jail: terminal\",\"sources\":[\"jail\"]}]}");
}

}  // namespace
}  // namespace boxjail

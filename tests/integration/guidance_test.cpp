// The messages that guide a user: "did you mean" for a misspelt flag,
// system call, capability, limit, group or config key; the flags whose
// value went missing; and --dry-run=text, the plan as a person reviews it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness.h"
#include "privilege.h"

using namespace harness;

namespace {

TEST(Guidance, DidYouMean) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--fs-r", "/", "--", "true"},
       "boxjail: unknown option '--fs-r'; did you mean --fs-ro? (see boxjail --help; put PROGRAM "
       "after --)\n"},
      {{"--seccomp-profil", "x", "--", "true"},
       "boxjail: unknown option '--seccomp-profil'; did you mean --seccomp-profile? (see boxjail "
       "--help; put PROGRAM after --)\n"},
      {{"--seccomp-deny", "ptrce", "--", "true"},
       "boxjail: --seccomp-deny ptrce: unknown system call 'ptrce'; did you mean ptrace?\n"},
      {{"--seccomp-allow", "read,wirte,exit_group", "--", "true"},
       "boxjail: --seccomp-allow read,wirte,exit_group: unknown system call 'wirte'; did you mean "
       "write?\n"},
      {{"--seccomp-deny", "nosuchcallatall", "--", "true"},
       "boxjail: --seccomp-deny nosuchcallatall: unknown system call 'nosuchcallatall' on this "
       "architecture\n"},
      {{"--seccomp-deny", "@mout", "--", "true"},
       "boxjail: --seccomp-deny @mout: unknown group '@mout'; did you mean @mount?\n"},
      {{"--cap-drop", "sys_admn", "--", "true"},
       "boxjail: --cap-drop sys_admn: unknown capability 'sys_admn'; did you mean sys_admin?\n"},
      {{"--rlimit", "nofil=3", "--", "true"},
       "boxjail: --rlimit nofil=3: unknown limit 'nofil'; did you mean nofile? (known: as core cpu "
       "data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack)\n"},
      {{"--list-syscall-groups=@mout"},
       "boxjail: --list-syscall-groups=@mout: unknown group; did you mean @mount?\n"},
  };
  for (const auto& [args, want] : cases) {
    Result r = boxjail(args);
    EXPECT_EQ(r.code(), 125) << args[0];
    EXPECT_EQ(r.err, want);
    EXPECT_EQ(r.out, "");
  }
}

TEST(Guidance, AValueThatWentMissing) {
  // An optional value is given with '=' only: TERM became PROGRAM.
  Result r = boxjail({"--die-with-parent", "TERM", "--", "true"});
  EXPECT_EQ(r.code(), 127);
  EXPECT_EQ(r.err,
            "boxjail: cannot execute 'TERM': No such file or directory; did you mean "
            "--die-with-parent=TERM?\n");
  r = boxjail({"--dry-run", "text", "--", "true"});
  EXPECT_EQ(r.code(), 127);
  EXPECT_EQ(r.err,
            "boxjail: cannot execute 'text': No such file or directory; did you mean "
            "--dry-run=text?\n");
  // A PROGRAM after a flag that takes no value is just PROGRAM.
  r = boxjail({"--keep-fds", "no-such-program-anywhere"});
  EXPECT_EQ(r.err, "boxjail: cannot execute 'no-such-program-anywhere': No such file or directory\n");
  // "--" is not a value.
  r = boxjail({"--user", "--", "true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --user: missing USER[:GROUP] (the word after it is --)\n");
  r = boxjail({"--chdir", "--", "true"});
  EXPECT_EQ(r.err, "boxjail: --chdir: missing DIR (the word after it is --)\n");
  r = boxjail({"--dry-run=yaml", "--", "true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_EQ(r.err, "boxjail: --dry-run=yaml: unknown format (use json or text)\n");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The text form shows what the JSON says, in the order a reviewer asks.
TEST(Guidance, DryRunText) {
  if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
  const std::vector<std::string> flags = {"--user", "nobody", "--cap-drop", "all",
                                          "--fs-exec-deps", "--fs-ro", "/etc", "--net-deny",
                                          "--seccomp-deny", "@mount,uname:ENOSYS",
                                          "--rlimit", "nofile=64:128", "--fd", "3=1",
                                          "--setenv", "GREETING=hello world", "--"};
  std::vector<std::string> json_args = flags, text_args = flags;
  json_args.insert(json_args.begin(), "--dry-run");
  text_args.insert(text_args.begin(), "--dry-run=text");
  for (auto* a : {&json_args, &text_args}) a->insert(a->end(), {"true", "an arg"});
  Result j = boxjail(json_args);
  ASSERT_EQ(j.code(), 0) << j.err;
  // The JSON contract stands: one line.
  EXPECT_EQ(std::count(j.out.begin(), j.out.end(), '\n'), 1);
  const nlohmann::json plan = nlohmann::json::parse(j.out);
  Spawn s;
  s.argv = {kBoxjail};
  s.argv.insert(s.argv.end(), text_args.begin(), text_args.end());
  s.env = {"COLUMNS=72"};
  Result t = run(s);
  ASSERT_EQ(t.code(), 0) << t.err;
  const std::string& out = t.out;
  for (const std::string& l : lines_of(out)) EXPECT_LE(l.size(), 72u) << l;
  // The headings in order.
  size_t at = 0;
  for (const char* h : {"PROGRAM\n", "\nIdentity\n", "\nFilesystem (Landlock)\n", "\nNetwork\n",
                        "\nSystem calls (seccomp)\n", "\nCgroup\n", "\nResources\n",
                        "\nDescriptors\n", "\nEnvironment\n"}) {
    const size_t next = out.find(h, at);
    EXPECT_NE(next, std::string::npos) << h << " missing or out of order:\n" << out;
    if (next != std::string::npos) at = next;
  }
  EXPECT_NE(out.find("  path            /usr/bin/true\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  argv            true 'an arg'\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  mode            supervise"), std::string::npos) << out;
  EXPECT_NE(out.find("  user            nobody (uid 65534)"), std::string::npos) << out;
  EXPECT_NE(out.find("  capabilities    none, in every set"), std::string::npos) << out;
  EXPECT_NE(out.find("  no_new_privs    set: "), std::string::npos) << out;
  // Each Landlock rule of the JSON, with its access and where it came from.
  for (const auto& rule : plan["landlock"]["rules"])
    EXPECT_NE(out.find("    " + rule["path"].get<std::string>() + " "), std::string::npos)
        << rule["path"] << "\n" << out;
  EXPECT_NE(out.find("    /etc read_file,read_dir (directory, --fs-ro)\n"), std::string::npos) << out;
  EXPECT_NE(out.find(std::to_string(plan["landlock"]["rules"].size()) +
                     " paths; everything else is denied"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  TCP ports       no bind, no connect"), std::string::npos) << out;
  // The seccomp summary: counts per action, the groups named.
  size_t eperm = 0, enosys = 0;
  for (const auto& r : plan["seccomp"]["rules"]) {
    eperm += r["action"] == "errno:EPERM";
    enosys += r["action"] == "errno:ENOSYS";
  }
  ASSERT_GT(eperm, 5u);
  EXPECT_EQ(enosys, 1u);
  // Wrapped lines joined, runs of spaces as one.
  std::string flat;
  for (char c : out)
    if (!((c == ' ' || c == '\n') && !flat.empty() && flat.back() == ' ')) flat += c == '\n' ? ' ' : c;
  EXPECT_NE(flat.find(" filter " + std::to_string(eperm + enosys) + " rules (" +
                     std::to_string(eperm) + " errno:EPERM, 1 errno:ENOSYS); every other call: allow"),
            std::string::npos)
      << flat;
  EXPECT_NE(out.find("  groups          @mount\n"), std::string::npos) << out;
  EXPECT_NE(out.find("    errno:ENOSYS    uname\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  instructions    " + std::to_string(plan["seccomp"]["instructions"].get<int>()) + "\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  rlimits         nofile 64:128\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  moved           3 from 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  set             GREETING='hello world'\n"), std::string::npos) << out;
  // A key the text has no place for is still shown.
  EXPECT_NE(out.find("  supervisor\n    reap            false\n"), std::string::npos) << out;
}

TEST(Guidance, DryRunTextOfAnUnconfinedRun) {
  Spawn s;
  s.argv = {kBoxjail, "--dry-run=text", "--", "true"};
  Result t = run(s);
  ASSERT_EQ(t.code(), 0) << t.err;
  EXPECT_NE(t.out.find("  user            unchanged"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("  rules           none: Landlock is not used"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("  jail            none: PROGRAM is not confined"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("  variables       boxjail's, unchanged"), std::string::npos) << t.out;
}

// What a user namespace refuses is named with its cause: an unmapped uid,
// an unprivileged --nice. `unshare -U -r` makes one that maps only root.
TEST(Guidance, AUserNamespaceNamesWhatItRefuses) {
  if (run({.argv = {"/usr/bin/unshare", "-U", "-r", "/bin/true"}}).code() != 0)
    GTEST_SKIP() << "unshare -U -r cannot make a user namespace here";
  Result r = run({.argv = {"/usr/bin/unshare", "-U", "-r", kBoxjail, "--user", "nobody", "--",
                           "/bin/true"}});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("--user (uid 65534, gid 65534): "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(uid 65534 is not mapped in this user namespace: see /proc/self/uid_map)"),
            std::string::npos)
      << r.err;
  r = run({.argv = {"/usr/bin/unshare", "-U", "-r", kBoxjail, "--user", "root", "--nice", "-5",
                    "--", "/bin/true"}});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("boxjail: --nice -5: setpriority: Permission denied (a lower value than "
                       "boxjail's own needs CAP_SYS_NICE"),
            std::string::npos)
      << r.err;
}

// A boxjail inside a boxjail's named denials cannot have a listener of its
// own (one per filter chain): the message says so and what to do.
TEST(Guidance, ANestedListenerIsRefusedWithTheReason) {
  // As root the outer box runs the inner one as nobody, which needs no
  // opt-in to a PROGRAM of uid 0.
  std::vector<std::string> argv = {kBoxjail};
  if (geteuid() == 0) {
    if (std::string why = privilege::can_become(65534); !why.empty()) GTEST_SKIP() << why;
    argv.insert(argv.end(), {"--user", "nobody"});
  }
  argv.insert(argv.end(), {"--seccomp-deny", "@chmod", "--", kBoxjail, "--exec-once", "--",
                           "/bin/echo", "ran"});
  Result r = run({.argv = argv});
  EXPECT_EQ(r.code(), 125) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("seccomp: loading the filter: Device or resource busy (a seccomp listener "
                       "is in place already"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("run this boxjail with --detach"), std::string::npos) << r.err;
}

}  // namespace

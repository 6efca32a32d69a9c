// --exec-once, --restrict-namespaces, --restrict-address-families and
// --memory-deny-write-execute: each as an attack, first without the switch
// (the control: the attack works), then with it; what is asserted is what
// PROGRAM saw.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "harness.h"

namespace {

using namespace harness;

const std::string kLearnee = LEARNEE_BIN;

Result boxed(std::vector<std::string> flags, std::vector<std::string> argv,
             std::vector<std::string> env = {}) {
  Spawn s{.argv = {kBoxjail}, .env = env};
  for (auto& f : root_opt_in()) s.argv.push_back(f);
  s.argv.insert(s.argv.end(), flags.begin(), flags.end());
  s.argv.push_back("--");
  s.argv.insert(s.argv.end(), argv.begin(), argv.end());
  return run(s);
}

std::string e(int err) { return std::to_string(err) + "\n"; }

TEST(ExecOnce, AShellCannotStartAnotherProgram) {
  Result r = boxed({}, {"/bin/sh", "-c", "/bin/true && echo ran"});
  EXPECT_EQ(r.out, "ran\n");  // the control
  r = boxed({"--exec-once"}, {"/bin/sh", "-c", "/bin/true && echo ran"});
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.code(), 0);
  EXPECT_NE(r.err.find("/bin/true: Operation not permitted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("called execve (59)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("denied by --exec-once"), std::string::npos) << r.err;
}

TEST(ExecOnce, ExecveatByDescriptorFromADescendantFailsToo) {
  Result r = boxed({}, {kLearnee, "execveat", "/bin/true"});
  EXPECT_EQ(r.out, "");  // the control: the exec worked, nothing printed
  r = boxed({"--exec-once"}, {kLearnee, "execveat", "/bin/true"});
  EXPECT_EQ(r.out, e(EPERM)) << r.err;
}

TEST(ExecOnce, AStaticBusyboxIsHeldAsWell) {
  const std::string busybox = std::string(GUEST_DIR) + "/busybox";
  if (access(busybox.c_str(), X_OK) != 0) GTEST_SKIP() << "needs a static busybox at " << busybox << " (scripts/guest)";
  Result r = boxed({}, {busybox, "sh", "-c", "/bin/true && echo ran"});
  EXPECT_EQ(r.out, "ran\n");
  r = boxed({"--exec-once"}, {busybox, "sh", "-c", "/bin/true && echo ran"});
  EXPECT_EQ(r.out, "") << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
}

TEST(ExecOnce, DetachedTheKernelFailsLaterExecsAndNoForkIsRefused) {
  TempDir d;
  chmod(d.path.c_str(), 0777);
  const std::string out = d.path + "/out";
  Result r = boxed({"--detach", "--exec-once"},
                   {"/bin/sh", "-c", "sleep 0.1; /bin/true; echo $? > " + out});
  ASSERT_EQ(r.code(), 0) << r.err;
  for (int i = 0; i < 500 && slurp(out).empty(); ++i) usleep(10000);
  EXPECT_EQ(slurp(out), "126\n");  // ENOSYS: sh could not execute it
  r = boxed({"--no-fork", "--exec-once"}, {"/bin/true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("--exec-once needs a supervisor"), std::string::npos) << r.err;
}

TEST(RestrictNamespaces, NoNewNamespaceAndClone3GetsEnosysButForkWorks) {
  if (access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "needs unshare (util-linux)";
  // The control: an unprivileged user namespace can be made here.
  Result r = boxed({}, {"/usr/bin/unshare", "-U", "/bin/true"});
  if (r.code() != 0) GTEST_SKIP() << "no user namespaces here: " << r.err;
  for (const char* flag : {"-U", "-Un", "-Um"}) {
    r = boxed({"--restrict-namespaces"}, {"/usr/bin/unshare", flag, "/bin/true"});
    EXPECT_NE(r.code(), 0) << flag;
    EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << flag << r.err;
  }
  // Only the types named: net refused, user allowed.
  r = boxed({"--restrict-namespaces=net"}, {"/usr/bin/unshare", "-U", "/bin/true"});
  EXPECT_EQ(r.code(), 0) << r.err;
  r = boxed({"--restrict-namespaces=net"}, {"/usr/bin/unshare", "-Un", "/bin/true"});
  EXPECT_NE(r.code(), 0) << r.err;
  EXPECT_EQ(boxed({}, {kLearnee, "clone3"}).out, e(0));
  EXPECT_EQ(boxed({"--restrict-namespaces"}, {kLearnee, "clone3"}).out, e(ENOSYS));
  EXPECT_EQ(boxed({"--restrict-namespaces"}, {kLearnee, "setns", "/proc/self/ns/net"}).out,
            e(EPERM));
  // A plain fork (and a shell's) still works.
  r = boxed({"--restrict-namespaces"}, {"/bin/sh", "-c", "/bin/echo forked"});
  EXPECT_EQ(r.out, "forked\n") << r.err;
  r = boxed({"--restrict-namespaces=bogus"}, {"/bin/true"});
  EXPECT_EQ(r.code(), 125);
  EXPECT_NE(r.err.find("--restrict-namespaces bogus: unknown name 'bogus'"), std::string::npos)
      << r.err;
}

TEST(RestrictAddressFamilies, EachFamilyAllowedAndRefused) {
  const int families[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, AF_PACKET};
  const char* names[] = {"inet", "inet6", "unix", "netlink", "packet"};
  for (size_t i = 0; i < 5; ++i) {
    const std::string fam = std::to_string(families[i]);
    Result control = boxed({}, {kLearnee, "socket", fam});
    Result allowed = boxed({"--restrict-address-families", names[i]}, {kLearnee, "socket", fam});
    // Allowed: what it gets without the switch (AF_PACKET needs
    // CAP_NET_RAW, which a confined PROGRAM does not have).
    EXPECT_EQ(allowed.out, control.out) << names[i];
    const char* other = i == 2 ? "inet" : "unix";
    Result refused = boxed({"--restrict-address-families", other}, {kLearnee, "socket", fam});
    EXPECT_EQ(refused.out, e(EAFNOSUPPORT)) << names[i] << refused.err;
  }
  EXPECT_EQ(boxed({"--restrict-address-families", "AF_UNIX,AF_INET"},
                  {kLearnee, "socket", std::to_string(AF_INET6)}).out,
            e(EAFNOSUPPORT));
}

TEST(MemoryDenyWriteExecute, NoWritableAndExecutableMemory) {
  EXPECT_EQ(boxed({}, {kLearnee, "wx"}).out, "0 0\n");  // the control
  // PR_SET_MDWE where the kernel has it: EACCES from mmap and mprotect.
  Result r = boxed({"--memory-deny-write-execute"}, {kLearnee, "wx"});
  EXPECT_TRUE(r.out == "13 13\n" || r.out == "1 1\n") << r.out << r.err;
#ifdef BOXJAIL_TEST_FAULT_INJECTION
  // The seccomp rules of a kernel without it (systemd's): EPERM.
  r = boxed({"--memory-deny-write-execute"}, {kLearnee, "wx"}, {"BOXJAIL_NO_MDWE=1"});
  EXPECT_EQ(r.out, "1 1\n") << r.err;
#endif
}

}  // namespace

#include "boxjail/audit.h"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace boxjail::audit {
namespace {

// Records as this machine's kernel (6.18, Landlock ABI 7) sent them to the
// audit multicast group, under boxjail --landlock-log.
constexpr const char* kHostname =
    R"(audit(1796134702.408:2879): domain=180cbab30 blockers=fs.read_file path="/etc/hostname" dev="vda" ino=733)";
constexpr const char* kLocale =
    R"(audit(1796134702.408:2877): domain=180cbab30 blockers=fs.read_file path="/etc/locale.alias" dev="vda" ino=810)";
constexpr const char* kAllocated =
    R"(audit(1796134702.408:2877): domain=180cbab30 status=allocated mode=enforcing pid=3824 uid=65534 exe="/work/main/build-audit/boxjail" comm="boxjail")";
constexpr const char* kDeallocated =
    R"(audit(1796134702.452:2880): domain=180cbab30 status=deallocated denials=3)";
constexpr const char* kSyscall =
    R"(audit(1796134702.408:2879): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7fffba318a75 a2=0 a3=0 items=0 ppid=3823 pid=3824 auid=4294967295 uid=65534 gid=65534 euid=65534 suid=65534 fsuid=65534 egid=65534 sgid=65534 fsgid=65534 tty=(none) ses=4294967295 comm="cat" exe="/usr/bin/cat" key=(null))";
constexpr pid_t kProgram = 3824;

Record parsed(int type, std::string_view text) {
  Record r;
  std::string why;
  EXPECT_TRUE(parse_record(type, text, &r, &why)) << why << ": " << text;
  return r;
}

std::string rejected(int type, std::string_view text) {
  Record r;
  std::string why;
  EXPECT_FALSE(parse_record(type, text, &r, &why)) << text;
  return why;
}

TEST(AuditParse, AccessWithQuotedPath) {
  Record r = parsed(kLandlockAccess, kHostname);
  EXPECT_EQ(r.kind, Record::Kind::kAccess);
  EXPECT_EQ(r.serial, "1796134702.408:2879");
  EXPECT_EQ(r.domain, 0x180cbab30u);
  EXPECT_EQ(r.blockers, "fs.read_file");
  EXPECT_TRUE(r.has_path);
  EXPECT_EQ(r.path, "/etc/hostname");
  EXPECT_EQ(r.object, "");
}

TEST(AuditParse, HexEncodedPaths) {
  // A space, then a tab, a two-byte character and a quote.
  Record r = parsed(kLandlockAccess,
                    "audit(1796134714.284:2883): domain=180cbab3b blockers=fs.read_file "
                    "path=2F746D702F61756469746361702F726F2F77697468207370616365 dev=\"vda\" "
                    "ino=11264013");
  EXPECT_EQ(r.path, "/tmp/auditcap/ro/with space");
  r = parsed(kLandlockAccess,
             "audit(1796134725.832:2897): domain=180cbab73 blockers=fs.read_file "
             "path=2F746D702F61756469746361702F726F2F74616209C3A92271 dev=\"vda\" ino=11264014");
  EXPECT_EQ(r.path, "/tmp/auditcap/ro/tab\t\xc3\xa9\"q");
  // Not hex after all: kept as written.
  r = parsed(kLandlockAccess, "domain=1 blockers=fs.read_file path=<too_long>");
  EXPECT_EQ(r.path, "<too_long>");
  r = parsed(kLandlockAccess, "domain=1 blockers=fs.read_file path=2F7");
  EXPECT_EQ(r.path, "2F7");
}

TEST(AuditParse, SeveralBlockersAndIoctl) {
  Record r = parsed(kLandlockAccess,
                    "audit(1796134765.412:2921): domain=180cbabe1 blockers=fs.make_reg,fs.refer "
                    "path=\"/tmp/auditcap/ro\" dev=\"vda\" ino=11264012");
  EXPECT_EQ(r.blockers, "fs.make_reg,fs.refer");
  EXPECT_EQ(r.path, "/tmp/auditcap/ro");
  r = parsed(kLandlockAccess,
             "audit(1796134765.412:2923): domain=180cbabe1 blockers=fs.ioctl_dev "
             "path=\"/dev/null\" dev=\"devtmpfs\" ino=3 ioctlcmd=0x5401");
  EXPECT_EQ(r.blockers, "fs.ioctl_dev");
  EXPECT_EQ(r.path, "/dev/null");
}

TEST(AuditParse, ObjectsThatAreNotPaths) {
  Record r = parsed(kLandlockAccess,
                    "audit(1796134725.836:2899): domain=180cbab73 blockers=net.connect_tcp "
                    "daddr=127.0.0.1 dest=80");
  EXPECT_FALSE(r.has_path);
  EXPECT_EQ(r.object, "daddr=127.0.0.1 dest=80");
  r = parsed(kLandlockAccess,
             "audit(1796134725.836:2898): domain=180cbab73 blockers=scope.signal opid=1 "
             "ocomm=\"process_api\"");
  EXPECT_EQ(r.object, "opid=1 ocomm=process_api");
  // A comm with a space comes hex-encoded, and is shown quoted.
  r = parsed(kLandlockAccess, "domain=1a blockers=scope.signal opid=7 ocomm=6D792070726F67");
  EXPECT_EQ(r.object, "opid=7 ocomm=\"my prog\"");
  // Fields the parser does not know are kept.
  r = parsed(kLandlockAccess, "domain=1a blockers=net.bind_udp saddr=::1 src=53 future=\"x\"");
  EXPECT_EQ(r.object, "saddr=::1 src=53 future=x");
}

TEST(AuditParse, AbstractUnixSocketName) {
  Record r =
      parsed(kLandlockAccess,
             "audit(1796134747.912:2910): domain=180cbab9d "
             "blockers=scope.abstract_unix_socket path=00626F786A61696C2D61756469742D74657374");
  EXPECT_EQ(r.blockers, "scope.abstract_unix_socket");
  EXPECT_EQ(r.path, "@boxjail-audit-test");
}

TEST(AuditParse, DomainRecords) {
  Record r = parsed(kLandlockDomain, kAllocated);
  EXPECT_EQ(r.kind, Record::Kind::kAllocated);
  EXPECT_EQ(r.domain, 0x180cbab30u);
  EXPECT_EQ(r.pid, 3824);
  EXPECT_EQ(r.exe, "/work/main/build-audit/boxjail");
  EXPECT_EQ(r.comm, "boxjail");
  r = parsed(kLandlockDomain, kDeallocated);
  EXPECT_EQ(r.kind, Record::Kind::kDeallocated);
  EXPECT_EQ(r.denials, 3u);
  // Without the prefix (as in the kernel's documentation), with a trailing
  // NUL and an exe path with a space (hex).
  std::string text =
      "domain=195ba459b status=allocated mode=enforcing pid=300 uid=0 "
      "exe=2F726F6F742F6D7920626F78 comm=\"sandboxer\"";
  text += '\0';
  r = parsed(kLandlockDomain, text);
  EXPECT_EQ(r.serial, "");
  EXPECT_EQ(r.domain, 0x195ba459bu);
  EXPECT_EQ(r.pid, 300);
  EXPECT_EQ(r.exe, "/root/my box");
  EXPECT_EQ(r.comm, "sandboxer");
}

TEST(AuditParse, RejectsWhatIsNotALandlockRecord) {
  EXPECT_EQ(rejected(1300, kSyscall), "not a Landlock record (type 1300)");
  EXPECT_EQ(rejected(kLandlockAccess, kSyscall), "no domain=ID");
  EXPECT_EQ(rejected(kLandlockAccess, ""), "no domain=ID");
  EXPECT_EQ(rejected(kLandlockAccess, "domain=0 blockers=fs.read_file path=\"/\""), "no domain=ID");
  EXPECT_EQ(rejected(kLandlockAccess, "domain=xyz blockers=fs.read_file"), "no domain=ID");
  EXPECT_EQ(rejected(kLandlockAccess, "domain=1a path=\"/\""), "no blockers=");
  EXPECT_EQ(rejected(kLandlockAccess, "domain=1a blockers=fs.READ path=\"/\""), "bad blockers=");
  EXPECT_EQ(rejected(kLandlockDomain, "domain=1a status=frozen"), "unknown status=frozen");
  EXPECT_EQ(rejected(kLandlockDomain, "domain=1a status=allocated pid=x"), "no pid=");
  EXPECT_EQ(rejected(kLandlockDomain, "domain=1a status=deallocated denials=-1"), "bad denials=");
}

// The kernel's order: a domain's first access record comes before its
// allocated record, later ones alone; records of other domains (other
// processes' sandboxes) in between.
TEST(LandlockDenials, KeepsProgramsDomainOnly) {
  LandlockDenials d;
  d.feed(kProgram, kLandlockAccess, kLocale);
  d.feed(kProgram, kLandlockAccess, "domain=77 blockers=fs.read_file path=\"/elsewhere\"");
  d.feed(kProgram, kLandlockDomain, kAllocated);
  d.feed(kProgram, kLandlockDomain,
         "domain=77 status=allocated mode=enforcing pid=1 uid=0 exe=\"/sbin/x\" comm=\"x\"");
  d.feed(kProgram, 1300, kSyscall);
  d.feed(kProgram, kLandlockAccess, kHostname);
  d.feed(kProgram, kLandlockAccess, "domain=77 blockers=fs.read_file path=\"/elsewhere\"");
  d.feed(kProgram, kLandlockAccess, kHostname);
  EXPECT_TRUE(d.awaiting());
  d.feed(kProgram, kLandlockDomain, "domain=77 status=deallocated denials=2");
  d.feed(kProgram, kLandlockDomain, kDeallocated);
  EXPECT_FALSE(d.awaiting());
  EXPECT_EQ(d.report(10), (std::vector<std::string>{"fs.read_file /etc/hostname (2 times)",
                                                    "fs.read_file /etc/locale.alias (once)"}));
  EXPECT_EQ(d.json(), R"([{"blockers":"fs.read_file","path":"/etc/hostname","count":2},)"
                      R"({"blockers":"fs.read_file","path":"/etc/locale.alias","count":1}])");
  EXPECT_EQ(d.logged(), 3u);
  EXPECT_EQ(d.kernel_count(), 3u);
  EXPECT_EQ(d.caveat(),
            "no audit record reached boxjail, not even its own subscription's: audit "
            "rules, or a network namespace other than the initial one, may hide them");
}

// boxjail inside boxjail: the inner child made its own domain, whose
// denials are its own policy's, not the outer PROGRAM's.
TEST(LandlockDenials, IgnoresADomainADescendantMade) {
  LandlockDenials d;
  const pid_t outer = 4551;
  d.feed(outer, kLandlockAccess,
         "audit(1796134747.924:2911): domain=180cbabb5 blockers=fs.read_file "
         "path=\"/etc/locale.alias\" dev=\"vda\" ino=810");
  d.feed(outer, kLandlockDomain,
         "audit(1796134747.924:2911): domain=180cbabb5 status=allocated mode=enforcing pid=4556 "
         "uid=65534 exe=\"/work/main/build-audit/boxjail\" comm=\"boxjail\"");
  d.feed(outer, kLandlockAccess,
         "audit(1796134747.924:2913): domain=180cbabb5 blockers=fs.read_file "
         "path=\"/etc/hostname\" dev=\"vda\" ino=733");
  EXPECT_FALSE(d.awaiting());
  EXPECT_EQ(d.report(10), std::vector<std::string>{});
  EXPECT_EQ(d.json(), "[]");
  EXPECT_EQ(d.logged(), 0u);
}

TEST(LandlockDenials, ForgetsRecordsOfDomainsItNeverLearns) {
  LandlockDenials d;
  // A sandbox that showed before boxjail subscribed: its allocated record
  // never comes. Its records wait, a bounded few, then go.
  for (int i = 0; i < 1000; ++i)
    d.feed(kProgram, kLandlockAccess,
           "domain=99 blockers=fs.read_file path=\"/x" + std::to_string(i) + "\"");
  d.feed(kProgram, kLandlockDomain, kAllocated);
  EXPECT_EQ(d.logged(), 0u);
  d.feed(kProgram, kLandlockAccess, kHostname);
  EXPECT_EQ(d.report(10), std::vector<std::string>{"fs.read_file /etc/hostname (once)"});
}

TEST(LandlockDenials, OrdersByCountThenFirstSeen) {
  LandlockDenials d;
  d.feed(kProgram, kLandlockDomain, kAllocated);
  const auto deny = [&](const std::string& rest) {
    d.feed(kProgram, kLandlockAccess, "domain=180cbab30 blockers=" + rest);
  };
  deny("fs.read_file path=\"/a\"");
  deny("fs.write_file path=\"/b\"");
  deny("net.connect_tcp daddr=127.0.0.1 dest=80");
  deny("fs.write_file path=\"/b\"");
  deny("fs.read_file,fs.write_file path=\"/a\"");
  deny("net.connect_tcp daddr=127.0.0.1 dest=80");
  deny("fs.read_file path=2F6120622209");  // "/a b\"\t"
  EXPECT_EQ(d.report(10), (std::vector<std::string>{
                              "fs.write_file /b (2 times)",
                              "net.connect_tcp daddr=127.0.0.1 dest=80 (2 times)",
                              "fs.read_file /a (once)",
                              "fs.read_file,fs.write_file /a (once)",
                              R"(fs.read_file "/a b\"\t" (once))",
                          }));
  EXPECT_EQ(d.report(3), (std::vector<std::string>{
                             "fs.write_file /b (2 times)",
                             "net.connect_tcp daddr=127.0.0.1 dest=80 (2 times)",
                             "... and 3 more denials of 3 kinds",
                         }));
  EXPECT_EQ(d.report(1), std::vector<std::string>{"7 denials of 5 kinds"});
  EXPECT_EQ(d.report(0), std::vector<std::string>{});
  EXPECT_EQ(d.json(),
            R"([{"blockers":"fs.write_file","path":"/b","count":2},)"
            R"({"blockers":"net.connect_tcp","object":"daddr=127.0.0.1 dest=80","count":2},)"
            R"({"blockers":"fs.read_file","path":"/a","count":1},)"
            R"({"blockers":"fs.read_file,fs.write_file","path":"/a","count":1},)"
            R"({"blockers":"fs.read_file","path":"/a b\"\t","count":1}])");
}

TEST(LandlockDenials, PathsThatAreNotText) {
  LandlockDenials d;
  d.feed(kProgram, kLandlockDomain, kAllocated);
  // An escape sequence, and a byte that is not UTF-8.
  d.feed(kProgram, kLandlockAccess, "domain=180cbab30 blockers=fs.read_file path=2F1B5B326A");
  d.feed(kProgram, kLandlockAccess, "domain=180cbab30 blockers=fs.read_file path=2F61FF");
  d.feed(kProgram, kLandlockAccess,
         "domain=180cbab30 blockers=fs.read_file path=2FC3A9");  // "/é"
  EXPECT_EQ(d.report(10), (std::vector<std::string>{R"(fs.read_file "/\x1b[2j" (once))",
                                                    R"(fs.read_file "/a\xff" (once))",
                                                    "fs.read_file /\xc3\xa9 (once)"}));
  EXPECT_EQ(d.json(), R"([{"blockers":"fs.read_file","path":"/\u001b[2j","count":1},)"
                      R"({"blockers":"fs.read_file","path_hex":"2F61FF","count":1},)"
                      R"({"blockers":"fs.read_file","path":"/é","count":1}])");
}

TEST(LandlockDenials, CapsDistinctEntriesAndCountsTheRest) {
  LandlockDenials d;
  d.feed(kProgram, kLandlockDomain, kAllocated);
  for (int i = 0; i < 300; ++i)
    d.feed(kProgram, kLandlockAccess,
           "domain=180cbab30 blockers=fs.read_file path=\"/f" + std::to_string(i) + "\"");
  for (int i = 0; i < 5; ++i)  // kept: already listed
    d.feed(kProgram, kLandlockAccess, "domain=180cbab30 blockers=fs.read_file path=\"/f7\"");
  for (int i = 0; i < 5; ++i)  // not listed: counted
    d.feed(kProgram, kLandlockAccess, "domain=180cbab30 blockers=fs.read_file path=\"/f299\"");
  EXPECT_EQ(d.logged(), 310u);
  std::vector<std::string> lines = d.report(1000);
  ASSERT_EQ(lines.size(), LandlockDenials::kMaxEntries + 1);  // and the count
  EXPECT_EQ(lines.front(), "fs.read_file /f7 (6 times)");
  EXPECT_EQ(lines.back(), "... and 49 more denials");  // never listed: no kinds
  lines = d.report(3);
  EXPECT_EQ(lines,
            (std::vector<std::string>{"fs.read_file /f7 (6 times)", "fs.read_file /f0 (once)",
                                      "... and 303 more denials"}));
  const std::string j = d.json();
  size_t objects = 0;
  for (size_t at = j.find("{\""); at != std::string::npos; at = j.find("{\"", at + 1)) ++objects;
  EXPECT_EQ(objects, LandlockDenials::kMaxEntries);
}

TEST(LandlockDenials, SaysWhenTheKernelCountedMore) {
  LandlockDenials d;
  d.feed(kProgram, kLandlockAccess, kLocale);
  d.feed(kProgram, kLandlockDomain, kAllocated);
  d.feed(kProgram, kLandlockDomain, "domain=180cbab30 status=deallocated denials=40");
  EXPECT_EQ(d.kernel_count(), 40u);
  EXPECT_EQ(d.caveat().rfind("the kernel counted 40 denials, 1 of them logged: audit's backlog "
                             "or rate limit (auditctl -b, -r) dropped the others, or they came "
                             "before PROGRAM's exec; ",
                             0),
            0u)
      << d.caveat();
}

// A process with CAP_NET_ADMIN may send to the socket; only the kernel's
// messages are records. Needs CAP_AUDIT_READ and CAP_NET_ADMIN.
TEST(LandlockDenials, IgnoresMessagesNotFromTheKernel) {
  LandlockDenials d;
  std::string why;
  if (!d.open(&why)) GTEST_SKIP() << "cannot read the audit log: " << why;
  sockaddr_nl self{};
  socklen_t len = sizeof self;
  ASSERT_EQ(getsockname(d.fd(), reinterpret_cast<sockaddr*>(&self), &len), 0);
  int forger = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  ASSERT_GE(forger, 0);
  bool sent = true;
  const pid_t program = getpid();
  const std::string access = "audit(1.1:1): domain=fa1e blockers=fs.read_file path=\"/forged\"";
  const std::string alloc =
      "audit(1.1:1): domain=fa1e status=allocated mode=enforcing pid=" + std::to_string(program) +
      " uid=0 exe=\"/x\" comm=\"x\"";
  const std::vector<std::pair<int, std::string>> forged = {{kLandlockAccess, access},
                                                           {kLandlockDomain, alloc}};
  for (const auto& [type, text] : forged) {
    std::string msg(NLMSG_HDRLEN, '\0');
    msg += text;
    nlmsghdr h{};
    h.nlmsg_len = static_cast<uint32_t>(msg.size());
    h.nlmsg_type = static_cast<uint16_t>(type);
    memcpy(msg.data(), &h, sizeof h);
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    to.nl_pid = self.nl_pid;
    if (sendto(forger, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) !=
        static_cast<ssize_t>(msg.size()))
      sent = false;
  }
  const int e = errno;
  close(forger);
  if (!sent)
    GTEST_SKIP() << "cannot send to a netlink socket (needs CAP_NET_ADMIN): " << strerror(e);
  d.drain(program);
  EXPECT_EQ(d.logged(), 0u);
  EXPECT_EQ(d.report(10), std::vector<std::string>{});
}

}  // namespace
}  // namespace boxjail::audit

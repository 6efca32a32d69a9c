// qemu's command line → the files it names (pure, on argv vectors), and
// those → Landlock rules (on files in a temporary directory).
#include "boxjail/qemu_args.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace boxjail::qemu_args {
namespace {

using landlock::kIoctlDev;
using landlock::kMakeReg;
using landlock::kMakeSock;
using landlock::kReadDir;
using landlock::kReadFile;
using landlock::kTruncate;
using landlock::kWriteFile;

// "option path use" for each file, for compact comparisons.
std::vector<std::string> of(std::vector<std::string> argv) {
  argv.insert(argv.begin(), "qemu-system-x86_64");
  std::vector<std::string> out;
  for (const FileUse& f : files(argv)) {
    const char* u = f.use == Use::kRead        ? "r"
                    : f.use == Use::kReadWrite ? "rw"
                    : f.use == Use::kWrite     ? "w"
                    : f.use == Use::kSocket    ? "sock"
                                               : "pid";
    out.push_back(f.option + " " + f.path + " " + u);
  }
  return out;
}

using V = std::vector<std::string>;

TEST(QemuArgs, TheTestGuestsCommandLine) {
  EXPECT_EQ(of({"-accel", "tcg", "-M", "microvm,pit=on", "-m", "128", "-nographic", "-nodefaults",
                "-no-user-config", "-no-reboot", "-kernel", "/g/vmlinuz", "-initrd", "/g/initrd",
                "-serial", "stdio", "-append", "console=ttyS0 panic=-1"}),
            (V{"-kernel /g/vmlinuz r", "-initrd /g/initrd r"}));
}

TEST(QemuArgs, OptionSpellings) {
  // "--kernel" is "-kernel"; "-kernel=PATH" is no option of qemu's (it
  // exits: "invalid option"), and takes no value.
  EXPECT_EQ(of({"--kernel", "/k", "--bios", "b.bin"}), (V{"-kernel /k r", "-bios b.bin r"}));
  EXPECT_EQ(of({"-kernel=/etc/shadow", "-initrd", "/i"}), (V{"-initrd /i r"}));
  EXPECT_EQ(of({"--kernel=/etc/shadow"}), V{});
}

TEST(QemuArgs, AValueIsTheNextWordWhateverItLooksLike) {
  EXPECT_EQ(of({"-append", "-kernel /etc/shadow", "-kernel", "/k"}), (V{"-kernel /k r"}));
  // -name takes "-kernel"; "/etc/shadow" is then a disk image given alone,
  // which is not turned into a rule.
  EXPECT_EQ(of({"-name", "-kernel", "/etc/shadow"}), V{});
  // Options without a value, known or not, take nothing.
  EXPECT_EQ(of({"-nographic", "-kernel", "/k", "-frobnicate", "-initrd", "/i"}),
            (V{"-kernel /k r", "-initrd /i r"}));
  EXPECT_EQ(of({"-S", "-kernel"}), V{});  // no value: qemu exits
  EXPECT_EQ(of({"disk.img", "-", "-kernel", ""}), V{});
}

TEST(QemuArgs, DriveFiles) {
  EXPECT_EQ(of({"-drive", "file=/d/a.img,if=virtio,format=raw"}), V{"-drive /d/a.img rw"});
  // A doubled comma is a comma of the value.
  EXPECT_EQ(of({"-drive", "file=/d/a,,b.img,format=raw"}), V{"-drive /d/a,b.img rw"});
  EXPECT_EQ(of({"-drive", "if=none,id=d0,file=/d/,,,,x,,"}), V{"-drive /d/,,x, rw"});
  // The last file= is the one qemu opens.
  EXPECT_EQ(of({"-drive", "file=/d/1,file=/d/2"}), V{"-drive /d/2 rw"});
  EXPECT_EQ(of({"-drive", "if=none,id=d0"}), V{});
}

TEST(QemuArgs, ReadOnlyDrives) {
  for (const char* spec : {"file=/d/a,readonly=on", "file=/d/a,readonly", "readonly=yes,file=/d/a",
                           "file=/d/a,read-only=on", "file=/d/a,media=cdrom",
                           "file=/d/a,snapshot=on", "file=/d/a,readonly=true"})
    EXPECT_EQ(of({"-drive", spec}), V{"-drive /d/a r"}) << spec;
  for (const char* spec : {"file=/d/a,readonly=off", "file=/d/a,noreadonly",
                           "file=/d/a,readonly=on,readonly=off", "file=/d/a,media=disk"})
    EXPECT_EQ(of({"-drive", spec}), V{"-drive /d/a rw"}) << spec;
  // -snapshot opens every image read-only, unless the drive says otherwise.
  EXPECT_EQ(of({"-snapshot", "-drive", "file=/d/a", "-drive", "file=/d/b,snapshot=off"}),
            (V{"-drive /d/a r", "-drive /d/b rw"}));
  EXPECT_EQ(of({"-drive", "file=/d/a", "--snapshot"}), V{"-drive /d/a r"});
}

TEST(QemuArgs, DriveProtocolsAreNotFiles) {
  EXPECT_EQ(of({"-drive", "file=nbd:localhost:10809"}), V{});
  EXPECT_EQ(of({"-drive", "file=json:{\"driver\":\"file\",\"filename\":\"/x\"}"}), V{});
  EXPECT_EQ(of({"-drive", "file=https://example.org/x.iso,media=cdrom"}), V{});
  EXPECT_EQ(of({"-drive", "file=file:/d/a.img"}), V{"-drive /d/a.img rw"});
  EXPECT_EQ(of({"-drive", "file=./a:b.img"}), V{"-drive ./a:b.img rw"});
}

TEST(QemuArgs, CharacterDevices) {
  EXPECT_EQ(of({"-serial", "file:/r/console.log"}), V{"-serial /r/console.log w"});
  // file: takes the rest, commas and all.
  EXPECT_EQ(of({"-serial", "file:/r/a,b"}), V{"-serial /r/a,b w"});
  EXPECT_EQ(of({"-serial", "stdio", "-serial", "pty", "-serial", "/dev/ttyS0"}), V{});
  EXPECT_EQ(of({"-serial", "mon:file:/r/log"}), V{"-serial /r/log w"});
  EXPECT_EQ(of({"-qmp", "unix:/r/qmp.sock,server=on,wait=off"}), V{"-qmp /r/qmp.sock sock"});
  EXPECT_EQ(of({"-qmp", "unix:/r/qmp.sock,server,nowait"}), V{"-qmp /r/qmp.sock sock"});
  EXPECT_EQ(of({"-qmp-pretty", "unix:path=/r/q,,1.sock,server=on"}),
            V{"-qmp-pretty /r/q,1.sock sock"});
  EXPECT_EQ(of({"-monitor", "unix:/r/hmp.sock,server=on"}), V{"-monitor /r/hmp.sock sock"});
  // A client connects to a socket that exists: nothing is made.
  EXPECT_EQ(of({"-qmp", "unix:/r/qmp.sock"}), V{});
  EXPECT_EQ(of({"-qmp", "unix:/r/qmp.sock,server=off"}), V{});
  EXPECT_EQ(of({"-qmp", "unix:/r/q,server=on,abstract=on"}), V{});
  EXPECT_EQ(of({"-qmp", "tcp:127.0.0.1:4444,server=on"}), V{});
}

TEST(QemuArgs, Chardev) {
  EXPECT_EQ(of({"-chardev", "socket,id=c0,path=/r/c.sock,server=on,wait=off"}),
            V{"-chardev /r/c.sock sock"});
  EXPECT_EQ(of({"-chardev", "backend=socket,path=/r/c.sock,server"}), V{"-chardev /r/c.sock sock"});
  EXPECT_EQ(of({"-chardev", "socket,id=c0,path=/r/c.sock"}), V{});  // a client
  EXPECT_EQ(of({"-chardev", "socket,id=c0,host=127.0.0.1,port=4444,server=on"}), V{});
  EXPECT_EQ(of({"-chardev", "file,id=f0,path=/r/log,,1"}), V{"-chardev /r/log,1 w"});
  EXPECT_EQ(of({"-chardev", "pipe,id=p0,path=/r/p"}), V{});
}

TEST(QemuArgs, PidfileAndOrder) {
  EXPECT_EQ(of({"-pidfile", "vm.pid", "-bios", "/f/bios.bin", "-kernel", "k"}),
            (V{"-pidfile vm.pid pid", "-bios /f/bios.bin r", "-kernel k r"}));
}

TEST(QemuArgs, TheArgumentIsKeptAsWritten) {
  const std::vector<FileUse> f =
      files({"qemu", "-drive", "file=a,,b,readonly=on", "--qmp", "unix:/s,server=on"});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].argument, "file=a,,b,readonly=on");
  EXPECT_EQ(f[0].path, "a,b");
  EXPECT_EQ(f[1].option, "-qmp");
  EXPECT_EQ(f[1].argument, "unix:/s,server=on");
}

TEST(QemuArgs, RightsFromWhatExists) {
  auto is = [](Need n, bool parent, uint64_t access) {
    return !n.none && n.on_parent == parent && n.access == access;
  };
  EXPECT_TRUE(is(need(Use::kRead, true, S_IFREG, false), false, kReadFile));
  EXPECT_TRUE(is(need(Use::kRead, true, S_IFDIR, false), false, kReadFile | kReadDir));
  EXPECT_TRUE(is(need(Use::kReadWrite, true, S_IFREG, false), false,
                 kReadFile | kWriteFile | kTruncate));
  EXPECT_TRUE(is(need(Use::kReadWrite, true, S_IFBLK, false), false,
                 kReadFile | kWriteFile | kTruncate | kIoctlDev));
  // A file qemu writes: the file when it is there, else making one in its
  // directory (and writing there: the new file is under that rule only).
  EXPECT_TRUE(is(need(Use::kWrite, true, S_IFREG, false), false, kWriteFile | kTruncate));
  EXPECT_TRUE(is(need(Use::kWrite, false, 0, false), true, kMakeReg | kWriteFile | kTruncate));
  EXPECT_TRUE(is(need(Use::kPidfile, false, 0, false), true, kMakeReg | kWriteFile | kTruncate));
  EXPECT_TRUE(is(need(Use::kSocket, false, 0, false), true, kMakeSock));
  EXPECT_TRUE(is(need(Use::kSocket, true, S_IFSOCK, false), true, kMakeSock));
  // A pipe reached through /dev/fd/N is qemu's own descriptor.
  EXPECT_TRUE(need(Use::kWrite, true, S_IFIFO, true).none);
  EXPECT_FALSE(need(Use::kWrite, true, S_IFIFO, false).none);
}

// A temporary directory with a kernel and a disk image in it.
struct Files {
  Files() {
    char tmpl[] = "/tmp/boxjail-qemu-args-XXXXXX";
    dir = mkdtemp(tmpl);
    for (const char* f : {"vmlinuz", "disk.img", "console.log"}) close(creat((dir + "/" + f).c_str(), 0644));
  }
  ~Files() { EXPECT_EQ(std::system(("rm -rf " + dir).c_str()), 0); }
  std::string dir;
};

landlock::LandlockPlan plan_with_abi(int abi) {
  landlock::LandlockPlan p;
  p.abi = abi;
  p.requested = p.active = true;
  p.handled_fs = landlock::fs_rights_of_abi(abi);
  return p;
}

TEST(QemuArgs, RulesOnFilesAndDirectories) {
  Files f;
  landlock::LandlockPlan p = plan_with_abi(7);
  std::vector<Derived> derived;
  std::vector<std::string> warnings;
  std::string err;
  ASSERT_TRUE(add_rules({"qemu", "-kernel", "vmlinuz", "-drive", "file=" + f.dir + "/disk.img",
                         "-serial", "file:" + f.dir + "/new.log", "-pidfile", "vm.pid", "-qmp",
                         "unix:" + f.dir + "/qmp.sock,server=on"},
                        f.dir, &p, &derived, &warnings, &err))
      << err;
  ASSERT_EQ(p.paths.size(), 3u);
  EXPECT_EQ(p.paths[0].path, f.dir + "/vmlinuz");  // relative to qemu's directory
  EXPECT_EQ(p.paths[0].flags, "qemu -kernel");
  EXPECT_EQ(p.paths[0].access, kReadFile);
  EXPECT_EQ(p.paths[1].path, f.dir + "/disk.img");
  EXPECT_EQ(p.paths[1].access, kReadFile | kWriteFile | kTruncate);
  // The log, the PID file and the socket do not exist yet: one rule on
  // their directory, with what each needs.
  EXPECT_EQ(p.paths[2].path, f.dir);
  EXPECT_TRUE(p.paths[2].is_dir);
  EXPECT_EQ(p.paths[2].flags, "qemu -serial qemu -pidfile qemu -qmp");
  EXPECT_EQ(p.paths[2].access, kMakeReg | kWriteFile | kTruncate | kMakeSock);
  ASSERT_EQ(derived.size(), 5u);
  EXPECT_EQ(derived[4].use.argument, "unix:" + f.dir + "/qmp.sock,server=on");
  EXPECT_EQ(derived[4].rule_path, f.dir);
  EXPECT_EQ(derived[4].access, kMakeSock);
  EXPECT_TRUE(warnings.empty());
}

TEST(QemuArgs, AnExistingFileGetsItsOwnRule) {
  Files f;
  landlock::LandlockPlan p = plan_with_abi(7);
  std::vector<Derived> derived;
  std::vector<std::string> warnings;
  std::string err;
  ASSERT_TRUE(add_rules({"qemu", "-serial", "file:console.log", "-drive",
                         "file=disk.img,readonly=on"},
                        f.dir, &p, &derived, &warnings, &err));
  ASSERT_EQ(p.paths.size(), 2u);
  EXPECT_EQ(p.paths[0].path, f.dir + "/console.log");
  EXPECT_EQ(p.paths[0].access, kWriteFile | kTruncate);
  EXPECT_EQ(p.paths[1].access, kReadFile);
}

TEST(QemuArgs, MergedWithTheRuleOfAFlagOnTheSameInode) {
  Files f;
  landlock::LandlockPlan p = plan_with_abi(7);
  struct stat st {};
  ASSERT_EQ(stat(f.dir.c_str(), &st), 0);
  p.paths.push_back({f.dir, "--fs-ro", true, st.st_dev, st.st_ino, landlock::kRo});
  std::vector<Derived> derived;
  std::vector<std::string> warnings;
  std::string err;
  ASSERT_TRUE(add_rules({"qemu", "-pidfile", f.dir + "/vm.pid", "-qmp-pretty",
                         "unix:" + f.dir + "/q,server=on", "-qmp", "unix:" + f.dir + "/r,server=on"},
                        "/", &p, &derived, &warnings, &err));
  ASSERT_EQ(p.paths.size(), 1u);
  EXPECT_EQ(p.paths[0].flags, "--fs-ro qemu -pidfile qemu -qmp-pretty qemu -qmp");
  EXPECT_EQ(p.paths[0].access, landlock::kRo | kMakeReg | kWriteFile | kTruncate | kMakeSock);
}

TEST(QemuArgs, RightsTheKernelDoesNotHandleAreLeftOut) {
  Files f;
  landlock::LandlockPlan p = plan_with_abi(1);  // no truncate (ABI 3)
  std::vector<Derived> derived;
  std::vector<std::string> warnings;
  std::string err;
  ASSERT_TRUE(add_rules({"qemu", "-drive", "file=disk.img"}, f.dir, &p, &derived, &warnings, &err));
  ASSERT_EQ(p.paths.size(), 1u);
  EXPECT_EQ(p.paths[0].access, kReadFile | kWriteFile);

  // Without Landlock, nothing is added.
  landlock::LandlockPlan none;
  ASSERT_TRUE(add_rules({"qemu", "-kernel", "/nonexistent"}, "/", &none, &derived, &warnings, &err));
  EXPECT_TRUE(none.paths.empty());

  // A confined PROGRAM with no path rule (a domain of its own) now
  // handles the filesystem.
  landlock::LandlockPlan own = plan_with_abi(7);
  own.handled_fs = landlock::kMakeBlock;
  own.domain_only = true;
  ASSERT_TRUE(add_rules({"qemu", "-kernel", "vmlinuz"}, f.dir, &own, &derived, &warnings, &err));
  EXPECT_FALSE(own.domain_only);
  EXPECT_EQ(own.handled_fs, landlock::fs_rights_of_abi(7));
}

TEST(QemuArgs, Errors) {
  Files f;
  auto error = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), "qemu");
    landlock::LandlockPlan p = plan_with_abi(7);
    std::vector<Derived> derived;
    std::vector<std::string> warnings;
    std::string err;
    return add_rules(argv, f.dir, &p, &derived, &warnings, &err) ? std::string() : err;
  };
  EXPECT_EQ(error({"-kernel", "nokernel"}), "qemu -kernel nokernel: " + f.dir +
                                                "/nokernel: No such file or directory (qemu "
                                                "reads it; the path must exist)");
  EXPECT_EQ(error({"-drive", "file=/nonexistent/x.img,if=virtio"}),
            "qemu -drive file=/nonexistent/x.img,if=virtio: /nonexistent/x.img: No such file or "
            "directory (qemu reads and writes it; the path must exist)");
  EXPECT_EQ(error({"-serial", "file:/nonexistent/log"}),
            "qemu -serial file:/nonexistent/log: /nonexistent: No such file or directory (qemu "
            "makes the file there; the directory must exist)");
  EXPECT_EQ(error({"-qmp", "unix:" + f.dir + "/vmlinuz/q.sock,server=on"}),
            "qemu -qmp unix:" + f.dir + "/vmlinuz/q.sock,server=on: " + f.dir +
                "/vmlinuz/q.sock: Not a directory");
  // -bios NAME is also looked for in qemu's own directory; a multiboot
  // module list is not understood, and not refused.
  EXPECT_EQ(error({"-bios", "bios-microvm.bin"}), "");
  EXPECT_EQ(error({"-initrd", "/boot/mod1 arg=1,/boot/mod2"}), "");
}

TEST(QemuArgs, AnExistingSocketIsWarnedAbout) {
  Files f;
  const std::string sock = f.dir + "/qmp.sock";
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  ASSERT_LT(sock.size(), sizeof a.sun_path);
  sock.copy(a.sun_path, sock.size());
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(s);
  landlock::LandlockPlan p = plan_with_abi(7);
  std::vector<Derived> derived;
  std::vector<std::string> warnings;
  std::string err;
  ASSERT_TRUE(add_rules({"qemu", "-qmp", "unix:" + sock + ",server=on"}, "/", &p, &derived,
                        &warnings, &err));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "qemu -qmp unix:" + sock + ",server=on: " + sock +
                             " exists: qemu removes it before it listens, which its rule does not "
                             "allow (it would allow removing any file in " + f.dir +
                             "); remove it before the start");
}

}  // namespace
}  // namespace boxjail::qemu_args

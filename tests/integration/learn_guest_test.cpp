// --learn on a real VM monitor: qemu (TCG) boots the test guest while the
// supervisor learns; the learned file replays the boot under enforcement;
// a call or a path taken out of it shows as a named denial or as qemu's
// own "Permission denied".
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "guest.h"
#include "harness.h"
#include "privilege.h"

namespace {

using namespace harness;

class LearnGuest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = guest::unavailable(); !why.empty()) GTEST_SKIP() << why;
    chmod(d_.path.c_str(), 0755);
    if (std::string why = privilege::policy_files_refused_in(d_.path); !why.empty())
      GTEST_SKIP() << why;
    // The guest's files where the box's user can read them.
    for (const auto& [from, name] : {std::pair{guest::kernel(), "vmlinuz"},
                                     std::pair{guest::initrd(), "initrd"}}) {
      std::ifstream in(from, std::ios::binary);
      std::ofstream out(d_.path + "/" + name, std::ios::binary);
      out << in.rdbuf();
      chmod((d_.path + "/" + name).c_str(), 0644);
    }
    boot_.kernel = d_.path + "/vmlinuz";
    file_ = d_.path + "/qemu.toml";
  }
  std::vector<std::string> qemu() const {
    std::vector<std::string> a = guest::argv(boot_);
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == "-initrd") a[i + 1] = d_.path + "/initrd";
    return a;
  }
  Result under(std::vector<std::string> flags, std::string* status = nullptr) {
    Spawn s{.argv = {kBoxjail}, .timeout_ms = guest::kBootTimeoutMs};
    s.argv.insert(s.argv.end(), flags.begin(), flags.end());
    s.argv.push_back("--");
    for (auto& a : qemu()) s.argv.push_back(a);
    if (!status) return run(s);
    s.argv.insert(s.argv.begin() + 1, {"--status-fd", "9"});
    return run_with_pipe(s, 9, status);
  }
  void remove_line(const std::string& entry) {
    std::string text = slurp(file_), out;
    size_t at = text.find("\n" + entry + "\n");
    ASSERT_NE(at, std::string::npos) << entry << " not in\n" << text;
    text.erase(at + 1, entry.size() + 1);
    std::ofstream(file_, std::ios::trunc) << text;
  }
  TempDir d_;
  guest::Boot boot_;
  std::string file_;
};

TEST_F(LearnGuest, LearnTheBootReplayItThenTakeOutACallAndAPath) {
  std::vector<std::string> flags = {"--chdir", "/", "--learn", file_};
  if (!root_opt_in().empty()) flags.insert(flags.begin(), {"--user", "nobody"});
  Result r = under(flags);
  ASSERT_EQ(r.code(), 0) << r.err;
  ASSERT_NE(r.out.find(guest::kMarker), std::string::npos) << r.out;
  const std::string text = slurp(file_);
  EXPECT_NE(text.find("\"" + d_.path + "/vmlinuz\""), std::string::npos) << text;
  EXPECT_NE(text.find("  \"ppoll\","), std::string::npos) << text;  // qemu's main loop
  EXPECT_NE(text.find("net-deny = true"), std::string::npos) << text;

  // The replay boots the guest under enforcement.
  r = under({"--config", file_});
  ASSERT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find(guest::kMarker), std::string::npos) << r.out;

  // Without ppoll, the named denial says exactly that, and so does the
  // status line.
  const std::string full = text;
  remove_line("  \"ppoll\",");
  std::string status;
  r = under({"--config", file_}, &status);
  EXPECT_EQ(r.signal(), SIGSYS) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(called ppoll \(271\) with .*not in the allowlist; killed it)")))
      << r.err;
  EXPECT_NE(status.find("\"seccomp\": {\"syscall\": \"ppoll\", \"nr\": 271"), std::string::npos)
      << status;

  // Without the kernel's rule, qemu itself says Permission denied.
  std::ofstream(file_, std::ios::trunc) << full;
  remove_line("  \"" + d_.path + "/vmlinuz\",");
  r = under({"--config", file_});
  EXPECT_EQ(r.code(), 1) << r.err;
  EXPECT_NE(r.err.find("could not open kernel file '" + d_.path + "/vmlinuz': Permission denied"),
            std::string::npos)
      << r.err;
}

}  // namespace

namespace {

// --memory-deny-write-execute against a real JIT: qemu's TCG writes the
// code it runs, so it fails to start unless its code buffer is mapped
// twice (split-wx=on), once writable and once executable.
TEST_F(LearnGuest, MemoryDenyWriteExecuteStopsTcgUnlessItSplitsItsBuffer) {
  std::vector<std::string> flags = {"--memory-deny-write-execute"};
  if (!root_opt_in().empty()) flags.insert(flags.begin(), {"--user", "nobody"});
  Result r = under(flags);
  EXPECT_EQ(r.code(), 1) << r.err;
  EXPECT_NE(r.err.find("mprotect of jit buffer: Permission denied"), std::string::npos) << r.err;
  // The same boot with split-wx=on.
  Spawn s{.argv = {kBoxjail}, .timeout_ms = guest::kBootTimeoutMs};
  s.argv.insert(s.argv.end(), flags.begin(), flags.end());
  s.argv.push_back("--");
  for (auto a : qemu()) s.argv.push_back(a == "tcg" ? "tcg,split-wx=on" : a);
  r = run(s);
  EXPECT_EQ(r.code(), 0) << r.err;
  EXPECT_NE(r.out.find(guest::kMarker), std::string::npos) << r.out;
}

}  // namespace

// PROGRAM's Landlock denials, read back from the kernel's audit log
// (Landlock ABI 7, --landlock-log).
//
// With --landlock-log the kernel writes two record types for PROGRAM's
// domain (Documentation/admin-guide/LSM/landlock.rst, security/landlock/
// audit.c). As received here, after an "audit(SECONDS.MS:SERIAL): " prefix:
//   1423 AUDIT_LANDLOCK_ACCESS, one per denied request:
//     domain=180cbab30 blockers=fs.read_file path="/etc/hostname" dev="vda" ino=733
//     domain=180cbab73 blockers=net.connect_tcp daddr=127.0.0.1 dest=80
//     domain=180cbab73 blockers=scope.signal opid=1 ocomm="process_api"
//   1424 AUDIT_LANDLOCK_DOMAIN, once when the domain first shows (right after
//   its first 1423 record, in the same event), and once when it goes:
//     domain=180cbab30 status=allocated mode=enforcing pid=3824 uid=65534
//         exe="/work/main/build-audit/boxjail" comm="boxjail"
//     domain=180cbab30 status=deallocated denials=3
// `domain` is the youngest domain that denied the request, so with nested
// domains a record may name an enclosing domain someone else made, or one
// PROGRAM's descendants made. The records say which process made a domain
// (the allocated record's pid: the thread group that called
// landlock_restrict_self(), that is boxjail's child, which then became
// PROGRAM), not which process was denied. So PROGRAM's denials are the
// records of the domains whose allocated record has pid == PROGRAM. That
// includes a domain PROGRAM itself nests inside boxjail's (same pid), and
// leaves out the denials of an enclosing domain.
//
// Strings the kernel does not trust (path, dev, name, exe, comm, ocomm) come
// quoted, or hex-encoded when they hold a space, a quote or a byte outside
// 0x21..0x7e ("path=2F746D702F612062" is "/tmp/a b"). An abstract unix
// socket's name is hex with a leading NUL, shown here as "@name".
//
// Only the kernel's messages are read (sender port 0): a process with
// CAP_NET_ADMIN could send others to the socket.
//
// Parent side only. A LandlockDenials owns its audit socket (close-on-exec,
// non-blocking: it reads the whole system's audit log and must not reach
// PROGRAM); nothing else is kept open.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "boxjail/unique_fd.h"

namespace boxjail::audit {

inline constexpr int kLandlockAccess = 1423;  // AUDIT_LANDLOCK_ACCESS
inline constexpr int kLandlockDomain = 1424;  // AUDIT_LANDLOCK_DOMAIN

/// One Landlock audit record, its values decoded.
struct Record {
  enum class Kind { kAccess, kAllocated, kDeallocated };
  Kind kind = Kind::kAccess;
  std::string serial;  // "1796134702.408:2877" from the prefix, "" without one
  uint64_t domain = 0;
  // kAccess
  std::string blockers;  // "fs.make_reg,fs.refer", as the kernel spells them
  bool has_path = false;
  std::string path;    // with has_path: decoded, maybe " (deleted)" at the end
  std::string object;  // without: the other fields, "daddr=127.0.0.1 dest=80"
  // kAllocated
  pid_t pid = 0;
  std::string exe, comm;
  // kDeallocated
  uint64_t denials = 0;  // every denial the domain made, logged or not
};

/// Parses the text of one record of audit type `type` (the netlink message
/// type), with or without its "audit(...): " prefix. Fields it does not
/// know are kept (kAccess: in `object`) or skipped. False with the reason
/// in *why ("no domain=ID", "bad blockers=", "unknown status=frozen", ...)
/// for another type or a record that is not as the kernel writes them.
bool parse_record(int type, std::string_view text, Record* out, std::string* why);

class LandlockDenials {
 public:
  /// Most distinct (blockers, object) kept; the rest are only counted.
  static constexpr size_t kMaxEntries = 256;

  /// Subscribes to the audit log's read-only multicast group. Call it before
  /// the child starts, so that no record of PROGRAM's is missed. False with
  /// the reason in *why: "needs CAP_AUDIT_READ", "audit is disabled
  /// (auditctl -e 1)", "the kernel has no audit (CONFIG_AUDIT, or audit=0
  /// at boot)", "boxjail is in a PID namespace, ..." (the log's pids are
  /// the initial namespace's), or the call and its errno. Whether audit is
  /// on is checked only where boxjail may ask (CAP_AUDIT_CONTROL); a network
  /// namespace other than the initial one, which gets no records, shows
  /// only afterwards, in caveat().
  bool open(std::string* why);
  /// For poll(); non-blocking. -1 before open().
  int fd() const { return fd_.get(); }

  /// Reads the records waiting, without ever blocking, and keeps those of
  /// `program`'s domains. `program` is the process that called
  /// landlock_restrict_self(): boxjail's child, which became PROGRAM, by the
  /// pid boxjail's fork() returned. Stops after a few thousand records so
  /// that a flood from elsewhere cannot hold the caller: poll again. A
  /// record of a domain not yet known waits (a few dozen at most) for that
  /// domain's allocated record.
  void drain(pid_t program);
  /// The same for one record already received (what drain() does with
  /// each); the seam for the tests.
  void feed(pid_t program, int type, std::string_view text);

  /// At exit, after PROGRAM is reaped, the one call that waits: kauditd
  /// delivers records asynchronously, and a domain's deallocated record
  /// comes last, some 50 ms after the last process in it has gone. Waits at
  /// most `max_ms` for every domain of `program` seen to go, or, with none
  /// seen, 50 ms for stragglers.
  void settle(pid_t program, int max_ms);
  /// Whether a domain of `program` has shown but not yet gone.
  bool awaiting() const;

  /// One line per distinct (blockers, path or object), most frequent first
  /// (then first seen first): `fs.read_file /etc/passwd (3 times)`, a path
  /// quoted with C escapes when it holds a space, a quote, a backslash or a
  /// control character. At most `max` lines; when some are left out (or were
  /// never itemised, past kMaxEntries), the last line counts them:
  /// `... and 12 more denials of 4 kinds` (without the kinds when some were
  /// never itemised). Empty if PROGRAM was denied nothing that was logged.
  std::vector<std::string> report(size_t max) const;
  /// For --status-fd: [{"blockers":"fs.read_file","path":"/etc/passwd",
  /// "count":3}] in report()'s order, "object" instead of "path" for a
  /// denial that names no path, "path_hex" instead of "path" for a path that
  /// is not UTF-8. "[]" if none.
  std::string json() const;
  /// One line saying why the report may be incomplete, or "": the socket
  /// overflowed, the kernel counted more denials than were logged (audit's
  /// backlog limit, 64 records by default, drops a burst; a denial before
  /// PROGRAM's exec is counted but not logged), or no record at all reached
  /// boxjail (not even its own subscription's).
  std::string caveat() const;

  /// Denials of `program`'s domains logged, itemised or not.
  uint64_t logged() const { return logged_; }
  /// What the kernel counted for those domains at deallocation (0 until
  /// then).
  uint64_t kernel_count() const { return kernel_count_; }

 private:
  struct Entry {
    std::string blockers;
    bool has_path = false;
    std::string object;  // the path, or the other fields
    uint64_t count = 0;
  };
  struct Domain {
    pid_t creator = 0;
    bool gone = false;
  };
  void add(const Record& r);
  void resolve(pid_t program);
  std::vector<size_t> order() const;

  UniqueFd fd_;
  std::vector<char> buf_;
  std::unordered_map<uint64_t, Domain> domains_;  // from allocated records, bounded
  std::vector<Record> pending_;                   // kAccess, domain not known yet
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;  // blockers + '\0' + object
  pid_t program_ = 0;
  uint64_t logged_ = 0;
  uint64_t unlisted_ = 0;  // logged past kMaxEntries
  uint64_t kernel_count_ = 0;
  uint64_t received_ = 0;   // every record, of any type
  uint64_t overflows_ = 0;  // ENOBUFS: records the socket could not hold
};

}  // namespace boxjail::audit

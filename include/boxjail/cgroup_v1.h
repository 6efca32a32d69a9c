// --cgroup-set on a cgroup v1 hierarchy: the cgroup v2 names, translated.
//
// systemd's MemoryMax= works on both layouts; so do these names. A setting
// whose controller the v2 hierarchy has is written there as given. One
// that goes to a v1 hierarchy (a v1 or hybrid host) is translated with
// this table (man/boxjail.1, PLACEMENT):
//
//   v2 name           v1 file(s)                          value
//   memory.max        memory.limit_in_bytes               bytes; max is -1
//   memory.swap.max   memory.memsw.limit_in_bytes         memory.max + swap (v1 counts
//                                                         both); needs memory.max
//   memory.high       memory.soft_limit_in_bytes          bytes; approximate: v1 reclaims
//                                                         down to it only under pressure
//   pids.max          pids.max                            as given
//   cpu.max           cpu.cfs_period_us, cpu.cfs_quota_us "QUOTA [PERIOD]", max is -1;
//                                                         PERIOD defaults to 100000
//   cpu.weight        cpu.shares                          weight*1024/100 (systemd's)
//   io.weight         blkio.weight                        weight*500/100, clamped to
//                                                         10..1000 (systemd's)
//   cpuset.cpus/mems  cpuset.cpus/mems                    as given
//
// Any other name (a v1 name such as memory.limit_in_bytes, or a file the
// table does not know) is written as given, its byte count expanded where
// the file holds one. Everything here is pure: no file is read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace boxjail::cgroup {

/// One --cgroup-set FILE=VALUE, split (VALUE as given).
struct Request {
  std::string spec;  // FILE=VALUE
  std::string file;
  std::string value;
};

/// One file to write.
struct Write {
  std::string file;
  std::string value;
  std::string from;  // the v2 name it was translated from, or ""
  std::string note;  // what a reader of --dry-run should know, or ""
};

/// Parses a byte count: digits with an optional K, M, G, T, P or E suffix
/// (powers of 1024, then an optional B or iB). False if it is not one or
/// does not fit in 64 bits.
bool parse_bytes(const std::string& s, uint64_t* out);

/// Whether `file` holds a byte count (its VALUE takes suffixes).
bool is_bytes_file(const std::string& file);

/// The controller FILE belongs to: the part before the first dot.
std::string controller_of(const std::string& file);

/// The v1 hierarchy's controller that does what v2's `controller` does:
/// "blkio" for "io", the same name for the others.
std::string v1_controller(const std::string& controller);

/// Whether `file` is a v2 name this table translates.
bool translated(const std::string& file);

/// The names the table translates, for messages: "memory.max, ...".
std::string translated_names();

/// The value as written to a v2 hierarchy: byte counts expanded ("1G" →
/// "1073741824"), everything else as given. False with `*err` (without
/// "boxjail: ") when a byte count is not one.
bool for_v2(const Request& r, Write* out, std::string* err);

/// The file(s) and values to write in a v1 hierarchy for `r`, appended to
/// `*out` in the order to write them; `all` is every --cgroup-set request
/// (memory.swap.max needs memory.max). False with `*err` (without
/// "boxjail: ") when the value cannot be translated.
bool for_v1(const Request& r, const std::vector<Request>& all, std::vector<Write>* out,
            std::string* err);

}  // namespace boxjail::cgroup

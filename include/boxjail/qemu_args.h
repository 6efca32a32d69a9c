// qemu's own command line → the Landlock rules for the files it names, for
// --profile qemu (profile.h). Two parts:
//   - files(): PROGRAM's argv → what qemu will do with which file. Pure: it
//     reads strings and touches nothing, so the grammar is tested on argv
//     vectors;
//   - add_rules(): each of those, looked at once with stat(), → one rule
//     on the file or on its directory, merged into the Landlock plan as
//     landlock::check merges its own (one rule per inode).
// Parent side only; no descriptor is kept.
//
// The grammar is qemu 7.2's (softmmu/vl.c, util/qemu-option.c,
// chardev/char.c): "-opt" and "--opt" are the same option, an option that
// takes a value takes the next word whatever it looks like, "-opt=value" is
// not an option, and in "key=value,key=value" lists a doubled comma is a
// comma of the value. Options boxjail does not understand, and forms of the
// ones below that it does not (a protocol such as nbd: in file=, a
// "-chardev pipe"), give no rule: qemu then fails to open the file, with
// "Permission denied". Nothing is refused here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boxjail/landlock.h"

namespace boxjail::qemu_args {

/// What qemu does with a file its command line names.
enum class Use : uint8_t {
  kRead,       // -kernel, -initrd, -bios, -drive readonly=on (or media=cdrom, snapshot)
  kReadWrite,  // -drive file=
  kWrite,      // -serial file:, -chardev file,path=: written, made if missing
  kSocket,     // -qmp unix:, -chardev socket,path=,server=on: a socket made there
  kPidfile,    // -pidfile: written, made if missing, truncated
};

const char* use_name(Use u);

struct FileUse {
  std::string option;    // as qemu knows it: "-kernel" (also for "--kernel")
  std::string argument;  // the option's value, as written
  std::string path;      // the file, as qemu opens it ("file=a,,b" gives "a,b")
  Use use = Use::kRead;
};

/// The files `argv` (qemu's argv; argv[0], the program, is skipped) names
/// through -kernel, -initrd, -bios, -drive file=, -serial file:|unix:,
/// -qmp and -qmp-pretty unix:, -monitor unix:, -chardev socket|file
/// path=, and -pidfile, in their order. A word that is not an option (a
/// disk image given alone) and every option not listed are skipped; which
/// options take a value is qemu 7.2's table.
std::vector<FileUse> files(const std::vector<std::string>& argv);

/// The rule one use needs, from what exists: on the file itself when it
/// exists, else on the directory that would hold it.
struct Need {
  bool on_parent = false;  // the rule is on the directory that holds the path
  bool none = false;       // no rule is needed (a pipe or socket qemu inherits)
  uint64_t access = 0;     // landlock::k* rights
};
/// `exists`: the path exists; `mode`: its st_mode (when it exists);
/// `descriptor`: it is reached through /dev/fd/ or /proc/*/fd/. Pure.
Need need(Use use, bool exists, unsigned mode, bool descriptor);

/// One rule add_rules() made, for --dry-run.
struct Derived {
  FileUse use;
  std::string rule_path;  // the file, or its directory
  uint64_t access = 0;
};

/// Adds to `plan` the rules for what `argv` (PROGRAM's argv) names; a
/// relative path is taken from `cwd`, qemu's working directory. Rights are
/// cut to those the plan handles; nothing is added when Landlock is off (ABI
/// 0). Read and read-write files must exist, and so must the directory of
/// a file qemu makes: otherwise false with a one-line `*err` naming the
/// argument. `*warnings` gets a line for a socket path that exists already
/// (qemu unlinks it first, which the rule does not allow).
bool add_rules(const std::vector<std::string>& argv, const std::string& cwd,
               landlock::LandlockPlan* plan, std::vector<Derived>* derived,
               std::vector<std::string>* warnings, std::string* err);

}  // namespace boxjail::qemu_args

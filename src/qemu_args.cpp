#include "boxjail/qemu_args.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

namespace boxjail::qemu_args {
namespace {

using landlock::kIoctlDev;
using landlock::kMakeReg;
using landlock::kMakeSock;
using landlock::kReadDir;
using landlock::kReadFile;
using landlock::kTruncate;
using landlock::kWriteFile;

// The options of qemu-system-x86_64 7.2 that take a value (HAS_ARG in
// qemu-options.hx), read from the binary's option table: the word after
// one of these is its value, whatever it looks like. Every other option
// takes none; one qemu does not know makes it exit ("invalid option").
constexpr std::string_view kTakesValue[] = {
    "D", "L", "M", "accel", "acpitable", "action", "add-fd", "append", "audio", "audiodev",
    "bios", "blockdev", "boot", "cdrom", "chardev", "chroot", "compat", "cpu", "d", "debugcon",
    "device", "dfilter", "display", "drive", "dtb", "dump-vmstate", "echr", "fda", "fdb", "fsdev",
    "fw_cfg", "g", "gdb", "global", "hda", "hdb", "hdc", "hdd", "icount", "incoming", "initrd",
    "iscsi", "k", "kernel", "loadvm", "m", "machine", "mem-path", "mon", "monitor", "msg",
    "mtdblock", "name", "net", "netdev", "nic", "numa", "object", "option-rom", "overcommit",
    "parallel", "pflash", "pidfile", "plugin", "prom-env", "qmp", "qmp-pretty", "qtest",
    "qtest-log", "readconfig", "rotate", "rtc", "runas", "sandbox", "sd", "seed",
    "semihosting-config", "serial", "set", "smbios", "smp", "spice", "tpmdev", "trace",
    "usbdevice", "uuid", "vga", "virtfs", "vnc", "watchdog-action", "xen-domid",
};

bool takes_value(std::string_view name) {
  return std::find(std::begin(kTakesValue), std::end(kTakesValue), name) != std::end(kTakesValue);
}

using Opts = std::vector<std::pair<std::string, std::string>>;

// A value in a "key=value,..." list, from `at`: up to the first comma that
// is not doubled, with ",," read as ",". Returns where the value ends.
size_t opt_value(const std::string& s, size_t at, std::string* value) {
  value->clear();
  while (at < s.size()) {
    if (s[at] == ',') {
      if (at + 1 < s.size() && s[at + 1] == ',') {
        *value += ',';
        at += 2;
        continue;
      }
      break;
    }
    *value += s[at++];
  }
  return at;
}

// qemu's QemuOpts syntax (util/qemu-option.c, opts_do_parse): key=value
// pairs separated by commas; a key without "=" is a flag (on, or off with
// a "no" prefix), except the first when the option has an implied key
// (`implied`, such as "backend" for -chardev), which then takes the word.
Opts parse_opts(const std::string& s, const char* implied) {
  Opts out;
  size_t at = 0;
  bool first = true;
  while (at < s.size()) {
    const size_t len = std::min(s.find_first_of("=,", at), s.size()) - at;
    std::string name, value;
    if (at + len >= s.size() || s[at + len] != '=') {
      if (first && implied != nullptr) {
        name = implied;
        at = opt_value(s, at, &value);
      } else {
        name = s.substr(at, len);
        at += len;
        if (name.rfind("no", 0) == 0) {
          name.erase(0, 2);
          value = "off";
        } else {
          value = "on";
        }
      }
    } else {
      name = s.substr(at, len);
      at = opt_value(s, at + len + 1, &value);
    }
    if (at < s.size() && s[at] == ',') ++at;
    first = false;
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// The last value of `key` (qemu reads the last), or nullptr.
const std::string* get(const Opts& opts, std::string_view key) {
  for (auto it = opts.rbegin(); it != opts.rend(); ++it)
    if (it->first == key) return &it->second;
  return nullptr;
}

// qapi_bool_parse: on, yes, true, y; anything else (off, no, false, n, or
// what qemu refuses) is false.
bool is_true(const std::string* v) {
  return v != nullptr && (*v == "on" || *v == "yes" || *v == "true" || *v == "y");
}

// -drive file=VALUE → the file, or "" for what is not a plain file: a
// protocol (nbd:, json:, a ':' before any '/', as block.c's
// path_has_protocol reads it), except "file:" itself.
std::string drive_path(const std::string& file) {
  if (file.rfind("file:", 0) == 0) return file.substr(5);
  const size_t special = file.find_first_of(":/\\");
  if (special != std::string::npos && file[special] == ':') return "";
  return file;
}

// The legacy character-device syntax of -serial, -qmp and -monitor
// (chardev/char.c, qemu_chr_parse_compat): "file:PATH" (the rest is the
// path, commas and all), "unix:PATH[,server=on,...]" (QemuOpts with the path
// first), after an optional "mon:" prefix. Other backends name no file
// boxjail makes a rule for.
void legacy_chardev(const std::string& option, const std::string& arg,
                    std::vector<FileUse>* out) {
  std::string spec = arg;
  if (spec.rfind("mon:", 0) == 0) spec.erase(0, 4);
  if (spec.rfind("file:", 0) == 0) {
    if (spec.size() > 5) out->push_back({option, arg, spec.substr(5), Use::kWrite});
    return;
  }
  if (spec.rfind("unix:", 0) == 0) {
    const Opts o = parse_opts(spec.substr(5), "path");
    const std::string* path = get(o, "path");
    if (path != nullptr && !path->empty() && is_true(get(o, "server")) &&
        !is_true(get(o, "abstract")))
      out->push_back({option, arg, *path, Use::kSocket});
  }
}

// -chardev BACKEND,id=ID,...: a listening unix socket, or a file.
void chardev(const std::string& arg, std::vector<FileUse>* out) {
  const Opts o = parse_opts(arg, "backend");
  const std::string* backend = get(o, "backend");
  const std::string* path = get(o, "path");
  if (backend == nullptr || path == nullptr || path->empty()) return;
  if (*backend == "socket" && is_true(get(o, "server")) && !is_true(get(o, "abstract")))
    out->push_back({"-chardev", arg, *path, Use::kSocket});
  else if (*backend == "file")
    out->push_back({"-chardev", arg, *path, Use::kWrite});
}

// -drive: file= read-write, or read-only with readonly=on (also spelled
// read-only), media=cdrom, snapshot=on or qemu's -snapshot (the image is
// then opened read-only, and writes go to a temporary file).
void drive(const std::string& arg, bool snapshot, std::vector<FileUse>* out) {
  const Opts o = parse_opts(arg, nullptr);
  const std::string* file = get(o, "file");
  if (file == nullptr) return;
  const std::string path = drive_path(*file);
  if (path.empty()) return;
  const std::string* media = get(o, "media");
  const std::string* snap = get(o, "snapshot");
  const bool ro = is_true(get(o, "readonly")) || is_true(get(o, "read-only")) ||
                  (media != nullptr && *media == "cdrom") ||
                  (snap != nullptr ? is_true(snap) : snapshot);
  out->push_back({"-drive", arg, path, ro ? Use::kRead : Use::kReadWrite});
}

}  // namespace

const char* use_name(Use u) {
  switch (u) {
    case Use::kRead: return "read";
    case Use::kReadWrite: return "read and write";
    case Use::kWrite: return "write, made if missing";
    case Use::kSocket: return "listening socket";
    case Use::kPidfile: return "PID file";
  }
  return "?";
}

std::vector<FileUse> files(const std::vector<std::string>& argv) {
  // The options in order, each with its value; a word that is not an
  // option is a disk image given alone (not turned into a rule).
  std::vector<std::pair<std::string, std::string>> given;
  bool snapshot = false;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 2 || a[0] != '-') continue;
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    if (!takes_value(name)) {
      snapshot |= name == "snapshot";
      continue;
    }
    if (i + 1 >= argv.size()) break;  // qemu: "requires an argument"
    given.emplace_back("-" + name, argv[++i]);
  }
  std::vector<FileUse> out;
  for (const auto& [option, arg] : given) {
    if (option == "-kernel" || option == "-initrd" || option == "-bios") {
      if (!arg.empty()) out.push_back({option, arg, arg, Use::kRead});
    } else if (option == "-pidfile") {
      if (!arg.empty()) out.push_back({option, arg, arg, Use::kPidfile});
    } else if (option == "-drive") {
      drive(arg, snapshot, &out);
    } else if (option == "-serial" || option == "-qmp" || option == "-qmp-pretty" ||
               option == "-monitor") {
      legacy_chardev(option, arg, &out);
    } else if (option == "-chardev") {
      chardev(arg, &out);
    }
  }
  return out;
}

Need need(Use use, bool exists, unsigned mode, bool descriptor) {
  Need n;
  // A pipe or a socket reached through /dev/fd/N is one qemu inherits:
  // Landlock does not restrict reopening those, and no rule could name one.
  if (exists && descriptor && (S_ISFIFO(mode) || S_ISSOCK(mode))) {
    n.none = true;
    return n;
  }
  const bool dir = exists && S_ISDIR(mode);
  const bool device = exists && (S_ISBLK(mode) || S_ISCHR(mode));
  switch (use) {
    case Use::kRead:
      n.access = dir ? kReadFile | kReadDir : kReadFile;
      break;
    case Use::kReadWrite:
      // A host block device (-drive file=/dev/sdb) takes its ioctls too.
      n.access = kReadFile | kWriteFile | kTruncate | (device ? kIoctlDev : 0);
      break;
    case Use::kWrite:
    case Use::kPidfile:
      // Written (and truncated: qemu opens a log with O_TRUNC and
      // ftruncate()s its PID file). A file that is not there yet is made:
      // a regular file in the directory, which then needs writing there.
      n.on_parent = !exists;
      n.access = kWriteFile | kTruncate | (exists ? 0 : kMakeReg);
      break;
    case Use::kSocket:
      n.on_parent = true;
      n.access = kMakeSock;
      break;
  }
  return n;
}

namespace {

std::string absolute(const std::string& path, const std::string& cwd) {
  if (!path.empty() && path[0] == '/') return path;
  return (cwd.empty() || cwd.back() == '/' ? cwd : cwd + "/") + path;
}

std::string parent_of(const std::string& abs) {
  const size_t slash = abs.find_last_of('/');
  return slash == 0 ? "/" : abs.substr(0, slash);
}

// Through /dev/fd/N or /proc/PID/fd/N: a descriptor of the process.
bool through_descriptor(const std::string& abs) {
  return abs.rfind("/dev/fd/", 0) == 0 ||
         (abs.rfind("/proc/", 0) == 0 && abs.find("/fd/") != std::string::npos);
}

}  // namespace

bool add_rules(const std::vector<std::string>& argv, const std::string& cwd,
               landlock::LandlockPlan* plan, std::vector<Derived>* derived,
               std::vector<std::string>* warnings, std::string* err) {
  const std::vector<FileUse> uses = files(argv);
  if (uses.empty() || plan->abi <= 0) return true;  // no Landlock: check() said so
  for (const FileUse& u : uses) {
    const std::string what = "qemu " + u.option + " " + u.argument;
    const std::string abs = absolute(u.path, cwd);
    struct stat st {};
    const bool exists = stat(abs.c_str(), &st) == 0;
    const int e = errno;
    if (!exists && e != ENOENT)
      return *err = what + ": " + abs + ": " + std::strerror(e), false;
    // -bios NAME without a directory is also looked for in qemu's data
    // directory, which the profile reads.
    if (!exists && u.option == "-bios" && u.path.find('/') == std::string::npos) continue;
    // "-initrd 'mod1 arg,mod2'" is a multiboot module list, not understood.
    if (!exists && u.option == "-initrd" && u.path.find_first_of(", ") != std::string::npos)
      continue;
    if (!exists && (u.use == Use::kRead || u.use == Use::kReadWrite))
      return *err = what + ": " + abs + ": " + std::strerror(e) + " (qemu " +
                    (u.use == Use::kRead ? "reads" : "reads and writes") +
                    " it; the path must exist)",
             false;
    const Need n = need(u.use, exists, st.st_mode, through_descriptor(abs));
    if (n.none) continue;
    std::string target = abs;
    if (n.on_parent) {
      target = parent_of(abs);
      const std::string why = std::string(" (qemu makes ") +
                              (u.use == Use::kSocket ? "its socket" : "the file") +
                              " there; the directory must exist)";
      if (stat(target.c_str(), &st) != 0)
        return *err = what + ": " + target + ": " + std::strerror(errno) + why, false;
      if (!S_ISDIR(st.st_mode)) return *err = what + ": " + target + ": not a directory" + why, false;
    }
    if (u.use == Use::kSocket && exists)
      warnings->push_back(what + ": " + abs + " exists: qemu removes it before it listens, "
                          "which its rule does not allow (it would allow removing any file in " +
                          target + "); remove it before the start");
    // The rights Landlock handles here; a confined PROGRAM without path
    // rules handles them from now on.
    if (plan->handled_fs == 0 || plan->domain_only) {
      plan->handled_fs = landlock::fs_rights_of_abi(plan->abi);
      plan->domain_only = false;
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    uint64_t access = n.access & plan->handled_fs;
    if (!is_dir) access &= landlock::kFileRights;
    auto same = [&](const landlock::PathRule& p) { return p.dev == st.st_dev && p.ino == st.st_ino; };
    auto it = std::find_if(plan->paths.begin(), plan->paths.end(), same);
    if (it == plan->paths.end()) {
      plan->paths.push_back({target, "", is_dir, st.st_dev, st.st_ino, 0});
      it = plan->paths.end() - 1;
    }
    it->access |= access;
    const std::string flag = "qemu " + u.option;
    if ((" " + it->flags + " ").find(" " + flag + " ") == std::string::npos)
      it->flags += (it->flags.empty() ? "" : " ") + flag;
    derived->push_back({u, target, access});
  }
  plan->active = plan->handled_fs != 0 || plan->handled_net != 0 || plan->scoped != 0;
  return true;
}

}  // namespace boxjail::qemu_args

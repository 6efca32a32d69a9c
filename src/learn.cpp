#include "boxjail/learn.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "boxjail/cli.h"
#include "boxjail/config.h"
#include "boxjail/plan.h"

namespace boxjail::learn {
namespace {

using notify::Answer;
using notify::Call;

constexpr int kAtFdcwd = AT_FDCWD;

std::string readlink_str(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// "/a//b/./c/../d" → "/a/b/d", without following links.
std::string lexical(const std::string& p) {
  std::vector<std::string> parts;
  std::istringstream in(p);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& x : parts) out += "/" + x;
  return out.empty() ? "/" : out;
}

std::string parent_of(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
}

bool is_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool under(const std::string& p, const std::string& dir) {
  return p == dir || (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 &&
                      (dir == "/" || p[dir.size()] == '/'));
}

// Where a directory rule would be too wide: only the files seen are named.
bool exact_only(const std::string& dir) {
  if (dir == "/" || dir == "/home" || dir == "/root") return true;
  if (parent_of(dir) == "/home") return true;
  for (const char* d : {"/proc", "/sys", "/dev", "/etc"})
    if (under(dir, d)) return true;
  return false;
}

}  // namespace

const std::vector<std::string>& base_calls() {
  static const std::vector<std::string> v = {"exit", "exit_group", "rt_sigreturn",
                                             "restart_syscall"};
  return v;
}

void Learner::path_access(pid_t tid, int dirfd, uint64_t addr, unsigned access, bool parent) {
  std::string p;
  if (!notify::read_string(tid, addr, PATH_MAX, &p) || p.empty()) return;
  const pid_t tgid = notify::thread_group_of(tid);
  if (p[0] != '/') {
    std::string base = dirfd == kAtFdcwd
                           ? readlink_str("/proc/" + std::to_string(tid) + "/cwd")
                           : readlink_str("/proc/" + std::to_string(tid) + "/fd/" +
                                          std::to_string(dirfd));
    if (base.empty() || base[0] != '/') return;
    p = base + "/" + p;
  }
  // The caller's own /proc entries, under any of their names.
  if (under(p, "/proc/self")) p = "/proc/" + std::to_string(tgid) + p.substr(10);
  if (under(p, "/proc/thread-self"))
    p = "/proc/" + std::to_string(tgid) + "/task/" + std::to_string(tid) + p.substr(17);
  p = lexical(p);
  if (under(p, "/proc")) {
    std::string rest = p.substr(std::min<size_t>(p.size(), 6));
    std::string first = rest.substr(0, rest.find('/'));
    if (is_digits(first)) {
      if (l_.per_process.size() < 256) l_.per_process.insert("/proc/self" + rest.substr(first.size()));
      return;
    }
  }
  if (parent) p = parent_of(p);
  char real[PATH_MAX];
  if (realpath(p.c_str(), real)) {
    p = real;
  } else if (!parent && realpath(parent_of(p).c_str(), real)) {
    // Made by the call (O_CREAT): the right is the directory's.
    if (access & kMake) {
      l_.paths[real] |= kMake;
      return;
    }
    return;
  } else {
    return;
  }
  if (!parent) access &= ~kMake;
  // Bounded: a PROGRAM that names a million paths does not grow the
  // supervisor without end (the file says when paths were left out).
  if (access && (l_.paths.size() < kMaxPaths || l_.paths.count(p))) l_.paths[p] |= access;
  else if (access) l_.paths_left_out = true;
}

void Learner::sockaddr_of(const Call& c, bool bind) {
  sockaddr_storage sa{};
  const size_t len = std::min<size_t>(c.args[2], sizeof sa);
  if (len < sizeof(sa_family_t) || !notify::read_memory(c.tid, c.args[1], &sa, len)) return;
  if (sa.ss_family == AF_UNIX) {
    // A socket made in the file system needs the right to make it there.
    auto* un = reinterpret_cast<sockaddr_un*>(&sa);
    if (!bind || len <= offsetof(sockaddr_un, sun_path) || un->sun_path[0] == '\0') return;
    std::string path(un->sun_path, strnlen(un->sun_path, len - offsetof(sockaddr_un, sun_path)));
    if (path.empty()) return;
    if (path[0] != '/') path = readlink_str("/proc/" + std::to_string(c.tid) + "/cwd") + "/" + path;
    char real[PATH_MAX];
    if (realpath(parent_of(lexical(path)).c_str(), real)) l_.paths[real] |= kMake;
    return;
  }
  if (sa.ss_family != AF_INET && sa.ss_family != AF_INET6) return;
  const unsigned port = ntohs(reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  // TCP, or UDP (which has no port rules): ask the socket itself.
  const pid_t tgid = notify::thread_group_of(c.tid);
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, tgid, 0)));
  UniqueFd sock(pidfd.valid() ? static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(),
                                                         static_cast<int>(c.args[0]), 0))
                              : -1);
  int type = SOCK_STREAM, proto = IPPROTO_TCP;
  socklen_t sl = sizeof type;
  if (sock.valid()) {
    getsockopt(sock.get(), SOL_SOCKET, SO_TYPE, &type, &sl);
    sl = sizeof proto;
    getsockopt(sock.get(), SOL_SOCKET, SO_PROTOCOL, &proto, &sl);
  }
  l_.inet = true;
  if (type == SOCK_DGRAM) {
    l_.udp = true;
    return;
  }
  if (type != SOCK_STREAM || proto != IPPROTO_TCP || port == 0) return;
  (bind ? l_.bind_ports : l_.connect_ports).insert(port);
}

Answer Learner::on_call(const Call& c, bool pre_exec) {
  if (c.nr == kHandoverSyscall) return {Answer::Kind::kError, ENOSYS};
  // Before exec only the child's execve of PROGRAM is PROGRAM's business.
  if (pre_exec && c.nr != SYS_execve) return {Answer::Kind::kContinue, 0};
  ++l_.calls;
  if (std::string name = notify::syscall_name(c.nr); name[0] == '#') {
    if (l_.unknown.size() < 64) l_.unknown.insert(c.nr);
  } else {
    l_.syscalls.insert(name);
  }
  const int a0 = static_cast<int>(c.args[0]);
  auto open_access = [](uint64_t flags) -> unsigned {
    if (flags & O_PATH) return 0;
    unsigned a = 0;
    switch (flags & O_ACCMODE) {
      case O_RDONLY: a = kRead; break;
      case O_WRONLY: a = kWrite; break;
      default: a = kRead | kWrite;
    }
    if (flags & O_TRUNC) a |= kWrite;
    if (flags & O_CREAT) a |= kMake;
    return a;
  };
  switch (c.nr) {
    case SYS_open: path_access(c.tid, kAtFdcwd, c.args[0], open_access(c.args[1]), false); break;
    case SYS_creat: path_access(c.tid, kAtFdcwd, c.args[0], kWrite | kMake, false); break;
    case SYS_openat: path_access(c.tid, a0, c.args[1], open_access(c.args[2]), false); break;
    case SYS_openat2: {
      open_how how{};
      if (c.args[3] >= sizeof how.flags && notify::read_memory(c.tid, c.args[2], &how, sizeof how.flags))
        path_access(c.tid, a0, c.args[1], open_access(how.flags), false);
      break;
    }
    case SYS_execve: path_access(c.tid, kAtFdcwd, c.args[0], kRead | kExec, false); break;
    case SYS_execveat: path_access(c.tid, a0, c.args[1], kRead | kExec, false); break;
    case SYS_truncate: path_access(c.tid, kAtFdcwd, c.args[0], kWrite, false); break;
    case SYS_mkdir:
    case SYS_rmdir:
    case SYS_unlink:
    case SYS_mknod: path_access(c.tid, kAtFdcwd, c.args[0], kMake, true); break;
    case SYS_mkdirat:
    case SYS_unlinkat:
    case SYS_mknodat: path_access(c.tid, a0, c.args[1], kMake, true); break;
    case SYS_rename:
    case SYS_link:
      path_access(c.tid, kAtFdcwd, c.args[0], kMake, true);
      path_access(c.tid, kAtFdcwd, c.args[1], kMake, true);
      break;
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_linkat:
      path_access(c.tid, a0, c.args[1], kMake, true);
      path_access(c.tid, static_cast<int>(c.args[2]), c.args[3], kMake, true);
      break;
    case SYS_symlink: path_access(c.tid, kAtFdcwd, c.args[1], kMake, true); break;
    case SYS_symlinkat: path_access(c.tid, static_cast<int>(c.args[1]), c.args[2], kMake, true); break;
    case SYS_socket: {
      const int domain = a0, type = static_cast<int>(c.args[1]) & 0xf;
      if (domain == AF_INET || domain == AF_INET6) {
        l_.inet = true;
        if (type == SOCK_DGRAM) l_.udp = true;
      } else if (domain != AF_UNIX && domain != AF_NETLINK) {
        l_.other_families.insert(std::to_string(domain));
      }
      break;
    }
    case SYS_connect: sockaddr_of(c, false); break;
    case SYS_bind: sockaddr_of(c, true); break;
    case SYS_ioctl: {
      // A device ioctl needs the device's write rule (--fs-rw).
      std::string p = readlink_str("/proc/" + std::to_string(c.tid) + "/fd/" + std::to_string(a0));
      auto it = l_.paths.find(p);
      if (under(p, "/dev") && it != l_.paths.end()) it->second |= kWrite;
      break;
    }
    default: break;
  }
  return {Answer::Kind::kContinue, 0};
}

FsRules fs_rules(const std::map<std::string, unsigned>& in) {
  FsRules out;
  std::map<std::string, unsigned> dirs, files;
  for (const auto& [p, a] : in) {
    struct stat st{};
    if (stat(p.c_str(), &st) != 0) {
      out.notes.push_back(p + ": gone since the run, left out");
      continue;
    }
    (S_ISDIR(st.st_mode) ? dirs : files)[p] |= a;
  }
  // Several files under one directory: one rule on the directory.
  std::map<std::string, std::vector<std::string>> by_parent;
  for (const auto& [p, a] : files) by_parent[parent_of(p)].push_back(p);
  for (const auto& [dir, members] : by_parent) {
    if (members.size() < 3 || exact_only(dir)) continue;
    for (const auto& m : members) {
      dirs[dir] |= files[m] & ~kMake;
      files.erase(m);
    }
  }
  for (auto it = dirs.begin(); it != dirs.end();) {
    const std::string& d = it->first;
    if (d == "/" || d == "/home" || d == "/root" || parent_of(d) == "/home") {
      out.notes.push_back(d + ": never granted whole (" +
                          (d == "/" ? std::string("the root") : "a home directory") +
                          "); name what PROGRAM needs beneath it");
      it = dirs.erase(it);
      continue;
    }
    ++it;
  }
  auto covered = [&](const std::string& p, unsigned a) {
    for (const auto& [d, da] : dirs)
      if (d != p && under(p, d) && (a & ~(da | ((da & kMake) ? kWrite : 0u))) == 0) return true;
    return false;
  };
  auto put = [&](const std::string& p, unsigned a) {
    if (a & kMake) a |= kWrite;
    if ((a & kExec) && (a & kWrite)) out.rwx.push_back(p);
    else if (a & kExec) out.rx.push_back(p);
    else if (a & kWrite) out.rw.push_back(p);
    else out.ro.push_back(p);
  };
  for (const auto& [p, a] : dirs)
    if (!covered(p, a)) put(p, a | kRead);
  for (const auto& [p, a] : files)
    if (!covered(p, a)) put(p, a);
  return out;
}

namespace {

// The options that concern one run only, or that --learn writes itself.
bool run_only(const std::string& key) {
  for (const char* k : {"learn", "config", "dry-run", "verbose", "quiet", "log-level", "features",
                        "status-fd", "check-pidfile", "list-syscall-groups"})
    if (key == k) return true;
  return false;
}

bool learned_key(const std::string& key) {
  for (const char* k : {"fs-ro", "fs-rx", "fs-rw", "fs-rwx", "fs-exec-deps", "net-connect",
                        "net-bind", "net-deny", "net-allow-udp", "seccomp-allow", "seccomp-deny"})
    if (key == k) return true;
  return false;
}

void quote(std::string* out, const std::string& s) {
  *out += '"';
  for (char ch : s) {
    if (ch == '"' || ch == '\\') *out += '\\';
    *out += ch;
  }
  *out += '"';
}

// One value of a `key = value` line as this file writes it: a string, an
// array of strings, true/false or a number (kept as its text).
std::vector<std::string> parse_value(const std::string& v) {
  std::vector<std::string> out;
  size_t i = 0;
  auto str = [&]() {
    std::string s;
    for (++i; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      s += v[i];
    }
    ++i;
    return s;
  };
  while (i < v.size() && v[i] == ' ') ++i;
  if (i < v.size() && v[i] == '[') {
    for (++i; i < v.size() && v[i] != ']'; ++i)
      if (v[i] == '"') {
        out.push_back(str());
        --i;
      }
    return out;
  }
  if (i < v.size() && v[i] == '"') return {str()};
  std::string bare = v.substr(i);
  bare = bare.substr(0, bare.find('#'));
  while (!bare.empty() && (bare.back() == ' ' || bare.back() == '\r')) bare.pop_back();
  return {bare};
}

struct Existing {
  std::vector<std::pair<std::string, std::vector<std::string>>> keys;
  int runs = 0;
  std::vector<std::string> get(const std::string& k) const {
    for (const auto& [key, v] : keys)
      if (key == k) return v;
    return {};
  }
  bool has(const std::string& k) const {
    for (const auto& kv : keys)
      if (kv.first == k) return true;
    return false;
  }
};

bool read_existing(const std::string& file, Existing* e, std::string* err) {
  std::ifstream in(file);
  if (!in) {
    if (errno == ENOENT) return true;
    return *err = "--learn " + file + ": " + std::strerror(errno), false;
  }
  std::string text;
  try {
    text = config::join_arrays(in);
  } catch (const std::exception& ex) {
    return *err = "--learn " + file + ": cannot merge into it: " + ex.what(), false;
  }
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# boxjail-learn-runs: ", 0) == 0) e->runs = std::atoi(line.c_str() + 22);
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos)
      return *err = "--learn " + file + ": cannot merge into it: '" + line + "' is not key = value",
             false;
    std::string key = line.substr(b, eq - b);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    e->keys.push_back({key, parse_value(line.substr(eq + 1))});
  }
  return true;
}

void put_array(std::string* out, const std::string& key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  *out += key + " = [\n";
  for (const auto& s : v) {
    *out += "  ";
    quote(out, s);
    *out += ",\n";
  }
  *out += "]\n";
}

std::string now_utc() {
  char buf[32];
  time_t t = time(nullptr);
  tm tmv{};
  gmtime_r(&t, &tmv);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  return buf;
}

}  // namespace

bool write_config(const std::string& file, const Learned& l,
                  const std::vector<std::pair<std::string, std::vector<std::string>>>& given_opts,
                  const std::string& program, std::string* err) {
  Existing e;
  if (!read_existing(file, &e, err)) return false;

  // What the file held and what this run was given, then what it learned.
  std::map<std::string, unsigned> paths = l.paths;
  auto add_paths = [&](const std::vector<std::string>& v, unsigned a) {
    for (const auto& p : v) paths[p] |= a;
  };
  std::vector<std::pair<std::string, std::vector<std::string>>> given;
  for (const auto& kv : given_opts)
    if (!run_only(kv.first)) given.push_back(kv);
  for (const auto* src : {&e.keys, &given})
    for (const auto& [k, v] : *src) {
      if (k == "fs-ro") add_paths(v, kRead);
      if (k == "fs-rx") add_paths(v, kRead | kExec);
      if (k == "fs-rw") add_paths(v, kRead | kWrite);
      if (k == "fs-rwx") add_paths(v, kRead | kWrite | kExec);
    }
  std::set<std::string> calls(l.syscalls.begin(), l.syscalls.end());
  for (const auto& c : base_calls()) calls.insert(c);
  for (const auto& entry : e.get("seccomp-allow")) {
    std::istringstream in(entry);
    std::string one;
    while (std::getline(in, one, ','))
      if (!one.empty()) calls.insert(one);
  }
  std::set<std::string> connect, bind;
  for (unsigned p : l.connect_ports) connect.insert(std::to_string(p));
  for (unsigned p : l.bind_ports) bind.insert(std::to_string(p));
  bool udp = l.udp, inet = l.inet;
  for (const auto* src : {&e.keys, &given})
    for (const auto& [k, v] : *src) {
      if (k == "net-connect") connect.insert(v.begin(), v.end());
      if (k == "net-bind") bind.insert(v.begin(), v.end());
      if (k == "net-allow-udp" && !v.empty() && v[0] == "true") udp = inet = true;
    }
  if (!connect.empty() || !bind.empty()) inet = true;
  if (e.runs > 0 && !e.has("net-deny")) inet = true;  // an earlier run used the network

  std::string text = "# Written by boxjail --learn from runs of " + program + "; last run " +
                     now_utc() + " (" + std::to_string(l.calls) + " calls).\n" +
                     "# boxjail-learn-runs: " + std::to_string(e.runs + 1) + "\n" +
                     "# Replay it under enforcement: boxjail --config FILE -- PROGRAM ARGS...\n"
                     "# Read it, and take out what PROGRAM should not need.\n";
  // The run's other options: this run's, else the file's.
  std::vector<std::string> written;
  auto put_key = [&](const std::string& k, const std::vector<std::string>& v) {
    if (learned_key(k) || run_only(k) || k == "command") return;
    if (std::find(written.begin(), written.end(), k) != written.end()) return;
    written.push_back(k);
    const Flag* f = find_flag(k);
    if (f && !f->value && (v.empty() || v[0] == "true" || v[0] == "1")) {
      text += k + " = true\n";
    } else if (v.size() == 1) {
      text += k + " = ";
      quote(&text, v[0]);
      text += "\n";
    } else {
      put_array(&text, k, v);
    }
  };
  for (const auto& [k, v] : given) put_key(k, v);
  for (const auto& [k, v] : e.keys) put_key(k, v);

  text += "\n# Landlock: PROGRAM, its interpreter and libraries; the files it used.\n";
  text += "fs-exec-deps = true\n";
  if (!l.per_process.empty()) {
    text += "# PROGRAM read its own /proc files, which Landlock cannot name apart from every\n"
            "# process's (/proc/PID changes from run to run); /proc is granted read-only for:\n";
    for (const auto& p : l.per_process) text += "#   " + p + "\n";
    paths["/proc"] |= kRead;
  }
  FsRules r = fs_rules(paths);
  for (const auto& n : r.notes) text += "# " + n + "\n";
  if (l.paths_left_out)
    text += "# PROGRAM named more than " + std::to_string(kMaxPaths) +
            " paths; the ones after that were left out\n";
  for (auto* v : {&r.ro, &r.rx, &r.rw, &r.rwx}) std::sort(v->begin(), v->end());
  put_array(&text, "fs-ro", r.ro);
  put_array(&text, "fs-rx", r.rx);
  put_array(&text, "fs-rw", r.rw);
  put_array(&text, "fs-rwx", r.rwx);

  text += "\n# Network.\n";
  if (!inet) {
    text += "net-deny = true\n";
  } else {
    put_array(&text, "net-connect", {connect.begin(), connect.end()});
    put_array(&text, "net-bind", {bind.begin(), bind.end()});
    if (udp) text += "net-allow-udp = true\n";
    if (connect.empty() && bind.empty() && !udp)
      text += "# IPv4/IPv6 sockets were made, but no TCP connect or bind was seen\n";
  }
  for (const auto& f : l.other_families)
    text += "# PROGRAM made sockets of address family " + f +
            ", which --net-deny and --net-connect refuse\n";

  text += "\n# seccomp: every call seen, and what every process needs to start and end.\n";
  put_array(&text, "seccomp-allow", {calls.begin(), calls.end()});
  if (!l.unknown.empty()) {
    text += "# PROGRAM also called numbers no system call here has (they fail with the\n# default action):";
    for (int n : l.unknown) text += " " + std::to_string(n);
    text += "\n";
  }
  // io_uring's operations pass neither seccomp nor the socket rules: it
  // failed with EPERM in the learning run, and does so here.
  text += "# io_uring, whose operations seccomp and the socket rules do not see, fails\n"
          "# with EPERM, as it did in the learning run.\n"
          "seccomp-deny = [\"@io_uring:EPERM\"]\n";

  // Atomically, readable by its owner only.
  std::string tmp = file + ".XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  int fd = mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return *err = "--learn " + file + ": " + std::strerror(errno), false;
  UniqueFd out(fd);
  fchmod(fd, 0600);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t w = write(fd, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      unlink(name.data());
      return *err = "--learn " + file + ": " + std::strerror(errno), false;
    }
    off += static_cast<size_t>(w);
  }
  if (fsync(fd) != 0 || rename(name.data(), file.c_str()) != 0) {
    const int e2 = errno;
    unlink(name.data());
    return *err = "--learn " + file + ": " + std::strerror(e2), false;
  }
  return true;
}

}  // namespace boxjail::learn

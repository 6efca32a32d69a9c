#include "boxjail/execdeps.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

#include "boxjail/exec_path.h"
#include "boxjail/unique_fd.h"

namespace boxjail::execdeps {
namespace {

// What one ELF object says about loading it.
struct ElfInfo {
  int elf_class = 0;
  int machine = 0;
  std::string interp;
  std::vector<std::string> needed;
  std::vector<std::string> rpath, runpath;  // split, not yet expanded
  bool has_runpath = false;
};

// Owns an Elf handle.
struct ElfHandle {
  Elf* e = nullptr;
  ~ElfHandle() {
    if (e) elf_end(e);
  }
};

std::vector<std::string> split_colons(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(':', start);
    if (c == std::string_view::npos) c = s.size();
    if (c > start) out.emplace_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

// Reads `path` as ELF. false when it is not an ELF file (or unreadable).
bool read_elf(const std::string& path, ElfInfo* info) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  ElfHandle h;
  h.e = elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr);
  if (!h.e || elf_kind(h.e) != ELF_K_ELF) return false;
  GElf_Ehdr eh;
  if (!gelf_getehdr(h.e, &eh)) return false;
  info->elf_class = gelf_getclass(h.e);
  info->machine = eh.e_machine;
  size_t nph = 0, raw_size = 0;
  const char* raw = elf_rawfile(h.e, &raw_size);
  if (elf_getphdrnum(h.e, &nph) == 0) {
    for (size_t i = 0; i < nph; ++i) {
      GElf_Phdr ph;
      if (!gelf_getphdr(h.e, static_cast<int>(i), &ph) || ph.p_type != PT_INTERP) continue;
      if (raw && ph.p_offset < raw_size && ph.p_filesz <= raw_size - ph.p_offset)
        info->interp.assign(raw + ph.p_offset, strnlen(raw + ph.p_offset, ph.p_filesz));
    }
  }
  for (Elf_Scn* scn = elf_nextscn(h.e, nullptr); scn; scn = elf_nextscn(h.e, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || sh.sh_entsize == 0) continue;
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Dyn d;
      if (!gelf_getdyn(data, static_cast<int>(i), &d)) break;
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag != DT_NEEDED && d.d_tag != DT_RPATH && d.d_tag != DT_RUNPATH) continue;
      const char* s = elf_strptr(h.e, sh.sh_link, d.d_un.d_val);
      if (!s) continue;
      if (d.d_tag == DT_NEEDED) info->needed.emplace_back(s);
      if (d.d_tag == DT_RPATH) info->rpath = split_colons(s);
      if (d.d_tag == DT_RUNPATH) {
        info->runpath = split_colons(s);
        info->has_runpath = true;
      }
    }
  }
  return true;
}

std::string dir_of(const std::string& path) {
  char real[PATH_MAX];
  std::string p = realpath(path.c_str(), real) ? std::string(real) : path;
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
}

// $ORIGIN, $LIB and $PLATFORM, as Debian's x86_64 loader expands them.
std::string expand(std::string s, const std::string& origin) {
  static const std::pair<const char*, const char*> kLib[] = {
      {"LIB", "lib/x86_64-linux-gnu"}, {"PLATFORM", "x86_64"}};
  for (size_t at = s.find('$'); at != std::string::npos; at = s.find('$', at)) {
    bool brace = at + 1 < s.size() && s[at + 1] == '{';
    size_t name = at + (brace ? 2 : 1);
    std::string value;
    size_t len = 0;
    auto word = [&](const char* w) {
      size_t n = strlen(w);
      return s.compare(name, n, w) == 0 && (!brace || (name + n < s.size() && s[name + n] == '}'))
                 ? n
                 : 0;
    };
    if ((len = word("ORIGIN"))) {
      value = origin;
    } else {
      for (const auto& [w, v] : kLib)
        if ((len = word(w))) {
          value = v;
          break;
        }
    }
    if (!len) {
      ++at;
      continue;
    }
    size_t end = name + len + (brace ? 1 : 0);
    s.replace(at, end - at, value);
    at += value.size();
  }
  return s;
}

// /etc/ld.so.cache ("glibc-ld.so.cache1.1" format: a header, then 24-byte
// entries whose key and value are offsets from the start of the file), read
// once and searched in place. Empty if absent or in another format.
std::string_view ld_cache() {
  static const std::string_view map = [] {
    UniqueFd fd(open("/etc/ld.so.cache", O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd.valid() || fstat(fd.get(), &st) != 0 || st.st_size < 48) return std::string_view();
    // Mapped, not copied: boxjail reads a few entries of it, once.
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return std::string_view();
    std::string_view v(static_cast<const char*>(p), static_cast<size_t>(st.st_size));
    static const char kMagic[] = "glibc-ld.so.cache1.1";
    return v.substr(0, sizeof kMagic - 1) == kMagic ? v : std::string_view();
  }();
  return map;
}

// Calls `f(path)` for each cache entry named `name`, until it returns true.
template <typename F>
bool cache_lookup(const std::string& name, F f) {
  const std::string_view buf = ld_cache();
  if (buf.empty()) return false;
  uint32_t n = 0;
  std::memcpy(&n, buf.data() + 20, 4);
  // The entry's string at `off`, if it is NUL-terminated within the file.
  auto str = [&](uint32_t off) -> std::string_view {
    if (off >= buf.size()) return {};
    size_t len = strnlen(buf.data() + off, buf.size() - off);
    return off + len < buf.size() ? buf.substr(off, len) : std::string_view();
  };
  for (uint64_t i = 0; i < n && 48 + (i + 1) * 24 <= buf.size(); ++i) {
    uint32_t key = 0, value = 0;
    std::memcpy(&key, buf.data() + 48 + i * 24 + 4, 4);
    std::memcpy(&value, buf.data() + 48 + i * 24 + 8, 4);
    if (str(key) != name) continue;
    std::string_view v = str(value);
    if (!v.empty() && f(std::string(v))) return true;
  }
  return false;
}

const char* const kDefaultDirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                    "/lib64", "/usr/lib64", "/lib", "/usr/lib"};

const char* env_of(char* const* envp, std::string_view name) {
  for (char* const* e = envp; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
      return *e + name.size() + 1;
  }
  return nullptr;
}

class Resolver {
 public:
  Resolver(char* const* envp, std::vector<Dep>* out) : envp_(envp), out_(out) {
    if (const char* llp = env_of(envp, "LD_LIBRARY_PATH")) ld_library_path_ = split_colons(llp);
  }

  bool program(const std::string& path, const std::string& why, int depth, std::string* err) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      *err = "cannot read '" + path + "' (" + why + "): " + std::strerror(errno);
      return false;
    }
    char head[256] = {};
    ssize_t n = read(fd.get(), head, sizeof head - 1);
    fd.reset();
    if (n >= 2 && head[0] == '#' && head[1] == '!') return script(path, head, why, depth, err);
    ElfInfo info;
    if (!read_elf(path, &info)) {
      *err = "'" + path + "' (" + why + ") is neither an ELF file nor a #! script";
      return false;
    }
    add(path, true, why);
    exe_ = info;
    exe_path_ = path;
    if (!info.interp.empty()) {
      ElfInfo interp;
      if (!read_elf(info.interp, &interp)) {
        *err = "cannot read the ELF interpreter '" + info.interp + "' of '" + path + "'";
        return false;
      }
      add(info.interp, true, "interpreter of " + path);
      add("/etc/ld.so.cache", false, "the dynamic loader's cache");
    }
    return libraries(path, info, err);
  }

 private:
  bool script(const std::string& path, const char* head, const std::string& why, int depth,
              std::string* err) {
    if (depth >= 4) {
      *err = "'" + path + "': more than four levels of #! interpreters";
      return false;
    }
    std::string line(head + 2);
    line = line.substr(0, line.find('\n'));
    std::vector<std::string> words;
    for (size_t at = 0; at < line.size();) {
      size_t start = line.find_first_not_of(" \t", at);
      if (start == std::string::npos) break;
      size_t end = line.find_first_of(" \t", start);
      if (end == std::string::npos) end = line.size();
      words.push_back(line.substr(start, end - start));
      at = end;
    }
    if (words.empty()) {
      *err = "'" + path + "': empty #! line";
      return false;
    }
    add(path, true, why);
    const std::string& interp = words[0];
    if (!program(interp, "interpreter of " + path, depth + 1, err)) return false;
    // "#!/usr/bin/env NAME" (or "env -S NAME ..."): NAME runs too.
    if (interp.size() >= 4 && interp.compare(interp.size() - 4, 4, "/env") == 0) {
      for (size_t i = 1; i < words.size(); ++i) {
        if (words[i] == "-S" || words[i][0] == '-') continue;
        std::string resolved;
        if (int e = resolve_program(words[i], env_of(envp_, "PATH"), &resolved)) {
          *err = "'" + path + "': cannot find '" + words[i] + "' (named by #!" + interp +
                 "): " + std::strerror(e);
          return false;
        }
        return program(resolved, "run by " + path, depth + 1, err);
      }
    }
    return true;
  }

  bool compatible(const std::string& candidate, ElfInfo* info) const {
    return read_elf(candidate, info) && info->elf_class == exe_.elf_class &&
           info->machine == exe_.machine;
  }

  // Finds `name` for `obj` (whose info and origin are given); "" if absent.
  std::string find(const std::string& name, const ElfInfo& obj, const std::string& path,
                   ElfInfo* found) const {
    // $ORIGIN needs the object's real directory: only work it out for a
    // path list that uses it.
    std::string origin_cache;
    auto expand_for = [&](const std::string& d) {
      if (d.find('$') == std::string::npos) return d;
      if (origin_cache.empty()) origin_cache = dir_of(path);
      return expand(d, origin_cache);
    };
    if (name.find('/') != std::string::npos)
      return compatible(name, found) ? name : "";
    std::vector<std::string> dirs;
    if (!obj.has_runpath) {
      for (const auto& d : obj.rpath) dirs.push_back(expand_for(d));
      if (!exe_.has_runpath)
        for (const auto& d : exe_.rpath)
          dirs.push_back(d.find('$') == std::string::npos ? d : expand(d, dir_of(exe_path_)));
    }
    for (const auto& d : ld_library_path_) dirs.push_back(expand_for(d));
    for (const auto& d : obj.runpath) dirs.push_back(expand_for(d));
    for (const auto& d : dirs)
      if (compatible(d + "/" + name, found)) return d + "/" + name;
    std::string hit;
    if (cache_lookup(name, [&](const std::string& candidate) {
          if (!compatible(candidate, found)) return false;
          hit = candidate;
          return true;
        }))
      return hit;
    for (const char* d : kDefaultDirs)
      if (compatible(std::string(d) + "/" + name, found)) return std::string(d) + "/" + name;
    return "";
  }

  bool libraries(const std::string& path, const ElfInfo& info, std::string* err) {
    for (const auto& name : info.needed) {
      ElfInfo lib;
      std::string at = find(name, info, path, &lib);
      if (at.empty()) {
        *err = "cannot find " + name + " (needed by " + path + ") where the loader looks";
        return false;
      }
      if (!add(at, true, name + " (needed by " + path + ")")) continue;
      // The loader may prefer a variant for this CPU's level.
      std::string dir = at.substr(0, at.rfind('/'));
      for (const char* level : {"x86-64-v4", "x86-64-v3", "x86-64-v2"}) {
        std::string variant = dir + "/glibc-hwcaps/" + level + "/" + name;
        ElfInfo v;
        if (compatible(variant, &v)) {
          add(variant, true, name + " for " + level);
          if (!libraries(variant, v, err)) return false;
        }
      }
      if (!libraries(at, lib, err)) return false;
    }
    return true;
  }

  // false if `path` was already there.
  bool add(const std::string& path, bool exec, const std::string& why) {
    if (!seen_.insert(path).second) return false;
    out_->push_back({path, exec, why});
    return true;
  }

  char* const* envp_;
  std::vector<Dep>* out_;
  std::vector<std::string> ld_library_path_;
  ElfInfo exe_;
  std::string exe_path_;
  std::set<std::string> seen_;
};

}  // namespace

bool resolve(const std::string& program, char* const* envp, std::vector<Dep>* out,
             std::string* err) {
  elf_version(EV_CURRENT);
  Resolver r(envp, out);
  return r.program(program, "PROGRAM", 0, err);
}

}  // namespace boxjail::execdeps

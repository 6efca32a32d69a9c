// --fs-exec-deps: the files that exec'ing PROGRAM reads and maps, found the
// way the kernel and the dynamic loader find them, without running it:
//   - a "#!" script: the script, then its interpreter's files (through
//     "#!/usr/bin/env NAME" too, with NAME looked up in PATH), up to four
//     levels as the kernel allows;
//   - an ELF file: itself, its PT_INTERP, and every DT_NEEDED library,
//     transitively, searched in the loader's order: DT_RPATH (when there is
//     no DT_RUNPATH, the object's and the executable's), LD_LIBRARY_PATH,
//     DT_RUNPATH, /etc/ld.so.cache, then the default directories; $ORIGIN,
//     $LIB and $PLATFORM are expanded, and a candidate counts only if it is
//     an ELF file of the executable's class and machine. Variants under a
//     directory's glibc-hwcaps/ are included, since the loader may prefer
//     one; so is /etc/ld.so.cache itself (read only), which the loader opens.
// Parsing uses libelf (elfutils). Libraries loaded later with dlopen() are
// not found: the program does not name them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace boxjail::execdeps {

struct Dep {
  std::string path;
  bool exec = true;  // read+execute; false: read only (the loader's cache)
  std::string why;   // "program", "interpreter", "libc.so.6 (needed by ...)"
};

/// Resolves the files `program` (an absolute or relative path) needs at
/// exec, with `envp` giving PATH (for "#!/usr/bin/env") and
/// LD_LIBRARY_PATH. False with a one-line reason in `*err` when a needed
/// file cannot be found or parsed.
bool resolve(const std::string& program, char* const* envp, std::vector<Dep>* out,
             std::string* err);

}  // namespace boxjail::execdeps

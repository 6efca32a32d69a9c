#include "boxjail/version.h"

#include "boxjail_gitrev.h"  // generated at build time by cmake/gitrev.cmake

namespace boxjail {

bool fault_injection_built() {
#ifdef BOXJAIL_FAULT_INJECTION
  return true;
#else
  return false;
#endif
}

std::string version_text() {
  std::string s = "boxjail " BOXJAIL_VERSION;
  const std::string rev = BOXJAIL_GIT_REV;
  s += rev.empty() ? " (not built from git)\n" : " (git " + rev + ")\n";
  s += "build: " BOXJAIL_BUILD_TYPE;
#ifdef BOXJAIL_LINK_STATIC
  s += ", static-pie";
#else
  s += ", dynamic pie";
#endif
#if defined(__SANITIZE_ADDRESS__)
  s += ", sanitizers: address,undefined";
#else
  s += ", sanitizers: none";
#endif
  s += fault_injection_built() ? ", fault injection: ON" : ", fault injection: off";
#ifdef __clang__
  s += "\ncompiler: clang " __clang_version__ "\n";
#else
  s += "\ncompiler: gcc " __VERSION__ "\n";
#endif
  if (fault_injection_built())
    s += "WARNING: this is a test build with fault injection (BOXJAIL_FAIL_STEP makes any\n"
         "WARNING: setup step fail on purpose). It is for the test suite only: never install it.\n";
  return s;
}

}  // namespace boxjail

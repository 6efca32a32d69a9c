// What --version prints: the version, the git revision, and how this binary
// was built.
#pragma once

#include <string>

namespace boxjail {

/// Whether this build honours BOXJAIL_FAIL_STEP (a test-suite build that
/// must never be installed).
bool fault_injection_built();

/// The text of --version, ending in a newline.
std::string version_text();

}  // namespace boxjail

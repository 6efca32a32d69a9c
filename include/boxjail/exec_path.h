// PROGRAM lookup, done in the parent before anything is created.
#pragma once

#include <string>
#include <string_view>

namespace boxjail {

/// Resolves PROGRAM the way execvp() would: a name with a slash is used as
/// it is; otherwise each entry of `path_env` (":"-separated; an empty entry
/// means the working directory; nullptr means the default
/// "/usr/local/bin:/usr/bin:/bin") is tried in order for an executable
/// regular file.
///
/// Returns 0 and sets `*resolved`, or an errno: ENOENT when nothing was
/// found, EACCES when only non-executable candidates were, EISDIR for a
/// directory given with a slash.
int resolve_program(std::string_view program, const char* path_env,
                    std::string* resolved);

}  // namespace boxjail

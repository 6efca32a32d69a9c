// Parent-side writes that never raise SIGPIPE.
#pragma once

#include <cstddef>
#include <string_view>

namespace boxjail {

/// Writes all of `data` to `fd`. A reader that went away yields false, not
/// a SIGPIPE: the signal is blocked around the write and a SIGPIPE the write
/// raised is consumed, so the supervisor never forwards its own SIGPIPE to
/// PROGRAM and a detaching boxjail is not killed by a launcher that stopped
/// listening.
bool write_all_quietly(int fd, std::string_view data);

}  // namespace boxjail

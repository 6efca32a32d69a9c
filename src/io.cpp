#include "boxjail/io.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace boxjail {

bool write_all_quietly(int fd, std::string_view data) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigprocmask(SIG_BLOCK, &pipe_only, &old);
  bool ok = true, broken = false;
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      broken = n < 0 && errno == EPIPE;
      break;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (broken) {
    // Our own SIGPIPE is pending on this thread: take it out of the queue.
    timespec zero{0, 0};
    sigtimedwait(&pipe_only, nullptr, &zero);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

}  // namespace boxjail

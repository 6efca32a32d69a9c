// The default mode's parent after a successful exec: forward signals, wait,
// pass the exit status on.
#pragma once

#include <sys/types.h>

namespace boxjail {

/// Forwards every signal boxjail receives (except SIGCHLD) to `child` until
/// it ends, and returns its wait status (pass it to exit_like()). When `tty_fd` is
/// a terminal whose foreground boxjail handed to the child, job control is
/// relayed: a stopped child stops boxjail, and `fg` hands the terminal back.
///
/// Precondition: every signal is blocked in the calling thread.
int supervise(pid_t child, int tty_fd);

/// Gives back memory only the start-up needed: freed heap, and the resident
/// pages of the read-only parts of the binary. Called by supervise().
void release_startup_memory();

/// Ends the process with `status` as returned by waitpid(): exit(code), or
/// death by the same signal (core dumps off), falling back to 128+N.
[[noreturn]] void exit_like(int status);

}  // namespace boxjail

// boxjail-wait: the small program boxjail's supervisor becomes while
// PROGRAM runs (include/boxjail/wait_abi.h describes the hand-over).
//
//   boxjail-wait STATE_FD
//
// It forwards every signal to PROGRAM, reaps, follows PROGRAM's job-control
// stops on the terminal as src/supervise.cpp does, and once PROGRAM has
// ended writes the result into the state and execs boxjail again:
//   boxjail --resume-wait STATE_FD
// It does the same, with `ended` = 2, as soon as the seccomp listener or
// the timer in the state is readable.
// It writes nothing in normal operation, and allocates nothing.
#pragma once

namespace bjwait {

/// The program, after start.cpp has set up the stack protector. Returns
/// the exit status (125: STATE_FD is not a hand-over); the normal end is
/// an exec and does not return.
/// Never inlined into the unprotected start-up code: it must keep its own
/// stack protector.
__attribute__((noinline)) int wait_main(int argc, char** argv, char** envp);

}  // namespace bjwait

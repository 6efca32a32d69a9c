// The hand-over between boxjail's supervisor and boxjail-wait (src/wait/),
// the small program it becomes while PROGRAM runs, and back.
//
// Once PROGRAM runs, a supervisor that needs nothing but signals and
// wait4() execs boxjail-wait (same pid: PROGRAM stays its child, every
// signal stays blocked and pending across execve). boxjail-wait forwards
// signals, reaps, does job control on the terminal, and when PROGRAM has
// ended it execs boxjail again to finish: the end report, the clean-up of
// what PROGRAM left, cgroup removal, the PID file. That keeps a waiting
// box at a few pages of memory instead of boxjail's start-up image.
//
// Both sides share one memfd (`state_fd`). It starts with this struct;
// boxjail's own end state (opaque to boxjail-wait) follows at offset
// `size`. boxjail-wait reads the struct, fills in the result fields with
// pwrite(), and execs `exe_fd` as
//     boxjail --resume-wait STATE_FD
// Plain C, no libc types: boxjail-wait is built without a C library.
#pragma once

#include <stdint.h>

#define BJ_WAIT_MAGIC 0x41574a42u  /* "BJWA" */
#define BJ_WAIT_VERSION 1u
#define BJ_WAIT_PROGRAM "boxjail-wait"
#define BJ_WAIT_RESUME_FLAG "--resume-wait"
#define BJ_WAKE_LISTENER 1u
#define BJ_WAKE_TIMER 2u

struct bj_wait_state {
  uint32_t magic;    // BJ_WAIT_MAGIC
  uint32_t version;  // BJ_WAIT_VERSION
  uint32_t size;     // sizeof(struct bj_wait_state); boxjail's end state follows
  int32_t child;     // PROGRAM: the leader of its own process group
  int32_t ctty_fd;   // 0, 1 or 2 when that is boxjail's controlling terminal, else -1
  int32_t exe_fd;    // boxjail itself (O_PATH), execveat()ed at the end
  int32_t state_fd;  // this memfd
  uint8_t signal_group;  // forward signals to PROGRAM's process group, not its pid
  uint8_t wait_any;      // reap every child (subreaper, PID 1, --cgroup's adoption)
  uint8_t wake;          // BJ_WAKE_LISTENER | BJ_WAKE_TIMER: which of the two are in use
  uint8_t pad;
  // Descriptors that call boxjail back while PROGRAM runs: the seccomp
  // listener of named denials and --exec-once (a denied call waits in it)
  // and the --timeout timerfd. When one is readable, boxjail-wait execs
  // boxjail just as at the end, with `ended` = 2, and boxjail supervises in
  // place from there. A listener that reports POLLHUP (nothing is left
  // under the filter) is closed, and `wake` written without its bit.
  int32_t listener_fd;
  int32_t timer_fd;
  // Written by boxjail-wait once PROGRAM has ended (or a wake_fd is
  // readable), before the exec:
  int32_t ended;        // 1: PROGRAM ended; 2: woken, PROGRAM still runs
  int32_t status;       // PROGRAM's wait status, from wait4() (ended = 1)
  int64_t rusage[18];   // the kernel's struct rusage for PROGRAM (144 bytes; ended = 1)
};

// The supervisor's hand-over to boxjail-wait (wait_abi.h), and the resume.
//
// Once PROGRAM runs, the supervisor execs boxjail-wait from boxjail's own
// directory: a program of a few pages, without a C library, that forwards
// signals, reaps and does job control. When PROGRAM has ended, boxjail-wait
// execs boxjail again, which finishes from the state written here
// (finish.h). A denied call waiting in the seccomp listener, or --timeout's
// timer, brings boxjail back the same way before the end, and it then
// supervises in place (supervise.h) for the rest of the box's life.
// With --ready, the hand-over comes once PROGRAM is ready. Not handed
// over: --learn, --landlock-log, -vv (which shows each signal forwarded),
// a box whose denials were named already, valgrind. Where boxjail-wait is
// missing or cannot be trusted, or the exec fails, the supervisor stays.
#pragma once

#include <string>

#include "boxjail/finish.h"
#include "boxjail/pidfile.h"
#include "boxjail/seccomp.h"
#include "boxjail/supervise.h"
#include "boxjail/unique_fd.h"

namespace boxjail {
namespace cgroup {
class CgroupRuntime;
}

namespace handover {

/// boxjail-wait beside the running boxjail (O_PATH), or invalid with `*why`
/// (empty when it is simply not installed). It must be a regular file
/// owned by root, by boxjail's euid or by the owner of the boxjail binary,
/// and writable by nobody else.
UniqueFd find_waiter(std::string* why);

/// Why `program` (PROGRAM, running) could reach the supervisor while it
/// execs boxjail-wait or boxjail again, or "" when the kernel keeps it out
/// anyway. execve makes a process dumpable until the new image's first
/// prctl(), and a PROGRAM that may signal the supervisor can stop it in
/// that window for as long as it likes, then ptrace it or open its
/// /proc/PID/mem. The kernel refuses that to a `confined` PROGRAM with a
/// Landlock domain (ptrace stays inside it), with other uids or gids than
/// the supervisor's, with fewer capabilities than the supervisor's
/// permitted set, or under yama's ptrace_scope >= 1 (PROGRAM is no
/// ancestor of the supervisor). An unconfined PROGRAM of the same uid has
/// nothing to gain from the supervisor.
std::string exec_exposure(pid_t program, bool confined, bool landlocked);

/// Execs `waiter` as this process. Returns only if that failed, with
/// `*why`; nothing is changed then and the caller supervises in place.
/// `pf` is null without a PID file.
/// With `so.listener` (named denials and --exec-once, whose rules are in
/// `seccomp`) or `so.timer_fd` (--timeout), boxjail-wait execs boxjail back
/// as soon as a call waits or the timer fires, and boxjail supervises in
/// place from there.
bool exec_waiter(const UniqueFd& waiter, const SuperviseOptions& so, const EndFacts& facts,
                 const PidRecord& rec, cgroup::CgroupRuntime* cg, PidFile* pf,
                 const seccomp::SeccompPlan& seccomp, std::string* why);

/// `boxjail --resume-wait FD`: run by boxjail-wait once PROGRAM has ended.
[[noreturn]] void resume(const char* fd_arg);

}  // namespace handover
}  // namespace boxjail

// --timeout DURATION[:SIGNAL]: a wall-clock limit on PROGRAM, kept by the
// supervisor (nsjail time_limit, firejail --timeout, systemd
// RuntimeMaxSec=, timeout(1)).
//   - check(): the grammar and the mode. Default mode only: with --detach
//     and --no-fork no supervisor stays to keep the time. There is no
//     rlimit fallback: RLIMIT_CPU counts CPU time, so a PROGRAM that
//     sleeps, waits on I/O or is stopped never reaches it, and one with
//     several threads reaches it early (--rlimit cpu=N is that limit).
//   - the supervisor (supervise.h) arms a CLOCK_MONOTONIC timerfd once
//     PROGRAM runs; when it fires PROGRAM gets SIGNAL, and SIGKILL after
//     --reap-grace; boxjail then exits 124, as timeout(1) does.
//
// DURATION is a decimal number with up to three decimals and an optional
// unit: ms, s (the default), m, h or d. "30", "1.5", "500ms", "2m", "0.5h".
// It must be more than 0 and at most 10000d.
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace boxjail {

struct Options;

namespace timeout {

struct TimeoutPlan {
  bool active = false;
  std::string spec;   // --timeout as given
  int64_t ns = 0;     // DURATION
  int signal = SIGTERM;  // SIGNAL
};

/// Parses DURATION into nanoseconds; false if it is not one (or 0, or too
/// long).
bool parse_duration(std::string_view text, int64_t* ns);

/// Checks --timeout into `*plan`; inactive without the flag.
bool check(const Options& o, TimeoutPlan* plan, std::string* err);

/// A CLOCK_MONOTONIC timerfd (close-on-exec, non-blocking) armed to fire
/// once after `ns`, or -1 with `*err` set. Made just before PROGRAM is
/// started, so the limit counts from there, as timeout(1)'s does.
int start_timer(int64_t ns, std::string* err);

/// The timeout part of --dry-run: `to` says who gets SIGNAL ("PROGRAM",
/// "process group", "cgroup"); `grace_ms` is --reap-grace.
std::string to_json(const TimeoutPlan& plan, const char* to, int grace_ms);

}  // namespace timeout
}  // namespace boxjail

// Descriptor remapping as data: the parent plans, the child walks.
//
// plan_fd_moves() turns a parallel assignment {TARGET <- SOURCE, ...} into a
// straight sequence of dup2/fcntl steps. Every SOURCE is read as it was before
// any TARGET is written: a target that is still needed as a source is copied
// to a temporary descriptor first (F_DUPFD_CLOEXEC at or above temp_floor,
// which lies above every source and target, so it can never collide with
// them or with anything else open at that moment). Temporaries are closed at
// the end of the program.
//
// run_fd_program() and close_fds_except() run after fork: they are
// async-signal-safe, allocate nothing and return 0 or an errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace boxjail {

struct FdMapping {
  int target;
  int source;  // == target for "keep as it is"
};

enum class FdOp : uint8_t {
  kDup2,          // dup2(a, b)
  kClearCloexec,  // fcntl(a, F_SETFD, 0): a mapping whose source is its target
  kSaveTemp,      // temp[b] = fcntl(a, F_DUPFD_CLOEXEC, temp_floor)
  kDup2Temp,      // dup2(temp[a], b)
  kCloseTemp,     // close(temp[a])
};

struct FdStep {
  FdOp op;
  int a;
  int b;
};

struct FdProgram {
  std::vector<FdStep> steps;
  int temp_floor = 3;  // temporaries are allocated at or above this number
  int temp_count = 0;  // how many temp slots the child needs
};

/// Plans the parallel assignment. `mappings` must have distinct targets.
FdProgram plan_fd_moves(const std::vector<FdMapping>& mappings);

/// Runs `steps`. `temps` must have room for the program's temp_count.
/// On failure returns the errno and stores the failing step's index in
/// `*failed`.
int run_fd_program(const FdStep* steps, size_t n, int temp_floor, int* temps,
                   size_t* failed) noexcept;

enum class CloseMethod : uint8_t {
  kCloseRange,  // close_range() over the gaps, falling back on error
  kProcFd,      // enumerate /proc/self/fd, falling back if it is missing
  kLoop,        // close() every number up to the hard RLIMIT_NOFILE
};

/// Closes every descriptor >= 3 that is not in `keep` (sorted ascending,
/// unique). Starts with `method` and falls back down the list above. Returns
/// 0 or an errno. `*used` receives the method that did the work.
int close_fds_except(const int* keep, size_t n, CloseMethod method,
                     CloseMethod* used) noexcept;

const char* close_method_name(CloseMethod m);

}  // namespace boxjail

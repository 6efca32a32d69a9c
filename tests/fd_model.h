// A model descriptor table, to check a planned FdProgram without running it.
// Shared by the unit tests and the fuzzers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "boxjail/fdmap.h"

namespace fdmodel {

struct Slot {
  int file;  // which open file description
  bool cloexec;
  bool operator==(const Slot&) const = default;
};
using Table = std::map<int, Slot>;

/// Applies `prog` to `t` as run_fd_program() would to the real table.
/// Returns "" or what went wrong.
inline std::string simulate(const boxjail::FdProgram& prog, Table* t) {
  using boxjail::FdOp;
  std::vector<int> temps(static_cast<size_t>(prog.temp_count), -1);
  auto dup2_ = [&](int from, int to) -> std::string {
    if (!t->count(from)) return "dup2 from closed fd " + std::to_string(from);
    (*t)[to] = {t->at(from).file, false};
    return "";
  };
  for (const auto& s : prog.steps) {
    std::string e;
    switch (s.op) {
      case FdOp::kDup2:
        e = dup2_(s.a, s.b);
        break;
      case FdOp::kClearCloexec:
        if (!t->count(s.a)) return "fcntl on closed fd";
        (*t)[s.a].cloexec = false;
        break;
      case FdOp::kSaveTemp: {
        if (!t->count(s.a)) return "saving a closed fd";
        int fd = prog.temp_floor;
        while (t->count(fd)) ++fd;
        (*t)[fd] = {t->at(s.a).file, true};
        temps.at(static_cast<size_t>(s.b)) = fd;
        break;
      }
      case FdOp::kDup2Temp:
        e = dup2_(temps.at(static_cast<size_t>(s.a)), s.b);
        break;
      case FdOp::kCloseTemp:
        if (!t->count(temps.at(static_cast<size_t>(s.a)))) return "closing a closed temporary";
        t->erase(temps.at(static_cast<size_t>(s.a)));
        break;
    }
    if (!e.empty()) return e;
  }
  return "";
}

/// Plans `maps`, runs the plan on `before`, and returns "" when the result
/// is exactly the requested assignment with everything else untouched and no
/// temporary left, or a description of the difference.
inline std::string check(const std::vector<boxjail::FdMapping>& maps, const Table& before) {
  boxjail::FdProgram prog = boxjail::plan_fd_moves(maps);
  Table after = before;
  std::string e = simulate(prog, &after);
  if (!e.empty()) return e;
  Table want = before;
  for (const auto& m : maps) want[m.target] = {before.at(m.source).file, false};
  if (after != want) return "final table differs from the requested one";
  for (const auto& m : maps)
    if (m.target >= prog.temp_floor || m.source >= prog.temp_floor) return "temp_floor too low";
  return "";
}

}  // namespace fdmodel

// LaunchPlan → a running PROGRAM, in the plan's mode.
#pragma once

#include "boxjail/plan.h"

namespace boxjail {

/// Carries out `plan`. Returns boxjail's exit code; in --no-fork mode and in
/// the default mode after a successful exec it does not return.
int launch(const LaunchPlan& plan);

}  // namespace boxjail

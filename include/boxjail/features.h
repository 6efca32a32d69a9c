// boxjail --features: what this kernel and this build support, each line
// probed at run time (a harmless call, and its errno), never compiled in.
#pragma once

#include <string>

namespace boxjail {

class SystemFacts;

/// The report as aligned text (json false) or one JSON object.
std::string features_report(SystemFacts& sys, bool json);

}  // namespace boxjail

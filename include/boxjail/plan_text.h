// --dry-run=text: the launch plan as a person reviews it. It is made from
// plan_to_json's output, not from the plan, so that the two forms cannot
// disagree: every key of the JSON is shown, those it knows in the order a
// reviewer asks about them (what runs, as whom, under which rules), the
// others after them as they are.
#pragma once

#include <string>
#include <string_view>

namespace boxjail {

/// `json` (one plan_to_json object) as text lines of at most `width`
/// columns where words allow. False with a message if `json` is not a
/// JSON object (a bug in plan_to_json).
bool plan_to_text(std::string_view json, size_t width, std::string* out, std::string* err);

}  // namespace boxjail

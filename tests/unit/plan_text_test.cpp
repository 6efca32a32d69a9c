#include "boxjail/plan_text.h"

#include <gtest/gtest.h>

namespace boxjail {
namespace {

std::string text(const std::string& json) {
  std::string out, err;
  EXPECT_TRUE(plan_to_text(json, 80, &out, &err)) << err;
  return out;
}

TEST(PlanText, RefusesWhatIsNotAnObject) {
  std::string out, err;
  for (const char* bad : {"", "[]", "{\"a\":", "{\"a\":1} x", "{\"a\":tru}"}) {
    EXPECT_FALSE(plan_to_text(bad, 80, &out, &err)) << bad;
    EXPECT_EQ(err, "--dry-run=text: internal error: the plan is not a JSON object");
  }
}

TEST(PlanText, ShowsEveryKeyEvenOnesItDoesNotKnow) {
  const std::string out = text(
      "{\"program\":\"/bin/x\",\"argv\":[\"x\",\"it's\",\"a\\u00e9\\n\"],\"mode\":\"no-fork\","
      "\"brand_new\":{\"answer\":42,\"list\":[\"a\",\"b\"],\"off\":null},\"unused_key\":null,"
      "\"flag\":true}");
  EXPECT_NE(out.find("  path            /bin/x\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  argv            x 'it'\\''s' $'a\xc3\xa9\\n'\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  mode            no-fork (boxjail becomes PROGRAM, same pid)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\nSupervisor and the rest\n  brand_new\n    answer          42\n"
                     "    list            a, b\n  flag            true\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("unused_key"), std::string::npos) << "a null key is not in use: " << out;
  // What the plan does not mention is said plainly.
  EXPECT_NE(out.find("  user            unchanged"), std::string::npos) << out;
  EXPECT_NE(out.find("  rlimits         boxjail's, unchanged\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace boxjail

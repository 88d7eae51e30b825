// A test whose prerequisite is missing (node and the npm readers, the Arrow
// gold files in ../shared) fails in CI, where everything must be present,
// and is skipped on a developer's machine, where ctest lists it as skipped.
// CI is recognised by CI=true in the environment (.ci/run is started so).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

namespace zkarrow::testing {

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

}  // namespace zkarrow::testing

// In place of GTEST_SKIP() for a missing prerequisite, with the same
// streaming form and the same early return:
//   if (!fs::exists(dir)) ZKA_MISSING_PREREQUISITE() << dir << " missing";
// It expands as GTEST_SKIP() does, with the result type chosen at run time.
#define ZKA_MISSING_PREREQUISITE()                                                       \
  return ::testing::internal::AssertHelper(                                              \
             ::zkarrow::testing::InCi() ? ::testing::TestPartResult::kFatalFailure       \
                                        : ::testing::TestPartResult::kSkip,              \
             __FILE__, __LINE__,                                                         \
             ::zkarrow::testing::InCi() ? "prerequisite missing in CI (CI=true)" : "") = \
             ::testing::Message()

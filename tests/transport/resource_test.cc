// The one canonical form of a request (transport/resource.h): what HTTP
// targets, Flight tickets and Flight descriptor paths parse into, and how it
// reads back. fuzz/fuzz_requests.cc checks the same round trip on hostile
// input; these are the cases it found and the ones it must keep.
#include "transport/resource.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace zkarrow::transport {
namespace {

TEST(ResourceTest, TargetReadsBackFromItsCanonicalForm) {
  for (const char* target :
       {"/znodes?path=/a/b&data=false", "/datasets/sales%202026", "/datasets/a%2Fb",
        "/changes?from=4294967300", "/znodes/", "/znodes?path=%2Fx+y&flag", "/"}) {
    auto resource = ParseTarget(target);
    ASSERT_TRUE(resource.ok()) << target << ": " << resource.status().ToString();
    auto again = ParseTarget(resource->ToTarget());
    ASSERT_TRUE(again.ok()) << resource->ToTarget() << ": " << again.status().ToString();
    EXPECT_EQ(*again, *resource) << target << " -> " << resource->ToTarget();
  }
  EXPECT_EQ(ParseTarget("/datasets/a%2Fb")->segments,
            (std::vector<std::string>{"datasets", "a/b"}));
}

TEST(ResourceTest, TargetRefusesSegmentsThatNameSomethingElse) {
  for (const char* target : {"/datasets/..", "/datasets/.", "//znodes", "/datasets//x",
                             "/datasets/%2E%2E", "/a%00b", "znodes"}) {
    auto resource = ParseTarget(target);
    EXPECT_FALSE(resource.ok()) << target;
    EXPECT_EQ(resource.status().code(), StatusCode::kInvalidArgument) << target;
  }
}

// A descriptor path must mean what its canonical target means: [""] was
// accepted as a resource whose target, "/", parses to no segment at all.
TEST(ResourceTest, FlightPathRefusesWhatATargetRefuses) {
  for (const std::vector<std::string>& path :
       std::vector<std::vector<std::string>>{{""},
                                             {"."},
                                             {".."},
                                             {"datasets", ""},
                                             {"datasets", ".."},
                                             {"datasets", std::string("a\0b", 3)},
                                             {}}) {
    auto resource = FromFlightPath(path);
    EXPECT_FALSE(resource.ok()) << path.size() << " elements";
  }
  auto dataset = FromFlightPath({"datasets", "a/b"});
  ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();
  EXPECT_EQ(*ParseTarget(dataset->ToTarget()), *dataset);
  auto subtree = FromFlightPath({"znodes", "/sub/path"});
  ASSERT_TRUE(subtree.ok()) << subtree.status().ToString();
  EXPECT_EQ(subtree->ToTarget(), "/znodes?path=/sub/path");
}

}  // namespace
}  // namespace zkarrow::transport

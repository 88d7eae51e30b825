#include "base/status.h"

#include <gtest/gtest.h>

namespace zkarrow {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("not positive: " + std::to_string(v));
  return v;
}

Result<int> Doubled(int v) {
  ZKA_ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  return parsed * 2;
}

TEST(StatusTest, OkHasNoMessage) {
  Status status = Status::Ok();
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.ToString(), "OK");
}

TEST(StatusTest, ContextIsPrefixed) {
  Status status = Status::InvalidData("bad magic").WithContext("reading x.arrow");
  EXPECT_EQ(status.code(), StatusCode::kInvalidData);
  EXPECT_EQ(status.message(), "reading x.arrow: bad magic");
  EXPECT_EQ(status.ToString(), "invalid data: reading x.arrow: bad magic");
}

TEST(StatusTest, FromErrnoKeepsNumber) {
  Status status = Status::FromErrno(ENOENT, "open /nope");
  EXPECT_EQ(status.detail(), ENOENT);
  EXPECT_NE(status.message().find("No such file"), std::string::npos);
}

TEST(ResultTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Doubled(4), 8);
  Result<int> failed = Doubled(-1);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "not positive: -1");
}

TEST(ResultTest, OkStatusWithoutValueIsAnInternalError) {
  Result<int> result{Status::Ok()};
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace zkarrow

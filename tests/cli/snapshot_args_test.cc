// `zkarrow snapshot` refuses contradictory or malformed arguments with exit
// status 2 and a message that says what to do, before touching any output.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/znode_rows.h"

namespace zkarrow {
namespace {

struct Outcome {
  std::string output;
  int exit_code;
};

Outcome RunSnapshot(const std::string& args) {
  auto output = testing::RunCommand(std::string(ZKARROW_BINARY) + " snapshot " + args +
                                    " 2>&1; echo \"exit=$?\"");
  EXPECT_TRUE(output.ok()) << output.status().ToString();
  std::string text = output.ok() ? *output : "";
  size_t at = text.rfind("exit=");
  return {text, at == std::string::npos ? -1 : std::stoi(text.substr(at + 5))};
}

TEST(SnapshotArgsTest, NeedsExactlyOneSource) {
  Outcome none = RunSnapshot("-o /dev/null");
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("--zk"), std::string::npos) << none.output;
  Outcome both = RunSnapshot("--zk 127.0.0.1:1 --data-dir /tmp -o /dev/null");
  EXPECT_EQ(both.exit_code, 2) << both.output;
}

TEST(SnapshotArgsTest, LiveOnlyOptionsAreRefusedOffline) {
  for (const char* option :
       {"--no-data", "--acl", "--max-depth 2", "--exclude '/a*'", "--path /sub", "--sessions 2"}) {
    Outcome outcome = RunSnapshot(std::string("--data-dir /tmp -o /dev/null ") + option);
    EXPECT_EQ(outcome.exit_code, 2) << option << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("apply to live reads"), std::string::npos) << outcome.output;
  }
}

TEST(SnapshotArgsTest, ZxidIsDecimalOrHexAndOnlyOffline) {
  Outcome live = RunSnapshot("--zk 127.0.0.1:1 --zxid 5 -o /dev/null");
  EXPECT_EQ(live.exit_code, 2) << live.output;
  std::filesystem::path out = std::filesystem::temp_directory_path() / "zkarrow-args-test.arrow";
  Outcome bad = RunSnapshot("--data-dir /tmp --zxid 0x1g -o " + out.string());
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("0x1g"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists(out)) << "a failed snapshot must not leave its output";
}

TEST(SnapshotArgsTest, EmptyOutputNameIsRefused) {
  Outcome outcome = RunSnapshot("--zk 127.0.0.1:1 -o ''");
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("-o needs a file name"), std::string::npos) << outcome.output;
}

}  // namespace
}  // namespace zkarrow

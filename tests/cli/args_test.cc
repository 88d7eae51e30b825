// zkarrow's verbs refuse contradictory or malformed arguments with exit
// status 2 and a message that says what to do, before touching any output
// or waiting on a server.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/znode_rows.h"

namespace zkarrow {
namespace {

struct Outcome {
  std::string output;  // stdout and stderr
  int exit_code;
};

// `zkarrow ARGS`, bounded: a command that waits instead of refusing its
// arguments is killed (exit 124).
Outcome RunZkarrow(const std::string& args) {
  auto output = testing::RunCommand("timeout 30 " + std::string(ZKARROW_BINARY) + " " + args +
                                    " 2>&1; echo \"exit=$?\"");
  EXPECT_TRUE(output.ok()) << output.status().ToString();
  std::string text = output.ok() ? *output : "";
  size_t at = text.rfind("exit=");
  return {text, at == std::string::npos ? -1 : std::stoi(text.substr(at + 5))};
}

Outcome RunSnapshot(const std::string& args) { return RunZkarrow("snapshot " + args); }

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

// The demo narrates on stdout: a table there would be mixed with its text.
TEST(DemoArgsTest, StdoutIsRefused) {
  Outcome outcome = RunZkarrow("demo -o -");
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("zkarrow demo: -o - is not for the demo"), std::string::npos)
      << outcome.output;
  EXPECT_EQ(outcome.output.find("Starting"), std::string::npos) << outcome.output;
}

}  // namespace
}  // namespace zkarrow

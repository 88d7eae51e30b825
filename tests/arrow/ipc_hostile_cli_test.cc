// The hostile inputs of issue 10 given to the built zkarrow binary's inspect,
// cat and convert, at the sizes that were measured against the old reader:
// each must exit 1 with a message, write no output file, and stay far below
// the memory it was asked for (peak RSS from the kernel, via wait4). Also
// inspect's description without decoding, its escaping, its report of how a
// stream ends, and failed writes to stdout.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "arrow/io.h"
#include "hostile_ipc.h"
#include "znodes/znode_schema.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::arrow {
namespace {

namespace fs = std::filesystem;
using hostile::Bytes;

// The bound for every hostile case.
constexpr int64_t kRssLimitKb = 1536 * 1024;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  int64_t max_rss_kb = 0;
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs zkarrow with `args`, stdout to `stdout_path` (a file of the test's
// directory unless given), and reports its exit code and peak RSS.
RunResult Zkarrow(const std::vector<std::string>& args, const fs::path& dir,
                  std::string stdout_path = "") {
  const fs::path out = dir / "stdout";
  const fs::path err = dir / "stderr";
  if (stdout_path.empty()) stdout_path = out.string();
  std::vector<std::string> argv_storage = {ZKARROW_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  RunResult run;
  const pid_t pid = fork();
  if (pid == 0) {
    const int out_fd = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out_fd < 0 || err_fd < 0) _exit(127);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (pid < 0 || wait4(pid, &status, 0, &usage) != pid) return run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.max_rss_kb = usage.ru_maxrss;
  if (stdout_path == out.string()) run.out = ReadText(out);
  run.err = ReadText(err);
  return run;
}

class IpcHostileCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zkarrow_hostile_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const Bytes& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }

  // inspect, cat and convert each refuse `input` with a message holding
  // `text`, within the memory bound, and convert leaves no output behind.
  void ExpectRefusedByEveryCommand(const std::string& input, const std::string& text,
                                   bool inspect_too = true) {
    const std::string converted = (dir_ / "converted.arrow").string();
    std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
        {"cat", {"cat", input}}, {"convert", {"convert", input, converted}}};
    if (inspect_too) commands.insert(commands.begin(), {"inspect", {"inspect", input}});
    for (const auto& [name, args] : commands) {
      RunResult run = Zkarrow(args, dir_);
      EXPECT_EQ(run.exit_code, 1) << name << ": " << run.err;
      EXPECT_NE(run.err.find("zkarrow " + name + ": "), std::string::npos) << run.err;
      EXPECT_NE(run.err.find(text), std::string::npos) << name << ": " << run.err;
      EXPECT_LT(run.max_rss_kb, kRssLimitKb) << name;
      // The figures for the record (issue 10 asks for them).
      std::printf("%s %s: exit %d, peak RSS %lld KiB\n", fs::path(input).filename().c_str(),
                  name.c_str(), run.exit_code, static_cast<long long>(run.max_rss_kb));
    }
    EXPECT_FALSE(fs::exists(converted));
  }

  fs::path dir_;
};

TEST_F(IpcHostileCli, BufferDeclaring3GiB) {
  const std::string input =
      Write("claim.arrows", hostile::HugeClaimStream(int64_t{3} << 30, 49152));
  ExpectRefusedByEveryCommand(input, "expected at most 1073741824 (the batch limit)");
}

TEST_F(IpcHostileCli, ThreeBuffersOnOneFrameOf1GiB) {
  const std::string input = Write("shared.arrows", hostile::SharedFrameStream(3, int64_t{1} << 30));
  ExpectRefusedByEveryCommand(input, "overlaps buffer 1");
}

TEST_F(IpcHostileCli, ThousandsOfMisalignedBuffersOnOneBody) {
  const std::string input = Write("misaligned.arrows", hostile::MisalignedStream(6000, 1 << 20));
  ExpectRefusedByEveryCommand(input, "overlaps buffer 1");
}

TEST_F(IpcHostileCli, FourHundredDeltaDictionaries) {
  // inspect does not decode dictionaries: it lists the one batch.
  const std::string input = Write("deltas.arrows", hostile::DeltaDictionaryStream(400, 1 << 19));
  ExpectRefusedByEveryCommand(input, "dictionaries need", /*inspect_too=*/false);
  RunResult run = Zkarrow({"inspect", input}, dir_);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_LT(run.max_rss_kb, 256 * 1024);
  // The limit is --max-dictionary-bytes: 41 deltas of 512 KiB fit in the
  // default, not in 10 MB.
  const std::string fewer = Write("fewer.arrows", hostile::DeltaDictionaryStream(40, 1 << 16));
  run = Zkarrow({"cat", "--limit", "1", fewer}, dir_);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  run = Zkarrow({"cat", "--limit", "1", "--max-dictionary-bytes", "10000000", fewer}, dir_);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("expected at most 10000000"), std::string::npos) << run.err;
}

TEST_F(IpcHostileCli, DictionaryOffsetsPastInt32) {
  const std::string input = Write("offsets.arrows", hostile::ListOfNullDeltaStream((1 << 30) + 1));
  ExpectRefusedByEveryCommand(input, "expected at most 2147483647", /*inspect_too=*/false);
}

TEST_F(IpcHostileCli, InspectReportsSizesWithoutDecompressing) {
  // One column of 1 GiB of zeros, compressed: a valid stream.
  const std::string input = Write("big.arrows", hostile::SharedFrameStream(1, int64_t{1} << 30));
  RunResult run = Zkarrow({"inspect", input}, dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("(1073741824 bytes uncompressed)"), std::string::npos) << run.out;
  EXPECT_LT(run.max_rss_kb, 256 * 1024) << "inspect decompressed the body";
  // Decoding it is what --max-batch-bytes limits.
  run = Zkarrow({"cat", "--limit", "1", "--max-batch-bytes", "1000000", input}, dir_);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("expected at most 1000000 (the batch limit)"), std::string::npos)
      << run.err;
}

TEST_F(IpcHostileCli, InspectEscapesControlCharacters) {
  Schema schema{{MakeField("evil\x1b]0;title\x07", Int8())},
                {{"k\x1b[2J",
                  "v\x9b"
                  "31m\\"}}};
  const std::string input = Write("escapes.arrows", hostile::SchemaMessage(schema));
  RunResult run = Zkarrow({"inspect", input}, dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find('\x1b'), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find('\x07'), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find('\x9b'), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("evil\\x1b]0;title\\x07"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("k\\x1b[2J = v\\x9b31m\\x5c"), std::string::npos) << run.out;
}

// A znode table stream as `zkarrow snapshot -o -` writes it, whole or cut
// right after its schema (the writer killed before the first batch).
Bytes ZnodeTableStream(bool finished) {
  BufferOutputStream sink;
  znodes::ZnodeTableOptions options;
  options.format = ipc::IpcFormat::kStream;
  options.schema_metadata = {{znodes::kMetaSource, "test"}};
  auto writer = znodes::ZnodeTableWriter::Open(sink, options);
  EXPECT_TRUE(writer.ok());
  if (finished) {
    EXPECT_TRUE((*writer)->Finish({{znodes::kMetaZnodes, "0"}}).ok());
  }
  auto buffer = sink.Finish();
  return {buffer->bytes().begin(), buffer->bytes().end()};
}

TEST_F(IpcHostileCli, InspectSaysHowAStreamEnds) {
  RunResult run = Zkarrow({"inspect", Write("whole.arrows", ZnodeTableStream(true))}, dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("end: end-of-stream marker"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("end-of-run metadata (zkarrow.znodes): present"), std::string::npos)
      << run.out;
  run = Zkarrow({"inspect", Write("cut.arrows", ZnodeTableStream(false))}, dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("end: no end-of-stream marker"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("end-of-run metadata (zkarrow.znodes): missing"), std::string::npos)
      << run.out;
}

TEST_F(IpcHostileCli, FailedWritesToStdoutAreErrors) {
  const std::string input = Write("small.arrows", hostile::SharedFrameStream(1, 1 << 16));
  for (const std::string command : {"inspect", "cat"}) {
    RunResult run = Zkarrow({command, input}, dir_, "/dev/full");
    EXPECT_EQ(run.exit_code, 1) << command << ": " << run.err;
    EXPECT_NE(run.err.find("zkarrow " + command + ": "), std::string::npos) << run.err;
  }
}

}  // namespace
}  // namespace zkarrow::arrow

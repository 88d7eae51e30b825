// Runs the built zkarrow binary's inspect, cat and convert on IPC files this
// test writes, and on an Arrow gold file, checking what they print.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "arrow/builder.h"
#include "arrow/compare.h"
#include "arrow/dictionary_builder.h"
#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "arrow/record_batch_builder.h"
#include "datadir_files.h"
#include "support/prerequisite.h"

namespace zkarrow::cli {
namespace {

namespace fs = std::filesystem;
using arrow::ipc::Compression;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` through /bin/sh: its stdout in `out`, its exit status.
RunResult RunShell(const std::string& command) {
  RunResult run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) run.out.append(chunk.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// Runs `zkarrow ARGS` through the shell (so ARGS may redirect stdin).
RunResult Zkarrow(const std::string& args) {
  const fs::path err_file = fs::temp_directory_path() / ("zkarrow_err_" + std::to_string(getpid()));
  RunResult run = RunShell(std::string(ZKARROW_BINARY) + " " + args + " 2>" + err_file.string());
  std::ifstream err(err_file);
  run.err.assign(std::istreambuf_iterator<char>(err), {});
  fs::remove(err_file);
  return run;
}

// Runs `script` through /bin/sh, its stderr with its stdout in `out`.
RunResult RunScript(const std::string& script) { return RunShell(script + " 2>&1"); }

// Runs `zkarrow ARGS` with stdout a pipe whose reader is already gone, as
// `zkarrow cat FILE | head` is once head has exited. A run that does not
// notice is killed after a minute (exit 124).
RunResult ZkarrowIntoClosedPipe(const std::string& args) {
  RunResult run;
  int ends[2];
  if (::pipe(ends) != 0) return run;
  ::close(ends[0]);
  const fs::path err_file =
      fs::temp_directory_path() / ("zkarrow_pipe_err_" + std::to_string(getpid()));
  const std::string command =
      "exec timeout 60 " + std::string(ZKARROW_BINARY) + " " + args + " 2>" + err_file.string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(ends[1], STDOUT_FILENO);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(ends[1]);
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  std::ifstream err(err_file);
  run.err.assign(std::istreambuf_iterator<char>(err), {});
  fs::remove(err_file);
  return run;
}

class ArrowCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zkarrow_cli_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  // Two batches of a znode-like table: path, version, ctime, kind (dictionary), acl, data.
  static std::vector<arrow::RecordBatch> SampleBatches() {
    auto schema = std::make_shared<arrow::Schema>();
    schema->fields.push_back(arrow::MakeField("path", arrow::Utf8Type(), false));
    schema->fields.push_back(arrow::MakeField("version", arrow::Int32()));
    schema->fields.push_back(
        arrow::MakeField("ctime", arrow::TimestampType(arrow::TimeUnit::kMillisecond, "UTC")));
    arrow::Field kind = arrow::MakeField("kind", arrow::Utf8Type());
    kind.dictionary = arrow::DictionaryEncoding{0, arrow::Int8(), false};
    schema->fields.push_back(kind);
    schema->fields.push_back(arrow::MakeField(
        "acl", arrow::ListType(arrow::MakeField(
                   "item", arrow::StructType({arrow::MakeField("perms", arrow::Int32()),
                                              arrow::MakeField("scheme", arrow::Utf8Type())})))));
    schema->fields.push_back(arrow::MakeField("data", arrow::BinaryType()));
    schema->fields[1].metadata = {{"unit", "count"}};
    schema->metadata = {{"zkarrow.source", "test"}};

    const std::vector<std::string_view> kinds = {"PERSISTENT", "EPHEMERAL"};
    auto rows = arrow::RecordBatchBuilder::Make(schema);
    auto fixed = arrow::StringDictionaryBuilder::MakeFixed(8, kinds);
    rows->ReplaceColumn(3, std::move(fixed).value());
    std::vector<arrow::RecordBatch> batches;
    int n = 0;
    for (int rows_in_batch : {3, 2}) {
      for (int r = 0; r < rows_in_batch; ++r, ++n) {
        EXPECT_TRUE(
            rows->column_as<arrow::StringBuilder>(0).Append("/node" + std::to_string(n)).ok());
        if (n == 1) {
          rows->column_as<arrow::Int32Builder>(1).AppendNull();
        } else {
          rows->column_as<arrow::Int32Builder>(1).Append(n * 10);
        }
        rows->column_as<arrow::TimestampBuilder>(2).Append(int64_t{1700000000000} + n);
        EXPECT_TRUE(rows->column_as<arrow::StringDictionaryBuilder>(3).Append(kinds[n % 2]).ok());
        auto& acl = rows->column_as<arrow::ListBuilder>(4);
        EXPECT_TRUE(acl.Append().ok());
        auto& entry = acl.values_as<arrow::StructBuilder>();
        entry.Append();
        entry.child_as<arrow::Int32Builder>(0).Append(31);
        EXPECT_TRUE(entry.child_as<arrow::StringBuilder>(1).Append("world").ok());
        EXPECT_TRUE(
            rows->column_as<arrow::BinaryBuilder>(5).Append(std::string("v,\"1\"\n\x01", 7)).ok());
      }
      batches.push_back(std::move(rows->Finish()).value());
    }
    return batches;
  }

  void WriteSample(const std::string& path, bool file, Compression compression) {
    auto sink = arrow::FileOutputStream::Open(path);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    auto batches = SampleBatches();
    arrow::ipc::IpcWriteOptions options;
    options.compression = compression;
    auto writer = file ? arrow::ipc::IpcWriter::OpenFile(**sink, *batches[0].schema, options)
                       : arrow::ipc::IpcWriter::OpenStream(**sink, *batches[0].schema, options);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    for (const auto& batch : batches) ASSERT_TRUE((*writer)->WriteBatch(batch).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    ASSERT_TRUE((*sink)->Close().ok());
  }

  fs::path dir_;
};

TEST_F(ArrowCommandsTest, InspectShowsSchemaBatchesAndCompression) {
  const std::string path = PathOf("sample.arrows");
  WriteSample(path, /*file=*/false, Compression::kZstd);
  RunResult run = Zkarrow("inspect " + path);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("format: stream, metadata version V5"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("  path: utf8 not null\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("  version: int32\n    metadata:\n      unit = count\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("  kind: dictionary<values=utf8, indices=int8, id=0>\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("zkarrow.source = test"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("batch 0: 3 rows, compression zstd"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("total: 2 batches, 5 rows, compression zstd"), std::string::npos)
      << run.out;
}

TEST_F(ArrowCommandsTest, InspectReadsAFileFromStdin) {
  const std::string path = PathOf("sample.arrow");
  WriteSample(path, /*file=*/true, Compression::kNone);
  RunResult run = Zkarrow("inspect - < " + path);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("input: stdin\nformat: file"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("total: 2 batches, 5 rows, compression none"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find(" on disk"), std::string::npos) << run.out;
}

TEST_F(ArrowCommandsTest, CatTable) {
  const std::string path = PathOf("sample.arrow");
  WriteSample(path, /*file=*/true, Compression::kLz4Frame);
  RunResult run = Zkarrow("cat " + path + " --limit 4 --columns path,version,kind,data");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "path   | version | kind       | data\n"
            "-------+---------+------------+--------------\n"
            "/node0 |       0 | PERSISTENT | v,\"1\"\\x0a\\x01\n"
            "/node1 |    null | EPHEMERAL  | v,\"1\"\\x0a\\x01\n"
            "/node2 |      20 | PERSISTENT | v,\"1\"\\x0a\\x01\n"
            "/node3 |      30 | EPHEMERAL  | v,\"1\"\\x0a\\x01\n"
            "(4 rows)\n");
}

TEST_F(ArrowCommandsTest, CatCsv) {
  const std::string path = PathOf("sample.arrows");
  WriteSample(path, /*file=*/false, Compression::kNone);
  RunResult run =
      Zkarrow("cat " + path + " --format csv --limit 2 --columns path,version,ctime,acl");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(
      run.out,
      "path,version,ctime,acl\n"
      "/node0,0,2023-11-14T22:13:20.000Z,\"[{\"\"perms\"\":31,\"\"scheme\"\":\"\"world\"\"}]\"\n"
      "/node1,,2023-11-14T22:13:20.001Z,\"[{\"\"perms\"\":31,\"\"scheme\"\":\"\"world\"\"}]\"\n");
}

TEST_F(ArrowCommandsTest, CatJsonAcrossBatchesFromStdin) {
  const std::string path = PathOf("sample.arrows");
  WriteSample(path, /*file=*/false, Compression::kZstd);
  RunResult run = Zkarrow("cat - --format json --columns path,version,kind,acl,data < " + path);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::string line;
  std::vector<std::string> all;
  while (std::getline(lines, line)) all.push_back(line);
  ASSERT_EQ(all.size(), 5u) << run.out;
  EXPECT_EQ(all[1],
            "{\"path\":\"/node1\",\"version\":null,\"kind\":\"EPHEMERAL\","
            "\"acl\":[{\"perms\":31,\"scheme\":\"world\"}],\"data\":\"diwiMSIKAQ==\"}");
  EXPECT_EQ(all[4].substr(0, 17), "{\"path\":\"/node4\",");
}

TEST_F(ArrowCommandsTest, CatUnknownColumnIsAUsageError) {
  const std::string path = PathOf("sample.arrow");
  WriteSample(path, /*file=*/true, Compression::kNone);
  RunResult run = Zkarrow("cat " + path + " --columns path,nope");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(
      run.err.find("no column \"nope\"; the columns are: path, version, ctime, kind, acl, data"),
      std::string::npos)
      << run.err;
}

TEST_F(ArrowCommandsTest, MissingFileIsNamed) {
  for (const char* verb : {"inspect", "cat", "convert"}) {
    const std::string missing = PathOf("missing.arrow");
    RunResult run = Zkarrow(std::string(verb) + " " + missing +
                            (verb == std::string("convert") ? " " + PathOf("out") : ""));
    EXPECT_EQ(run.exit_code, 1) << verb;
    EXPECT_NE(run.err.find(missing + ": no such file"), std::string::npos)
        << verb << ": " << run.err;
  }
}

// Read, a directory failed with "read: Is a directory", naming neither it
// nor what to give instead.
TEST_F(ArrowCommandsTest, DirectoryIsNamed) {
  for (const char* verb : {"inspect", "cat", "convert"}) {
    RunResult run = Zkarrow(std::string(verb) + " " + dir_.string() +
                            (verb == std::string("convert") ? " " + PathOf("out") : ""));
    EXPECT_EQ(run.exit_code, 2) << verb;
    EXPECT_NE(run.err.find(dir_.string() + " is a directory; name an Arrow IPC file or stream"),
              std::string::npos)
        << verb << ": " << run.err;
  }
}

// The README's promise for `zkarrow cat FILE | head`: exit 1 saying the
// reader closed the pipe (it said "writing to stdout failed"); inspect's
// (it said "writing to stdout: Broken pipe"), query's and diff's text on
// stdout the same (diff's failures exit 4), and query --explain's (whose
// lost lines exited 0 without a word).
TEST_F(ArrowCommandsTest, AReaderThatClosedThePipeIsSaid) {
  const std::string path = PathOf("in.arrow");
  WriteSample(path, /*file=*/true, Compression::kNone);
  const fs::path data_dir = dir_ / "data";
  fs::create_directories(data_dir / "version-2");
  znodes::testing::WriteFile(data_dir / "version-2" / "snapshot.0",
                             znodes::testing::SnapshotFile({}, {{.path = ""}, {.path = "/a"}}));
  const std::string tree = "datadir:" + data_dir.string();
  for (const std::string& args :
       {"cat " + path, "inspect " + path, std::string("query 'SELECT 1' --format csv"),
        std::string("query 'SELECT 1' --explain"),
        "diff " + tree + " " + tree + " --format table"}) {
    RunResult run = ZkarrowIntoClosedPipe(args);
    EXPECT_EQ(run.exit_code, args.starts_with("diff") ? 4 : 1) << args << ": " << run.err;
    EXPECT_NE(run.err.find("the reader closed the pipe"), std::string::npos)
        << args << ": " << run.err;
  }
}

// query's text output stops at the first batch it cannot write: it noticed
// the closed pipe only once the whole result had been produced (a live
// tree's whole walk for `| head -1`), here never, the result being endless.
TEST_F(ArrowCommandsTest, QueryTextStopsWhenTheReaderClosedThePipe) {
  const std::string endless =
      "'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n'";
  for (const char* format : {"csv", "json"}) {
    RunResult run = ZkarrowIntoClosedPipe("query " + endless + " --format " + format);
    EXPECT_EQ(run.exit_code, 1) << format << ": " << run.err;
    EXPECT_NE(run.err.find("the reader closed the pipe"), std::string::npos)
        << format << ": " << run.err;
  }
}

TEST_F(ArrowCommandsTest, NotArrowIsSaid) {
  const std::string path = PathOf("notes.txt");
  std::ofstream(path) << "hello, this is not Arrow\n";
  for (const char* verb : {"inspect", "cat"}) {
    RunResult run = Zkarrow(std::string(verb) + " " + path);
    EXPECT_EQ(run.exit_code, 1) << verb;
    EXPECT_NE(run.err.find(path + ": not a valid Arrow IPC file or stream"), std::string::npos)
        << verb << ": " << run.err;
  }
  RunResult empty = Zkarrow("cat - < /dev/null");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("stdin: not a valid Arrow IPC file or stream"), std::string::npos)
      << empty.err;
}

Result<std::vector<arrow::RecordBatch>> ReadAnyFormat(const std::string& path) {
  ZKA_ASSIGN_OR_RETURN(auto bytes, arrow::MapFile(path));
  ZKA_ASSIGN_OR_RETURN(auto format, arrow::ipc::DetectFormat(bytes->bytes()));
  std::vector<arrow::RecordBatch> batches;
  if (format == arrow::ipc::IpcFormat::kFile) {
    ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::FileReader::Open(bytes));
    for (int i = 0; i < reader->num_batches(); ++i) {
      ZKA_ASSIGN_OR_RETURN(auto batch, reader->ReadBatch(i));
      batches.push_back(std::move(batch));
    }
    return batches;
  }
  ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::StreamReader::Open(
                                        std::make_unique<arrow::BufferInputStream>(bytes)));
  while (true) {
    ZKA_ASSIGN_OR_RETURN(auto batch, reader->Next());
    if (!batch) return batches;
    batches.push_back(std::move(*batch));
  }
}

void ExpectSameBatches(const std::string& expected_path, const std::string& actual_path) {
  auto expected = ReadAnyFormat(expected_path);
  auto actual = ReadAnyFormat(actual_path);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_TRUE(actual.ok()) << actual.status().ToString();
  ASSERT_EQ(expected->size(), actual->size());
  for (size_t i = 0; i < expected->size(); ++i) {
    std::string why;
    EXPECT_TRUE(arrow::BatchesEqual((*expected)[i], (*actual)[i], &why))
        << "batch " << i << ": " << why;
  }
}

// An output file's errors name the file asked for, not the temporary name
// its data had (convert said "naming OUT.tmp-PID: File exists"), and a
// failed write names it too (it said only "write: File too large").
TEST_F(ArrowCommandsTest, OutputErrorsNameTheFileAskedFor) {
  const std::string in = PathOf("in.arrow");
  WriteSample(in, /*file=*/true, Compression::kNone);
  const std::string out = PathOf("out.arrow");
  const std::string convert = "exec " + std::string(ZKARROW_BINARY) + " convert " + in + " " + out;
  // The temporary name taken already: exec keeps the shell's pid, $$.
  RunResult taken = RunScript("touch " + out + ".tmp-$$; " + convert);
  EXPECT_EQ(taken.exit_code, 1) << taken.out;
  EXPECT_NE(taken.out.find("naming " + out + " (through the temporary file " + out + ".tmp-"),
            std::string::npos)
      << taken.out;
  // Not a byte may go to a regular file; with SIGXFSZ ignored the write
  // fails (EFBIG). stderr is the pipe, which the limit leaves alone.
  RunResult too_large = RunScript("trap '' XFSZ; ulimit -f 0; " + convert);
  EXPECT_EQ(too_large.exit_code, 1) << too_large.out;
  EXPECT_NE(too_large.out.find(out + ": write: File too large"), std::string::npos)
      << too_large.out;
  EXPECT_FALSE(fs::exists(out));
}

// A file name of NAME_MAX bytes is written: the temporary name beside it,
// the name plus ".tmp-PID", was too long ("File name too long").
TEST_F(ArrowCommandsTest, AFileNameAsLongAsAllowedIsWritten) {
  const std::string in = PathOf("in.arrow");
  WriteSample(in, /*file=*/true, Compression::kNone);
  const std::string out = PathOf(std::string(255 - 6, 'n') + ".arrow");
  RunResult run = Zkarrow("convert " + in + " " + out);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectSameBatches(in, out);
}

TEST_F(ArrowCommandsTest, ConvertPreservesEverything) {
  const std::string original = PathOf("sample.arrow");
  WriteSample(original, /*file=*/true, Compression::kNone);
  const std::string stream = PathOf("converted.arrows");
  RunResult run =
      Zkarrow("convert " + original + " " + stream + " --format stream --compression zstd");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectSameBatches(original, stream);
  EXPECT_NE(Zkarrow("inspect " + stream).out.find("total: 2 batches, 5 rows, compression zstd"),
            std::string::npos);

  // And back through stdin and stdout (a stream by default there).
  const std::string back = PathOf("back.arrows");
  run = Zkarrow("convert - - --compression lz4 < " + stream + " > " + back);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectSameBatches(original, back);
  EXPECT_NE(Zkarrow("inspect " + back).out.find("format: stream"), std::string::npos);
}

TEST_F(ArrowCommandsTest, HelpForEachCommand) {
  for (const char* verb : {"inspect", "cat", "convert"}) {
    RunResult run = Zkarrow(std::string(verb) + " --help");
    EXPECT_EQ(run.exit_code, 0) << verb;
    EXPECT_NE(run.out.find("Usage:"), std::string::npos) << verb << ": " << run.out;
  }
  EXPECT_NE(Zkarrow("cat --help").out.find("--columns"), std::string::npos);
}

const fs::path kGoldDir =
    fs::path(ZKARROW_SOURCE_DIR) / "../shared/arrow-testing/1.0.0-littleendian";

TEST_F(ArrowCommandsTest, GoldFile) {
  const fs::path gold = kGoldDir / "generated_primitive.arrow_file";
  if (!fs::exists(gold)) ZKA_MISSING_PREREQUISITE() << "no gold files in " << kGoldDir.string();
  RunResult run = Zkarrow("cat " + gold.string() +
                          " --format json --limit 1 --columns int64_nullable,uint64_nonnullable,"
                          "utf8_nonnullable,binary_nonnullable");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // The first row of the JSON gold file: "DATA" values of these columns, row 0.
  EXPECT_EQ(run.out,
            "{\"int64_nullable\":null,\"uint64_nonnullable\":0,\"utf8_nonnullable\":\"co矢2p矢m\","
            "\"binary_nonnullable\":\"EMhv\"}\n");

  const std::string converted = PathOf("primitive.arrows");
  run =
      Zkarrow("convert " + gold.string() + " " + converted + " --format stream --compression lz4");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectSameBatches(gold.string(), converted);
}

}  // namespace
}  // namespace zkarrow::cli

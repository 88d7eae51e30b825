// Checks the IPC reader and writer against Apache Arrow's integration "gold"
// files: each case comes as a .stream, an .arrow_file and the expected values
// in integration JSON. Both binaries must read as the JSON says, and what our
// writer makes of them (file, zstd stream, lz4 stream) must read back the same.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "arrow/compare.h"
#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "arrow/testing/integration_json.h"
#include "support/prerequisite.h"

namespace zkarrow::arrow {
namespace {

namespace fs = std::filesystem;

const fs::path kArrowTesting = fs::path(ZKARROW_SOURCE_DIR) / "../shared/arrow-testing";
// Format 1.0 cases, and the cases of layouts added since written by Arrow
// C++ 21 (binary_view, list_view).
const std::vector<std::string> kGoldDirs = {"1.0.0-littleendian", "cpp-21.0.0"};
constexpr char kAbsent[] = "gold_files_absent";

struct GoldCase {
  std::string dir;   // under kArrowTesting
  std::string name;  // "generated_primitive", ...
};

// The cases present: one per .json.gz file.
std::vector<GoldCase> GoldCases() {
  std::vector<GoldCase> cases;
  for (const std::string& dir : kGoldDirs) {
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(kArrowTesting / dir, error)) {
      const std::string file = entry.path().filename().string();
      const std::string suffix = ".json.gz";
      if (file.size() > suffix.size() && file.ends_with(suffix)) {
        names.push_back(file.substr(0, file.size() - suffix.size()));
      }
    }
    std::sort(names.begin(), names.end());
    for (std::string& name : names) cases.push_back({dir, std::move(name)});
  }
  if (cases.empty()) cases.push_back({"", kAbsent});  // so that the skip shows in the results
  return cases;
}

struct Contents {
  std::shared_ptr<const Schema> schema;
  std::vector<RecordBatch> batches;
};

Result<Contents> ReadStream(std::unique_ptr<InputStream> input) {
  ZKA_ASSIGN_OR_RETURN(auto reader, ipc::StreamReader::Open(std::move(input)));
  Contents contents{reader->shared_schema(), {}};
  while (true) {
    ZKA_ASSIGN_OR_RETURN(auto batch, reader->Next());
    if (!batch) break;
    contents.batches.push_back(std::move(*batch));
  }
  return contents;
}

Result<Contents> ReadFile(std::unique_ptr<ipc::FileReader> reader) {
  Contents contents{reader->shared_schema(), {}};
  for (int i = 0; i < reader->num_batches(); ++i) {
    ZKA_ASSIGN_OR_RETURN(auto batch, reader->ReadBatch(i));
    contents.batches.push_back(std::move(batch));
  }
  return contents;
}

Result<std::shared_ptr<const Buffer>> Write(const Contents& contents, bool file,
                                            ipc::Compression compression) {
  BufferOutputStream sink;
  ipc::IpcWriteOptions options;
  options.compression = compression;
  ZKA_ASSIGN_OR_RETURN(auto writer,
                       file ? ipc::IpcWriter::OpenFile(sink, *contents.schema, options)
                            : ipc::IpcWriter::OpenStream(sink, *contents.schema, options));
  for (const RecordBatch& batch : contents.batches) ZKA_RETURN_IF_ERROR(writer->WriteBatch(batch));
  ZKA_RETURN_IF_ERROR(writer->Close());
  return sink.Finish();
}

void ExpectSameContents(const testing::IntegrationJson& expected, const Contents& actual) {
  std::string why;
  ASSERT_TRUE(SchemasEqual(*expected.schema, *actual.schema, &why)) << why;
  ASSERT_EQ(expected.batches.size(), actual.batches.size());
  for (size_t i = 0; i < expected.batches.size(); ++i) {
    // The batches carry each side's own schema object; compare values under one.
    RecordBatch batch = actual.batches[i];
    batch.schema = expected.schema;
    EXPECT_TRUE(BatchesEqual(expected.batches[i], batch, &why)) << "batch " << i << ": " << why;
  }
}

class GoldFileTest : public ::testing::TestWithParam<GoldCase> {
 protected:
  void SetUp() override {
    if (GetParam().name == kAbsent) {
      ZKA_MISSING_PREREQUISITE()
          << "no gold files in " << kArrowTesting.string()
          << " (the Arrow integration files live beside the repository, in ../shared)";
    }
    auto json = testing::ReadIntegrationJsonFile(Path(".json.gz"));
    if (!json.ok() && json.status().code() == StatusCode::kNotImplemented) {
      unsupported_ = json.status();
      return;
    }
    ASSERT_TRUE(json.ok()) << json.status().ToString();
    expected_ = std::move(json).value();
  }

  fs::path Path(const std::string& suffix) const {
    return kArrowTesting / GetParam().dir / (GetParam().name + suffix);
  }

  // A case with a type zkarrow refuses: reading the binary must fail clearly.
  void ExpectRefused(const Status& status) {
    EXPECT_EQ(status.code(), StatusCode::kNotImplemented)
        << "JSON: " << unsupported_.ToString() << "; IPC: " << status.ToString();
    EXPECT_FALSE(status.message().empty());
  }

  Status unsupported_;
  testing::IntegrationJson expected_;
};

TEST_P(GoldFileTest, StreamMatchesJson) {
  auto input = FileInputStream::Open(Path(".stream"));
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  auto contents = ReadStream(std::move(input).value());
  if (!unsupported_.ok()) return ExpectRefused(contents.status());
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  ExpectSameContents(expected_, *contents);
}

TEST_P(GoldFileTest, FileMatchesJson) {
  auto reader = ipc::FileReader::OpenPath(Path(".arrow_file"));
  Result<Contents> contents =
      reader.ok() ? ReadFile(std::move(reader).value()) : Result<Contents>(reader.status());
  if (!unsupported_.ok()) return ExpectRefused(contents.status());
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  ExpectSameContents(expected_, *contents);
}

TEST_P(GoldFileTest, RewrittenFileAndCompressedStreamsMatchJson) {
  if (!unsupported_.ok()) GTEST_SKIP() << "refused type: " << unsupported_.ToString();
  auto reader = ipc::FileReader::OpenPath(Path(".arrow_file"));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto original = ReadFile(std::move(reader).value());
  ASSERT_TRUE(original.ok()) << original.status().ToString();

  {
    SCOPED_TRACE("file, uncompressed");
    auto bytes = Write(*original, /*file=*/true, ipc::Compression::kNone);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto rewritten = ipc::FileReader::Open(*bytes);
    ASSERT_TRUE(rewritten.ok()) << rewritten.status().ToString();
    auto contents = ReadFile(std::move(rewritten).value());
    ASSERT_TRUE(contents.ok()) << contents.status().ToString();
    ExpectSameContents(expected_, *contents);
  }
  for (auto [compression, name] : {std::pair{ipc::Compression::kZstd, "zstd"},
                                   std::pair{ipc::Compression::kLz4Frame, "lz4"}}) {
    SCOPED_TRACE(std::string("stream, ") + name);
    auto bytes = Write(*original, /*file=*/false, compression);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto contents = ReadStream(std::make_unique<BufferInputStream>(*bytes));
    ASSERT_TRUE(contents.ok()) << contents.status().ToString();
    ExpectSameContents(expected_, *contents);
  }
}

INSTANTIATE_TEST_SUITE_P(ArrowTesting, GoldFileTest, ::testing::ValuesIn(GoldCases()),
                         [](const ::testing::TestParamInfo<GoldCase>& param) {
                           // Cases after 1.0 are named by the writer: cpp_21_0_0_...
                           std::string prefix =
                               param.param.dir == kGoldDirs[0] ? "" : param.param.dir + "_";
                           std::replace_if(
                               prefix.begin(), prefix.end(),
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return prefix + param.param.name;
                         });

}  // namespace
}  // namespace zkarrow::arrow

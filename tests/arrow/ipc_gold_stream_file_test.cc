// Reads every .stream and .arrow_file of Apache Arrow's 1.0.0 little-endian
// gold files and checks that the stream and the file of a case hold the same
// arrays. (gold_files_test.cc compares them against the JSON.) The files are
// never copied into the repository; the test skips when they are absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "ipc_test_util.h"
#include "support/prerequisite.h"

namespace zkarrow::arrow::ipc_test {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldDir =
    fs::path(ZKARROW_SOURCE_DIR) / "../shared/arrow-testing/1.0.0-littleendian";

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(kGoldDir, error)) {
    if (entry.path().extension() == ".stream") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) names.push_back("absent");
  return names;
}

class GoldStreamFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldStreamFileTest, StreamAndFileReadTheSame) {
  if (GetParam() == "absent") ZKA_MISSING_PREREQUISITE() << "no gold files in " << kGoldDir;
  const fs::path base = kGoldDir / GetParam();

  auto stream_bytes = MapFile(base.string() + ".stream");
  ASSERT_TRUE(stream_bytes.ok()) << stream_bytes.status().ToString();
  auto stream = ReadStreamBytes((*stream_bytes)->bytes());
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();

  auto file_reader = ipc::FileReader::OpenPath(base.string() + ".arrow_file");
  ASSERT_TRUE(file_reader.ok()) << file_reader.status().ToString();
  EXPECT_EQ((*file_reader)->schema(), *stream->schema);
  ASSERT_EQ((*file_reader)->num_batches(), static_cast<int>(stream->batches.size()));
  for (int i = 0; i < (*file_reader)->num_batches(); ++i) {
    auto batch = (*file_reader)->ReadBatch(i);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    const RecordBatch& expected = stream->batches[static_cast<size_t>(i)];
    ASSERT_EQ(batch->length, expected.length);
    for (size_t c = 0; c < expected.columns.size(); ++c) {
      std::string why;
      EXPECT_TRUE(
          ArraysEqual(stream->schema->fields[c], *expected.columns[c], *batch->columns[c], &why))
          << "batch " << i << " column " << stream->schema->fields[c].name << ": " << why;
    }
  }
}

// Our writer's rendition of each gold stream reads back identically.
TEST_P(GoldStreamFileTest, RewrittenByUsReadsTheSame) {
  if (GetParam() == "absent") ZKA_MISSING_PREREQUISITE() << "no gold files in " << kGoldDir;
  auto stream_bytes = MapFile((kGoldDir / GetParam()).string() + ".stream");
  ASSERT_TRUE(stream_bytes.ok());
  auto original = ReadStreamBytes((*stream_bytes)->bytes());
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  for (bool file : {false, true}) {
    for (ipc::Compression codec : {ipc::Compression::kNone, ipc::Compression::kZstd}) {
      ipc::IpcWriteOptions options;
      options.compression = codec;
      auto written = WriteIpc(*original->schema, original->batches, file, options);
      ASSERT_TRUE(written.ok()) << written.status().ToString();
      auto reread = ReadAnyBytes(*written, file);
      ASSERT_TRUE(reread.ok()) << reread.status().ToString();
      ASSERT_EQ(reread->batches.size(), original->batches.size());
      for (size_t b = 0; b < original->batches.size(); ++b) {
        std::string why;
        EXPECT_TRUE(BatchesEqual(original->batches[b], reread->batches[b], &why)) << why;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Gold, GoldStreamFileTest, ::testing::ValuesIn(Cases()),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
}  // namespace zkarrow::arrow::ipc_test

// The transaction-log table over logs written by test code: a type that first
// appears after the first batch must not change the type dictionary, which an
// IPC file cannot replace (issue 10: 101,404 transactions failed to write).
#include "znodes/datadir/txnlog_table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "arrow/array_access.h"
#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "datadir_files.h"

namespace zkarrow::znodes {
namespace {

namespace fs = std::filesystem;

// setData and delete first appear after the first batch (in the last one).
constexpr int kCreates = testing::kRowsPastTheFirstBatch;

class TxnLogTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkarrow-txnlog-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "version-2");
    testing::WriteLateTypesLog(dir_ / "version-2", kCreates);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

// Rows per type name, over every batch.
using TypeCounts = std::map<std::string, int64_t>;

void CountTypes(const arrow::RecordBatch& batch, TypeCounts* counts) {
  const arrow::Field& field = batch.schema->fields[4];
  ASSERT_EQ(field.name, "type");
  const arrow::ArrayData& column = *batch.columns[4];
  ASSERT_NE(column.dictionary, nullptr);
  for (int64_t i = 0; i < batch.length; ++i) {
    int64_t index = arrow::ReadDictionaryIndex(column, i, field.dictionary->index_type);
    auto name = arrow::BinaryValue(*column.dictionary, index, false);
    ++(*counts)[std::string(name.begin(), name.end())];
  }
}

TEST_F(TxnLogTableTest, TypeFirstSeenAfterTheFirstBatchWritesFileAndStream) {
  const TypeCounts expected = {
      {"createSession", 1}, {"create", kCreates}, {"setData", 1}, {"delete", 1}};
  for (auto format : {arrow::ipc::IpcFormat::kFile, arrow::ipc::IpcFormat::kStream}) {
    const bool file = format == arrow::ipc::IpcFormat::kFile;
    SCOPED_TRACE(file ? "file" : "stream");
    arrow::BufferOutputStream sink;
    auto writer = arrow::ipc::IpcWriter::Open(sink, datadir::TxnLogSchema(), format);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    datadir::TxnLogSummary summary;
    Status written = datadir::WriteTxnLogTable({.dir = dir_}, **writer, &summary);
    ASSERT_TRUE(written.ok()) << written.ToString();
    ASSERT_TRUE((*writer)->Close().ok());
    EXPECT_EQ(summary.rows, static_cast<size_t>(kCreates + 3));

    TypeCounts counts;
    int batches = 0;
    std::shared_ptr<const arrow::Buffer> bytes = sink.Finish();
    if (file) {
      auto reader = arrow::ipc::FileReader::Open(bytes);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      EXPECT_EQ((*reader)->num_dictionaries(), 1);
      for (int i = 0; i < (*reader)->num_batches(); ++i, ++batches) {
        auto batch = (*reader)->ReadBatch(i);
        ASSERT_TRUE(batch.ok()) << batch.status().ToString();
        CountTypes(*batch, &counts);
      }
    } else {
      auto reader =
          arrow::ipc::StreamReader::Open(std::make_unique<arrow::BufferInputStream>(bytes));
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      while (true) {
        auto batch = (*reader)->Next();
        ASSERT_TRUE(batch.ok()) << batch.status().ToString();
        if (!*batch) break;
        CountTypes(**batch, &counts);
        ++batches;
      }
      // The whole dictionary is declared before the first batch.
      EXPECT_EQ((*reader)->num_dictionary_batches_read(), 1);
    }
    const int64_t rows_per_batch = datadir::TxnLogOptions{}.rows_per_batch;
    EXPECT_EQ(batches, (kCreates + 3 + rows_per_batch - 1) / rows_per_batch);
    EXPECT_EQ(counts, expected);
  }
}

}  // namespace
}  // namespace zkarrow::znodes

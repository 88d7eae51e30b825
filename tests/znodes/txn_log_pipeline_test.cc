// The log pipeline over logs written by test code: entries come in order
// across blocks and logs, as TxnLogReader yields them, and an error ends the
// blocks right after the entries before it.
#include "znodes/datadir/txn_log_pipeline.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "datadir_files.h"
#include "znodes/datadir/txn_log.h"

namespace zkarrow::znodes {
namespace {

using datadir::DataFile;
using datadir::TxnLogPipeline;

// Creates of /n<first> to /n<first + count - 1>, zxids first to first + count - 1:
// more than one block each.
std::vector<testing::LogEntry> Creates(int64_t first, int count) {
  const std::vector<zk::Acl> open = {zk::Acl{zk::perms::kAll, "world", "anyone"}};
  std::vector<testing::LogEntry> entries;
  for (int i = 0; i < count; ++i) {
    testing::LogEntry& entry = entries.emplace_back();
    entry.zxid = first + i;
    entry.type = datadir::kOpCreate;
    entry.record = testing::CreateRecord("/n" + std::to_string(first + i), "v", open, -1);
  }
  return entries;
}

// The zxid and offset of every entry, as TxnLogReader reads the file.
std::vector<std::pair<int64_t, size_t>> ReadDirectly(const std::vector<uint8_t>& bytes) {
  std::vector<std::pair<int64_t, size_t>> read;
  auto reader = datadir::TxnLogReader::Open(bytes);
  EXPECT_TRUE(reader.ok());
  datadir::Transaction txn;
  while (true) {
    const size_t offset = reader->offset();
    auto more = reader->Next(&txn);
    if (!more.ok() || !*more) break;
    read.emplace_back(txn.header.zxid, offset);
  }
  return read;
}

TEST(TxnLogPipelineTest, EntriesComeInOrderAcrossBlocksAndLogs) {
  testing::ScratchDataDir dir("pipeline-order");
  const std::vector<uint8_t> first = testing::TxnLogFile(Creates(1, 5000));
  const std::vector<uint8_t> second = testing::TxnLogFile(Creates(5001, 3000));
  std::vector<DataFile> logs = {{dir.version2() / "log.1", 1}, {dir.version2() / "log.1389", 5001}};
  testing::WriteFile(logs[0].path, first);
  testing::WriteFile(logs[1].path, second);

  std::vector<std::vector<std::pair<int64_t, size_t>>> seen(2);
  std::vector<int> ends(2);
  int blocks = 0;
  TxnLogPipeline pipeline(logs);
  while (const TxnLogPipeline::Block* block = pipeline.Next()) {
    ASSERT_TRUE(block->status.ok()) << block->status.ToString();
    ASSERT_LT(block->log, 2u);
    ++blocks;
    for (size_t k = 0; k < block->count; ++k) {
      seen[block->log].emplace_back(block->txns[k].header.zxid, block->offsets[k]);
    }
    if (block->log_end) {
      ++ends[block->log];
      EXPECT_EQ(block->partial_tail, "");
    }
  }
  EXPECT_EQ(seen[0], ReadDirectly(first));
  EXPECT_EQ(seen[1], ReadDirectly(second));
  EXPECT_EQ(ends, (std::vector<int>{1, 1}));
  EXPECT_GT(blocks, 2);
}

TEST(TxnLogPipelineTest, ACorruptEntryEndsTheBlocksAfterTheEntriesBeforeIt) {
  testing::ScratchDataDir dir("pipeline-corrupt");
  std::vector<uint8_t> bytes = testing::TxnLogFile(Creates(1, 5000));
  const std::vector<std::pair<int64_t, size_t>> entries = ReadDirectly(bytes);
  ASSERT_EQ(entries.size(), 5000u);
  // The last payload byte of zxid 3000 (the entry before the one at
  // entries[3000]): its checksum no longer matches.
  bytes[entries[3000].second - 2] ^= 0xff;
  std::vector<DataFile> logs = {{dir.version2() / "log.1", 1}, {dir.version2() / "log.1389", 5001}};
  testing::WriteFile(logs[0].path, bytes);
  testing::WriteFile(logs[1].path, testing::TxnLogFile(Creates(5001, 10)));

  int64_t last_zxid = 0;
  Status failure;
  TxnLogPipeline pipeline(logs);
  while (const TxnLogPipeline::Block* block = pipeline.Next()) {
    ASSERT_TRUE(failure.ok()) << "a block after the failed one";
    for (size_t k = 0; k < block->count; ++k) {
      ASSERT_EQ(block->txns[k].header.zxid, last_zxid + 1);
      last_zxid = block->txns[k].header.zxid;
    }
    failure = block->status;
  }
  EXPECT_EQ(last_zxid, 2999);
  EXPECT_NE(failure.ToString().find("checksum mismatch in the entry at offset " +
                                    std::to_string(entries[2999].second)),
            std::string::npos)
      << failure.ToString();
}

TEST(TxnLogPipelineTest, ALogThatCannotBeLoadedIsTheLastBlock) {
  testing::ScratchDataDir dir("pipeline-missing");
  std::vector<DataFile> logs = {{dir.version2() / "log.1", 1}, {dir.version2() / "log.2", 2}};
  testing::WriteFile(logs[0].path, testing::TxnLogFile(Creates(1, 1)));
  TxnLogPipeline pipeline(logs);  // log.2 does not exist
  const TxnLogPipeline::Block* block = pipeline.Next();
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->count, 1u);
  EXPECT_TRUE(block->log_end);
  block = pipeline.Next();
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->log, 1u);
  EXPECT_TRUE(block->load_failed);
  EXPECT_FALSE(block->status.ok());
  EXPECT_EQ(pipeline.Next(), nullptr);
}

TEST(TxnLogPipelineTest, StoppingEarlyEndsTheReadingThread) {
  testing::ScratchDataDir dir("pipeline-stop");
  std::vector<DataFile> logs = {{dir.version2() / "log.1", 1}};
  testing::WriteFile(logs[0].path, testing::TxnLogFile(Creates(1, 20000)));
  TxnLogPipeline pipeline(logs);
  const TxnLogPipeline::Block* block = pipeline.Next();
  ASSERT_NE(block, nullptr);
  EXPECT_GT(block->count, 0u);
  // The destructor stops the reader, blocked on a full queue, and joins it.
}

}  // namespace
}  // namespace zkarrow::znodes

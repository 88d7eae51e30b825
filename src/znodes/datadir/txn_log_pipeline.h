// Transaction logs read and decoded on a thread of their own, handed to the
// caller in blocks: checking and decoding an entry is a third or more of a
// replay or of a txnlog table, and the caller's own work (applying it to a
// tree, building its row) can go on meanwhile on the second core. Few blocks
// are ever in flight, so memory stays bounded whatever the logs hold.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arrow/buffer.h"
#include "base/status.h"
#include "znodes/datadir/data_dir_files.h"
#include "znodes/datadir/txn.h"
#include "znodes/datadir/txn_log.h"

namespace zkarrow::znodes::datadir {

class TxnLogPipeline {
 public:
  // Consecutive entries of one log, in order.
  struct Block {
    size_t log = 0;  // index into the logs given
    // The log's bytes, which the transactions refer to.
    std::shared_ptr<const arrow::Buffer> bytes;
    std::vector<Transaction> txns;  // [0, count) hold this block's entries
    std::vector<size_t> offsets;    // where each entry starts in the log
    size_t count = 0;
    bool log_end = false;      // the log's last block
    std::string partial_tail;  // with log_end: as TxnLogReader::partial_tail
    // Set in the last block of all when reading failed after its entries;
    // load_failed says whether loading the file failed (no entries then).
    Status status;
    bool load_failed = false;
  };

  // Starts reading `logs` in order, on a thread of its own (or, when none
  // can be started, on the caller's, block by block in Next).
  explicit TxnLogPipeline(std::vector<DataFile> logs);
  ~TxnLogPipeline();
  TxnLogPipeline(const TxnLogPipeline&) = delete;
  TxnLogPipeline& operator=(const TxnLogPipeline&) = delete;

  // The next block, valid until the next call; null after the last one (the
  // one with a failed status, or the last log's end). Rethrows what the
  // reading thread threw (out of memory).
  const Block* Next();

 private:
  // Fills `block` with the next entries; false when it is the last block.
  bool Fill(Block& block);
  // The reading thread's loop.
  void Read();

  const std::vector<DataFile> logs_;
  // Where reading is (used by one thread only: the reader's, or the
  // caller's when no thread could be started).
  size_t next_log_ = 0;
  std::shared_ptr<const arrow::Buffer> log_bytes_;
  std::optional<TxnLogReader> log_reader_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Block> full_;
  std::vector<Block> empty_;
  Block current_;  // the block the caller holds
  bool holding_ = false;
  bool finished_ = false;  // the last block was filled
  bool stop_ = false;
  std::exception_ptr exception_;
  bool threaded_ = false;
  std::thread thread_;
};

}  // namespace zkarrow::znodes::datadir

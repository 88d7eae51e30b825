#include "znodes/datadir/txn_log_pipeline.h"

#include <system_error>
#include <utility>

namespace zkarrow::znodes::datadir {
namespace {

// Enough entries per block that handing one over (a lock and a wake-up)
// costs little per entry, few enough that the blocks stay small.
constexpr size_t kBlockTxns = 2048;
constexpr size_t kBlocks = 4;

}  // namespace

TxnLogPipeline::TxnLogPipeline(std::vector<DataFile> logs)
    : logs_(std::move(logs)), empty_(kBlocks) {
  if (logs_.empty()) {
    finished_ = true;
    return;
  }
  try {
    thread_ = std::thread([this] {
      try {
        Read();
      } catch (...) {
        std::lock_guard lock(mutex_);
        exception_ = std::current_exception();
        finished_ = true;
        changed_.notify_all();
      }
    });
    threaded_ = true;
  } catch (const std::system_error&) {
    // No thread to be had (a process or memory limit): Next reads instead.
  }
}

TxnLogPipeline::~TxnLogPipeline() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool TxnLogPipeline::Fill(Block& block) {
  block.count = 0;
  block.log_end = false;
  block.partial_tail.clear();
  block.status = Status::Ok();
  block.load_failed = false;
  block.log = next_log_;
  if (!log_reader_) {
    const DataFile& log = logs_[next_log_];
    auto bytes = LoadLogFile(log.path);
    if (!bytes.ok()) {
      block.bytes.reset();
      block.status = bytes.status();
      block.load_failed = true;
      return false;
    }
    block.bytes = *bytes;
    auto reader = TxnLogReader::Open((*bytes)->bytes());
    if (!reader.ok()) {
      block.status = reader.status();
      return false;
    }
    log_bytes_ = std::move(bytes).value();
    log_reader_.emplace(std::move(reader).value());
  }
  block.bytes = log_bytes_;
  if (block.txns.size() < kBlockTxns) {
    block.txns.resize(kBlockTxns);
    block.offsets.resize(kBlockTxns);
  }
  while (block.count < kBlockTxns) {
    const size_t offset = log_reader_->offset();
    auto more = log_reader_->Next(&block.txns[block.count]);
    if (!more.ok()) {
      block.status = more.status();
      return false;
    }
    if (!*more) {
      block.log_end = true;
      block.partial_tail = log_reader_->partial_tail();
      log_reader_.reset();
      log_bytes_.reset();
      return ++next_log_ < logs_.size();
    }
    block.offsets[block.count++] = offset;
  }
  return true;
}

void TxnLogPipeline::Read() {
  Block block;
  {
    std::lock_guard lock(mutex_);
    block = std::move(empty_.back());
    empty_.pop_back();
  }
  while (true) {
    const bool more = Fill(block);
    std::unique_lock lock(mutex_);
    full_.push_back(std::move(block));
    finished_ = !more;
    changed_.notify_all();
    if (!more) return;
    changed_.wait(lock, [&] { return stop_ || !empty_.empty(); });
    if (stop_) return;
    block = std::move(empty_.back());
    empty_.pop_back();
  }
}

const TxnLogPipeline::Block* TxnLogPipeline::Next() {
  if (!threaded_) {
    if (finished_) return nullptr;
    finished_ = !Fill(current_);
    return &current_;
  }
  std::unique_lock lock(mutex_);
  if (holding_) {
    empty_.push_back(std::move(current_));
    holding_ = false;
    changed_.notify_all();
  }
  changed_.wait(lock, [&] { return !full_.empty() || finished_; });
  if (!full_.empty()) {
    current_ = std::move(full_.front());
    full_.pop_front();
    holding_ = true;
    return &current_;
  }
  if (exception_) std::rethrow_exception(exception_);
  return nullptr;
}

}  // namespace zkarrow::znodes::datadir

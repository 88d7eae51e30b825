// Reads one transaction log file (log.<first zxid hex>): a file header, then
// entries of [Adler-32 of the payload: long][payload: buffer][0x42 'B'].
// ZooKeeper preallocates logs in 64 MB blocks of zeros, so the entries end
// at the first zero-length payload; a crash may also leave a partial last
// entry, which the server itself treats as the end of the log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "znodes/datadir/file_format.h"
#include "znodes/datadir/txn.h"

namespace zkarrow::znodes::datadir {

class TxnLogReader {
 public:
  // Checks the header. `bytes` must outlive the reader and its transactions.
  static Result<TxnLogReader> Open(std::span<const uint8_t> bytes);

  // Decodes the next entry into `txn`; returns false at the end of the log.
  // A checksum mismatch or an undecodable payload is an error naming the
  // entry's offset.
  Result<bool> Next(Transaction* txn);

  const FileHeader& header() const { return header_; }
  // Where the next entry starts (or where the log ended).
  size_t offset() const { return offset_; }
  // Why the log ended early, when a partial entry cut it short ("" when it
  // ended cleanly): the server would have stopped there too.
  const std::string& partial_tail() const { return partial_tail_; }

 private:
  TxnLogReader(std::span<const uint8_t> bytes, FileHeader header)
      : bytes_(bytes), header_(header), offset_(kFileHeaderSize) {}

  std::span<const uint8_t> bytes_;
  FileHeader header_;
  size_t offset_;
  bool done_ = false;
  std::string partial_tail_;
};

}  // namespace zkarrow::znodes::datadir

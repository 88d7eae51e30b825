#include "znodes/datadir/txn_log.h"

#include <algorithm>

#include "zk/jute.h"

namespace zkarrow::znodes::datadir {
namespace {

constexpr uint8_t kEndOfRecord = 0x42;  // 'B'

std::string Hex32(uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) text += kDigits[(v >> shift) & 0xf];
  return text;
}

}  // namespace

Result<TxnLogReader> TxnLogReader::Open(std::span<const uint8_t> bytes) {
  zk::JuteReader reader(bytes);
  ZKA_ASSIGN_OR_RETURN(FileHeader header, ReadFileHeader(reader, kTxnLogMagic));
  return TxnLogReader(bytes, header);
}

Result<bool> TxnLogReader::Next(Transaction* txn) {
  if (done_) return false;
  const size_t entry_offset = offset_;
  zk::JuteReader reader(bytes_.subspan(entry_offset));
  auto stored_checksum = static_cast<uint64_t>(reader.ReadLong());
  int32_t length = reader.ReadInt();
  auto stop = [&](std::string why) -> Result<bool> {
    done_ = true;
    partial_tail_ = std::move(why);
    return false;
  };
  if (!reader.ok()) {
    // Fewer than 12 bytes left: the end of a log that was cut short inside
    // its zero padding (or never padded), or a partial entry.
    bool only_zeros = std::all_of(bytes_.begin() + static_cast<ptrdiff_t>(entry_offset),
                                  bytes_.end(), [](uint8_t b) { return b == 0; });
    if (only_zeros) return stop("");
    return stop("partial entry header at offset " + std::to_string(entry_offset));
  }
  if (length == 0) return stop("");  // the preallocated zeros
  if (length < 0 || static_cast<size_t>(length) + 1 > reader.remaining()) {
    return stop("partial entry at offset " + std::to_string(entry_offset) + " (" +
                std::to_string(length) + "-byte payload, " + std::to_string(reader.remaining()) +
                " bytes left)");
  }
  auto payload = bytes_.subspan(entry_offset + 12, static_cast<size_t>(length));
  if (bytes_[entry_offset + 12 + payload.size()] != kEndOfRecord) {
    return stop("entry at offset " + std::to_string(entry_offset) +
                " lacks its end-of-record marker");
  }
  uint32_t actual_checksum = Adler32(payload);
  if (stored_checksum != actual_checksum) {
    done_ = true;
    return Status::InvalidData("checksum mismatch in the entry at offset " +
                               std::to_string(entry_offset) + ": stored " +
                               Hex32(static_cast<uint32_t>(stored_checksum)) +
                               (stored_checksum >> 32 ? " (with high bits set)" : "") +
                               ", computed " + Hex32(actual_checksum));
  }
  if (Status decoded = DecodeTransaction(payload, txn); !decoded.ok()) {
    done_ = true;
    return decoded.WithContext("entry at offset " + std::to_string(entry_offset));
  }
  offset_ = entry_offset + 12 + payload.size() + 1;
  return true;
}

}  // namespace zkarrow::znodes::datadir

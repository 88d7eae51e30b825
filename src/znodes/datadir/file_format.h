// The pieces of ZooKeeper's on-disk format that snapshots and transaction
// logs share: the file header (magic, format version, database id), the
// Adler-32 checksums, and the zxid in each file's name.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "zk/jute.h"

namespace zkarrow::znodes::datadir {

inline constexpr int32_t kSnapshotMagic = 0x5a4b534e;  // "ZKSN"
inline constexpr int32_t kTxnLogMagic = 0x5a4b4c47;    // "ZKLG"
// The only format version ZooKeeper has written since 3.0.
inline constexpr int32_t kFileFormatVersion = 2;
inline constexpr size_t kFileHeaderSize = 16;

struct FileHeader {
  int32_t magic = 0;
  int32_t version = 0;
  int64_t dbid = 0;
};

// Reads the header and checks its magic and version against `expected_magic`.
Result<FileHeader> ReadFileHeader(zk::JuteReader& reader, int32_t expected_magic);

// java.util.zip.Adler32 over `bytes`, as ZooKeeper's checksums compute it;
// pass an earlier result as `running` to continue over the next bytes.
inline constexpr uint32_t kAdler32Initial = 1;
uint32_t Adler32(std::span<const uint8_t> bytes, uint32_t running = kAdler32Initial);

// A zxid as ZooKeeper names files and logs it: "0x1a2b".
std::string ZxidToHex(int64_t zxid);

// The zxid in a file name such as "log.1a2b" or "snapshot.1a2b.gz" with the
// given prefix ("log" or "snapshot"); nullopt when the name does not match.
std::optional<int64_t> ZxidFromFileName(std::string_view name, std::string_view prefix);

}  // namespace zkarrow::znodes::datadir

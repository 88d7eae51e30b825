#include "znodes/datadir/snapshot.h"

#include <future>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "zk/jute.h"
#include "znodes/limits.h"

namespace zkarrow::znodes::datadir {
namespace {

constexpr size_t kSessionSize = 8 + 4;
constexpr size_t kAclEntrySize = 4 + 4 + 4;  // perms, scheme length, id length
constexpr size_t kSealSize = 8 + 4 + 1;      // checksum, then the string "/"
constexpr size_t kDigestSize = 8 + 4 + 8;    // zxid, version, digest
constexpr size_t kLastZxidSize = 8;
// The most that can follow the snapshot's seal: the digest and the last
// zxid, each with its own seal.
constexpr size_t kMaxAfterSeal = kDigestSize + kSealSize + kLastZxidSize + kSealSize;
// Below this the seal's checksum is computed when it is reached: a thread
// would cost more than it saves.
constexpr size_t kChecksumAheadBytes = size_t{4} << 20;

std::string At(size_t offset) { return " at offset " + std::to_string(offset); }

// Reads a seal and checks it against the checksum of everything before it.
Status ReadSeal(std::span<const uint8_t> bytes, zk::JuteReader& reader, uint32_t* running,
                size_t* checked_up_to, std::string_view what) {
  const size_t seal_offset = reader.offset();
  *running = Adler32(bytes.subspan(*checked_up_to, seal_offset - *checked_up_to), *running);
  *checked_up_to = seal_offset;
  auto stored = static_cast<uint64_t>(reader.ReadLong());
  auto end_marker = reader.ReadBufferView();
  if (!reader.ok()) return reader.status().WithContext(std::string(what));
  if (end_marker.size() != 1 || end_marker[0] != '/') {
    return Status::InvalidData(std::string(what) + ": the checksum is not followed by \"/\"" +
                               At(seal_offset + 8));
  }
  if (stored != *running) {
    return Status::InvalidData(std::string(what) + ": checksum mismatch" + At(seal_offset) +
                               " (stored " + std::to_string(stored) + ", computed " +
                               std::to_string(*running) + ")");
  }
  return Status::Ok();
}

Status ReadSessions(zk::JuteReader& reader, SnapshotInfo* info) {
  int32_t count = reader.ReadVectorLength(kSessionSize);
  reader.Skip(static_cast<size_t>(count) * kSessionSize);  // ids and timeouts: not part of the tree
  info->sessions = static_cast<size_t>(count);
  return reader.status().WithContext("reading the session list");
}

// Memory an ACL cache entry takes once decoded, beyond its strings: the map
// node and vector (~64 bytes), and each zk::Acl.
int64_t AclCacheEntryCost(int32_t entries) {
  return 64 + static_cast<int64_t>(entries) * static_cast<int64_t>(sizeof(zk::Acl));
}

Status ReadAclCache(zk::JuteReader& reader, DataTree* tree) {
  int32_t count = reader.ReadVectorLength(8 + 4);
  int64_t decoded_bytes = 0;
  for (int32_t i = 0; i < count && reader.ok(); ++i) {
    const size_t entry_offset = reader.offset();
    int64_t id = reader.ReadLong();
    const int32_t entries = reader.ReadVectorLength(kAclEntrySize);
    // Checked before the list is allocated: a short entry on disk (12 bytes)
    // becomes a zk::Acl several times larger.
    decoded_bytes += AclCacheEntryCost(entries);
    if (decoded_bytes > kMaxAclBytes) {
      return Status::OutOfRange("the ACL cache would take more than " +
                                std::to_string(kMaxAclBytes >> 20) + " MiB decoded (" +
                                std::to_string(count) + " lists; list " + std::to_string(i) +
                                " has " + std::to_string(entries) + " entries)" + At(entry_offset));
    }
    std::vector<zk::Acl> acl(static_cast<size_t>(entries));
    for (zk::Acl& entry : acl) {
      entry.perms = reader.ReadInt();
      entry.scheme = reader.ReadString();
      entry.id = reader.ReadString();
      decoded_bytes += static_cast<int64_t>(entry.scheme.capacity() + entry.id.capacity());
    }
    if (!reader.ok()) break;
    Status added = tree->AddAcl(id, std::move(acl));
    if (!added.ok()) return added.WithContext("ACL cache entry" + At(entry_offset));
  }
  return reader.status().WithContext("reading the ACL cache");
}

// A node record's ACL id and StatPersisted.
constexpr size_t kNodeTailSize = 8 + kPersistedStatSize;

Status ReadNodes(std::span<const uint8_t> bytes, zk::JuteReader& reader, DataTree* tree,
                 SnapshotInfo* info) {
  while (true) {
    const size_t node_offset = reader.offset();
    const uint8_t* record = reader.remaining() > 0 ? bytes.data() + node_offset : nullptr;
    auto path_bytes = reader.ReadBufferView();
    std::string_view path(reinterpret_cast<const char*>(path_bytes.data()), path_bytes.size());
    if (!reader.ok()) return reader.status().WithContext("reading a node path");
    if (path == "/") return Status::Ok();  // the end of the node list
    auto data = reader.ReadOptionalBufferView();
    int64_t acl_id = 0;
    PersistedStat stat;
    if (reader.ok() && reader.remaining() >= kNodeTailSize) {
      // The fixed-size rest at once: one bounds check, not ten.
      const uint8_t* tail = bytes.data() + reader.offset();
      acl_id = zk::JuteLongAt(tail);
      stat = DecodePersistedStat(tail + 8);
      reader.Skip(kNodeTailSize);
    } else {  // truncated: the reader says where
      acl_id = reader.ReadLong();
      reader.Skip(kPersistedStatSize);
    }
    Status status = reader.status();
    // A null path or data buffer (length -1) reads as empty but would read
    // back differently from the record: such nodes keep a copy instead.
    const bool plain = status.ok() && path_bytes.data() == record + 4 &&
                       zk::JuteIntAt(record) >= 0 &&
                       zk::JuteIntAt(record + 4 + path_bytes.size()) >= 0;
    if (status.ok()) status = tree->AddNode(path, data, acl_id, stat, plain ? record : nullptr);
    if (!status.ok()) {
      return status.WithContext("node \"" + std::string(path) + "\"" + At(node_offset));
    }
    ++info->nodes;
  }
}

}  // namespace

Result<SnapshotInfo> DecodeSnapshot(std::span<const uint8_t> bytes, DataTree* tree) {
  // The seal's checksum covers everything before it, and the seal is at
  // most kSealSize + kMaxAfterSeal bytes before the end: the checksum of
  // all bytes up to there is computed on a second core while the nodes are
  // decoded on this one (it also maps the file's pages ahead of the decoder).
  const size_t ahead_bytes =
      bytes.size() >= kChecksumAheadBytes ? bytes.size() - kSealSize - kMaxAfterSeal : 0;
  std::future<uint32_t> ahead;
  if (ahead_bytes > 0) {
    try {
      ahead = std::async(std::launch::async,
                         [bytes, ahead_bytes] { return Adler32(bytes.first(ahead_bytes)); });
    } catch (const std::system_error&) {
      // No thread to be had (memory is short): the seal's checksum is then
      // computed when it is reached, as for a small file.
    }
  }
  zk::JuteReader reader(bytes);
  SnapshotInfo info;
  ZKA_ASSIGN_OR_RETURN(info.header, ReadFileHeader(reader, kSnapshotMagic));
  ZKA_RETURN_IF_ERROR(ReadSessions(reader, &info));
  ZKA_RETURN_IF_ERROR(ReadAclCache(reader, tree));
  ZKA_RETURN_IF_ERROR(ReadNodes(bytes, reader, tree, &info));

  uint32_t running = kAdler32Initial;
  size_t checked_up_to = 0;
  if (ahead.valid()) {
    const uint32_t ahead_checksum = ahead.get();
    // A seal earlier than that (a damaged file) is checked from the start.
    if (reader.offset() >= ahead_bytes) {
      running = ahead_checksum;
      checked_up_to = ahead_bytes;
    }
  }
  ZKA_RETURN_IF_ERROR(ReadSeal(bytes, reader, &running, &checked_up_to, "snapshot seal"));

  // What follows the seal is told apart by its length: each optional
  // section has a fixed size and its own seal.
  const size_t rest = reader.remaining();
  const bool has_digest = rest == kDigestSize + kSealSize ||
                          rest == kDigestSize + kSealSize + kLastZxidSize + kSealSize;
  const bool has_last_zxid = rest == kLastZxidSize + kSealSize ||
                             rest == kDigestSize + kSealSize + kLastZxidSize + kSealSize;
  if (rest != 0 && !has_digest && !has_last_zxid) {
    return Status::InvalidData(std::to_string(rest) + " unexpected bytes after the snapshot seal" +
                               At(reader.offset()));
  }
  if (has_digest) {
    ZxidDigest digest;
    digest.zxid = reader.ReadLong();
    digest.version = reader.ReadInt();
    digest.digest = reader.ReadLong();
    ZKA_RETURN_IF_ERROR(ReadSeal(bytes, reader, &running, &checked_up_to, "digest seal"));
    if (digest.zxid > 0) info.digest = digest;  // zero: digests were off
  }
  if (has_last_zxid) {
    info.last_processed_zxid = reader.ReadLong();
    ZKA_RETURN_IF_ERROR(ReadSeal(bytes, reader, &running, &checked_up_to, "last zxid seal"));
  }
  return info;
}

}  // namespace zkarrow::znodes::datadir

#include "datadir_files.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <limits>

#include "zk/jute.h"
#include "znodes/datadir/file_format.h"

namespace zkarrow::znodes::testing {
namespace {

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

void WriteHeader(zk::JuteWriter& out, int32_t magic) {
  out.WriteInt(magic);
  out.WriteInt(datadir::kFileFormatVersion);
  out.WriteLong(0);  // dbid
}

void WriteAclList(zk::JuteWriter& out, const std::vector<zk::Acl>& acl) {
  out.WriteInt(static_cast<int32_t>(acl.size()));
  for (const zk::Acl& entry : acl) {
    out.WriteInt(entry.perms);
    out.WriteString(entry.scheme);
    out.WriteString(entry.id);
  }
}

// The seal: the Adler-32 of everything written so far, then "/".
void WriteSeal(zk::JuteWriter& out) {
  out.WriteLong(datadir::Adler32(out.bytes()));
  out.WriteString("/");
}

}  // namespace

std::vector<uint8_t> CreateRecord(std::string_view path, std::string_view data,
                                  const std::vector<zk::Acl>& acl, int32_t parent_cversion) {
  zk::JuteWriter out;
  out.WriteString(path);
  out.WriteBuffer(Bytes(data));
  WriteAclList(out, acl);
  out.WriteBool(false);  // ephemeral
  out.WriteInt(parent_cversion);
  return out.Release();
}

std::vector<uint8_t> SetDataRecord(std::string_view path, std::string_view data, int32_t version) {
  zk::JuteWriter out;
  out.WriteString(path);
  out.WriteBuffer(Bytes(data));
  out.WriteInt(version);
  return out.Release();
}

std::vector<uint8_t> DeleteRecord(std::string_view path) {
  zk::JuteWriter out;
  out.WriteString(path);
  return out.Release();
}

std::vector<uint8_t> TxnLogFile(const std::vector<LogEntry>& entries) {
  zk::JuteWriter header;
  WriteHeader(header, datadir::kTxnLogMagic);
  std::vector<uint8_t> file = header.Release();
  for (const LogEntry& entry : entries) {
    zk::JuteWriter payload;
    payload.WriteLong(entry.session);
    payload.WriteInt(entry.cxid);
    payload.WriteLong(entry.zxid);
    payload.WriteLong(entry.time_ms);
    payload.WriteInt(entry.type);
    std::vector<uint8_t> bytes = payload.Release();
    bytes.insert(bytes.end(), entry.record.begin(), entry.record.end());
    if (entry.digest) {
      zk::JuteWriter digest;
      digest.WriteInt(entry.digest->version);
      digest.WriteLong(entry.digest->tree_digest);
      bytes.insert(bytes.end(), digest.bytes().begin(), digest.bytes().end());
    }
    zk::JuteWriter framed;
    framed.WriteLong(datadir::Adler32(bytes));
    framed.WriteBuffer(bytes);
    file.insert(file.end(), framed.bytes().begin(), framed.bytes().end());
    file.push_back('B');  // the end-of-record marker
  }
  return file;
}

std::vector<uint8_t> SnapshotFile(const std::vector<SnapshotAcl>& acls,
                                  const std::vector<SnapshotNode>& nodes,
                                  std::optional<datadir::ZxidDigest> digest) {
  zk::JuteWriter out;
  WriteHeader(out, datadir::kSnapshotMagic);
  out.WriteInt(0);  // sessions
  out.WriteInt(static_cast<int32_t>(acls.size()));
  for (const SnapshotAcl& acl : acls) {
    out.WriteLong(acl.id);
    WriteAclList(out, acl.acl);
  }
  for (const SnapshotNode& node : nodes) {
    out.WriteString(node.path);
    out.WriteBuffer(Bytes(node.data));
    out.WriteLong(node.acl_id);
    const datadir::PersistedStat& s = node.stat;
    out.WriteLong(s.czxid);
    out.WriteLong(s.mzxid);
    out.WriteLong(s.ctime);
    out.WriteLong(s.mtime);
    out.WriteInt(s.version);
    out.WriteInt(s.cversion);
    out.WriteInt(s.aversion);
    out.WriteLong(s.ephemeral_owner);
    out.WriteLong(s.pzxid);
  }
  out.WriteString("/");
  WriteSeal(out);
  if (digest) {
    out.WriteLong(digest->zxid);
    out.WriteInt(digest->version);
    out.WriteLong(digest->digest);
    WriteSeal(out);
  }
  return out.Release();
}

void WriteFile(const std::filesystem::path& file, std::span<const uint8_t> bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

ScratchDataDir::ScratchDataDir(std::string_view label) {
  // Unique within the process too: a test may hold several at once.
  static std::atomic<int> next{0};
  version2_ = std::filesystem::temp_directory_path() /
              ("zkarrow-" + std::string(label) + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(next++)) /
              "version-2";
  std::filesystem::create_directories(version2_);
}

ScratchDataDir::~ScratchDataDir() {
  std::error_code ignored;  // a destructor cannot fail; a leftover is only litter
  std::filesystem::remove_all(version2_.parent_path(), ignored);
}

void WriteLateTypesLog(const std::filesystem::path& version2, int creates) {
  std::vector<LogEntry> entries;
  int64_t zxid = 0x100000001;
  zk::JuteWriter session_timeout;
  session_timeout.WriteInt(30000);
  entries.push_back(
      {.zxid = zxid++, .type = datadir::kOpCreateSession, .record = session_timeout.Release()});
  const std::vector<zk::Acl> open = {{.perms = 31, .scheme = "world", .id = "anyone"}};
  for (int i = 0; i < creates; ++i) {
    entries.push_back({.zxid = zxid++,
                       .type = datadir::kOpCreate,
                       .record = CreateRecord("/n" + std::to_string(i), "v", open, i + 1)});
  }
  entries.push_back(
      {.zxid = zxid++, .type = datadir::kOpSetData, .record = SetDataRecord("/n7", "w", 1)});
  entries.push_back({.zxid = zxid++, .type = datadir::kOpDelete, .record = DeleteRecord("/n8")});
  WriteFile(version2 / "log.100000001", TxnLogFile(entries));
}

void WriteLateKindsSnapshot(const std::filesystem::path& version2, int nodes) {
  const std::vector<SnapshotAcl> acls = {{1, {{.perms = 31, .scheme = "world", .id = "anyone"}}}};
  datadir::PersistedStat stat{.czxid = 1, .mzxid = 1, .pzxid = 1};
  std::vector<SnapshotNode> tree = {{.path = "", .acl_id = 1, .stat = stat}};
  for (int i = 0; i < nodes; ++i) {
    tree.push_back({.path = "/n" + std::to_string(i), .data = "text", .acl_id = 1, .stat = stat});
  }
  datadir::PersistedStat container = stat;
  container.ephemeral_owner = std::numeric_limits<int64_t>::min();
  tree.push_back({.path = "/zz-container", .data = "42", .acl_id = 1, .stat = container});
  datadir::PersistedStat ttl = stat;
  ttl.ephemeral_owner = static_cast<int64_t>(0xff00000000000000ULL | 60000);
  tree.push_back({.path = "/zz-ttl", .data = R"({"a":1})", .acl_id = 1, .stat = ttl});
  WriteFile(version2 / "snapshot.0", SnapshotFile(acls, tree));
}

}  // namespace zkarrow::znodes::testing

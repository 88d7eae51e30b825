// What a group of zkarrow servers keeps in ZooKeeper, under a root (the
// --coord-root, /zkarrow by default). This file is the one description of
// those nodes and of their JSON; servers (coordinator.h) and clients
// (discovery.h) both read and write them through it.
//
//   ROOT/servers/ID        ephemeral, one per running server: ServerRecord.
//                          Gone when the server's session ends, so the
//                          children of servers/ are the live servers.
//   ROOT/datasets/NAME     persistent: CatalogEntry, the kept versions of a
//                          dataset, newest last, each with the ids of the
//                          servers holding a verified copy. Every change is
//                          a version-checked write of the whole entry, so
//                          two writers can never both win.
//   ROOT/leader/n_SEQ      ephemeral sequential, data = the server id: the
//                          lowest sequence number is the leader (the
//                          standard election recipe).
//   ROOT/locks/NAME.vV     ephemeral: held by the one server fetching a
//                          copy of version V of NAME, so that servers do not
//                          all fetch the same copy at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace zkarrow::coord {

inline constexpr std::string_view kDefaultRoot = "/zkarrow";
// The catalog keeps this many versions of each name, the current included.
inline constexpr int kDefaultKeepVersions = 2;
// Verified copies the group keeps of every kept version.
inline constexpr int kDefaultReplicas = 2;
// Copies durable before a put is acknowledged.
inline constexpr int kDefaultAckReplicas = 1;

struct Layout {
  explicit Layout(std::string root);

  std::string root;
  std::string servers;   // ROOT/servers
  std::string datasets;  // ROOT/datasets
  std::string leader;    // ROOT/leader
  std::string locks;     // ROOT/locks

  std::string Server(std::string_view id) const { return servers + "/" + std::string(id); }
  std::string Dataset(std::string_view name) const { return datasets + "/" + std::string(name); }
  std::string Lock(std::string_view name, int64_t version) const;
  // The node a server creates to stand for election (sequential suffix
  // appended by ZooKeeper).
  std::string LeaderPrefix() const { return leader + "/n_"; }
};

// A root must be an absolute znode path without a trailing slash.
Status ValidateRoot(std::string_view root);
// Server ids: [A-Za-z0-9._-], 1 to 64 characters (they are znode names).
Status ValidateServerId(std::string_view id);

struct ServerRecord {
  std::string id;
  std::string flight;  // grpc://HOST:PORT (grpc+tls://), or empty
  std::string http;    // http://HOST:PORT (https://), or empty
  std::string version;
  int64_t started_ms = 0;
};
std::string ToJson(const ServerRecord& record);
Result<ServerRecord> ServerRecordFromJson(std::string_view text);

struct CatalogVersionRecord {
  int64_t version = 0;
  std::string sha256;  // of the stored file, lower-case hex
  int64_t rows = 0;
  int64_t bytes = 0;
  // The stored file's Schema message (its flatbuffer), hex: any server can
  // describe the version (Flight's GetFlightInfo) without holding a copy.
  std::string schema_message_hex;
  std::string schema_fingerprint;  // SHA-256 of that message, hex
  int64_t created_ms = 0;
  std::vector<std::string> holders;  // server ids, sorted

  bool HeldBy(std::string_view id) const;
};

struct CatalogEntry {
  std::string name;
  std::vector<CatalogVersionRecord> versions;  // oldest first; last = current

  int64_t current() const { return versions.empty() ? 0 : versions.back().version; }
  const CatalogVersionRecord* Find(int64_t version) const;
  CatalogVersionRecord* Find(int64_t version);
  // The schema message of `record` (hex), which may be stored on another
  // version with the same fingerprint (see KeepNewest); empty when the
  // catalog does not hold it (the holders' copies describe the version).
  const std::string& SchemaMessageHexOf(const CatalogVersionRecord& record) const;
  // Keeps the newest `keep` versions and stores each schema message once,
  // on the oldest kept version with its fingerprint (messages of versions
  // dropped here move to it). A dataset's versions mostly share a schema,
  // and a wide one's message repeated per version would not fit in the
  // znode: 5,000 columns take about 700 KB of hex, a znode at most 1 MiB.
  void KeepNewest(size_t keep);
  // Leaves the oldest schema message out, for an entry too large with it;
  // false when none is left.
  bool LeaveOutOldestSchemaMessage();
  // "1, 2" for messages.
  std::string KeptList() const;
};
std::string ToJson(const CatalogEntry& entry);
// Checks every field's type; an entry that does not parse is reported,
// never guessed at.
Result<CatalogEntry> CatalogEntryFromJson(std::string_view name, std::string_view text);

}  // namespace zkarrow::coord

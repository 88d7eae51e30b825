#include "znodes/datadir/data_tree.h"

#include <libdeflate.h>

#include <limits>
#include <utility>

#include "zk/jute.h"

namespace zkarrow::znodes::datadir {
namespace {

constexpr std::string_view kRoot = "/";
constexpr int64_t kContainerOwner = std::numeric_limits<int64_t>::min();
constexpr uint64_t kTtlOwnerBits = 0xff00000000000000ULL;
constexpr int64_t kMaxTtlMs = 0x000000ffffffffffLL;

// Splits "/a/b" into parent "/a" and name "b"; false for a path ZooKeeper
// could not have logged.
bool SplitPath(std::string_view path, std::string_view* parent, std::string_view* name) {
  size_t slash = path.rfind('/');
  if (path.empty() || path[0] != '/' || slash == std::string_view::npos ||
      slash + 1 == path.size()) {
    return false;
  }
  *parent = slash == 0 ? kRoot : path.substr(0, slash);
  *name = path.substr(slash + 1);
  return true;
}

std::string AclKey(const std::vector<zk::Acl>& acl) {
  zk::JuteWriter writer;
  for (const zk::Acl& entry : acl) {
    writer.WriteInt(entry.perms);
    writer.WriteString(entry.scheme);
    writer.WriteString(entry.id);
  }
  return {writer.bytes().begin(), writer.bytes().end()};
}

// Java's int arithmetic wraps; so does ours, on the same values.
int32_t WrappingAdd(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

bool IsSessionEphemeral(int64_t owner) {
  return DecodeStoredEphemeralOwner(owner).kind == NodeKind::kEphemeral;
}

}  // namespace

DataTree::DataTree() { acls_by_id_[kOpenAclId] = {zk::Acl{zk::perms::kAll, "world", "anyone"}}; }

void DataTree::Retain(std::shared_ptr<const arrow::Buffer> bytes) {
  retained_.push_back(std::move(bytes));
}

Status DataTree::AddAcl(int64_t id, std::vector<zk::Acl> acl) {
  if (id == kOpenAclId) return Status::Ok();  // ZooKeeper never stores it; keep the constant
  std::string key = AclKey(acl);
  auto [it, inserted] = acls_by_id_.emplace(id, std::move(acl));
  if (!inserted) return Status::InvalidData("ACL id " + std::to_string(id) + " appears twice");
  acls_by_content_.emplace(std::move(key), &it->second);
  return Status::Ok();
}

Status DataTree::AddNode(std::string_view path, std::span<const uint8_t> data, int64_t acl_id,
                         const PersistedStat& stat) {
  auto acl = acls_by_id_.find(acl_id);
  if (acl == acls_by_id_.end()) {
    return Status::InvalidData("node \"" + std::string(path) + "\" refers to ACL id " +
                               std::to_string(acl_id) + ", which the ACL cache lacks");
  }
  Node* parent = nullptr;
  if (path.empty() || path == kRoot) {
    path = kRoot;
  } else {
    std::string_view parent_path;
    std::string_view name;
    if (!SplitPath(path, &parent_path, &name)) {
      return Status::InvalidData("malformed node path \"" + std::string(path) + "\"");
    }
    parent = FindLoadedParent(parent_path);
    if (parent == nullptr) {
      return Status::InvalidData("node \"" + std::string(path) + "\" precedes its parent");
    }
  }
  auto [it, inserted] = nodes_.try_emplace(path, Node{data, &acl->second, stat, 0});
  if (!inserted) return Status::InvalidData("node \"" + std::string(path) + "\" appears twice");
  if (parent != nullptr) ++parent->num_children;
  if (IsSessionEphemeral(stat.ephemeral_owner)) {
    ephemerals_[stat.ephemeral_owner].insert(it->first);
  }
  load_path_.push_back(it);
  return Status::Ok();
}

DataTree::Node* DataTree::FindLoadedParent(std::string_view parent_path) {
  // ZooKeeper writes a snapshot depth first, so a node's parent is on the
  // path from the root to the node loaded last: found without a search of
  // the whole map (AddNode's two map searches were a third of a 1M-node
  // offline run; this removes one).
  while (!load_path_.empty() && load_path_.back()->first != parent_path) load_path_.pop_back();
  if (!load_path_.empty()) return &load_path_.back()->second;
  // Not depth first after all: look it up, and start a new path there.
  auto it = nodes_.find(parent_path);
  if (it == nodes_.end()) return nullptr;
  load_path_.push_back(it);
  return &it->second;
}

const std::vector<zk::Acl>* DataTree::InternAcl(const std::vector<zk::Acl>& acl) {
  auto [it, inserted] = acls_by_content_.try_emplace(AclKey(acl), nullptr);
  if (inserted) it->second = &txn_acls_.emplace_back(acl);
  return it->second;
}

void DataTree::Apply(const Transaction& txn) {
  load_path_.clear();  // loading is over, and replay may erase what it points to
  if (txn.header.type != kOpMulti) {
    if (!txn.ops.empty()) ApplyOp(txn.header, txn.header.type, txn.ops.front());
    return;
  }
  // A multi that failed was logged with an error record per operation and
  // changed nothing; the server replays it as such.
  for (const TxnOp& op : txn.ops) {
    if (op.type == kOpError) return;
  }
  for (const TxnOp& op : txn.ops) ApplyOp(txn.header, op.type, op);
}

void DataTree::ApplyOp(const TxnHeader& header, int32_t type, const TxnOp& op) {
  Outcome outcome = Outcome::kOk;
  switch (type) {
    case kOpCreate:
    case kOpCreate2:
    case kOpCreateContainer:
    case kOpCreateTtl: {
      int64_t owner = 0;
      if (type == kOpCreateContainer) {
        owner = kContainerOwner;
      } else if (type == kOpCreateTtl) {
        if (!op.ttl_ms || *op.ttl_ms <= 0 || *op.ttl_ms > kMaxTtlMs) {
          ++tolerated_failures_;
          return;
        }
        owner = static_cast<int64_t>(kTtlOwnerBits | static_cast<uint64_t>(*op.ttl_ms));
      } else if (op.ephemeral) {
        owner = header.session;
      }
      outcome = CreateNode(op, owner, header);
      // A node the fuzzy snapshot already holds: its parent's cversion and
      // pzxid may predate the create, so the server brings them forward
      // (DataTree.processTxn does this for plain creates only).
      if (outcome == Outcome::kNodeExists && type == kOpCreate) {
        std::string_view parent;
        std::string_view name;
        if (SplitPath(op.path, &parent, &name)) {
          SetCversionPzxid(parent, op.parent_cversion, header.zxid);
        }
      }
      break;
    }
    case kOpDelete:
    case kOpDeleteContainer:
      if (!DeleteNode(op.path, header.zxid)) outcome = Outcome::kNoNode;
      break;
    case kOpSetData:
    case kOpReconfig: {
      auto it = nodes_.find(op.path);
      if (it == nodes_.end()) {
        outcome = Outcome::kNoNode;
        break;
      }
      it->second.data = op.data;
      it->second.stat.mtime = header.time_ms;
      it->second.stat.mzxid = header.zxid;
      it->second.stat.version = op.version.value_or(0);
      break;
    }
    case kOpSetAcl: {
      auto it = nodes_.find(op.path);
      if (it == nodes_.end()) {
        outcome = Outcome::kNoNode;
        break;
      }
      it->second.acl = InternAcl(op.acl);
      it->second.stat.aversion = op.version.value_or(0);
      break;
    }
    case kOpCloseSession:
      KillSession(header.session, op, header.zxid);
      break;
    default:  // createSession, check, error: the tree does not change
      break;
  }
  if (outcome != Outcome::kOk) ++tolerated_failures_;
}

DataTree::Outcome DataTree::CreateNode(const TxnOp& op, int64_t owner, const TxnHeader& header) {
  std::string_view parent_path;
  std::string_view name;
  if (!SplitPath(op.path, &parent_path, &name)) return Outcome::kNoNode;
  auto parent_it = nodes_.find(parent_path);
  if (parent_it == nodes_.end()) return Outcome::kNoNode;
  Node& parent = parent_it->second;
  // Interned first, as the server does, whether or not the create succeeds.
  const std::vector<zk::Acl>* acl = InternAcl(op.acl);
  if (nodes_.contains(op.path)) return Outcome::kNodeExists;

  int32_t parent_cversion =
      op.parent_cversion == -1 ? WrappingAdd(parent.stat.cversion, 1) : op.parent_cversion;
  // Replaying a create that the snapshot saw deleted again must not move the
  // parent's cversion and pzxid backwards.
  if (parent_cversion > parent.stat.cversion) {
    parent.stat.cversion = parent_cversion;
    parent.stat.pzxid = header.zxid;
  }
  PersistedStat stat;
  stat.czxid = stat.mzxid = stat.pzxid = header.zxid;
  stat.ctime = stat.mtime = header.time_ms;
  stat.ephemeral_owner = owner;
  auto child = nodes_.try_emplace(op.path, Node{op.data, acl, stat, 0}).first;
  ++parent.num_children;
  if (IsSessionEphemeral(owner)) ephemerals_[owner].insert(child->first);
  return Outcome::kOk;
}

bool DataTree::DeleteNode(std::string_view path, int64_t zxid) {
  std::string_view parent_path;
  std::string_view name;
  if (!SplitPath(path, &parent_path, &name)) return false;
  auto parent_it = nodes_.find(parent_path);
  if (parent_it == nodes_.end()) return false;
  Node& parent = parent_it->second;
  // The pzxid moves even when the child is already gone (deleted while the
  // fuzzy snapshot was taken), but never backwards.
  if (zxid > parent.stat.pzxid) parent.stat.pzxid = zxid;
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return false;
  --parent.num_children;

  // The server refuses to delete a node with children, so a log never asks
  // for it; should one, drop the whole subtree, as a walk of the server's
  // tree would no longer reach it either.
  auto end = std::next(it);
  std::string prefix = std::string(path) + "/";
  while (end != nodes_.end() && end->first.starts_with(prefix)) ++end;
  for (auto victim = it; victim != end; ++victim) {
    int64_t owner = victim->second.stat.ephemeral_owner;
    if (!IsSessionEphemeral(owner)) continue;
    auto session = ephemerals_.find(owner);
    if (session == ephemerals_.end()) continue;
    session->second.erase(victim->first);
    if (session->second.empty()) ephemerals_.erase(session);
  }
  nodes_.erase(it, end);
  return true;
}

bool DataTree::SetCversionPzxid(std::string_view parent_path, int32_t cversion, int64_t zxid) {
  auto it = nodes_.find(parent_path);
  if (it == nodes_.end()) return false;
  PersistedStat& stat = it->second.stat;
  if (cversion == -1) cversion = WrappingAdd(stat.cversion, 1);
  if (cversion > stat.cversion) {
    stat.cversion = cversion;
    stat.pzxid = zxid;
  }
  return true;
}

void DataTree::KillSession(int64_t session, const TxnOp& op, int64_t zxid) {
  // The paths the closeSession names (3.6+) go first, then any ephemeral of
  // the session the tree still knows about.
  std::set<std::string_view> own;
  if (auto it = ephemerals_.find(session); it != ephemerals_.end()) {
    own = std::move(it->second);
    ephemerals_.erase(it);
  }
  for (std::string_view path : op.paths_to_delete) {
    own.erase(path);
    if (!DeleteNode(path, zxid)) ++tolerated_failures_;
  }
  for (std::string_view path : own) {
    if (!DeleteNode(path, zxid)) ++tolerated_failures_;
  }
}

Status DataTree::ForEach(const std::function<Status(const ZnodeRecord&)>& sink) const {
  for (const auto& [path, node] : nodes_) {
    EphemeralOwnerInfo owner = DecodeStoredEphemeralOwner(node.stat.ephemeral_owner);
    zk::Stat stat;
    stat.czxid = node.stat.czxid;
    stat.mzxid = node.stat.mzxid;
    stat.ctime = node.stat.ctime;
    stat.mtime = node.stat.mtime;
    stat.version = node.stat.version;
    // Stored cversion counts creates; clients see creates plus deletes.
    stat.cversion =
        WrappingAdd(WrappingAdd(node.stat.cversion, node.stat.cversion), -node.num_children);
    stat.aversion = node.stat.aversion;
    stat.ephemeral_owner = owner.client_visible_owner;
    stat.data_length = static_cast<int32_t>(node.data.size());
    stat.num_children = node.num_children;
    stat.pzxid = node.stat.pzxid;

    ZnodeRecord record;
    record.path = path;
    record.stat = stat;
    record.kind = owner.kind;
    record.data = node.data;
    record.ttl_ms = owner.ttl_ms;
    record.acl = node.acl;
    ZKA_RETURN_IF_ERROR(sink(record));
  }
  return Status::Ok();
}

int64_t DataTree::Digest() const {
  uint64_t digest = 0;
  uint8_t fixed[60];
  for (const auto& [path, node] : nodes_) {
    if (path.starts_with("/zookeeper/")) continue;
    // The root is "" on disk and in the digest.
    std::string_view digest_path = path == kRoot ? std::string_view() : path;
    uint32_t crc = libdeflate_crc32(0, digest_path.data(), digest_path.size());
    crc = libdeflate_crc32(crc, node.data.data(), node.data.size());
    size_t at = 0;
    auto put = [&](uint64_t v, int width) {
      for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
        fixed[at++] = static_cast<uint8_t>(v >> shift);
      }
    };
    const PersistedStat& s = node.stat;
    for (int64_t v : {s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime})
      put(static_cast<uint64_t>(v), 8);
    for (int32_t v : {s.version, s.cversion, s.aversion}) put(static_cast<uint32_t>(v), 4);
    put(static_cast<uint64_t>(s.ephemeral_owner), 8);
    crc = libdeflate_crc32(crc, fixed, sizeof(fixed));
    digest += crc;
  }
  return static_cast<int64_t>(digest);
}

}  // namespace zkarrow::znodes::datadir

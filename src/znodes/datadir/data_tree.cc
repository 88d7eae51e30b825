#include "znodes/datadir/data_tree.h"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
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

// The same key for an ACL list held (zk::Acl) or viewed in a log (TxnAcl).
template <typename Entries>
std::string AclKey(const Entries& acl) {
  zk::JuteWriter writer;
  for (const auto& entry : acl) {
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

uint64_t PathHash(std::string_view path) { return std::hash<std::string_view>{}(path); }

// One entry of a parent's children as ForEach orders them: the child itself
// (its name) or the block of the child's descendants (its name followed by
// "/"). Path byte order does not keep a subtree together ("/a-b" sorts
// between "/a" and "/a/c"), but it keeps each block together, so sorting
// these entries and expanding blocks in place yields exact path order.
struct Entry {
  // The key's first 8 bytes, big-endian, zero-padded: most comparisons end
  // here, without reading the name, which lies far away in the files.
  uint64_t prefix;
  std::string_view name;
  uint32_t node;
  bool block;
};

Entry MakeEntry(std::string_view name, uint32_t node, bool block) {
  std::array<uint8_t, 8> bytes{};
  const size_t n = std::min(name.size(), bytes.size());
  std::memcpy(bytes.data(), name.data(), n);
  if (block && n < bytes.size()) bytes[n] = '/';
  uint64_t prefix = 0;
  for (uint8_t b : bytes) prefix = prefix << 8 | b;
  return {prefix, name, node, block};
}

// Orders entries by their keys: the name, plus "/" for a block. Differing
// prefixes order their keys (zero padding sorts a key that ends before
// one that goes on, as the full comparison does).
bool EntryLess(const Entry& a, const Entry& b) {
  if (a.prefix != b.prefix) return a.prefix < b.prefix;
  const size_t common = std::min(a.name.size(), b.name.size());
  if (common > 0) {
    if (int c = std::memcmp(a.name.data(), b.name.data(), common); c != 0) return c < 0;
  }
  if (a.name.size() == b.name.size()) return a.block < b.block;  // "x" before "x/"
  // One name is a prefix of the other: the shorter one's next key byte is
  // "/" (a block) or nothing (a node). Names hold no "/", so they differ.
  if (a.name.size() < b.name.size()) {
    return !a.block || '/' < static_cast<unsigned char>(b.name[common]);
  }
  return b.block && static_cast<unsigned char>(a.name[common]) < '/';
}

}  // namespace

PersistedStat DecodePersistedStat(const uint8_t* p) {
  PersistedStat stat;
  stat.czxid = zk::JuteLongAt(p);
  stat.mzxid = zk::JuteLongAt(p + 8);
  stat.ctime = zk::JuteLongAt(p + 16);
  stat.mtime = zk::JuteLongAt(p + 24);
  stat.version = zk::JuteIntAt(p + 32);
  stat.cversion = zk::JuteIntAt(p + 36);
  stat.aversion = zk::JuteIntAt(p + 40);
  stat.ephemeral_owner = zk::JuteLongAt(p + 44);
  stat.pzxid = zk::JuteLongAt(p + 52);
  return stat;
}

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

DataTree::Index DataTree::NewNode(Index parent, const uint8_t* record, Index changed,
                                  std::string_view path, uint16_t log_acl,
                                  std::optional<uint64_t> hash) {
  if (node_count_ == chunks_.size() * kChunkNodes) {
    void* memory = node_arena_.Allocate(kChunkNodes * sizeof(Node));
    chunks_.push_back(static_cast<Node*>(memory));
  }
  const auto i = static_cast<Index>(node_count_++);
  Node* n = new (&node(i)) Node;
  n->record = record;
  n->changed = changed;
  n->parent = parent;
  n->log_acl = log_acl;
  if (parent != kNone) {
    Node& p = node(parent);
    n->next_sibling = p.first_child;
    p.first_child = i;
    ++p.num_children;
  }
  ++live_count_;
  if (!index_.empty()) IndexInsert(i, hash ? *hash : PathHash(path));
  return i;
}

std::string_view DataTree::PathOf(Index i) const {
  const Node& n = node(i);
  if (HasValues(n)) return changed(n.changed).path;
  // A create's path follows its header; a snapshot record starts with it.
  const uint8_t* p = n.log_acl == kFromSnapshot ? n.record : n.record + kTxnHeaderSize;
  const auto size = static_cast<size_t>(zk::JuteIntAt(p));
  if (size == 0) return kRoot;  // the root is "" in snapshots
  return {reinterpret_cast<const char*>(p + 4), size};
}

DataTree::Values DataTree::Read(Index i, bool with_acl) const {
  const Node& n = node(i);
  if (HasValues(n)) return changed(n.changed);
  Values v = ReadFromFile(i, with_acl);
  if (n.changed != kNone) {
    const ChildStat& children = child_stat(n.changed & ~kChildStatBit);
    v.stat.cversion = children.cversion;
    v.stat.pzxid = children.pzxid;
  }
  return v;
}

DataTree::Values DataTree::ReadFromFile(Index i, bool with_acl) const {
  const Node& n = node(i);
  Values v;
  v.path = PathOf(i);
  if (n.log_acl != kFromSnapshot) {
    // A plain create that DecodeTransaction checked: the header, the path,
    // then the data; the new node's stat follows from the header alone.
    const TxnHeader header = DecodeTxnHeaderAt(n.record);
    const uint8_t* p = n.record + kTxnHeaderSize + 4 + v.path.size();
    const int32_t data_size = zk::JuteIntAt(p);
    if (data_size > 0) v.data = {p + 4, static_cast<size_t>(data_size)};
    v.null_data = data_size == -1;
    if (with_acl) v.acl = log_acls_[n.log_acl];
    v.stat.czxid = v.stat.mzxid = v.stat.pzxid = header.zxid;
    v.stat.ctime = v.stat.mtime = header.time_ms;
    return v;
  }
  // The record as the decoder checked it: path, data, ACL id, StatPersisted.
  const uint8_t* p = n.record + 4 + static_cast<size_t>(std::max(zk::JuteIntAt(n.record), 0));
  const int32_t data_size = zk::JuteIntAt(p);
  p += 4;
  v.null_data = data_size == -1;
  if (data_size > 0) {
    v.data = {p, static_cast<size_t>(data_size)};
    p += data_size;
  }
  if (with_acl) {
    auto acl = acls_by_id_.find(zk::JuteLongAt(p));
    v.acl = acl == acls_by_id_.end() ? nullptr : &acl->second;  // checked when added
  }
  v.stat = DecodePersistedStat(p + 8);
  return v;
}

DataTree::Values& DataTree::Change(Index i) {
  Node& n = node(i);
  if (!HasValues(n)) n.changed = AddChanged(Read(i));
  return changed(n.changed);
}

DataTree::ChildFields DataTree::ChangeChildFields(Index i) {
  Node& n = node(i);
  if (HasValues(n)) {
    PersistedStat& stat = changed(n.changed).stat;
    return {&stat.cversion, &stat.pzxid};
  }
  if (n.changed == kNone) {
    if (child_stat_count_ == child_stats_.size() * kChunkNodes) {
      void* memory = node_arena_.Allocate(kChunkNodes * sizeof(ChildStat));
      child_stats_.push_back(static_cast<ChildStat*>(memory));
    }
    const PersistedStat stat = ReadFromFile(i, /*with_acl=*/false).stat;
    const auto c = static_cast<Index>(child_stat_count_++);
    new (&child_stat(c)) ChildStat{stat.pzxid, stat.cversion};
    n.changed = c | kChildStatBit;
  }
  ChildStat& children = child_stat(n.changed & ~kChildStatBit);
  return {&children.cversion, &children.pzxid};
}

DataTree::Index DataTree::AddChanged(const Values& values) {
  if (changed_count_ == changed_.size() * kChunkNodes) {
    void* memory = node_arena_.Allocate(kChunkNodes * sizeof(Values));
    changed_.push_back(static_cast<Values*>(memory));
  }
  const auto i = static_cast<Index>(changed_count_++);
  new (&changed(i)) Values(values);
  return i;
}

Status DataTree::AddNode(std::string_view path, std::optional<std::span<const uint8_t>> data,
                         int64_t acl_id, const PersistedStat& stat, const uint8_t* record) {
  auto acl = acls_by_id_.find(acl_id);
  if (acl == acls_by_id_.end()) {
    return Status::InvalidData("node \"" + std::string(path) + "\" refers to ACL id " +
                               std::to_string(acl_id) + ", which the ACL cache lacks");
  }
  if (node_count_ >= kMaxNodes) {
    return Status::OutOfRange("more than " + std::to_string(kMaxNodes) + " nodes");
  }
  Index parent = kNone;
  if (path.empty() || path == kRoot) {
    if (root_ != kNone) return Status::InvalidData("the root node appears twice");
    path = kRoot;
  } else {
    std::string_view parent_path;
    std::string_view name;
    if (!SplitPath(path, &parent_path, &name)) {
      return Status::InvalidData("malformed node path \"" + std::string(path) + "\"");
    }
    parent = FindLoadedParent(parent_path);
    if (parent == kNone) {
      return Status::InvalidData("node \"" + std::string(path) + "\" precedes its parent");
    }
    if (!index_.empty() && Lookup(path) != kNone) {
      return Status::InvalidData("node \"" + std::string(path) + "\" appears twice");
    }
  }
  Index changed = kNone;
  if (record == nullptr) {
    changed =
        AddChanged({path, data.value_or(std::span<const uint8_t>()), !data, &acl->second, stat});
  }
  const Index i = NewNode(parent, record, changed, path);
  if (parent == kNone) root_ = i;
  if (IsSessionEphemeral(stat.ephemeral_owner)) ephemerals_[stat.ephemeral_owner].insert(path);
  load_path_.push_back(i);
  return Status::Ok();
}

DataTree::Index DataTree::FindLoadedParent(std::string_view parent_path) {
  // ZooKeeper writes a snapshot depth first, so a node's parent is on the
  // path from the root to the node loaded last: found without a search.
  while (!load_path_.empty() && PathOf(load_path_.back()) != parent_path) load_path_.pop_back();
  if (!load_path_.empty()) return load_path_.back();
  // Not depth first after all: look it up, and start a new path there.
  EnsureIndex();
  const Index i = FindLive(parent_path);
  if (i != kNone) load_path_.push_back(i);
  return i;
}

void DataTree::EnsureIndex() {
  if (!index_.empty()) return;
  size_t slots = 1024;
  while (slots < 2 * node_count_) slots *= 2;
  index_.assign(slots, 0);
  index_mask_ = slots - 1;
  for (Index i = 0; i < node_count_; ++i) {
    const std::string_view path = PathOf(i);
    const uint64_t hash = PathHash(path);
    if (load_error_.ok() && Lookup(path) != kNone) {
      load_error_ = Status::InvalidData("node \"" + std::string(path) + "\" appears twice");
    }
    IndexInsert(i, hash);
  }
}

void DataTree::IndexInsert(Index i, uint64_t hash) {
  if (2 * node_count_ > index_.size()) {
    // Past half full: twice the slots, every entry placed again.
    std::pmr::vector<uint64_t> old = std::move(index_);
    index_.assign(old.size() * 2, 0);
    index_mask_ = index_.size() - 1;
    for (uint64_t entry : old) {
      if (entry == 0) continue;
      size_t slot = (entry >> 32) & index_mask_;
      while (index_[slot] != 0) slot = (slot + 1) & index_mask_;
      index_[slot] = entry;
    }
  }
  // The entry keeps the hash's low 32 bits (for the slot and a cheap
  // compare) and the node index + 1, so that 0 means a free slot.
  const uint64_t entry = (hash << 32) | (static_cast<uint64_t>(i) + 1);
  size_t slot = (hash & 0xffffffff) & index_mask_;
  while (index_[slot] != 0) slot = (slot + 1) & index_mask_;
  index_[slot] = entry;
}

DataTree::Index DataTree::Lookup(std::string_view path) const {
  return Lookup(path, PathHash(path));
}

DataTree::Index DataTree::Lookup(std::string_view path, uint64_t full_hash) const {
  if (index_.empty()) return kNone;
  const uint64_t hash = full_hash & 0xffffffff;
  for (size_t slot = hash & index_mask_; index_[slot] != 0; slot = (slot + 1) & index_mask_) {
    const uint64_t entry = index_[slot];
    if ((entry >> 32) != hash) continue;
    const auto i = static_cast<Index>((entry & 0xffffffff) - 1);
    if (PathOf(i) == path) return i;
  }
  return kNone;
}

DataTree::Index DataTree::FindLive(std::string_view path) const {
  return FindLive(path, PathHash(path));
}

DataTree::Index DataTree::FindLive(std::string_view path, uint64_t hash) const {
  const Index i = Lookup(path, hash);
  return i != kNone && node(i).alive ? i : kNone;
}

const std::vector<zk::Acl>* DataTree::InternAcl(std::span<const TxnAcl> acl) {
  // Consecutive transactions mostly carry the same list: no key to build.
  if (last_interned_ != nullptr &&
      std::equal(acl.begin(), acl.end(), last_interned_->begin(), last_interned_->end(),
                 [](const TxnAcl& a, const zk::Acl& b) {
                   return a.perms == b.perms && a.scheme == b.scheme && a.id == b.id;
                 })) {
    return last_interned_;
  }
  std::string key = AclKey(acl);
  auto it = acls_by_content_.find(key);
  if (it == acls_by_content_.end()) {
    std::vector<zk::Acl> copy;
    copy.reserve(acl.size());
    for (const TxnAcl& a : acl) copy.push_back({a.perms, std::string(a.scheme), std::string(a.id)});
    it = acls_by_content_.emplace(std::move(key), &txn_acls_.emplace_back(std::move(copy))).first;
  }
  last_interned_ = it->second;
  return it->second;
}

void DataTree::Prefetch(const Transaction& txn) {
  if (index_.empty() || txn.ops.empty()) return;
  const std::string_view path = txn.ops.front().path;
  const uint64_t hash = PathHash(path);
  prefetched_[static_cast<uint64_t>(txn.header.zxid) % prefetched_.size()] = {
      .valid = true, .zxid = txn.header.zxid, .path = path, .hash = hash};
  __builtin_prefetch(&index_[hash & 0xffffffff & index_mask_]);
}

uint64_t DataTree::FirstPathHash(const Transaction& txn) const {
  const std::string_view path = txn.ops.front().path;
  const PrefetchedHash& seen =
      prefetched_[static_cast<uint64_t>(txn.header.zxid) % prefetched_.size()];
  const bool same = seen.valid && seen.zxid == txn.header.zxid && seen.path.data() == path.data() &&
                    seen.path.size() == path.size();
  return same ? seen.hash : PathHash(path);
}

void DataTree::Apply(const Transaction& txn) {
  load_path_.clear();  // loading is over
  EnsureIndex();
  if (txn.header.type != kOpMulti) {
    if (!txn.ops.empty()) {
      ApplyOp(txn.header, txn.header.type, txn.ops.front(), txn.bytes.data(), FirstPathHash(txn));
    }
    return;
  }
  // A multi that failed was logged with an error record per operation and
  // changed nothing; the server replays it as such.
  for (const TxnOp& op : txn.ops) {
    if (op.type == kOpError) return;
  }
  for (const TxnOp& op : txn.ops) ApplyOp(txn.header, op.type, op, nullptr, PathHash(op.path));
}

uint16_t DataTree::LogAclSlot(const std::vector<zk::Acl>* acl) {
  // Consecutive creates mostly carry the same list: no hash lookup.
  if (!log_acls_.empty() && log_acls_.back() == acl) {
    return static_cast<uint16_t>(log_acls_.size() - 1);
  }
  auto it = log_acl_slots_.find(acl);
  if (it != log_acl_slots_.end()) return it->second;
  if (log_acls_.size() >= kFromSnapshot) return kFromSnapshot;
  const auto slot = static_cast<uint16_t>(log_acls_.size());
  log_acls_.push_back(acl);
  log_acl_slots_.emplace(acl, slot);
  return slot;
}

void DataTree::ApplyOp(const TxnHeader& header, int32_t type, const TxnOp& op,
                       const uint8_t* payload, uint64_t hash) {
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
      outcome = CreateNode(op, owner, header, payload, hash);
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
      if (!DeleteNode(op.path, header.zxid, hash)) outcome = Outcome::kNoNode;
      break;
    case kOpSetData:
    case kOpReconfig: {
      const Index i = FindLive(op.path, hash);
      if (i == kNone) {
        outcome = Outcome::kNoNode;
        break;
      }
      Values& v = Change(i);
      v.data = op.data;
      v.null_data = op.null_data;
      v.stat.mtime = header.time_ms;
      v.stat.mzxid = header.zxid;
      v.stat.version = op.version.value_or(0);
      break;
    }
    case kOpSetAcl: {
      const Index i = FindLive(op.path, hash);
      if (i == kNone) {
        outcome = Outcome::kNoNode;
        break;
      }
      Values& v = Change(i);
      v.acl = InternAcl(op.acl);
      v.stat.aversion = op.version.value_or(0);
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

DataTree::Outcome DataTree::CreateNode(const TxnOp& op, int64_t owner, const TxnHeader& header,
                                       const uint8_t* payload, uint64_t hash) {
  std::string_view parent_path;
  std::string_view name;
  if (!SplitPath(op.path, &parent_path, &name)) return Outcome::kNoNode;
  // Creates come in runs under one parent: that one is found without a
  // lookup in the index (a cache miss or more each).
  Index parent_index = last_parent_;
  if (parent_index == kNone || !node(parent_index).alive || PathOf(parent_index) != parent_path) {
    parent_index = FindLive(parent_path);
  }
  if (parent_index == kNone) return Outcome::kNoNode;
  last_parent_ = parent_index;
  // Interned first, as the server does, whether or not the create succeeds.
  const std::vector<zk::Acl>* acl = InternAcl(op.acl);
  const Index existing = Lookup(op.path, hash);
  if (existing != kNone && node(existing).alive) return Outcome::kNodeExists;
  if (existing == kNone && node_count_ >= kMaxNodes)
    return Outcome::kNoNode;  // cannot happen on disk

  const ChildFields parent = ChangeChildFields(parent_index);
  int32_t parent_cversion =
      op.parent_cversion == -1 ? WrappingAdd(*parent.cversion, 1) : op.parent_cversion;
  // Replaying a create that the snapshot saw deleted again must not move the
  // parent's cversion and pzxid backwards.
  if (parent_cversion > *parent.cversion) {
    *parent.cversion = parent_cversion;
    *parent.pzxid = header.zxid;
  }
  // A new node of a plain create (create, create2; not ephemeral, whose
  // owner is not in the record) reads its values from the transaction.
  if (existing == kNone && payload != nullptr && owner == 0 &&
      (header.type == kOpCreate || header.type == kOpCreate2)) {
    if (const uint16_t slot = LogAclSlot(acl); slot != kFromSnapshot) {
      NewNode(parent_index, payload, kNone, op.path, slot, hash);
      return Outcome::kOk;
    }
  }
  Values fields;
  fields.path = op.path;
  fields.data = op.data;
  fields.null_data = op.null_data;
  fields.acl = acl;
  fields.stat.czxid = fields.stat.mzxid = fields.stat.pzxid = header.zxid;
  fields.stat.ctime = fields.stat.mtime = header.time_ms;
  fields.stat.ephemeral_owner = owner;
  Index i = existing;
  if (i == kNone) {
    i = NewNode(parent_index, nullptr, AddChanged(fields), op.path, kFromSnapshot, hash);
  } else {
    // The tombstone of this path, still in its parent's list: revived in
    // place, so churn on the same paths does not grow the tree.
    Change(i) = fields;
    node(i).alive = true;
    ++node(parent_index).num_children;
    ++live_count_;
  }
  if (IsSessionEphemeral(owner)) ephemerals_[owner].insert(op.path);
  return Outcome::kOk;
}

bool DataTree::DeleteNode(std::string_view path, int64_t zxid, uint64_t hash) {
  std::string_view parent_path;
  std::string_view name;
  if (!SplitPath(path, &parent_path, &name)) return false;
  const Index parent_index = FindLive(parent_path);
  if (parent_index == kNone) return false;
  // The pzxid moves even when the child is already gone (deleted while the
  // fuzzy snapshot was taken), but never backwards.
  const ChildFields parent = ChangeChildFields(parent_index);
  if (zxid > *parent.pzxid) *parent.pzxid = zxid;
  const Index i = FindLive(path, hash);
  if (i == kNone) return false;
  --node(parent_index).num_children;
  // The server refuses to delete a node with children, so a log never asks
  // for it; should one, the whole subtree goes, as a walk of the server's
  // tree would no longer reach it either.
  Bury(i);
  return true;
}

void DataTree::Bury(Index i) {
  std::vector<Index> pending = {i};
  while (!pending.empty()) {
    const Index victim = pending.back();
    Node& n = node(victim);
    pending.pop_back();
    if (!n.alive) continue;
    n.alive = false;
    --live_count_;
    const Values v = Read(victim);
    const int64_t owner = v.stat.ephemeral_owner;
    if (IsSessionEphemeral(owner)) {
      if (auto session = ephemerals_.find(owner); session != ephemerals_.end()) {
        session->second.erase(v.path);
        if (session->second.empty()) ephemerals_.erase(session);
      }
    }
    for (Index c = n.first_child; c != kNone; c = node(c).next_sibling) {
      if (node(c).alive) pending.push_back(c);
    }
    n.num_children = 0;
  }
}

bool DataTree::SetCversionPzxid(std::string_view parent_path, int32_t cversion, int64_t zxid) {
  const Index i = FindLive(parent_path);
  if (i == kNone) return false;
  const ChildFields stat = ChangeChildFields(i);
  if (cversion == -1) cversion = WrappingAdd(*stat.cversion, 1);
  if (cversion > *stat.cversion) {
    *stat.cversion = cversion;
    *stat.pzxid = zxid;
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
    if (!DeleteNode(path, zxid, PathHash(path))) ++tolerated_failures_;
  }
  for (std::string_view path : own) {
    if (!DeleteNode(path, zxid, PathHash(path))) ++tolerated_failures_;
  }
}

Status DataTree::ForEach(const std::function<Status(const ZnodeRecord&)>& sink) const {
  ZKA_RETURN_IF_ERROR(load_error_);
  if (root_ == kNone) return Status::Ok();
  auto emit = [&](Index i) {
    const Node& n = node(i);
    const Values v = Read(i);
    EphemeralOwnerInfo owner = DecodeStoredEphemeralOwner(v.stat.ephemeral_owner);
    zk::Stat stat;
    stat.czxid = v.stat.czxid;
    stat.mzxid = v.stat.mzxid;
    stat.ctime = v.stat.ctime;
    stat.mtime = v.stat.mtime;
    stat.version = v.stat.version;
    // Stored cversion counts creates; clients see creates plus deletes.
    stat.cversion = WrappingAdd(WrappingAdd(v.stat.cversion, v.stat.cversion), -n.num_children);
    stat.aversion = v.stat.aversion;
    stat.ephemeral_owner = owner.client_visible_owner;
    stat.data_length = static_cast<int32_t>(v.data.size());
    stat.num_children = n.num_children;
    stat.pzxid = v.stat.pzxid;

    ZnodeRecord record;
    record.path = v.path;
    record.stat = stat;
    record.kind = owner.kind;
    record.data = v.data;
    record.null_data = v.null_data;
    record.ttl_ms = owner.ttl_ms;
    record.acl = v.acl;
    return sink(record);
  };
  ZKA_RETURN_IF_ERROR(emit(root_));
  // A stack of sorted sibling entries: each frame is the range of `entries`
  // holding one parent's children, and how far it has been emitted.
  struct Frame {
    size_t begin;
    size_t next;
  };
  std::vector<Entry> entries;
  std::vector<Frame> frames;
  constexpr size_t kRecordsAhead = 4;
  auto open = [&](Index parent) -> Status {
    const size_t begin = entries.size();
    for (Index c = node(parent).first_child; c != kNone; c = node(c).next_sibling) {
      const Node& child = node(c);
      if (!child.alive) continue;
      const std::string_view path = PathOf(c);
      const std::string_view name = path.substr(path.rfind('/') + 1);
      entries.push_back(MakeEntry(name, c, false));
      if (child.num_children > 0) entries.push_back(MakeEntry(name, c, true));
    }
    std::sort(entries.begin() + static_cast<ptrdiff_t>(begin), entries.end(), EntryLess);
    for (size_t e = begin + 1; e < entries.size(); ++e) {
      const Entry& a = entries[e - 1];
      const Entry& b = entries[e];
      if (a.prefix == b.prefix && a.block == b.block && a.name == b.name) {
        return Status::InvalidData("node \"" + std::string(PathOf(b.node)) + "\" appears twice");
      }
    }
    frames.push_back({begin, begin});
    return Status::Ok();
  };
  ZKA_RETURN_IF_ERROR(open(root_));
  while (!frames.empty()) {
    Frame& frame = frames.back();
    if (frame.next == entries.size()) {
      entries.resize(frame.begin);
      frames.pop_back();
      continue;
    }
    // The records are read in path order, far apart in the files: their
    // first lines are fetched a few entries ahead, or each read would wait
    // for memory.
    if (frame.next + kRecordsAhead < entries.size()) {
      const uint8_t* ahead = node(entries[frame.next + kRecordsAhead].node).record;
      if (ahead != nullptr) {
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 64);
      }
    }
    const Entry entry = entries[frame.next++];
    if (entry.block) {
      ZKA_RETURN_IF_ERROR(open(entry.node));
    } else {
      ZKA_RETURN_IF_ERROR(emit(entry.node));
    }
  }
  return Status::Ok();
}

int64_t DataTree::Digest() const {
  uint64_t digest = 0;
  uint8_t fixed[60];
  for (Index i = 0; i < node_count_; ++i) {
    if (!node(i).alive) continue;
    const Values n = Read(i, /*with_acl=*/false);
    if (n.path.starts_with("/zookeeper/")) continue;
    // The root is "" on disk and in the digest.
    std::string_view digest_path = i == root_ ? std::string_view() : n.path;
    // libdeflate_crc32 with a null buffer returns the initial value, not
    // `crc`: empty parts (the root's path, no data) are left out instead.
    uint32_t crc = 0;
    if (!digest_path.empty()) crc = libdeflate_crc32(crc, digest_path.data(), digest_path.size());
    if (!n.data.empty()) crc = libdeflate_crc32(crc, n.data.data(), n.data.size());
    size_t at = 0;
    auto put = [&](uint64_t v, int width) {
      for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
        fixed[at++] = static_cast<uint8_t>(v >> shift);
      }
    };
    const PersistedStat& s = n.stat;
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

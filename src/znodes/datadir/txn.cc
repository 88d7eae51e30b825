#include "znodes/datadir/txn.h"

#include <string>

#include "zk/jute.h"
#include "znodes/limits.h"

namespace zkarrow::znodes::datadir {
namespace {

constexpr size_t kMinAclSize = 4 + 4 + 4;  // perms, scheme length, id length
constexpr size_t kTxnDigestSize = 4 + 8;   // version, tree digest

std::string_view ReadStringView(zk::JuteReader& reader) {
  auto bytes = reader.ReadBufferView();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// What decoding one transaction allocates, charged before each allocation:
// a vector's count fits the bytes that remain (JuteReader checks that), but
// an element can be much larger in memory than on disk (a multi's empty op
// takes 8 bytes there and a whole TxnOp here).
class TxnBudget {
 public:
  // False, with status() saying why, when `count` more elements of `size`
  // bytes would pass kMaxDecodedTxnBytes.
  bool Charge(int32_t count, size_t size, std::string_view what) {
    const size_t bytes = static_cast<size_t>(count) * size;
    if (status_.ok() && bytes <= kMaxDecodedTxnBytes - used_) {
      used_ += bytes;
      return true;
    }
    if (status_.ok()) {
      status_ =
          Status::OutOfRange(std::to_string(count) + " " + std::string(what) +
                             " would take more than " + std::to_string(kMaxDecodedTxnBytes >> 20) +
                             " MiB decoded (the limit for one transaction)");
    }
    return false;
  }
  const Status& status() const { return status_; }

 private:
  size_t used_ = 0;
  Status status_;
};

// Fills `acl` (empty, its capacity kept from an earlier transaction).
void ReadAclList(zk::JuteReader& reader, TxnBudget& budget, std::vector<TxnAcl>* acl) {
  const int32_t count = reader.ReadVectorLength(kMinAclSize);
  if (!budget.Charge(count, sizeof(TxnAcl), "ACL entries")) return;
  acl->resize(static_cast<size_t>(count));
  for (TxnAcl& entry : *acl) {
    entry.perms = reader.ReadInt();
    entry.scheme = ReadStringView(reader);
    entry.id = ReadStringView(reader);
  }
}

// A create's or setData's data: ZooKeeper keeps null (length -1) apart from empty.
void ReadOpData(zk::JuteReader& reader, TxnOp* op) {
  std::optional<std::span<const uint8_t>> data = reader.ReadOptionalBufferView();
  op->null_data = !data;
  if (data) op->data = *data;
}

// Empties `op` for the next record, keeping the capacity of its vectors: a
// log holds millions of transactions, and an allocation apiece showed.
void ResetOp(TxnOp* op) {
  std::vector<TxnAcl> acl = std::move(op->acl);
  std::vector<std::string_view> paths = std::move(op->paths_to_delete);
  *op = TxnOp{};
  acl.clear();
  paths.clear();
  op->acl = std::move(acl);
  op->paths_to_delete = std::move(paths);
}

// Since 3.6 a closeSession carries the paths it deletes; before, or with
// closeSessionTxnEnabled=false, it has no record at all, and either form may
// be followed by a 12-byte digest. A list that does not parse into exactly
// the bytes before the digest is taken as "no record".
void ReadCloseSession(zk::JuteReader& reader, TxnBudget& budget, TxnOp* op) {
  zk::JuteReader attempt = reader;
  int32_t count = attempt.ReadVectorLength(4);
  if (!budget.Charge(count, sizeof(std::string_view), "closeSession paths")) return;
  std::vector<std::string_view>& paths = op->paths_to_delete;
  paths.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count && attempt.ok(); ++i) paths.push_back(ReadStringView(attempt));
  if (attempt.ok() && (attempt.remaining() == 0 || attempt.remaining() == kTxnDigestSize)) {
    reader = attempt;
  } else {
    paths.clear();
  }
}

// Reads the record of an op of `type` (not multi) into `op`, which it
// empties first. `whole_record` is false inside a multi, where ZooKeeper
// allows only the node-changing types.
Status ReadOpRecord(zk::JuteReader& reader, int32_t type, bool whole_record, TxnBudget& budget,
                    TxnOp* op) {
  ResetOp(op);
  op->type = type;
  switch (type) {
    case kOpCreate:
    case kOpCreate2:
    case kOpCreateContainer:
    case kOpCreateTtl:
      op->path = ReadStringView(reader);
      ReadOpData(reader, op);
      ReadAclList(reader, budget, &op->acl);
      if (type == kOpCreate || type == kOpCreate2) op->ephemeral = reader.ReadBool();
      op->parent_cversion = reader.ReadInt();
      if (type == kOpCreateTtl) op->ttl_ms = reader.ReadLong();
      break;
    case kOpDelete:
    case kOpDeleteContainer:
      op->path = ReadStringView(reader);
      break;
    case kOpSetData:
      op->path = ReadStringView(reader);
      ReadOpData(reader, op);
      op->version = reader.ReadInt();
      break;
    case kOpCheck:
      op->path = ReadStringView(reader);
      op->version = reader.ReadInt();
      break;
    case kOpError:
      op->error = reader.ReadInt();
      break;
    case kOpReconfig:  // a SetDataTxn on /zookeeper/config
      if (!whole_record) return Status::InvalidData("reconfig inside a multi");
      op->path = ReadStringView(reader);
      ReadOpData(reader, op);
      op->version = reader.ReadInt();
      break;
    case kOpSetAcl:
      if (!whole_record) return Status::InvalidData("setACL inside a multi");
      op->path = ReadStringView(reader);
      ReadAclList(reader, budget, &op->acl);
      op->version = reader.ReadInt();
      break;
    case kOpCreateSession:
      if (!whole_record) return Status::InvalidData("createSession inside a multi");
      op->session_timeout_ms = reader.ReadInt();
      break;
    case kOpCloseSession:
      if (!whole_record) return Status::InvalidData("closeSession inside a multi");
      ReadCloseSession(reader, budget, op);
      break;
    default:
      return Status::NotImplemented("unknown transaction type " + std::to_string(type));
  }
  ZKA_RETURN_IF_ERROR(budget.status());
  return reader.status();
}

Status ReadMulti(zk::JuteReader& reader, TxnBudget& budget, std::vector<TxnOp>* ops) {
  int32_t count = reader.ReadVectorLength(4 + 4);  // type, data length
  if (!budget.Charge(count, sizeof(TxnOp), "multi operations")) return budget.status();
  ops->resize(static_cast<size_t>(count));
  for (int32_t i = 0; i < count && reader.ok(); ++i) {
    int32_t type = reader.ReadInt();
    zk::JuteReader sub(reader.ReadBufferView());
    if (!reader.ok()) break;
    Status status =
        ReadOpRecord(sub, type, /*whole_record=*/false, budget, &(*ops)[static_cast<size_t>(i)]);
    if (!status.ok()) return status.WithContext("multi operation " + std::to_string(i));
  }
  return reader.status();
}

}  // namespace

int32_t OpCodeIndex(int32_t type) {
  for (size_t i = 0; i < kLogOpCodes.size(); ++i) {
    if (kLogOpCodes[i].code == type) return static_cast<int32_t>(i);
  }
  return -1;
}

std::string_view OpCodeName(int32_t type) {
  const int32_t i = OpCodeIndex(type);
  return i < 0 ? std::string_view() : kLogOpCodes[static_cast<size_t>(i)].name;
}

TxnHeader DecodeTxnHeaderAt(const uint8_t* bytes) {
  TxnHeader header;
  header.session = zk::JuteLongAt(bytes);
  header.cxid = zk::JuteIntAt(bytes + 8);
  header.zxid = zk::JuteLongAt(bytes + 12);
  header.time_ms = zk::JuteLongAt(bytes + 20);
  header.type = zk::JuteIntAt(bytes + 28);
  return header;
}

Result<Transaction> DecodeTransaction(std::span<const uint8_t> bytes) {
  Transaction txn;
  ZKA_RETURN_IF_ERROR(DecodeTransaction(bytes, &txn));
  return txn;
}

Status DecodeTransaction(std::span<const uint8_t> bytes, Transaction* out) {
  if (bytes.size() < kTxnHeaderSize) {
    return Status::InvalidData("expected a " + std::to_string(kTxnHeaderSize) +
                               "-byte transaction header, found " + std::to_string(bytes.size()) +
                               " bytes");
  }
  Transaction& txn = *out;
  txn.bytes = bytes;
  txn.header = DecodeTxnHeaderAt(bytes.data());
  txn.digest.reset();
  zk::JuteReader reader(bytes.subspan(kTxnHeaderSize));

  Status status;
  TxnBudget budget;
  if (txn.header.type == kOpMulti) {
    status = ReadMulti(reader, budget, &txn.ops);
  } else {
    txn.ops.resize(1);
    status = ReadOpRecord(reader, txn.header.type, /*whole_record=*/true, budget, &txn.ops[0]);
  }
  if (!status.ok()) {
    return status.WithContext(std::string(OpCodeName(txn.header.type).empty()
                                              ? "transaction"
                                              : OpCodeName(txn.header.type)) +
                              " record of zxid " + std::to_string(txn.header.zxid));
  }
  // ZooKeeper 3.6+ appends the tree digest after the record.
  if (reader.remaining() >= kTxnDigestSize) {
    TxnDigest digest;
    digest.version = reader.ReadInt();
    digest.tree_digest = reader.ReadLong();
    txn.digest = digest;
  }
  if (reader.remaining() != 0) {
    return Status::InvalidData(std::to_string(reader.remaining()) +
                               " unexpected bytes after the record of zxid " +
                               std::to_string(txn.header.zxid));
  }
  return Status::Ok();
}

}  // namespace zkarrow::znodes::datadir

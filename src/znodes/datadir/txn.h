// The transactions of ZooKeeper's log: a TxnHeader followed by the record its
// type calls for (CreateTxn, DeleteTxn, MultiTxn, ...), decoded into one flat
// shape. Strings and data are views into the bytes they were decoded from.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace zkarrow::znodes::datadir {

// ZooDefs.OpCode values that appear in transaction logs.
enum OpCode : int32_t {
  kOpCreate = 1,
  kOpDelete = 2,
  kOpSetData = 5,
  kOpSetAcl = 7,
  kOpCheck = 13,
  kOpMulti = 14,
  kOpCreate2 = 15,
  kOpReconfig = 16,
  kOpCreateContainer = 19,
  kOpDeleteContainer = 20,
  kOpCreateTtl = 21,
  kOpCreateSession = -10,
  kOpCloseSession = -11,
  kOpError = -1,
};

struct OpCodeInfo {
  OpCode code;
  std::string_view name;  // as ZooDefs.opNames and the txnlog table's type column spell it
};
// Every type a log entry may hold: DecodeTransaction refuses any other, so
// this is also the complete value set of the txnlog table's type column.
inline constexpr std::array<OpCodeInfo, 14> kLogOpCodes = {{
    {kOpCreate, "create"},
    {kOpDelete, "delete"},
    {kOpSetData, "setData"},
    {kOpSetAcl, "setACL"},
    {kOpCheck, "check"},
    {kOpMulti, "multi"},
    {kOpCreate2, "create2"},
    {kOpReconfig, "reconfig"},
    {kOpCreateContainer, "createContainer"},
    {kOpDeleteContainer, "deleteContainer"},
    {kOpCreateTtl, "createTTL"},
    {kOpCreateSession, "createSession"},
    {kOpCloseSession, "closeSession"},
    {kOpError, "error"},
}};

// "create", "setData", "closeSession", ...; "" for a code not in kLogOpCodes.
std::string_view OpCodeName(int32_t type);
// The position of `type` in kLogOpCodes; -1 for a code not in it.
int32_t OpCodeIndex(int32_t type);

struct TxnHeader {
  int64_t session = 0;  // clientId
  int32_t cxid = 0;
  int64_t zxid = 0;
  int64_t time_ms = 0;
  int32_t type = 0;
};

// A TxnHeader as a log entry's payload starts with it (32 bytes, big-endian).
inline constexpr size_t kTxnHeaderSize = 8 + 4 + 8 + 8 + 4;
// Decodes the header at `bytes`, which must hold kTxnHeaderSize bytes.
TxnHeader DecodeTxnHeaderAt(const uint8_t* bytes);

// One ACL entry of a create or setACL, as views into the log's bytes:
// copying scheme and id into strings for every create showed in profiles.
struct TxnAcl {
  int32_t perms = 0;
  std::string_view scheme;
  std::string_view id;
};

// One operation: a whole transaction, or one sub-operation of a multi. Which
// fields mean something depends on `type`.
struct TxnOp {
  int32_t type = 0;
  std::string_view path;           // create*, delete*, setData, setACL, check, reconfig
  std::span<const uint8_t> data;   // create*, setData, reconfig
  bool null_data = false;          // the same: ZooKeeper's null data (length -1), `data` empty
  std::vector<TxnAcl> acl;         // create*, setACL
  bool ephemeral = false;          // create, create2
  int32_t parent_cversion = -1;    // create*: the parent's new cversion; -1 = increment
  std::optional<int64_t> ttl_ms;   // createTTL
  std::optional<int32_t> version;  // setData, setACL, check: the version after (or checked)
  int32_t error = 0;               // error: a ZooKeeper error code
  std::optional<int32_t> session_timeout_ms;      // createSession
  std::vector<std::string_view> paths_to_delete;  // closeSession (3.6+)
};

struct TxnDigest {
  int32_t version = 0;
  int64_t tree_digest = 0;
};

struct Transaction {
  // The payload this was decoded from: the header, then the record.
  std::span<const uint8_t> bytes;
  TxnHeader header;
  // One op; a multi holds its sub-operations in order (possibly none).
  std::vector<TxnOp> ops;
  std::optional<TxnDigest> digest;  // the tree digest after this txn (3.6+)
};

// Decodes one log entry's payload (header, record, optional digest). The
// result refers to `bytes`, which must outlive it.
Result<Transaction> DecodeTransaction(std::span<const uint8_t> bytes);
// The same into `txn`, reusing the memory it holds from an earlier
// transaction; on failure `txn` holds an undefined part of the entry.
Status DecodeTransaction(std::span<const uint8_t> bytes, Transaction* txn);

}  // namespace zkarrow::znodes::datadir

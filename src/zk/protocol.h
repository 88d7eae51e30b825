// ZooKeeper wire records: opcodes, special xids, and the encoders and
// decoders of the requests and replies this client uses. Decoders take the
// bytes of one frame (or the part after the ReplyHeader) and never trust a
// length: malformed input is an InvalidData Status, never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "zk/jute.h"
#include "zk/types.h"

namespace zkarrow::zk {

enum class OpCode : int32_t {
  kNotification = 0,
  kCreate = 1,
  kDelete = 2,
  kExists = 3,
  kGetData = 4,
  kSetData = 5,
  kGetAcl = 6,
  kSetAcl = 7,
  kGetChildren = 8,
  kSync = 9,
  kPing = 11,
  kGetChildren2 = 12,
  kCheck = 13,
  kMulti = 14,
  kCreate2 = 15,
  kReconfig = 16,
  kCheckWatches = 17,
  kRemoveWatches = 18,
  kCreateContainer = 19,
  kDeleteContainer = 20,
  kCreateTtl = 21,
  kMultiRead = 22,
  kAuth = 100,
  kSetWatches = 101,
  kSasl = 102,
  kGetEphemerals = 103,
  kGetAllChildrenNumber = 104,
  kSetWatches2 = 105,
  kAddWatch = 106,
  kWhoAmI = 107,
  kCreateSession = -10,
  kCloseSession = -11,
  kError = -1,
};
std::string_view OpCodeName(OpCode op);

// Xids the server uses for replies that answer no numbered request.
inline constexpr int32_t kNotificationXid = -1;
inline constexpr int32_t kPingXid = -2;
inline constexpr int32_t kAuthXid = -4;
inline constexpr int32_t kSetWatchesXid = -8;

// The ReplyHeader is 16 bytes: xid, zxid, err.
inline constexpr size_t kReplyHeaderSize = 16;
// Session passwords are 16 bytes.
inline constexpr size_t kPasswordSize = 16;

struct ConnectRequest {
  int64_t last_zxid_seen = 0;
  int32_t timeout_ms = 0;
  int64_t session_id = 0;
  std::vector<uint8_t> password = std::vector<uint8_t>(kPasswordSize);
  bool read_only = false;
};

struct ConnectResponse {
  int32_t timeout_ms = 0;  // <= 0: the session expired
  int64_t session_id = 0;
  std::vector<uint8_t> password;
  bool read_only = false;
};

struct ReplyHeader {
  int32_t xid = 0;
  int64_t zxid = 0;
  int32_t err = 0;
};

struct RawWatcherEvent {
  int32_t type = 0;
  int32_t state = 0;
  std::string path;
};

// Whole frames, length prefix included.
std::vector<uint8_t> EncodeConnectRequest(const ConnectRequest& request);
// A request frame: RequestHeader{xid, op} followed by `body`.
std::vector<uint8_t> EncodeRequestFrame(int32_t xid, OpCode op, std::span<const uint8_t> body);

// Frame payloads (without the length prefix).
Result<ConnectResponse> DecodeConnectResponse(std::span<const uint8_t> payload);
ReplyHeader ReadReplyHeader(JuteReader& reader);
Result<RawWatcherEvent> DecodeWatcherEvent(std::span<const uint8_t> body);

// Request bodies (the record after the RequestHeader).
std::vector<uint8_t> EncodePathRequest(std::string_view path);  // getACL, sync, ...
std::vector<uint8_t> EncodePathWatchRequest(std::string_view path, bool watch);
std::vector<uint8_t> EncodeCreateRequest(std::string_view path, std::string_view data,
                                         const std::vector<Acl>& acl, CreateMode mode,
                                         int64_t ttl_ms);
std::vector<uint8_t> EncodeDeleteRequest(std::string_view path, int32_t version);
std::vector<uint8_t> EncodeSetDataRequest(std::string_view path, std::string_view data,
                                          int32_t version);
std::vector<uint8_t> EncodeSetAclRequest(std::string_view path, const std::vector<Acl>& acl,
                                         int32_t version);
std::vector<uint8_t> EncodePathIntRequest(std::string_view path, int32_t value);  // addWatch...
std::vector<uint8_t> EncodeAuthPacket(std::string_view scheme, std::string_view credential);
// GetSASLRequest: one SASL token.
std::vector<uint8_t> EncodeSaslRequest(std::span<const uint8_t> token);
// The longest SASL token a server may send (DIGEST-MD5 challenges are a few
// hundred bytes, Kerberos tickets a few KiB).
inline constexpr size_t kMaxSaslTokenBytes = 64 * 1024;
std::vector<uint8_t> EncodeSetWatches2(int64_t relative_zxid,
                                       const std::vector<std::string>& data_watches,
                                       const std::vector<std::string>& exist_watches,
                                       const std::vector<std::string>& child_watches,
                                       const std::vector<std::string>& persistent_watches,
                                       const std::vector<std::string>& recursive_watches);
// `ops` paths must already carry the chroot.
std::vector<uint8_t> EncodeMultiRequest(const std::vector<Op>& ops);
// Sizes of a multi request without encoding it (for planning batches under
// jute.maxbuffer): its body is the sum of MultiOpEncodedBytes over the ops
// plus kMultiEndBytes (the closing header); what the server measures
// against jute.maxbuffer is that body plus kRequestPacketOverhead (xid, type).
size_t MultiOpEncodedBytes(const Op& op);
inline constexpr size_t kMultiEndBytes = 9;
inline constexpr size_t kRequestPacketOverhead = 8;
std::vector<uint8_t> EncodeMultiReadRequest(const std::vector<ReadOp>& ops);

// The opcode a create in `mode` uses (create2, createContainer, createTTL).
OpCode CreateOpCode(CreateMode mode);

// Reply bodies (the bytes after the ReplyHeader).
Result<Stat> DecodeStat(std::span<const uint8_t> body);
Result<DataResult> DecodeGetDataResponse(std::span<const uint8_t> body);
// Decoders of replies that may hold many child names or ACL entries take a
// limit on the memory the decoded result may take (checked before each
// allocation; a reply past it is kOutOfRange): a name is 4 bytes on the wire
// but a std::string in memory, an ACL entry 12 bytes but a zk::Acl.
inline constexpr size_t kUnlimitedDecode = SIZE_MAX;
Result<std::vector<std::string>> DecodeStringList(std::span<const uint8_t> body,
                                                  size_t max_decoded_bytes = kUnlimitedDecode);
Result<ChildrenResult> DecodeGetChildren2Response(std::span<const uint8_t> body,
                                                  size_t max_decoded_bytes = kUnlimitedDecode);
Result<AclResult> DecodeGetAclResponse(std::span<const uint8_t> body,
                                       size_t max_decoded_bytes = kUnlimitedDecode);
Result<CreateResult> DecodeCreate2Response(std::span<const uint8_t> body);
Result<std::string> DecodeString(std::span<const uint8_t> body);
Result<int32_t> DecodeInt(std::span<const uint8_t> body);
// SetSASLResponse: the server's token (null reads as empty); longer than
// kMaxSaslTokenBytes is kOutOfRange.
Result<std::vector<uint8_t>> DecodeSaslResponse(std::span<const uint8_t> body);
Result<std::vector<ClientIdentity>> DecodeWhoAmIResponse(std::span<const uint8_t> body);
// `ops` tells which record each result holds.
Result<std::vector<OpResult>> DecodeMultiResponse(std::span<const uint8_t> body,
                                                  const std::vector<Op>& ops);
Result<std::vector<ReadResult>> DecodeMultiReadResponse(
    std::span<const uint8_t> body, const std::vector<ReadOp>& ops,
    size_t max_decoded_bytes = kUnlimitedDecode);

}  // namespace zkarrow::zk

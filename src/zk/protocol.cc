#include "zk/protocol.h"

#include <utility>

namespace zkarrow::zk {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string AsString(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The value, or the reader's error if any read failed.
template <typename T>
Result<T> Finish(const JuteReader& reader, T value, std::string_view record) {
  if (!reader.ok()) return reader.status().WithContext("decoding " + std::string(record));
  return value;
}

void WriteAcls(const std::vector<Acl>& acl, JuteWriter& writer) {
  writer.WriteInt(static_cast<int32_t>(acl.size()));
  for (const Acl& entry : acl) {
    writer.WriteInt(entry.perms);
    writer.WriteString(entry.scheme);
    writer.WriteString(entry.id);
  }
}

void WriteStrings(const std::vector<std::string>& strings, JuteWriter& writer) {
  writer.WriteInt(static_cast<int32_t>(strings.size()));
  for (const std::string& s : strings) writer.WriteString(s);
}

void WriteOpData(const Op& op, JuteWriter& writer) {
  if (op.null_data) {
    writer.WriteNullBuffer();
  } else {
    writer.WriteBuffer(AsBytes(op.data));
  }
}

void WriteCreateRecord(const Op& op, JuteWriter& writer) {
  writer.WriteString(op.path);
  WriteOpData(op, writer);
  WriteAcls(op.acl, writer);
  writer.WriteInt(static_cast<int32_t>(op.mode));
  if (CreateOpCode(op.mode) == OpCode::kCreateTtl) writer.WriteLong(op.ttl_ms);
}

Stat ReadStat(JuteReader& reader) {
  Stat stat;
  stat.czxid = reader.ReadLong();
  stat.mzxid = reader.ReadLong();
  stat.ctime = reader.ReadLong();
  stat.mtime = reader.ReadLong();
  stat.version = reader.ReadInt();
  stat.cversion = reader.ReadInt();
  stat.aversion = reader.ReadInt();
  stat.ephemeral_owner = reader.ReadLong();
  stat.data_length = reader.ReadInt();
  stat.num_children = reader.ReadInt();
  stat.pzxid = reader.ReadLong();
  return stat;
}

// The smallest encoding of one string: its length.
constexpr size_t kMinStringSize = 4;

// The memory a reply takes once decoded, charged before each allocation: on
// the wire a child name costs 4 bytes plus its characters, decoded a
// std::string (32 bytes) plus a heap copy when it is too long to be stored
// inline, so a reply of empty names grows eightfold.
class DecodeBudget {
 public:
  explicit DecodeBudget(size_t limit) : limit_(limit) {}

  // False (and from then on always false) when `bytes` more would pass the limit.
  bool Charge(size_t bytes) {
    if (!exceeded_ && bytes <= limit_ - used_) {
      used_ += bytes;
      return true;
    }
    exceeded_ = true;
    return false;
  }
  bool exceeded() const { return exceeded_; }
  Status Exceeded(std::string_view record) const {
    return Status::OutOfRange("decoding " + std::string(record) + ": the reply would take more " +
                              "than " + std::to_string(limit_) + " bytes of memory decoded (" +
                              std::to_string(used_) + " so far)");
  }

 private:
  size_t limit_;
  size_t used_ = 0;
  bool exceeded_ = false;
};

size_t StringHeapBytes(size_t length) {
  static const size_t kInline = std::string().capacity();
  return length > kInline ? length + 1 : 0;
}

std::vector<std::string> ReadStrings(JuteReader& reader, DecodeBudget& budget) {
  int32_t count = reader.ReadVectorLength(kMinStringSize);
  std::vector<std::string> strings;
  if (!budget.Charge(static_cast<size_t>(count) * sizeof(std::string))) return strings;
  strings.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count && reader.ok(); ++i) {
    std::span<const uint8_t> name = reader.ReadBufferView();
    if (!budget.Charge(StringHeapBytes(name.size()))) break;
    strings.push_back(AsString(name));
  }
  return strings;
}

std::vector<Acl> ReadAcls(JuteReader& reader, DecodeBudget& budget) {
  int32_t count = reader.ReadVectorLength(4 + 2 * kMinStringSize);
  std::vector<Acl> acls;
  if (!budget.Charge(static_cast<size_t>(count) * sizeof(Acl))) return acls;
  acls.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count && reader.ok(); ++i) {
    Acl acl;
    acl.perms = reader.ReadInt();
    std::span<const uint8_t> scheme = reader.ReadBufferView();
    std::span<const uint8_t> id = reader.ReadBufferView();
    if (!budget.Charge(StringHeapBytes(scheme.size()) + StringHeapBytes(id.size()))) break;
    acl.scheme = AsString(scheme);
    acl.id = AsString(id);
    acls.push_back(std::move(acl));
  }
  return acls;
}

struct MultiHeader {
  int32_t type = 0;
  bool done = false;
  int32_t err = 0;
};

void WriteMultiHeader(int32_t type, bool done, JuteWriter& writer) {
  writer.WriteInt(type);
  writer.WriteBool(done);
  writer.WriteInt(-1);
}

MultiHeader ReadMultiHeader(JuteReader& reader) {
  MultiHeader header;
  header.type = reader.ReadInt();
  header.done = reader.ReadBool();
  header.err = reader.ReadInt();
  return header;
}

}  // namespace

std::string_view OpCodeName(OpCode op) {
  switch (op) {
    case OpCode::kNotification:
      return "notification";
    case OpCode::kCreate:
      return "create";
    case OpCode::kDelete:
      return "delete";
    case OpCode::kExists:
      return "exists";
    case OpCode::kGetData:
      return "getData";
    case OpCode::kSetData:
      return "setData";
    case OpCode::kGetAcl:
      return "getACL";
    case OpCode::kSetAcl:
      return "setACL";
    case OpCode::kGetChildren:
      return "getChildren";
    case OpCode::kSync:
      return "sync";
    case OpCode::kPing:
      return "ping";
    case OpCode::kGetChildren2:
      return "getChildren2";
    case OpCode::kCheck:
      return "check";
    case OpCode::kMulti:
      return "multi";
    case OpCode::kCreate2:
      return "create2";
    case OpCode::kReconfig:
      return "reconfig";
    case OpCode::kCheckWatches:
      return "checkWatches";
    case OpCode::kRemoveWatches:
      return "removeWatches";
    case OpCode::kCreateContainer:
      return "createContainer";
    case OpCode::kDeleteContainer:
      return "deleteContainer";
    case OpCode::kCreateTtl:
      return "createTTL";
    case OpCode::kMultiRead:
      return "multiRead";
    case OpCode::kAuth:
      return "auth";
    case OpCode::kSetWatches:
      return "setWatches";
    case OpCode::kSasl:
      return "sasl";
    case OpCode::kGetEphemerals:
      return "getEphemerals";
    case OpCode::kGetAllChildrenNumber:
      return "getAllChildrenNumber";
    case OpCode::kSetWatches2:
      return "setWatches2";
    case OpCode::kAddWatch:
      return "addWatch";
    case OpCode::kWhoAmI:
      return "whoAmI";
    case OpCode::kCreateSession:
      return "createSession";
    case OpCode::kCloseSession:
      return "closeSession";
    case OpCode::kError:
      return "error";
  }
  return "unknown";
}

std::vector<uint8_t> EncodeConnectRequest(const ConnectRequest& request) {
  JuteWriter writer;
  size_t frame = writer.BeginFrame();
  writer.WriteInt(0);  // protocol version
  writer.WriteLong(request.last_zxid_seen);
  writer.WriteInt(request.timeout_ms);
  writer.WriteLong(request.session_id);
  writer.WriteBuffer(request.password);
  writer.WriteBool(request.read_only);
  writer.FinishFrame(frame);
  return writer.Release();
}

std::vector<uint8_t> EncodeRequestFrame(int32_t xid, OpCode op, std::span<const uint8_t> body) {
  JuteWriter writer;
  size_t frame = writer.BeginFrame();
  writer.WriteInt(xid);
  writer.WriteInt(static_cast<int32_t>(op));
  std::vector<uint8_t> bytes = writer.Release();
  bytes.insert(bytes.end(), body.begin(), body.end());
  uint32_t length = static_cast<uint32_t>(bytes.size() - frame - 4);
  for (int i = 0; i < 4; ++i) bytes[frame + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
  return bytes;
}

Result<ConnectResponse> DecodeConnectResponse(std::span<const uint8_t> payload) {
  JuteReader reader(payload);
  ConnectResponse response;
  reader.ReadInt();  // protocol version
  response.timeout_ms = reader.ReadInt();
  response.session_id = reader.ReadLong();
  response.password = reader.ReadBuffer();
  // Servers before 3.4 do not send the read-only flag.
  if (reader.remaining() > 0) response.read_only = reader.ReadBool();
  return Finish(reader, std::move(response), "ConnectResponse");
}

ReplyHeader ReadReplyHeader(JuteReader& reader) {
  ReplyHeader header;
  header.xid = reader.ReadInt();
  header.zxid = reader.ReadLong();
  header.err = reader.ReadInt();
  return header;
}

Result<RawWatcherEvent> DecodeWatcherEvent(std::span<const uint8_t> body) {
  JuteReader reader(body);
  RawWatcherEvent event;
  event.type = reader.ReadInt();
  event.state = reader.ReadInt();
  event.path = reader.ReadString();
  return Finish(reader, std::move(event), "WatcherEvent");
}

std::vector<uint8_t> EncodePathRequest(std::string_view path) {
  JuteWriter writer;
  writer.WriteString(path);
  return writer.Release();
}

std::vector<uint8_t> EncodePathWatchRequest(std::string_view path, bool watch) {
  JuteWriter writer;
  writer.WriteString(path);
  writer.WriteBool(watch);
  return writer.Release();
}

OpCode CreateOpCode(CreateMode mode) {
  switch (mode) {
    case CreateMode::kContainer:
      return OpCode::kCreateContainer;
    case CreateMode::kPersistentWithTtl:
    case CreateMode::kPersistentSequentialWithTtl:
      return OpCode::kCreateTtl;
    default:
      return OpCode::kCreate2;
  }
}

std::vector<uint8_t> EncodeCreateRequest(std::string_view path, std::string_view data,
                                         const std::vector<Acl>& acl, CreateMode mode,
                                         int64_t ttl_ms) {
  JuteWriter writer;
  Op op = Op::Create(std::string(path), std::string(data), acl, mode, ttl_ms);
  WriteCreateRecord(op, writer);
  return writer.Release();
}

std::vector<uint8_t> EncodeDeleteRequest(std::string_view path, int32_t version) {
  return EncodePathIntRequest(path, version);
}

std::vector<uint8_t> EncodeSetDataRequest(std::string_view path, std::string_view data,
                                          int32_t version) {
  JuteWriter writer;
  writer.WriteString(path);
  writer.WriteBuffer(AsBytes(data));
  writer.WriteInt(version);
  return writer.Release();
}

std::vector<uint8_t> EncodeSetAclRequest(std::string_view path, const std::vector<Acl>& acl,
                                         int32_t version) {
  JuteWriter writer;
  writer.WriteString(path);
  WriteAcls(acl, writer);
  writer.WriteInt(version);
  return writer.Release();
}

std::vector<uint8_t> EncodePathIntRequest(std::string_view path, int32_t value) {
  JuteWriter writer;
  writer.WriteString(path);
  writer.WriteInt(value);
  return writer.Release();
}

std::vector<uint8_t> EncodeAuthPacket(std::string_view scheme, std::string_view credential) {
  JuteWriter writer;
  writer.WriteInt(0);  // type, unused by the server
  writer.WriteString(scheme);
  writer.WriteBuffer(AsBytes(credential));
  return writer.Release();
}

std::vector<uint8_t> EncodeSaslRequest(std::span<const uint8_t> token) {
  JuteWriter writer;
  writer.WriteBuffer(token);
  return writer.Release();
}

std::vector<uint8_t> EncodeSetWatches2(int64_t relative_zxid,
                                       const std::vector<std::string>& data_watches,
                                       const std::vector<std::string>& exist_watches,
                                       const std::vector<std::string>& child_watches,
                                       const std::vector<std::string>& persistent_watches,
                                       const std::vector<std::string>& recursive_watches) {
  JuteWriter writer;
  writer.WriteLong(relative_zxid);
  WriteStrings(data_watches, writer);
  WriteStrings(exist_watches, writer);
  WriteStrings(child_watches, writer);
  WriteStrings(persistent_watches, writer);
  WriteStrings(recursive_watches, writer);
  return writer.Release();
}

std::vector<uint8_t> EncodeMultiRequest(const std::vector<Op>& ops) {
  JuteWriter writer;
  for (const Op& op : ops) {
    switch (op.kind) {
      case Op::Kind::kCreate:
        WriteMultiHeader(static_cast<int32_t>(CreateOpCode(op.mode)), false, writer);
        WriteCreateRecord(op, writer);
        break;
      case Op::Kind::kDelete:
        WriteMultiHeader(static_cast<int32_t>(OpCode::kDelete), false, writer);
        writer.WriteString(op.path);
        writer.WriteInt(op.version);
        break;
      case Op::Kind::kSetData:
        WriteMultiHeader(static_cast<int32_t>(OpCode::kSetData), false, writer);
        writer.WriteString(op.path);
        WriteOpData(op, writer);
        writer.WriteInt(op.version);
        break;
      case Op::Kind::kCheck:
        WriteMultiHeader(static_cast<int32_t>(OpCode::kCheck), false, writer);
        writer.WriteString(op.path);
        writer.WriteInt(op.version);
        break;
    }
  }
  WriteMultiHeader(-1, true, writer);
  return writer.Release();
}

size_t MultiOpEncodedBytes(const Op& op) {
  // A jute string or buffer is a 4-byte length and the bytes; an int 4, a long 8.
  auto string_bytes = [](std::string_view text) { return 4 + text.size(); };
  // Every op starts with a MultiHeader {type, done, err}, as the closing one.
  size_t bytes = kMultiEndBytes + string_bytes(op.path);
  switch (op.kind) {
    case Op::Kind::kCreate:
      bytes += string_bytes(op.data) + 4 + 4;  // data, ACL count, flags
      for (const Acl& entry : op.acl)
        bytes += 4 + string_bytes(entry.scheme) + string_bytes(entry.id);
      if (CreateOpCode(op.mode) == OpCode::kCreateTtl) bytes += 8;
      return bytes;
    case Op::Kind::kSetData:
      return bytes + string_bytes(op.data) + 4;
    case Op::Kind::kDelete:
    case Op::Kind::kCheck:
      return bytes + 4;
  }
  return bytes;
}

std::vector<uint8_t> EncodeMultiReadRequest(const std::vector<ReadOp>& ops) {
  JuteWriter writer;
  for (const ReadOp& op : ops) {
    OpCode code = op.kind == ReadOp::Kind::kGetData ? OpCode::kGetData : OpCode::kGetChildren;
    WriteMultiHeader(static_cast<int32_t>(code), false, writer);
    writer.WriteString(op.path);
    writer.WriteBool(false);  // multiRead cannot set watches
  }
  WriteMultiHeader(-1, true, writer);
  return writer.Release();
}

Result<Stat> DecodeStat(std::span<const uint8_t> body) {
  JuteReader reader(body);
  Stat stat = ReadStat(reader);
  return Finish(reader, stat, "Stat");
}

Result<DataResult> DecodeGetDataResponse(std::span<const uint8_t> body) {
  JuteReader reader(body);
  DataResult result;
  std::optional<std::span<const uint8_t>> data = reader.ReadOptionalBufferView();
  result.null_data = !data;
  if (data) result.data = AsString(*data);
  result.stat = ReadStat(reader);
  return Finish(reader, std::move(result), "GetDataResponse");
}

Result<std::vector<std::string>> DecodeStringList(std::span<const uint8_t> body,
                                                  size_t max_decoded_bytes) {
  JuteReader reader(body);
  DecodeBudget budget(max_decoded_bytes);
  std::vector<std::string> strings = ReadStrings(reader, budget);
  if (budget.exceeded()) return budget.Exceeded("string list");
  return Finish(reader, std::move(strings), "string list");
}

Result<ChildrenResult> DecodeGetChildren2Response(std::span<const uint8_t> body,
                                                  size_t max_decoded_bytes) {
  JuteReader reader(body);
  DecodeBudget budget(max_decoded_bytes);
  ChildrenResult result;
  result.children = ReadStrings(reader, budget);
  if (budget.exceeded()) return budget.Exceeded("GetChildren2Response");
  result.stat = ReadStat(reader);
  return Finish(reader, std::move(result), "GetChildren2Response");
}

Result<AclResult> DecodeGetAclResponse(std::span<const uint8_t> body, size_t max_decoded_bytes) {
  JuteReader reader(body);
  DecodeBudget budget(max_decoded_bytes);
  AclResult result;
  result.acls = ReadAcls(reader, budget);
  if (budget.exceeded()) return budget.Exceeded("GetACLResponse");
  result.stat = ReadStat(reader);
  return Finish(reader, std::move(result), "GetACLResponse");
}

Result<CreateResult> DecodeCreate2Response(std::span<const uint8_t> body) {
  JuteReader reader(body);
  CreateResult result;
  result.path = reader.ReadString();
  result.stat = ReadStat(reader);
  return Finish(reader, std::move(result), "Create2Response");
}

Result<std::string> DecodeString(std::span<const uint8_t> body) {
  JuteReader reader(body);
  std::string s = reader.ReadString();
  return Finish(reader, std::move(s), "string");
}

Result<std::vector<uint8_t>> DecodeSaslResponse(std::span<const uint8_t> body) {
  JuteReader reader(body);
  std::span<const uint8_t> token = reader.ReadBufferView();
  if (reader.ok() && token.size() > kMaxSaslTokenBytes) {
    return Status::OutOfRange("a SASL token of " + std::to_string(token.size()) +
                              " bytes from the server exceeds the " +
                              std::to_string(kMaxSaslTokenBytes) + "-byte limit");
  }
  return Finish(reader, std::vector<uint8_t>(token.begin(), token.end()), "SetSASLResponse");
}

Result<int32_t> DecodeInt(std::span<const uint8_t> body) {
  JuteReader reader(body);
  int32_t value = reader.ReadInt();
  return Finish(reader, value, "int");
}

Result<std::vector<ClientIdentity>> DecodeWhoAmIResponse(std::span<const uint8_t> body) {
  JuteReader reader(body);
  int32_t count = reader.ReadVectorLength(2 * kMinStringSize);
  std::vector<ClientIdentity> identities;
  for (int32_t i = 0; i < count && reader.ok(); ++i) {
    ClientIdentity identity;
    identity.scheme = reader.ReadString();
    identity.user = reader.ReadString();
    identities.push_back(std::move(identity));
  }
  return Finish(reader, std::move(identities), "WhoAmIResponse");
}

Result<std::vector<OpResult>> DecodeMultiResponse(std::span<const uint8_t> body,
                                                  const std::vector<Op>& ops) {
  JuteReader reader(body);
  std::vector<OpResult> results;
  for (;;) {
    MultiHeader header = ReadMultiHeader(reader);
    if (!reader.ok() || header.done) break;
    if (results.size() == ops.size()) {
      reader.Fail("multi response has more results than the " + std::to_string(ops.size()) +
                  " operations sent");
      break;
    }
    OpResult result;
    switch (static_cast<OpCode>(header.type)) {
      case OpCode::kCreate:
        result.path = reader.ReadString();
        break;
      case OpCode::kCreate2:
      case OpCode::kCreateContainer:
      case OpCode::kCreateTtl:
        result.path = reader.ReadString();
        result.stat = ReadStat(reader);
        break;
      case OpCode::kSetData:
        result.stat = ReadStat(reader);
        break;
      case OpCode::kDelete:
      case OpCode::kCheck:
        break;
      case OpCode::kError:
        result.error = static_cast<ErrorCode>(reader.ReadInt());
        break;
      default:
        reader.Fail("unexpected multi result type " + std::to_string(header.type));
    }
    results.push_back(std::move(result));
  }
  if (reader.ok() && results.size() != ops.size()) {
    reader.Fail("multi response has " + std::to_string(results.size()) + " results for " +
                std::to_string(ops.size()) + " operations");
  }
  return Finish(reader, std::move(results), "MultiResponse");
}

Result<std::vector<ReadResult>> DecodeMultiReadResponse(std::span<const uint8_t> body,
                                                        const std::vector<ReadOp>& ops,
                                                        size_t max_decoded_bytes) {
  JuteReader reader(body);
  DecodeBudget budget(max_decoded_bytes);
  std::vector<ReadResult> results;
  if (!budget.Charge(ops.size() * sizeof(ReadResult))) return budget.Exceeded("MultiReadResponse");
  results.reserve(ops.size());
  for (;;) {
    MultiHeader header = ReadMultiHeader(reader);
    if (!reader.ok() || header.done) break;
    if (results.size() == ops.size()) {
      reader.Fail("multiRead response has more results than the " + std::to_string(ops.size()) +
                  " reads sent");
      break;
    }
    ReadResult result;
    switch (static_cast<OpCode>(header.type)) {
      case OpCode::kGetData: {
        std::optional<std::span<const uint8_t>> data = reader.ReadOptionalBufferView();
        result.null_data = !data;
        if (data) {
          if (!budget.Charge(StringHeapBytes(data->size()))) break;
          result.data = AsString(*data);
        }
        result.stat = ReadStat(reader);
        break;
      }
      case OpCode::kGetChildren:
        result.children = ReadStrings(reader, budget);
        break;
      case OpCode::kError:
        result.error = static_cast<ErrorCode>(reader.ReadInt());
        break;
      default:
        reader.Fail("unexpected multiRead result type " + std::to_string(header.type));
    }
    if (budget.exceeded()) return budget.Exceeded("MultiReadResponse");
    results.push_back(std::move(result));
  }
  if (reader.ok() && results.size() != ops.size()) {
    reader.Fail("multiRead response has " + std::to_string(results.size()) + " results for " +
                std::to_string(ops.size()) + " reads");
  }
  return Finish(reader, std::move(results), "MultiReadResponse");
}

}  // namespace zkarrow::zk

#include "zk/client.h"

#include <memory>
#include <utility>

#include "zk/connect_string.h"
#include "zk/protocol.h"
#include "zk/session.h"

namespace zkarrow::zk {
namespace {

// Decodes a reply the server sent (its error code may be non-OK).
template <typename T>
using Decoder = std::function<Result<T>(const Reply&)>;

std::string Describe(OpCode op, std::string_view path) {
  std::string text(OpCodeName(op));
  if (!path.empty()) {
    text += ' ';
    text += path;
  }
  return text;
}

// Submits one request. Transport failures get the operation and path as
// context; `decode` sees every reply the server sent.
template <typename T>
void Call(Session& session, OpCode op, std::string_view path, std::vector<uint8_t> body,
          bool idempotent, Callback<T> done, Decoder<T> decode) {
  session.Submit({op, std::move(body), idempotent,
                  [done = std::move(done), decode = std::move(decode), op,
                   path = std::string(path)](Result<Reply> reply) {
                    if (!reply.ok()) {
                      done(reply.status().WithContext(Describe(op, path)));
                      return;
                    }
                    Result<T> result = decode(*reply);
                    if (!result.ok() && result.status().code() != StatusCode::kRemote) {
                      result = result.status().WithContext(Describe(op, path));
                    }
                    done(std::move(result));
                  }});
}

// A Decoder that turns a non-OK code into its error and decodes OK bodies
// with `parse`; `on_ok` runs first (e.g. to register a watch).
template <typename T, typename Parse>
Decoder<T> Expect(OpCode op, std::string_view path, Parse parse,
                  std::function<void()> on_ok = nullptr) {
  return [op, path = std::string(path), parse = std::move(parse),
          on_ok = std::move(on_ok)](const Reply& reply) -> Result<T> {
    if (reply.error != ErrorCode::OK) return ZooKeeperError(reply.error, OpCodeName(op), path);
    if (on_ok) on_ok();
    return parse(reply.body);
  };
}

Status ExpectOk(const Reply& reply, OpCode op, std::string_view path) {
  if (reply.error != ErrorCode::OK) return ZooKeeperError(reply.error, OpCodeName(op), path);
  return Status::Ok();
}

// Adapts a StatusCallback to the Result-based plumbing.
struct Done {};
Callback<Done> FromStatusCallback(StatusCallback done) {
  return [done = std::move(done)](Result<Done> result) { done(result.status()); };
}
Decoder<Done> ExpectDone(OpCode op, std::string_view path,
                         std::function<void(ErrorCode)> on_reply = nullptr) {
  return [op, path = std::string(path),
          on_reply = std::move(on_reply)](const Reply& reply) -> Result<Done> {
    if (on_reply) on_reply(reply.error);
    ZKA_RETURN_IF_ERROR(ExpectOk(reply, op, path));
    return Done{};
  };
}

template <typename T>
std::pair<Callback<T>, std::future<Result<T>>> FutureCallback() {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  return {[promise](Result<T> result) { promise->set_value(std::move(result)); },
          std::move(future)};
}

std::pair<StatusCallback, std::future<Status>> FutureStatusCallback() {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  return {[promise](Status status) { promise->set_value(std::move(status)); }, std::move(future)};
}

bool IsSequential(CreateMode mode) {
  return mode == CreateMode::kPersistentSequential || mode == CreateMode::kEphemeralSequential ||
         mode == CreateMode::kPersistentSequentialWithTtl;
}

bool IsTtl(CreateMode mode) {
  return mode == CreateMode::kPersistentWithTtl || mode == CreateMode::kPersistentSequentialWithTtl;
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  ZKA_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Start(std::move(options)));
  return std::unique_ptr<Client>(new Client(std::move(session)));
}

Client::Client(std::unique_ptr<Session> session) : session_(std::move(session)) {}

Client::~Client() { Close(); }

void Client::Close() { session_->Close(); }

bool Client::SupportsMultiRead() const { return multi_read_supported_.load(); }
int64_t Client::session_id() const { return session_->session_id(); }
int64_t Client::last_zxid() const { return session_->last_zxid(); }
std::chrono::milliseconds Client::negotiated_session_timeout() const {
  return session_->negotiated_timeout();
}
std::string Client::connected_server() const { return session_->connected_server(); }
std::string Client::connection_security() const { return session_->connection_security(); }
const std::string& Client::chroot() const { return session_->chroot(); }

void Client::Create(std::string_view path, std::string_view data, std::vector<Acl> acl,
                    CreateMode mode, Callback<CreateResult> done, int64_t ttl_ms) {
  // Sequential nodes may be named by their parent alone: "/queue/".
  std::string checked = IsSequential(mode) ? std::string(path) + "0" : std::string(path);
  if (Status valid = ValidatePath(checked); !valid.ok()) return done(valid);
  if (IsTtl(mode) && ttl_ms <= 0) {
    return done(
        Status::InvalidArgument("create " + std::string(path) + ": TTL modes need ttl_ms > 0"));
  }
  OpCode op = CreateOpCode(mode);
  std::string chroot = session_->chroot();
  Call<CreateResult>(*session_, op, path,
                     EncodeCreateRequest(ApplyChroot(chroot, path), data, acl, mode, ttl_ms), false,
                     std::move(done),
                     Expect<CreateResult>(
                         op, path, [chroot](std::span<const uint8_t> body) -> Result<CreateResult> {
                           ZKA_ASSIGN_OR_RETURN(CreateResult created, DecodeCreate2Response(body));
                           created.path = StripChroot(chroot, created.path);
                           return created;
                         }));
}

std::future<Result<CreateResult>> Client::Create(std::string_view path, std::string_view data,
                                                 std::vector<Acl> acl, CreateMode mode,
                                                 int64_t ttl_ms) {
  auto [callback, future] = FutureCallback<CreateResult>();
  Create(path, data, std::move(acl), mode, std::move(callback), ttl_ms);
  return std::move(future);
}

void Client::Delete(std::string_view path, int32_t version, StatusCallback done) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Call<Done>(*session_, OpCode::kDelete, path,
             EncodeDeleteRequest(ApplyChroot(session_->chroot(), path), version), false,
             FromStatusCallback(std::move(done)), ExpectDone(OpCode::kDelete, path));
}

std::future<Status> Client::Delete(std::string_view path, int32_t version) {
  auto [callback, future] = FutureStatusCallback();
  Delete(path, version, std::move(callback));
  return std::move(future);
}

void Client::Exists(std::string_view path, Callback<std::optional<Stat>> done,
                    WatchListener watch) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Session* session = session_.get();
  // Computed before the call: the decoder below takes the listener.
  bool watching = watch != nullptr;
  Call<std::optional<Stat>>(*session_, OpCode::kExists, path,
                            EncodePathWatchRequest(ApplyChroot(session_->chroot(), path), watching),
                            true, std::move(done),
                            [session, watch = std::move(watch), path = std::string(path)](
                                const Reply& reply) -> Result<std::optional<Stat>> {
                              if (reply.error == ErrorCode::NONODE) {
                                if (watch)
                                  session->watches().Add(WatchRegistry::Kind::kExist, path, watch);
                                return std::optional<Stat>();
                              }
                              ZKA_RETURN_IF_ERROR(ExpectOk(reply, OpCode::kExists, path));
                              if (watch)
                                session->watches().Add(WatchRegistry::Kind::kData, path, watch);
                              ZKA_ASSIGN_OR_RETURN(Stat stat, DecodeStat(reply.body));
                              return std::optional<Stat>(stat);
                            });
}

std::future<Result<std::optional<Stat>>> Client::Exists(std::string_view path,
                                                        WatchListener watch) {
  auto [callback, future] = FutureCallback<std::optional<Stat>>();
  Exists(path, std::move(callback), std::move(watch));
  return std::move(future);
}

void Client::GetData(std::string_view path, Callback<DataResult> done, WatchListener watch) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Session* session = session_.get();
  bool watching = watch != nullptr;
  Call<DataResult>(
      *session_, OpCode::kGetData, path,
      EncodePathWatchRequest(ApplyChroot(session_->chroot(), path), watching), true,
      std::move(done),
      Expect<DataResult>(OpCode::kGetData, path, DecodeGetDataResponse,
                         [session, watch = std::move(watch), path = std::string(path)] {
                           if (watch)
                             session->watches().Add(WatchRegistry::Kind::kData, path, watch);
                         }));
}

std::future<Result<DataResult>> Client::GetData(std::string_view path, WatchListener watch) {
  auto [callback, future] = FutureCallback<DataResult>();
  GetData(path, std::move(callback), std::move(watch));
  return std::move(future);
}

void Client::SetData(std::string_view path, std::string_view data, int32_t version,
                     Callback<Stat> done) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Call<Stat>(*session_, OpCode::kSetData, path,
             EncodeSetDataRequest(ApplyChroot(session_->chroot(), path), data, version), false,
             std::move(done), Expect<Stat>(OpCode::kSetData, path, DecodeStat));
}

std::future<Result<Stat>> Client::SetData(std::string_view path, std::string_view data,
                                          int32_t version) {
  auto [callback, future] = FutureCallback<Stat>();
  SetData(path, data, version, std::move(callback));
  return std::move(future);
}

void Client::GetChildren(std::string_view path, Callback<std::vector<std::string>> done,
                         WatchListener watch) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Session* session = session_.get();
  bool watching = watch != nullptr;
  Call<std::vector<std::string>>(
      *session_, OpCode::kGetChildren, path,
      EncodePathWatchRequest(ApplyChroot(session_->chroot(), path), watching), true,
      std::move(done),
      Expect<std::vector<std::string>>(
          OpCode::kGetChildren, path,
          [limit = session_->max_response_bytes()](std::span<const uint8_t> body) {
            return DecodeStringList(body, limit);
          },
          [session, watch = std::move(watch), path = std::string(path)] {
            if (watch) session->watches().Add(WatchRegistry::Kind::kChild, path, watch);
          }));
}

std::future<Result<std::vector<std::string>>> Client::GetChildren(std::string_view path,
                                                                  WatchListener watch) {
  auto [callback, future] = FutureCallback<std::vector<std::string>>();
  GetChildren(path, std::move(callback), std::move(watch));
  return std::move(future);
}

void Client::GetChildren2(std::string_view path, Callback<ChildrenResult> done,
                          WatchListener watch) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Session* session = session_.get();
  bool watching = watch != nullptr;
  Call<ChildrenResult>(*session_, OpCode::kGetChildren2, path,
                       EncodePathWatchRequest(ApplyChroot(session_->chroot(), path), watching),
                       true, std::move(done),
                       Expect<ChildrenResult>(
                           OpCode::kGetChildren2, path,
                           [limit = session_->max_response_bytes()](std::span<const uint8_t> body) {
                             return DecodeGetChildren2Response(body, limit);
                           },
                           [session, watch = std::move(watch), path = std::string(path)] {
                             if (watch) {
                               session->watches().Add(WatchRegistry::Kind::kChild, path, watch);
                             }
                           }));
}

std::future<Result<ChildrenResult>> Client::GetChildren2(std::string_view path,
                                                         WatchListener watch) {
  auto [callback, future] = FutureCallback<ChildrenResult>();
  GetChildren2(path, std::move(callback), std::move(watch));
  return std::move(future);
}

void Client::GetAcl(std::string_view path, Callback<AclResult> done,
                    std::optional<size_t> max_decoded_bytes) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Call<AclResult>(
      *session_, OpCode::kGetAcl, path, EncodePathRequest(ApplyChroot(session_->chroot(), path)),
      true, std::move(done),
      Expect<AclResult>(
          OpCode::kGetAcl, path,
          [limit = max_decoded_bytes.value_or(session_->max_response_bytes())](
              std::span<const uint8_t> body) { return DecodeGetAclResponse(body, limit); }));
}

std::future<Result<AclResult>> Client::GetAcl(std::string_view path) {
  auto [callback, future] = FutureCallback<AclResult>();
  GetAcl(path, std::move(callback));
  return std::move(future);
}

void Client::SetAcl(std::string_view path, std::vector<Acl> acl, int32_t version,
                    Callback<Stat> done) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Call<Stat>(*session_, OpCode::kSetAcl, path,
             EncodeSetAclRequest(ApplyChroot(session_->chroot(), path), acl, version), false,
             std::move(done), Expect<Stat>(OpCode::kSetAcl, path, DecodeStat));
}

std::future<Result<Stat>> Client::SetAcl(std::string_view path, std::vector<Acl> acl,
                                         int32_t version) {
  auto [callback, future] = FutureCallback<Stat>();
  SetAcl(path, std::move(acl), version, std::move(callback));
  return std::move(future);
}

void Client::Sync(std::string_view path, StatusCallback done) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Call<Done>(*session_, OpCode::kSync, path,
             EncodePathRequest(ApplyChroot(session_->chroot(), path)), true,
             FromStatusCallback(std::move(done)), ExpectDone(OpCode::kSync, path));
}

std::future<Status> Client::Sync(std::string_view path) {
  auto [callback, future] = FutureStatusCallback();
  Sync(path, std::move(callback));
  return std::move(future);
}

void Client::Multi(std::vector<Op> ops, Callback<std::vector<OpResult>> done) {
  const std::string& chroot = session_->chroot();
  std::vector<Op> server_ops = ops;
  for (Op& op : server_ops) {
    bool sequential = op.kind == Op::Kind::kCreate && IsSequential(op.mode);
    if (Status valid = ValidatePath(sequential ? op.path + "0" : op.path); !valid.ok()) {
      return done(valid.WithContext("multi"));
    }
    op.path = ApplyChroot(chroot, op.path);
  }
  std::string first_path = ops.empty() ? std::string() : ops.front().path;
  Call<std::vector<OpResult>>(
      *session_, OpCode::kMulti, first_path, EncodeMultiRequest(server_ops), false, std::move(done),
      [ops = std::move(ops), chroot](const Reply& reply) -> Result<std::vector<OpResult>> {
        // A rejected transaction still lists every operation's outcome.
        Result<std::vector<OpResult>> results = DecodeMultiResponse(reply.body, ops);
        if (!results.ok()) {
          if (reply.error != ErrorCode::OK) return ZooKeeperError(reply.error, "multi", "");
          return results.status();
        }
        for (OpResult& result : *results) {
          if (!result.path.empty()) result.path = StripChroot(chroot, result.path);
        }
        return results;
      });
}

std::future<Result<std::vector<OpResult>>> Client::Multi(std::vector<Op> ops) {
  auto [callback, future] = FutureCallback<std::vector<OpResult>>();
  Multi(std::move(ops), std::move(callback));
  return std::move(future);
}

void Client::MultiRead(std::vector<ReadOp> ops, Callback<std::vector<ReadResult>> done,
                       std::optional<size_t> max_decoded_bytes) {
  for (const ReadOp& op : ops) {
    if (Status valid = ValidatePath(op.path); !valid.ok())
      return done(valid.WithContext("multiRead"));
  }
  if (ops.empty()) return done(std::vector<ReadResult>());
  const size_t limit = max_decoded_bytes.value_or(session_->max_response_bytes());
  if (!multi_read_supported_.load()) {
    return MultiReadOneByOne(std::move(ops), std::move(done), limit);
  }
  std::vector<ReadOp> server_ops = ops;
  for (ReadOp& op : server_ops) op.path = ApplyChroot(session_->chroot(), op.path);
  std::vector<uint8_t> body = EncodeMultiReadRequest(server_ops);
  auto shared_done = std::make_shared<Callback<std::vector<ReadResult>>>(std::move(done));
  session_->Submit({OpCode::kMultiRead, std::move(body), true,
                    [this, ops = std::move(ops), shared_done, limit](Result<Reply> reply) mutable {
                      Callback<std::vector<ReadResult>>& finish = *shared_done;
                      if (!reply.ok()) return finish(reply.status().WithContext("multiRead"));
                      if (reply->error == ErrorCode::UNIMPLEMENTED) {
                        // A server older than 3.6: remember, and read one by one.
                        multi_read_supported_ = false;
                        return MultiReadOneByOne(std::move(ops), std::move(finish), limit);
                      }
                      if (reply->error != ErrorCode::OK) {
                        return finish(ZooKeeperError(reply->error, "multiRead", ops.front().path));
                      }
                      Result<std::vector<ReadResult>> results =
                          DecodeMultiReadResponse(reply->body, ops, limit);
                      if (!results.ok()) return finish(results.status().WithContext("multiRead"));
                      finish(std::move(results));
                    }});
}

void Client::MultiReadOneByOne(std::vector<ReadOp> ops, Callback<std::vector<ReadResult>> done,
                               size_t max_decoded_bytes) {
  struct Batch {
    std::vector<ReadResult> results;
    size_t remaining = 0;
    Status failure;
    Callback<std::vector<ReadResult>> done;
  };
  auto batch = std::make_shared<Batch>();
  batch->results.resize(ops.size());
  batch->remaining = ops.size();
  batch->done = std::move(done);
  for (size_t i = 0; i < ops.size(); ++i) {
    bool data = ops[i].kind == ReadOp::Kind::kGetData;
    OpCode op = data ? OpCode::kGetData : OpCode::kGetChildren;
    std::string path = ops[i].path;
    session_->Submit({op, EncodePathWatchRequest(ApplyChroot(session_->chroot(), path), false),
                      true, [batch, i, data, op, path, max_decoded_bytes](Result<Reply> reply) {
                        ReadResult& result = batch->results[i];
                        if (!reply.ok()) {
                          if (batch->failure.ok())
                            batch->failure = reply.status().WithContext(Describe(op, path));
                        } else if (reply->error != ErrorCode::OK) {
                          result.error = reply->error;
                        } else if (data) {
                          Result<DataResult> decoded = DecodeGetDataResponse(reply->body);
                          if (decoded.ok()) {
                            result.data = std::move(decoded->data);
                            result.null_data = decoded->null_data;
                            result.stat = decoded->stat;
                          } else if (batch->failure.ok()) {
                            batch->failure = decoded.status().WithContext(Describe(op, path));
                          }
                        } else {
                          Result<std::vector<std::string>> decoded =
                              DecodeStringList(reply->body, max_decoded_bytes);
                          if (decoded.ok()) {
                            result.children = std::move(*decoded);
                          } else if (batch->failure.ok()) {
                            batch->failure = decoded.status().WithContext(Describe(op, path));
                          }
                        }
                        if (--batch->remaining > 0) return;
                        if (!batch->failure.ok()) return batch->done(batch->failure);
                        batch->done(std::move(batch->results));
                      }});
  }
}

std::future<Result<std::vector<ReadResult>>> Client::MultiRead(std::vector<ReadOp> ops) {
  auto [callback, future] = FutureCallback<std::vector<ReadResult>>();
  MultiRead(std::move(ops), std::move(callback));
  return std::move(future);
}

void Client::GetEphemerals(std::string_view prefix, Callback<std::vector<std::string>> done) {
  if (Status valid = ValidatePath(prefix); !valid.ok()) return done(valid);
  std::string chroot = session_->chroot();
  Call<std::vector<std::string>>(
      *session_, OpCode::kGetEphemerals, prefix, EncodePathRequest(ApplyChroot(chroot, prefix)),
      true, std::move(done),
      Expect<std::vector<std::string>>(
          OpCode::kGetEphemerals, prefix,
          [chroot, limit = session_->max_response_bytes()](
              std::span<const uint8_t> body) -> Result<std::vector<std::string>> {
            ZKA_ASSIGN_OR_RETURN(std::vector<std::string> paths, DecodeStringList(body, limit));
            for (std::string& path : paths) path = StripChroot(chroot, path);
            return paths;
          }));
}

std::future<Result<std::vector<std::string>>> Client::GetEphemerals(std::string_view prefix) {
  auto [callback, future] = FutureCallback<std::vector<std::string>>();
  GetEphemerals(prefix, std::move(callback));
  return std::move(future);
}

void Client::GetAllChildrenNumber(std::string_view path, Callback<int32_t> done) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Call<int32_t>(*session_, OpCode::kGetAllChildrenNumber, path,
                EncodePathRequest(ApplyChroot(session_->chroot(), path)), true, std::move(done),
                Expect<int32_t>(OpCode::kGetAllChildrenNumber, path, DecodeInt));
}

std::future<Result<int32_t>> Client::GetAllChildrenNumber(std::string_view path) {
  auto [callback, future] = FutureCallback<int32_t>();
  GetAllChildrenNumber(path, std::move(callback));
  return std::move(future);
}

void Client::AddWatch(std::string_view path, AddWatchMode mode, WatchListener listener,
                      StatusCallback done) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  if (!listener)
    return done(Status::InvalidArgument("addWatch " + std::string(path) + ": no listener"));
  Session* session = session_.get();
  auto kind = mode == AddWatchMode::kPersistent ? WatchRegistry::Kind::kPersistent
                                                : WatchRegistry::Kind::kPersistentRecursive;
  Call<Done>(
      *session_, OpCode::kAddWatch, path,
      EncodePathIntRequest(ApplyChroot(session_->chroot(), path), static_cast<int32_t>(mode)), true,
      FromStatusCallback(std::move(done)),
      ExpectDone(OpCode::kAddWatch, path,
                 [session, kind, listener = std::move(listener),
                  path = std::string(path)](ErrorCode code) {
                   if (code == ErrorCode::OK) session->watches().Add(kind, path, listener);
                 }));
}

std::future<Status> Client::AddWatch(std::string_view path, AddWatchMode mode,
                                     WatchListener listener) {
  auto [callback, future] = FutureStatusCallback();
  AddWatch(path, mode, std::move(listener), std::move(callback));
  return std::move(future);
}

void Client::RemoveWatches(std::string_view path, WatcherType type, StatusCallback done) {
  if (Status valid = ValidatePath(path); !valid.ok()) return done(valid);
  Session* session = session_.get();
  Call<Done>(
      *session_, OpCode::kRemoveWatches, path,
      EncodePathIntRequest(ApplyChroot(session_->chroot(), path), static_cast<int32_t>(type)),
      false, FromStatusCallback(std::move(done)),
      ExpectDone(OpCode::kRemoveWatches, path,
                 [session, type, path = std::string(path)](ErrorCode code) {
                   if (code == ErrorCode::OK || code == ErrorCode::NOWATCHER) {
                     session->watches().Remove(path, type);
                   }
                 }));
}

std::future<Status> Client::RemoveWatches(std::string_view path, WatcherType type) {
  auto [callback, future] = FutureStatusCallback();
  RemoveWatches(path, type, std::move(callback));
  return std::move(future);
}

void Client::WhoAmI(Callback<std::vector<ClientIdentity>> done) {
  Call<std::vector<ClientIdentity>>(
      *session_, OpCode::kWhoAmI, "", {}, true, std::move(done),
      Expect<std::vector<ClientIdentity>>(OpCode::kWhoAmI, "", DecodeWhoAmIResponse));
}

std::future<Result<std::vector<ClientIdentity>>> Client::WhoAmI() {
  auto [callback, future] = FutureCallback<std::vector<ClientIdentity>>();
  WhoAmI(std::move(callback));
  return std::move(future);
}

void Client::AddAuth(std::string_view scheme, std::string_view credential, StatusCallback done) {
  Call<Done>(*session_, OpCode::kAuth, scheme, EncodeAuthPacket(scheme, credential), false,
             FromStatusCallback(std::move(done)), ExpectDone(OpCode::kAuth, scheme));
}

std::future<Status> Client::AddAuth(std::string_view scheme, std::string_view credential) {
  auto [callback, future] = FutureStatusCallback();
  AddAuth(scheme, credential, std::move(callback));
  return std::move(future);
}

}  // namespace zkarrow::zk

// A blocking facade over Client for tests, tools and the CLI: every call
// waits for its reply. Never call it from a Client callback or listener (they
// run on the I/O thread that would deliver the reply).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zk/client.h"

namespace zkarrow::zk {

class SyncClient {
 public:
  static Result<SyncClient> Connect(ClientOptions options);
  explicit SyncClient(std::unique_ptr<Client> client) : client_(std::move(client)) {}

  Result<CreateResult> Create(std::string_view path, std::string_view data = {},
                              CreateMode mode = CreateMode::kPersistent,
                              std::vector<Acl> acl = OpenAclUnsafe(), int64_t ttl_ms = 0) {
    return client_->Create(path, data, std::move(acl), mode, ttl_ms).get();
  }
  Status Delete(std::string_view path, int32_t version = -1) {
    return client_->Delete(path, version).get();
  }
  Result<std::optional<Stat>> Exists(std::string_view path, WatchListener watch = nullptr) {
    return client_->Exists(path, std::move(watch)).get();
  }
  Result<DataResult> GetData(std::string_view path, WatchListener watch = nullptr) {
    return client_->GetData(path, std::move(watch)).get();
  }
  Result<Stat> SetData(std::string_view path, std::string_view data, int32_t version = -1) {
    return client_->SetData(path, data, version).get();
  }
  Result<std::vector<std::string>> GetChildren(std::string_view path,
                                               WatchListener watch = nullptr) {
    return client_->GetChildren(path, std::move(watch)).get();
  }
  Result<ChildrenResult> GetChildren2(std::string_view path, WatchListener watch = nullptr) {
    return client_->GetChildren2(path, std::move(watch)).get();
  }
  Result<AclResult> GetAcl(std::string_view path) { return client_->GetAcl(path).get(); }
  Result<Stat> SetAcl(std::string_view path, std::vector<Acl> acl, int32_t version = -1) {
    return client_->SetAcl(path, std::move(acl), version).get();
  }
  Status Sync(std::string_view path) { return client_->Sync(path).get(); }
  Result<std::vector<OpResult>> Multi(std::vector<Op> ops) {
    return client_->Multi(std::move(ops)).get();
  }
  Result<std::vector<ReadResult>> MultiRead(std::vector<ReadOp> ops) {
    return client_->MultiRead(std::move(ops)).get();
  }
  Result<std::vector<std::string>> GetEphemerals(std::string_view prefix = "/") {
    return client_->GetEphemerals(prefix).get();
  }
  Result<int32_t> GetAllChildrenNumber(std::string_view path) {
    return client_->GetAllChildrenNumber(path).get();
  }
  Status AddWatch(std::string_view path, AddWatchMode mode, WatchListener listener) {
    return client_->AddWatch(path, mode, std::move(listener)).get();
  }
  Status RemoveWatches(std::string_view path, WatcherType type = WatcherType::kAny) {
    return client_->RemoveWatches(path, type).get();
  }
  Result<std::vector<ClientIdentity>> WhoAmI() { return client_->WhoAmI().get(); }
  Status AddAuth(std::string_view scheme, std::string_view credential) {
    return client_->AddAuth(scheme, credential).get();
  }

  // Creates `path` and any missing ancestors (persistent, open ACL); an
  // existing node is fine.
  Status CreateRecursive(std::string_view path, std::string_view data = {});
  // Deletes `path` and its whole subtree; a missing node is fine.
  Status DeleteRecursive(std::string_view path);

  Client& async() { return *client_; }

 private:
  std::unique_ptr<Client> client_;
};

}  // namespace zkarrow::zk

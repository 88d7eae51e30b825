#include "zk/sync_client.h"

#include <utility>

namespace zkarrow::zk {

Result<SyncClient> SyncClient::Connect(ClientOptions options) {
  ZKA_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::Connect(std::move(options)));
  return SyncClient(std::move(client));
}

Status SyncClient::CreateRecursive(std::string_view path, std::string_view data) {
  for (size_t slash = path.find('/', 1); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    Result<CreateResult> parent = Create(path.substr(0, slash));
    if (!parent.ok() && ErrorCodeOf(parent.status()) != ErrorCode::NODEEXISTS) {
      return parent.status();
    }
  }
  Result<CreateResult> created = Create(path, data);
  if (!created.ok() && ErrorCodeOf(created.status()) != ErrorCode::NODEEXISTS) {
    return created.status();
  }
  return Status::Ok();
}

Status SyncClient::DeleteRecursive(std::string_view path) {
  Result<std::vector<std::string>> children = GetChildren(path);
  if (!children.ok()) {
    if (ErrorCodeOf(children.status()) == ErrorCode::NONODE) return Status::Ok();
    return children.status();
  }
  for (const std::string& child : *children) {
    std::string child_path = path == "/" ? "/" + child : std::string(path) + "/" + child;
    ZKA_RETURN_IF_ERROR(DeleteRecursive(child_path));
  }
  if (path == "/") return Status::Ok();
  Status deleted = Delete(path);
  if (!deleted.ok() && ErrorCodeOf(deleted) != ErrorCode::NONODE) return deleted;
  return Status::Ok();
}

}  // namespace zkarrow::zk

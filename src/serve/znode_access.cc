#include "serve/znode_access.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "zk/error_code.h"

namespace zkarrow::serve {
namespace {

using nlohmann::json;

struct WriteRequest {
  std::string path;
  std::string data;
  std::optional<int32_t> version;
};

Result<WriteRequest> ParseRequest(std::string_view action, std::string_view body,
                                  const std::string& root, bool wants_data, bool wants_version) {
  json object = json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(std::string(action) + ": " + what +
                                   "; expected {\"path\": \"/a\"" +
                                   (wants_data ? ", \"data\": \"text\"" : "") +
                                   (wants_version ? ", \"version\": N" : "") + "}");
  };
  if (!object.is_object()) return bad("the body is not a JSON object");
  if (!object.contains("path") || !object["path"].is_string()) return bad("no \"path\" string");
  WriteRequest request;
  request.path = object["path"].get<std::string>();
  if (request.path.empty() || request.path[0] != '/' ||
      (request.path.size() > 1 && request.path.back() == '/')) {
    return bad("\"" + request.path.substr(0, 200) + "\" is not an absolute znode path");
  }
  const bool inside = root == "/" || request.path == root || request.path.starts_with(root + "/");
  if (!inside) {
    return Status::PermissionDenied(std::string(action) + " " + request.path.substr(0, 200) +
                                    ": outside the served subtree " + root);
  }
  if (wants_data && object.contains("data")) {
    if (!object["data"].is_string()) return bad("\"data\" is not a string");
    request.data = object["data"].get<std::string>();
  }
  if (wants_version) {
    // The version is what makes an edit safe: it is required, never -1.
    if (!object.contains("version") || !object["version"].is_number_integer() ||
        object["version"].get<int64_t>() < 0 || object["version"].get<int64_t>() > INT32_MAX) {
      return bad("no \"version\" (the version the change is based on, 0 or more)");
    }
    request.version = static_cast<int32_t>(object["version"].get<int64_t>());
  }
  return request;
}

// ZooKeeper's refusal as the status a client can act on.
Status Mapped(const Status& status, std::string_view action, const std::string& path,
              std::optional<int32_t> version) {
  const std::string what = std::string(action) + " " + path + ": ";
  switch (zk::ErrorCodeOf(status)) {
    case zk::ErrorCode::BADVERSION:
      return Status::Conflict(what + "the node changed after version " +
                              std::to_string(version.value_or(-1)) +
                              " was read (BADVERSION); read it again and redo the change");
    case zk::ErrorCode::NODEEXISTS:
      return Status::Conflict(what + "the node exists already (NODEEXISTS)");
    case zk::ErrorCode::NONODE:
      return Status::NotFound(what + "no such node (NONODE; for create: no parent)");
    case zk::ErrorCode::NOTEMPTY:
      return Status::InvalidArgument(what + "the node has children (NOTEMPTY); delete them first");
    case zk::ErrorCode::NOAUTH:
      return Status::PermissionDenied(what +
                                      "ZooKeeper refused it (NOAUTH): the server's "
                                      "credentials lack the permission");
    case zk::ErrorCode::NOCHILDRENFOREPHEMERALS:
      return Status::InvalidArgument(what + "an ephemeral node cannot have children");
    default:
      return status.WithContext(std::string(action));
  }
}

bool SessionGone(const Status& status) {
  const zk::ErrorCode code = zk::ErrorCodeOf(status);
  return code == zk::ErrorCode::SESSIONEXPIRED || code == zk::ErrorCode::CONNECTIONLOSS ||
         status.code() == StatusCode::kCancelled;
}

std::string Answer(const std::string& path, const zk::Stat& stat) {
  return json({{"path", path}, {"zxid", stat.mzxid}, {"version", stat.version}}).dump();
}

}  // namespace

ZnodeAccess::ZnodeAccess(zk::ClientOptions options, std::string root, bool allow_writes)
    : options_(std::move(options)), root_(std::move(root)), allow_writes_(allow_writes) {}

ZnodeAccess::~ZnodeAccess() {
  if (client_) client_->Close();
}

bool ZnodeAccess::Handles(std::string_view action) {
  return action == "acl" || action == "set_data" || action == "create" || action == "delete";
}

Result<zk::Client*> ZnodeAccess::Connected() {
  // A session that ended while no request came (the ensemble away past the
  // session timeout) is replaced first: a request on it fails unsent.
  if (client_ && session_ended_) {
    client_->Close();
    client_.reset();
  }
  if (!client_) {
    session_ended_ = false;
    zk::ClientOptions options = options_;
    options.session_listener = [this,
                                also = options_.session_listener](const zk::SessionEvent& event) {
      if (event.state == zk::SessionState::kExpired || event.state == zk::SessionState::kClosed) {
        session_ended_ = true;
      }
      if (also) also(event);
    };
    ZKA_ASSIGN_OR_RETURN(client_, zk::Client::Connect(std::move(options)));
  }
  return client_.get();
}

Result<std::string> ZnodeAccess::Do(std::string_view action, std::string_view body) {
  const bool acl = action == "acl";
  const bool set = action == "set_data";
  const bool create = action == "create";
  const bool remove = action == "delete";
  if (!acl && !set && !create && !remove) {
    return Status::NotFound("no action \"" + std::string(action.substr(0, 100)) +
                            "\"; expected acl, set_data, create or delete");
  }
  if (!acl && !allow_writes_) {
    return Status::PermissionDenied(
        std::string(action) +
        " refused: this server is read-only; start zkarrow serve with --allow-writes to allow "
        "set_data, create and delete");
  }
  ZKA_ASSIGN_OR_RETURN(WriteRequest request,
                       ParseRequest(action, body, root_, set || create, set || remove));
  std::lock_guard lock(mu_);
  ZKA_ASSIGN_OR_RETURN(zk::Client * client, Connected());
  Status failed;
  if (acl) {
    auto read = client->GetAcl(request.path).get();
    if (read.ok()) {
      json entries = json::array();
      for (const zk::Acl& entry : read->acls) {
        entries.push_back({{"scheme", entry.scheme}, {"id", entry.id}, {"perms", entry.perms}});
      }
      return json({{"path", request.path},
                   {"acl", std::move(entries)},
                   {"aversion", read->stat.aversion}})
          .dump(-1, ' ', false, json::error_handler_t::replace);
    }
    failed = read.status();
  } else if (set) {
    auto stat = client->SetData(request.path, request.data, *request.version).get();
    if (stat.ok()) return Answer(request.path, *stat);
    failed = stat.status();
  } else if (create) {
    auto created = client->Create(request.path, request.data).get();
    if (created.ok()) return Answer(created->path, created->stat);
    failed = created.status();
  } else {
    failed = client->Delete(request.path, *request.version).get();
    // A delete's reply has no stat: the zxid to `sync` to, for a read that
    // sees it, is that of the reply (the server's at or past the delete).
    if (failed.ok()) return json({{"path", request.path}, {"zxid", client->last_zxid()}}).dump();
  }
  // A lost session: the next write connects again. Whether this one
  // happened is unknown, which the client is told.
  if (SessionGone(failed)) {
    client_->Close();
    client_.reset();
    return Status::Unavailable(std::string(action) + " " + request.path +
                               ": the ZooKeeper session was lost; whether the write happened is "
                               "unknown: reload and check (" +
                               failed.message() + ")");
  }
  return Mapped(failed, action, request.path, request.version);
}

}  // namespace zkarrow::serve

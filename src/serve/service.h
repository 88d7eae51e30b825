// What `zkarrow serve` serves, behind the one interface both wire protocols
// call (transport::ArrowService):
//   /znodes?path=/sub&data=false&typed=true   the live tree (TreeService);
//          &columns=path,kind,...              only those columns, in that order
//   /changes?from=ZXID&initial=true&typed=true  its change stream
//   /query?sql=SELECT...                       a query's result (options.query)
//   /datasets/NAME[?version=V]                 uploaded datasets (DatasetStore;
//                                              which version is current, and
//                                              where copies are, the catalog
//                                              says); PUT takes ?if_version=V
// Actions: `sync` (body: a zxid, or {"zxid": Z, "timeout_ms": T}) waits until
// the served state reached the zxid and returns {"zxid": label};
// `drop` (body: a dataset name) deletes a dataset. `acl` reads a node's ACL
// from ZooKeeper, and `set_data`, `create` and `delete` write to it
// (serve/znode_access.h: writes only with `serve --allow-writes`, else
// PermissionDenied, 403).
// Parameters a resource does not know are refused, so a typo is an error,
// not a silently different answer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "serve/dataset_catalog.h"
#include "serve/dataset_store.h"
#include "serve/tree_service.h"
#include "serve/znode_access.h"
#include "transport/arrow_service.h"

namespace zkarrow::serve {

// Answers a query (the SQL of /query?sql=...) over `service`'s own data
// with the result's Arrow stream. serve/ does not know SQL: the CLI's serve
// command hands it src/query's engine.
using QueryHandler = std::function<Result<std::unique_ptr<transport::MessageStream>>(
    transport::ArrowService& service, std::string_view sql)>;

struct ServiceOptions {
  // Upper bound on what a `sync` may ask to wait.
  std::chrono::milliseconds max_sync_wait{60'000};
  std::chrono::milliseconds default_sync_wait{10'000};
  // Null: /query is refused (NotImplemented).
  QueryHandler query;
  // Null: acl and the write actions are NotImplemented. Must outlive the
  // service.
  ZnodeAccess* znodes = nullptr;
};

class Service final : public transport::ArrowService {
 public:
  // REQUIRES: `tree`, `store` and `catalog` outlive the service; `catalog`
  // decides over `store`'s versions.
  Service(TreeService& tree, DatasetStore& store, DatasetCatalog& catalog,
          ServiceOptions options = {});

  Result<std::vector<transport::StreamInfo>> List() override;
  Result<transport::StreamInfo> Describe(const transport::Resource& resource) override;
  Result<std::unique_ptr<transport::MessageStream>> Get(
      const transport::Resource& resource, const transport::GetOptions& options) override;
  Result<transport::StreamInfo> Put(const transport::Resource& resource,
                                    arrow::InputStream& upload) override;
  Status Delete(const transport::Resource& resource) override;
  std::vector<transport::ActionType> ListActions() override;
  Result<std::string> DoAction(std::string_view type, std::string_view body) override;
  Status Health() override;
  void AppendMetrics(std::string& text) override;
  // Metrics of another part of the server (a listener that has its own),
  // appended after the service's. REQUIRES: called before the service
  // is in use; `source` stays valid as long as the service is.
  void AddMetricsSource(std::function<void(std::string&)> source);

 private:
  Result<int64_t> Sync(std::string_view body);
  // A write action's description, saying whether this server refuses it.
  std::string WriteActionDescription(std::string_view what) const;
  // /query?sql=...: options_.query's answer.
  Result<std::unique_ptr<transport::MessageStream>> Query(const transport::Resource& resource);
  // The version a dataset request names (?version=V, else the current one).
  Result<CatalogVersion> ResolveDataset(const std::string& name,
                                        const transport::Resource& resource);
  // This server's copy of `version`; kUnavailable naming the holders when
  // it has none.
  Result<std::shared_ptr<const Dataset>> HeldCopy(const CatalogVersion& version);
  // HeldCopy of the version a dataset request names; without ?version=, of
  // the version current when the copy is taken (see kResolveAttempts).
  Result<std::shared_ptr<const Dataset>> ReadableCopy(const std::string& name,
                                                      const transport::Resource& resource);

  TreeService& tree_;
  DatasetStore& store_;
  DatasetCatalog& catalog_;
  const ServiceOptions options_;
  std::vector<std::function<void(std::string&)>> metrics_sources_;
};

// The StreamInfo of a dataset version (its app metadata: version, rows,
// bytes, sha256, created_ms as JSON; its locations: the other holders).
transport::StreamInfo DatasetStreamInfo(const CatalogVersion& version);

}  // namespace zkarrow::serve

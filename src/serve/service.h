// What `zkarrow serve` serves, behind the one interface both wire protocols
// call (transport::ArrowService):
//   /znodes?path=/sub&data=false&typed=true   the live tree (TreeService)
//   /changes?from=ZXID&initial=true&typed=true  its change stream
//   /datasets/NAME[?if_version=V]             uploaded datasets (DatasetStore)
// Actions: `sync` (body: a zxid, or {"zxid": Z, "timeout_ms": T}) waits until
// the served state reached the zxid and returns {"zxid": label};
// `drop` (body: a dataset name) deletes a dataset.
// Parameters a resource does not know are refused, so a typo is an error,
// not a silently different answer.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "serve/dataset_store.h"
#include "serve/tree_service.h"
#include "transport/arrow_service.h"

namespace zkarrow::serve {

struct ServiceOptions {
  // Upper bound on what a `sync` may ask to wait.
  std::chrono::milliseconds max_sync_wait{60'000};
  std::chrono::milliseconds default_sync_wait{10'000};
};

class Service final : public transport::ArrowService {
 public:
  // REQUIRES: `tree` and `store` outlive the service.
  Service(TreeService& tree, DatasetStore& store, ServiceOptions options = {});

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

 private:
  Result<int64_t> Sync(std::string_view body);

  TreeService& tree_;
  DatasetStore& store_;
  const ServiceOptions options_;
};

// The StreamInfo of a stored dataset (its app metadata: version, rows,
// bytes, sha256, created_ms as JSON).
transport::StreamInfo DatasetStreamInfo(const DatasetInfo& info);

}  // namespace zkarrow::serve

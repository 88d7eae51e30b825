// Who decides which versions of a dataset exist, which one is current, and
// where copies are held. The Service asks its catalog and reads the bytes
// from its own store:
//   LocalCatalog (here): the store alone decides; one server, today's
//     behaviour of `zkarrow serve` without --coord.
//   coord::Coordinator (src/coord): ZooKeeper decides, for a group of
//     servers (atomic publication, replicas, failover).
// Keeping the decision behind this interface keeps serve/ ignorant of
// ZooKeeper coordination and lets coord/ reuse the serving code whole.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "serve/dataset_store.h"

namespace zkarrow::serve {

// One version as the catalog knows it.
struct CatalogVersion {
  DatasetInfo info;  // schema may be null when no copy is held here
  // Flight URIs (grpc://HOST:PORT) of the live servers holding a verified
  // copy; empty for a LocalCatalog (the copy is here).
  std::vector<std::string> locations;
};

class DatasetCatalog {
 public:
  virtual ~DatasetCatalog() = default;

  // Makes a prepared upload (validated and fsynced in this server's store)
  // the next version of its name and returns it once it is durable where
  // the catalog requires. `if_version`: the version the client expects to
  // be current (0: none), else kConflict. Two concurrent publications of
  // one name never both win: the loser gets kConflict and nothing of its
  // upload remains.
  virtual Result<DatasetInfo> Publish(std::unique_ptr<PreparedDataset> prepared,
                                      std::optional<int64_t> if_version) = 0;
  // `version`, or the current version when empty; kNotFound when the name
  // or the version is not (or no longer) kept.
  virtual Result<CatalogVersion> Resolve(std::string_view name, std::optional<int64_t> version) = 0;
  // The current version of every name.
  virtual Result<std::vector<CatalogVersion>> List() = 0;
  virtual Status Drop(std::string_view name) = 0;
  // Prometheus text of the catalog's own metrics (may append nothing).
  virtual void AppendMetrics(std::string& text) = 0;
};

class LocalCatalog final : public DatasetCatalog {
 public:
  // REQUIRES: `store` outlives the catalog.
  explicit LocalCatalog(DatasetStore& store) : store_(store) {}

  Result<DatasetInfo> Publish(std::unique_ptr<PreparedDataset> prepared,
                              std::optional<int64_t> if_version) override;
  Result<CatalogVersion> Resolve(std::string_view name, std::optional<int64_t> version) override;
  Result<std::vector<CatalogVersion>> List() override;
  Status Drop(std::string_view name) override;
  void AppendMetrics(std::string&) override {}

 private:
  DatasetStore& store_;
};

}  // namespace zkarrow::serve

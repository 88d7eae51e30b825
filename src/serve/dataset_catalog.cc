#include "serve/dataset_catalog.h"

namespace zkarrow::serve {

Result<DatasetInfo> LocalCatalog::Publish(std::unique_ptr<PreparedDataset> prepared,
                                          std::optional<int64_t> if_version) {
  return store_.Commit(std::move(prepared), if_version);
}

Result<CatalogVersion> LocalCatalog::Resolve(std::string_view name,
                                             std::optional<int64_t> version) {
  ZKA_ASSIGN_OR_RETURN(auto dataset, store_.Get(name, version));
  return CatalogVersion{dataset->info(), {}};
}

Result<std::vector<CatalogVersion>> LocalCatalog::List() {
  std::vector<CatalogVersion> list;
  for (DatasetInfo& info : store_.List()) list.push_back({std::move(info), {}});
  return list;
}

Status LocalCatalog::Drop(std::string_view name) { return store_.Drop(name); }

}  // namespace zkarrow::serve

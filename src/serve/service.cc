#include "serve/service.h"

#include <charconv>
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "znodes/znode_schema.h"

namespace zkarrow::serve {

namespace {

using transport::Resource;
using transport::StreamInfo;

enum class Kind : uint8_t { kZnodes, kChanges, kDataset };

struct Target {
  Kind kind;
  std::string dataset;  // kDataset
};

constexpr std::string_view kResources = "/znodes, /changes or /datasets/NAME";

// A read of a dataset's current version asks the catalog which one that is,
// then takes the store's copy of it; an upload or a drop committed between
// the two removes that copy (keep_versions), so the catalog is asked again
// (the name moved on: the new version is read, a drop is a 404). Each retry
// needs another version committed meanwhile, which takes an upload's
// fsync, so a few attempts end every race but a pathological one.
constexpr int kResolveAttempts = 4;

Status CheckParams(const Resource& resource, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : resource.params) {
    bool found = false;
    for (std::string_view k : known) found = found || name == k;
    if (!found) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return Status::InvalidArgument("unknown parameter " + name + " for " + resource.ToTarget() +
                                     (known.size() ? "; expected " + list : "; it takes none"));
    }
  }
  return Status::Ok();
}

Result<Target> Classify(const Resource& resource) {
  const auto& segments = resource.segments;
  if (segments.size() == 1 && segments[0] == "znodes") {
    ZKA_RETURN_IF_ERROR(CheckParams(resource, {"path", "data", "typed", "columns"}));
    return Target{Kind::kZnodes, {}};
  }
  if (segments.size() == 1 && segments[0] == "changes") {
    ZKA_RETURN_IF_ERROR(CheckParams(resource, {"from", "initial", "typed"}));
    return Target{Kind::kChanges, {}};
  }
  if (segments.size() == 2 && segments[0] == "datasets") {
    ZKA_RETURN_IF_ERROR(ValidateDatasetName(segments[1]));
    ZKA_RETURN_IF_ERROR(CheckParams(resource, {"if_version", "version"}));
    return Target{Kind::kDataset, segments[1]};
  }
  return Status::NotFound("no resource " + resource.ToTarget() + "; expected " +
                          std::string(kResources));
}

Result<ZnodesRequest> ZnodesRequestOf(const Resource& resource,
                                      const transport::GetOptions& options) {
  ZnodesRequest request;
  if (auto path = resource.Param("path")) request.path = *path;
  ZKA_ASSIGN_OR_RETURN(request.data, resource.BoolParam("data", true));
  ZKA_ASSIGN_OR_RETURN(request.typed, resource.BoolParam("typed", false));
  if (auto columns = resource.Param("columns")) {
    ZKA_ASSIGN_OR_RETURN(request.columns, znodes::ZnodeColumnsNamed(*columns, request.typed));
  }
  request.compression = options.compression;
  if (!request.path.empty() &&
      (request.path.front() != '/' || (request.path.size() > 1 && request.path.back() == '/'))) {
    return Status::InvalidArgument("path: expected a znode path such as /a/b, found \"" +
                                   request.path + "\"");
  }
  return request;
}

Result<ChangesRequest> ChangesRequestOf(const Resource& resource,
                                        const transport::GetOptions& options) {
  ChangesRequest request;
  ZKA_ASSIGN_OR_RETURN(request.from_zxid, resource.IntParam("from"));
  ZKA_ASSIGN_OR_RETURN(request.initial, resource.BoolParam("initial", false));
  ZKA_ASSIGN_OR_RETURN(request.typed, resource.BoolParam("typed", false));
  request.compression = options.compression;
  return request;
}

std::string Json(const nlohmann::json& value) { return value.dump(); }

}  // namespace

transport::StreamInfo DatasetStreamInfo(const CatalogVersion& version) {
  const DatasetInfo& info = version.info;
  StreamInfo stream;
  stream.resource.segments = {"datasets", info.name};
  // A ticket for exactly this version: a reader redeeming it after a newer
  // publication still gets the version it was told about.
  stream.resource.params["version"] = std::to_string(info.version);
  stream.locations = version.locations;
  stream.schema = info.schema;
  stream.total_records = info.rows;
  stream.total_bytes = info.bytes;
  stream.app_metadata_json = Json({{"name", info.name},
                                   {"version", info.version},
                                   {"rows", info.rows},
                                   {"bytes", info.bytes},
                                   {"sha256", info.sha256_hex},
                                   {"created_ms", info.created_ms}});
  return stream;
}

Service::Service(TreeService& tree, DatasetStore& store, DatasetCatalog& catalog,
                 ServiceOptions options)
    : tree_(tree), store_(store), catalog_(catalog), options_(options) {}

Result<CatalogVersion> Service::ResolveDataset(const std::string& name, const Resource& resource) {
  ZKA_ASSIGN_OR_RETURN(std::optional<int64_t> version, resource.IntParam("version"));
  return catalog_.Resolve(name, version);
}

Result<std::shared_ptr<const Dataset>> Service::HeldCopy(const CatalogVersion& version) {
  Result<std::shared_ptr<const Dataset>> held = store_.Get(version.info.name, version.info.version);
  if (held.ok() || held.status().code() != StatusCode::kNotFound) return held;
  std::string where;
  for (const std::string& location : version.locations) where += " " + location;
  return Status::Unavailable(
      "dataset '" + version.info.name + "' version " + std::to_string(version.info.version) +
      " is not held by this server" +
      (where.empty() ? " nor by any live server" : "; read it from a holder:" + where));
}

Result<std::shared_ptr<const Dataset>> Service::ReadableCopy(const std::string& name,
                                                             const Resource& resource) {
  ZKA_ASSIGN_OR_RETURN(CatalogVersion version, ResolveDataset(name, resource));
  Result<std::shared_ptr<const Dataset>> held = HeldCopy(version);
  const bool current = !resource.Param("version");
  for (int attempt = 1; !held.ok() && current && attempt < kResolveAttempts; ++attempt) {
    ZKA_ASSIGN_OR_RETURN(CatalogVersion now, catalog_.Resolve(name, std::nullopt));
    if (now.info.version == version.info.version) break;  // not a race: HeldCopy's error
    version = std::move(now);
    held = HeldCopy(version);
  }
  return held;
}

Result<std::vector<StreamInfo>> Service::List() {
  std::vector<StreamInfo> list;
  for (std::string_view name : {"znodes", "changes"}) {
    ZKA_ASSIGN_OR_RETURN(Resource resource, transport::ParseTarget("/" + std::string(name)));
    Result<StreamInfo> info = Describe(resource);
    // Before the initial state is read the tree is not listed, datasets are.
    if (info.ok()) list.push_back(std::move(*info));
  }
  ZKA_ASSIGN_OR_RETURN(std::vector<CatalogVersion> datasets, catalog_.List());
  for (const CatalogVersion& version : datasets) list.push_back(DatasetStreamInfo(version));
  return list;
}

Result<std::unique_ptr<transport::MessageStream>> Service::Query(const Resource& resource) {
  if (!options_.query) return Status::NotImplemented("this server does not answer queries");
  for (const auto& [name, value] : resource.params) {
    if (name != "sql") return Status::InvalidArgument("/query takes sql=, not " + name + "=");
  }
  std::optional<std::string_view> sql = resource.Param("sql");
  if (!sql) return Status::InvalidArgument("/query needs sql=STATEMENT");
  return options_.query(*this, *sql);
}

Result<StreamInfo> Service::Describe(const Resource& resource) {
  ZKA_ASSIGN_OR_RETURN(Target target, Classify(resource));
  StreamInfo info;
  info.resource = resource;
  switch (target.kind) {
    case Kind::kZnodes: {
      ZKA_ASSIGN_OR_RETURN(ZnodesRequest request, ZnodesRequestOf(resource, {}));
      ZKA_ASSIGN_OR_RETURN(info.total_records, tree_.CountZnodes(request.path));
      info.schema =
          std::make_shared<const arrow::Schema>(tree_.ZnodesSchema(request.typed, request.columns));
      info.app_metadata_json = Json({{"zxid", tree_.zxid()}});
      return info;
    }
    case Kind::kChanges: {
      if (tree_.zxid() < 0) return tree_.Health();
      ZKA_ASSIGN_OR_RETURN(bool typed, resource.BoolParam("typed", false));
      info.schema = std::make_shared<const arrow::Schema>(tree_.ChangesSchema(typed));
      return info;
    }
    case Kind::kDataset: {
      ZKA_ASSIGN_OR_RETURN(CatalogVersion version, ResolveDataset(target.dataset, resource));
      if (!version.info.schema) {
        // Held elsewhere only: the schema comes with the copy.
        ZKA_ASSIGN_OR_RETURN(auto dataset, HeldCopy(version));
        version.info.schema = dataset->info().schema;
      }
      return DatasetStreamInfo(version);
    }
  }
  return Status::Internal("unhandled resource kind");
}

Result<std::unique_ptr<transport::MessageStream>> Service::Get(
    const Resource& resource, const transport::GetOptions& options) {
  if (resource.segments == std::vector<std::string>{"query"}) return Query(resource);
  ZKA_ASSIGN_OR_RETURN(Target target, Classify(resource));
  switch (target.kind) {
    case Kind::kZnodes: {
      ZKA_ASSIGN_OR_RETURN(ZnodesRequest request, ZnodesRequestOf(resource, options));
      return tree_.Znodes(request);
    }
    case Kind::kChanges: {
      ZKA_ASSIGN_OR_RETURN(ChangesRequest request, ChangesRequestOf(resource, options));
      return tree_.Changes(request);
    }
    case Kind::kDataset: {
      ZKA_ASSIGN_OR_RETURN(auto dataset, ReadableCopy(target.dataset, resource));
      return dataset->Read(options.compression, store_.options().read);
    }
  }
  return Status::Internal("unhandled resource kind");
}

Result<StreamInfo> Service::Put(const Resource& resource, arrow::InputStream& upload) {
  ZKA_ASSIGN_OR_RETURN(Target target, Classify(resource));
  if (target.kind != Kind::kDataset) {
    return Status::InvalidArgument("only datasets can be uploaded (/datasets/NAME), not " +
                                   resource.ToTarget());
  }
  if (resource.Param("version")) {
    return Status::InvalidArgument(
        "a dataset's version is assigned when it is stored; to make the upload conditional on "
        "the current version, use if_version=V");
  }
  ZKA_ASSIGN_OR_RETURN(std::optional<int64_t> if_version, resource.IntParam("if_version"));
  // An upload replaces the version current when it began (or the one it
  // names): if another was published while it was read, it conflicts
  // instead of silently overwriting what its client never saw.
  Result<CatalogVersion> current = catalog_.Resolve(target.dataset, std::nullopt);
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) return current.status();
  const int64_t at = current.ok() ? current->info.version : 0;
  if (if_version && at != *if_version) {
    // Fails fast, before a large upload is read.
    return Status::Conflict("dataset '" + target.dataset + "' is at version " + std::to_string(at) +
                            (at == 0 ? " (does not exist)" : "") +
                            ", the upload expected version " + std::to_string(*if_version));
  }
  const int64_t base = if_version.value_or(at);
  ZKA_ASSIGN_OR_RETURN(auto prepared, store_.Prepare(target.dataset, upload));
  ZKA_ASSIGN_OR_RETURN(DatasetInfo info, catalog_.Publish(std::move(prepared), base));
  return DatasetStreamInfo({std::move(info), {}});
}

Status Service::Delete(const Resource& resource) {
  ZKA_ASSIGN_OR_RETURN(Target target, Classify(resource));
  if (target.kind != Kind::kDataset) {
    return Status::InvalidArgument("only datasets can be deleted (/datasets/NAME), not " +
                                   resource.ToTarget());
  }
  return catalog_.Drop(target.dataset);
}

std::vector<transport::ActionType> Service::ListActions() {
  return {
      {"sync",
       "wait until the served tree reached a zxid (body: the zxid, or {\"zxid\": Z, "
       "\"timeout_ms\": T}); returns {\"zxid\": the served state's label}"},
      {"drop", "delete a dataset (body: its name or /datasets/NAME)"},
      {"acl", "a znode's ACL, read from ZooKeeper (body: {\"path\"})"},
      {"set_data", WriteActionDescription("set a znode's data at the version read (body: "
                                          "{\"path\", \"data\", \"version\"})")},
      {"create", WriteActionDescription("create a persistent znode with an open ACL (body: "
                                        "{\"path\", \"data\"})")},
      {"delete", WriteActionDescription("delete a znode without children at the version read "
                                        "(body: {\"path\", \"version\"})")},
  };
}

std::string Service::WriteActionDescription(std::string_view what) const {
  if (options_.znodes != nullptr && options_.znodes->allow_writes()) return std::string(what);
  return std::string(what) + "; refused: the server runs without --allow-writes";
}

Result<int64_t> Service::Sync(std::string_view body) {
  int64_t zxid = 0;
  std::chrono::milliseconds wait = options_.default_sync_wait;
  auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), zxid);
  if (error != std::errc() || end != body.data() + body.size()) {
    nlohmann::json request = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!request.is_object() || !request.contains("zxid") || !request["zxid"].is_number_integer()) {
      return Status::InvalidArgument(
          "sync: expected a zxid or {\"zxid\": Z, \"timeout_ms\": T}, found \"" +
          std::string(body.substr(0, 200)) + "\"");
    }
    zxid = request["zxid"].get<int64_t>();
    if (request.contains("timeout_ms")) {
      if (!request["timeout_ms"].is_number_integer() || request["timeout_ms"].get<int64_t>() < 0) {
        return Status::InvalidArgument("sync: timeout_ms must be a non-negative integer");
      }
      wait = std::chrono::milliseconds(request["timeout_ms"].get<int64_t>());
    }
  }
  if (wait > options_.max_sync_wait) {
    return Status::InvalidArgument("sync: timeout_ms " + std::to_string(wait.count()) +
                                   " is over the limit of " +
                                   std::to_string(options_.max_sync_wait.count()));
  }
  return tree_.WaitFor(zxid, wait);
}

Result<std::string> Service::DoAction(std::string_view type, std::string_view body) {
  if (type == "sync") {
    ZKA_ASSIGN_OR_RETURN(int64_t label, Sync(body));
    return Json({{"zxid", label}});
  }
  if (type == "drop") {
    // The body names the dataset, or is its target (/datasets/NAME).
    std::string_view name = body;
    if (name.starts_with("/datasets/")) name.remove_prefix(std::string_view("/datasets/").size());
    ZKA_RETURN_IF_ERROR(catalog_.Drop(name));
    return Json({{"dropped", std::string(name)}});
  }
  if (ZnodeAccess::Handles(type)) {
    if (options_.znodes == nullptr) {
      return Status::NotImplemented(std::string(type) + ": this service has no ZooKeeper access");
    }
    return options_.znodes->Do(type, body);
  }
  return Status::NotFound("no action \"" + std::string(type.substr(0, 100)) +
                          "\"; expected sync, drop, acl, set_data, create or delete");
}

Status Service::Health() { return tree_.Health(); }

void Service::AppendMetrics(std::string& text) {
  const TreeMetrics tree = tree_.metrics();
  auto gauge = [&](std::string_view name, std::string_view help, auto value) {
    text += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    text += "# TYPE " + std::string(name) + " gauge\n";
    text += std::string(name) + " " + std::to_string(value) + "\n";
  };
  auto counter = [&](std::string_view name, std::string_view help, int64_t value) {
    text += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    text += "# TYPE " + std::string(name) + " counter\n";
    text += std::string(name) + " " + std::to_string(value) + "\n";
  };
  gauge("zkarrow_mirror_zxid", "zxid label of the served state (-1 before the initial read)",
        tree.zxid);
  gauge("zkarrow_mirror_seen_zxid", "highest zxid the watcher has settled at", tree.last_seen_zxid);
  gauge("zkarrow_mirror_znodes", "znodes in the served state", tree.znodes);
  gauge("zkarrow_mirror_lag_seconds",
        "seconds since the watcher last confirmed the served state is current",
        tree.seconds_since_epoch);
  counter("zkarrow_mirror_epochs_total", "states published", tree.epochs);
  counter("zkarrow_watch_events_total", "watch notifications received", tree.watch.events);
  counter("zkarrow_watch_resyncs_total", "full re-reads after disconnects or expiry",
          tree.watch.resyncs);
  counter("zkarrow_watcher_restarts_total",
          "watchers (ZooKeeper sessions) started again after one failed", tree.watcher_restarts);
  counter("zkarrow_znodes_cache_hits_total", "znodes responses served already encoded",
          tree.response_cache_hits);
  gauge("zkarrow_znodes_cache_bytes", "bytes of encoded znodes responses kept",
        tree.response_cache_bytes);
  gauge("zkarrow_znodes_cache_recording_bytes",
        "bytes of znodes responses in flight copied for the cache (in its budget)",
        tree.response_cache_recording_bytes);
  gauge("zkarrow_history_epochs", "epochs kept for resuming change streams", tree.history_epochs);
  gauge("zkarrow_history_bytes", "bytes of epochs kept", tree.history_bytes);
  gauge("zkarrow_changes_streams", "open change streams", tree.streams);
  counter("zkarrow_changes_streams_behind_total",
          "change streams ended because the history moved past them", tree.streams_behind);
  const std::vector<DatasetInfo> datasets = store_.List();
  int64_t bytes = 0;
  for (const DatasetInfo& info : datasets) bytes += info.bytes;
  gauge("zkarrow_datasets", "datasets stored", static_cast<int64_t>(datasets.size()));
  gauge("zkarrow_datasets_bytes", "bytes of the current versions of the datasets", bytes);
  catalog_.AppendMetrics(text);
  for (const auto& source : metrics_sources_) source(text);
}

void Service::AddMetricsSource(std::function<void(std::string&)> source) {
  metrics_sources_.push_back(std::move(source));
}

}  // namespace zkarrow::serve

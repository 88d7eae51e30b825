#include "coord/discovery.h"

#include <algorithm>
#include <map>
#include <random>

namespace zkarrow::coord {

namespace {

Result<std::map<std::string, ServerRecord>> LiveServers(zk::Client& client, const Layout& layout) {
  Result<std::vector<std::string>> ids = client.GetChildren(layout.servers).get();
  if (!ids.ok()) {
    if (zk::ErrorCodeOf(ids.status()) == zk::ErrorCode::NONODE) {
      return Status::NotFound("no zkarrow servers were ever registered under " + layout.root +
                              " (is --coord-root right?)");
    }
    return ids.status();
  }
  std::vector<zk::ReadOp> reads;
  for (const std::string& id : *ids) reads.push_back(zk::ReadOp::GetData(layout.Server(id)));
  ZKA_ASSIGN_OR_RETURN(std::vector<zk::ReadResult> records, client.MultiRead(reads).get());
  std::map<std::string, ServerRecord> servers;
  for (size_t i = 0; i < ids->size(); ++i) {
    if (records[i].error != zk::ErrorCode::OK) continue;
    Result<ServerRecord> record = ServerRecordFromJson(records[i].data);
    if (record.ok()) servers[(*ids)[i]] = std::move(*record);
  }
  return servers;
}

}  // namespace

Result<std::vector<Candidate>> Locate(zk::Client& client, const Layout& layout,
                                      const transport::Resource& resource) {
  ZKA_ASSIGN_OR_RETURN(auto servers, LiveServers(client, layout));
  transport::Resource request = resource;
  std::vector<std::string> ids;
  const bool dataset = resource.segments.size() == 2 && resource.segments[0] == "datasets";
  if (dataset) {
    const std::string& name = resource.segments[1];
    Result<zk::DataResult> data = client.GetData(layout.Dataset(name)).get();
    if (!data.ok()) {
      if (zk::ErrorCodeOf(data.status()) == zk::ErrorCode::NONODE) {
        return Status::NotFound("no dataset named '" + name + "' in " + layout.datasets);
      }
      return data.status();
    }
    ZKA_ASSIGN_OR_RETURN(CatalogEntry entry, CatalogEntryFromJson(name, data->data));
    ZKA_ASSIGN_OR_RETURN(std::optional<int64_t> version, resource.IntParam("version"));
    const CatalogVersionRecord* record =
        version ? entry.Find(*version)
                : (entry.versions.empty() ? nullptr : &entry.versions.back());
    if (!record) {
      return Status::NotFound("dataset '" + name + "' has no version " +
                              std::to_string(version.value_or(0)) +
                              " (no longer kept; kept: " + entry.KeptList() + ")");
    }
    request.params["version"] = std::to_string(record->version);
    for (const std::string& holder : record->holders) {
      if (servers.count(holder)) ids.push_back(holder);
    }
    if (ids.empty()) {
      return Status::Unavailable(
          "no live server holds dataset '" + name + "' version " + std::to_string(record->version) +
          " (holders: " + std::to_string(record->holders.size()) + ", none registered)");
    }
  } else {
    for (const auto& [id, record] : servers) ids.push_back(id);
    if (ids.empty()) {
      return Status::Unavailable("no zkarrow server is registered under " + layout.servers);
    }
  }
  // Spread readers over the servers that can answer.
  std::shuffle(ids.begin(), ids.end(), std::mt19937(std::random_device{}()));
  std::vector<Candidate> candidates;
  for (const std::string& id : ids) {
    const ServerRecord& server = servers[id];
    const std::string& base = server.flight.empty() ? server.http : server.flight;
    if (base.empty()) continue;
    Result<transport::ServerUrl> url = transport::ParseServerUrl(base + request.ToTarget());
    if (!url.ok()) continue;  // a record we cannot use; others may do
    candidates.push_back({id, std::move(*url)});
  }
  if (candidates.empty()) {
    return Status::Unavailable("no server under " + layout.servers +
                               " advertises a usable endpoint");
  }
  return candidates;
}

}  // namespace zkarrow::coord

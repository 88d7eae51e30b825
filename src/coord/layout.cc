#include "coord/layout.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

namespace zkarrow::coord {

using nlohmann::json;

namespace {

bool IdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Field readers that say which field is wrong and what was found.
Result<std::string> StringField(const json& object, const char* key, bool required = true) {
  auto found = object.find(key);
  if (found == object.end()) {
    if (!required) return std::string();
    return Status::InvalidData(std::string("missing field \"") + key + "\"");
  }
  if (!found->is_string()) {
    return Status::InvalidData(std::string("field \"") + key + "\": expected a string, found " +
                               found->type_name());
  }
  return found->get<std::string>();
}

// A JSON integer beyond int64_t (an unsigned one) is refused, not wrapped
// into a negative one.
Result<int64_t> IntField(const json& object, const char* key,
                         int64_t minimum = std::numeric_limits<int64_t>::min()) {
  auto found = object.find(key);
  if (found == object.end())
    return Status::InvalidData(std::string("missing field \"") + key + "\"");
  if (!found->is_number_integer()) {
    return Status::InvalidData(std::string("field \"") + key + "\": expected an integer, found " +
                               found->type_name());
  }
  if (found->is_number_unsigned() &&
      found->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::InvalidData(std::string("field \"") + key + "\": expected at most " +
                               std::to_string(std::numeric_limits<int64_t>::max()) + ", found " +
                               found->dump());
  }
  const int64_t value = found->get<int64_t>();
  if (value < minimum) {
    return Status::InvalidData(std::string("field \"") + key + "\": expected at least " +
                               std::to_string(minimum) + ", found " + std::to_string(value));
  }
  return value;
}

Result<json> ParseObject(std::string_view text, std::string_view what) {
  json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) {
    return Status::InvalidData(std::string(what) + ": expected a JSON object, found \"" +
                               std::string(text.substr(0, 100)) + "\"");
  }
  return object;
}

}  // namespace

Layout::Layout(std::string root_path)
    : root(std::move(root_path)),
      servers(root + "/servers"),
      datasets(root + "/datasets"),
      leader(root + "/leader"),
      locks(root + "/locks") {}

std::string Layout::Lock(std::string_view name, int64_t version) const {
  return locks + "/" + std::string(name) + ".v" + std::to_string(version);
}

Status ValidateRoot(std::string_view root) {
  if (root.size() < 2 || root.front() != '/' || root.back() == '/' ||
      root.find("//") != std::string_view::npos) {
    return Status::InvalidArgument("--coord-root: expected an absolute znode path such as " +
                                   std::string(kDefaultRoot) + ", found \"" + std::string(root) +
                                   "\"");
  }
  return Status::Ok();
}

Status ValidateServerId(std::string_view id) {
  if (id.empty() || id.size() > 64 || !std::all_of(id.begin(), id.end(), IdChar) || id == "." ||
      id == "..") {
    return Status::InvalidArgument(
        "a server id is 1 to 64 characters of A-Z a-z 0-9 . _ -, found \"" +
        std::string(id.substr(0, 100)) + "\"");
  }
  return Status::Ok();
}

std::string ToJson(const ServerRecord& record) {
  return json{{"id", record.id},
              {"flight", record.flight},
              {"http", record.http},
              {"version", record.version},
              {"started_ms", record.started_ms}}
      .dump();
}

Result<ServerRecord> ServerRecordFromJson(std::string_view text) {
  ZKA_ASSIGN_OR_RETURN(json object, ParseObject(text, "server record"));
  ServerRecord record;
  Status parsed = [&]() -> Status {
    ZKA_ASSIGN_OR_RETURN(record.id, StringField(object, "id"));
    ZKA_ASSIGN_OR_RETURN(record.flight, StringField(object, "flight", false));
    ZKA_ASSIGN_OR_RETURN(record.http, StringField(object, "http", false));
    ZKA_ASSIGN_OR_RETURN(record.version, StringField(object, "version", false));
    ZKA_ASSIGN_OR_RETURN(record.started_ms, IntField(object, "started_ms"));
    return Status::Ok();
  }();
  if (!parsed.ok()) return parsed.WithContext("server record");
  return record;
}

bool CatalogVersionRecord::HeldBy(std::string_view id) const {
  return std::find(holders.begin(), holders.end(), id) != holders.end();
}

const CatalogVersionRecord* CatalogEntry::Find(int64_t version) const {
  for (const CatalogVersionRecord& record : versions) {
    if (record.version == version) return &record;
  }
  return nullptr;
}

const std::string& CatalogEntry::SchemaMessageHexOf(const CatalogVersionRecord& record) const {
  if (!record.schema_message_hex.empty() || record.schema_fingerprint.empty()) {
    return record.schema_message_hex;
  }
  for (const CatalogVersionRecord& other : versions) {
    if (other.schema_fingerprint == record.schema_fingerprint &&
        !other.schema_message_hex.empty()) {
      return other.schema_message_hex;
    }
  }
  return record.schema_message_hex;
}

void CatalogEntry::KeepNewest(size_t keep) {
  std::map<std::string, std::string> messages;  // by fingerprint
  for (CatalogVersionRecord& record : versions) {
    if (record.schema_fingerprint.empty() || record.schema_message_hex.empty()) continue;
    messages.try_emplace(record.schema_fingerprint, std::move(record.schema_message_hex));
    record.schema_message_hex.clear();
  }
  if (versions.size() > keep) {
    versions.erase(versions.begin(), versions.end() - static_cast<std::ptrdiff_t>(keep));
  }
  for (CatalogVersionRecord& record : versions) {
    auto message = messages.find(record.schema_fingerprint);
    if (message == messages.end()) continue;
    record.schema_message_hex = std::move(message->second);
    messages.erase(message);
  }
}

bool CatalogEntry::LeaveOutOldestSchemaMessage() {
  for (CatalogVersionRecord& record : versions) {
    if (record.schema_message_hex.empty()) continue;
    record.schema_message_hex.clear();
    return true;
  }
  return false;
}

CatalogVersionRecord* CatalogEntry::Find(int64_t version) {
  return const_cast<CatalogVersionRecord*>(std::as_const(*this).Find(version));
}

std::string CatalogEntry::KeptList() const {
  std::string list;
  for (const CatalogVersionRecord& record : versions) {
    list += (list.empty() ? "" : ", ") + std::to_string(record.version);
  }
  return list.empty() ? "none" : list;
}

std::string ToJson(const CatalogEntry& entry) {
  json versions = json::array();
  for (const CatalogVersionRecord& record : entry.versions) {
    versions.push_back({{"version", record.version},
                        {"sha256", record.sha256},
                        {"rows", record.rows},
                        {"bytes", record.bytes},
                        {"schema_message", record.schema_message_hex},
                        {"schema_fingerprint", record.schema_fingerprint},
                        {"created_ms", record.created_ms},
                        {"holders", record.holders}});
  }
  return json{{"name", entry.name}, {"current", entry.current()}, {"versions", std::move(versions)}}
      .dump();
}

Result<CatalogEntry> CatalogEntryFromJson(std::string_view name, std::string_view text) {
  const std::string what = "catalog entry of dataset '" + std::string(name) + "'";
  ZKA_ASSIGN_OR_RETURN(json object, ParseObject(text, what));
  CatalogEntry entry;
  entry.name = std::string(name);
  Status parsed = [&]() -> Status {
    auto versions = object.find("versions");
    if (versions == object.end() || !versions->is_array()) {
      return Status::InvalidData("field \"versions\": expected an array");
    }
    int64_t previous = 0;
    for (const json& item : *versions) {
      if (!item.is_object()) return Status::InvalidData("a version: expected an object");
      CatalogVersionRecord record;
      ZKA_ASSIGN_OR_RETURN(record.version, IntField(item, "version"));
      if (record.version <= previous) {
        return Status::InvalidData("versions must increase: found " +
                                   std::to_string(record.version) + " after " +
                                   std::to_string(previous));
      }
      previous = record.version;
      ZKA_ASSIGN_OR_RETURN(record.sha256, StringField(item, "sha256"));
      // Counts, never below zero: a fetch of a copy reads at most `bytes`
      // from the holder, and a negative bound is no bound.
      ZKA_ASSIGN_OR_RETURN(record.rows, IntField(item, "rows", 0));
      ZKA_ASSIGN_OR_RETURN(record.bytes, IntField(item, "bytes", 0));
      ZKA_ASSIGN_OR_RETURN(record.schema_message_hex, StringField(item, "schema_message", false));
      ZKA_ASSIGN_OR_RETURN(record.schema_fingerprint,
                           StringField(item, "schema_fingerprint", false));
      ZKA_ASSIGN_OR_RETURN(record.created_ms, IntField(item, "created_ms"));
      auto holders = item.find("holders");
      if (holders == item.end() || !holders->is_array()) {
        return Status::InvalidData("field \"holders\": expected an array");
      }
      for (const json& holder : *holders) {
        if (!holder.is_string()) return Status::InvalidData("a holder: expected a server id");
        record.holders.push_back(holder.get<std::string>());
      }
      std::sort(record.holders.begin(), record.holders.end());
      entry.versions.push_back(std::move(record));
    }
    return Status::Ok();
  }();
  if (!parsed.ok()) return parsed.WithContext(what);
  return entry;
}

}  // namespace zkarrow::coord

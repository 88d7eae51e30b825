#include "transport/http/http_protocol.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"

namespace zkarrow::transport::http {

namespace {

using nlohmann::json;

struct StatusMapping {
  StatusCode code;
  int http;
};
// The one table (arrow_service.h); the first row of an HTTP status is the
// code a client gets back for it.
constexpr StatusMapping kStatusTable[] = {
    {StatusCode::kInvalidArgument, 400}, {StatusCode::kInvalidData, 400},
    {StatusCode::kNotFound, 404},        {StatusCode::kConflict, 409},
    {StatusCode::kOutOfRange, 413},      {StatusCode::kUnavailable, 503},
    {StatusCode::kUnauthenticated, 401}, {StatusCode::kTimeout, 504},
    {StatusCode::kNotImplemented, 501},  {StatusCode::kPermissionDenied, 403},
};

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Splits at `separator` outside double quotes.
std::vector<std::string_view> SplitOutsideQuotes(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == separator && !quoted) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::InvalidData("schema_ipc: expected base64 (a multiple of 4 characters), found " +
                               std::to_string(text.size()) + " characters");
  }
  std::vector<uint8_t> out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidData("schema_ipc: not base64");
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

Result<std::string> SchemaIpc(const arrow::Schema& schema) {
  arrow::BufferOutputStream sink;
  ZKA_ASSIGN_OR_RETURN(auto writer, arrow::ipc::IpcWriter::OpenStream(sink, schema));
  ZKA_RETURN_IF_ERROR(writer->Close());
  return Base64Encode(sink.bytes());
}

Result<std::shared_ptr<const arrow::Schema>> SchemaFromIpc(std::string_view base64) {
  ZKA_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Base64Decode(base64));
  auto input = std::make_unique<arrow::BufferInputStream>(std::span<const uint8_t>(bytes));
  auto reader = arrow::ipc::StreamReader::Open(std::move(input));
  if (!reader.ok()) return reader.status().WithContext("schema_ipc");
  return (*reader)->shared_schema();
}

// The members this side writes; app metadata cannot override them.
constexpr const char* kInfoKeys[] = {"target", "schema", "schema_ipc", "total_records",
                                     "total_bytes"};

Result<json> InfoObject(const StreamInfo& info) {
  json object = json::object();
  if (!info.app_metadata_json.empty()) {
    json app = json::parse(info.app_metadata_json, nullptr, false);
    if (!app.is_object()) {
      return Status::Internal("app_metadata_json of " + info.resource.ToTarget() +
                              " is not a JSON object");
    }
    object = std::move(app);
  }
  object["target"] = info.resource.ToTarget();
  json fields = json::array();
  if (info.schema) {
    for (const arrow::Field& field : info.schema->fields) {
      fields.push_back(arrow::FieldToString(field));
    }
    ZKA_ASSIGN_OR_RETURN(object["schema_ipc"], SchemaIpc(*info.schema));
  }
  object["schema"] = std::move(fields);
  object["total_records"] = info.total_records;
  object["total_bytes"] = info.total_bytes;
  return object;
}

Result<StreamInfo> InfoFromObject(const json& object) {
  if (!object.is_object()) return Status::InvalidData("stream info: expected a JSON object");
  StreamInfo info;
  auto target = object.find("target");
  if (target == object.end() || !target->is_string()) {
    return Status::InvalidData("stream info: expected a string \"target\"");
  }
  ZKA_ASSIGN_OR_RETURN(info.resource, ParseTarget(target->get<std::string>()));
  if (auto ipc = object.find("schema_ipc"); ipc != object.end()) {
    if (!ipc->is_string()) return Status::InvalidData("stream info: schema_ipc is not a string");
    ZKA_ASSIGN_OR_RETURN(info.schema, SchemaFromIpc(ipc->get<std::string>()));
  }
  for (auto [name, out] : {std::pair{"total_records", &info.total_records},
                           std::pair{"total_bytes", &info.total_bytes}}) {
    auto value = object.find(name);
    if (value != object.end()) {
      if (!value->is_number_integer()) {
        return Status::InvalidData(std::string("stream info: ") + name + " is not an integer");
      }
      *out = value->get<int64_t>();
    }
  }
  json app = object;
  for (const char* key : kInfoKeys) app.erase(key);
  if (!app.empty()) info.app_metadata_json = app.dump();
  return info;
}

}  // namespace

int StatusToHttp(StatusCode code) {
  for (const StatusMapping& row : kStatusTable) {
    if (row.code == code) return row.http;
  }
  return 500;
}

StatusCode HttpToStatusCode(int http_status) {
  for (const StatusMapping& row : kStatusTable) {
    if (row.http == http_status) return row.code;
  }
  // Statuses the server does not map itself (a proxy's 502, a 431 from the
  // HTTP layer): a client error is the request's fault, the rest is remote.
  if (http_status == 431) return StatusCode::kInvalidArgument;
  return StatusCode::kRemote;
}

std::string ErrorJson(const Status& status) {
  return ErrorJson(StatusToHttp(status.code()), status.message());
}

std::string ErrorJson(int http_status, std::string_view message) {
  json object = {{"error", message}, {"status", http_status}};
  // Messages carry bytes from requests (names, targets): replace what is
  // not UTF-8 instead of throwing.
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status StatusFromErrorResponse(int http_status, std::string_view body) {
  json object = json::parse(body, nullptr, false);
  std::string message;
  if (object.is_object() && object.contains("error") && object["error"].is_string()) {
    message = object["error"].get<std::string>();
  } else {
    message = std::string(body.substr(0, 200));
  }
  return Status(HttpToStatusCode(http_status),
                "HTTP " + std::to_string(http_status) + ": " + message);
}

arrow::ipc::Compression CompressionFromAccept(std::string_view accept) {
  for (std::string_view range : SplitOutsideQuotes(accept, ',')) {
    std::vector<std::string_view> parts = SplitOutsideQuotes(range, ';');
    if (Lower(Trim(parts[0])) != kArrowStreamType) continue;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string_view param = Trim(parts[i]);
      size_t equals = param.find('=');
      if (equals == std::string_view::npos || Lower(Trim(param.substr(0, equals))) != "codecs") {
        continue;
      }
      std::string_view value = Trim(param.substr(equals + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      for (std::string_view codec : SplitOutsideQuotes(value, ',')) {
        if (auto known = CodecNamed(Trim(codec))) return *known;
      }
    }
  }
  return arrow::ipc::Compression::kNone;
}

std::string AcceptFor(arrow::ipc::Compression compression) {
  std::string accept(kArrowStreamType);
  if (compression != arrow::ipc::Compression::kNone) {
    accept += "; codecs=\"" + std::string(CodecName(compression)) + "\"";
  }
  return accept + ", " + std::string(kJsonType);
}

bool IsArrowStreamType(std::string_view content_type) {
  return Lower(Trim(content_type.substr(0, content_type.find(';')))) == kArrowStreamType;
}

Result<std::string> StreamInfoToJson(const StreamInfo& info) {
  ZKA_ASSIGN_OR_RETURN(json object, InfoObject(info));
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<StreamInfo> StreamInfoFromJson(std::string_view text) {
  json object = json::parse(text, nullptr, false);
  if (object.is_discarded()) return Status::InvalidData("stream info: not JSON");
  return InfoFromObject(object);
}

Result<std::string> StreamInfoListToJson(const std::vector<StreamInfo>& infos) {
  json list = json::array();
  for (const StreamInfo& info : infos) {
    ZKA_ASSIGN_OR_RETURN(json object, InfoObject(info));
    list.push_back(std::move(object));
  }
  json object = {{"datasets", std::move(list)}};
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<StreamInfo>> StreamInfoListFromJson(std::string_view text) {
  json object = json::parse(text, nullptr, false);
  if (!object.is_object() || !object.contains("datasets") || !object["datasets"].is_array()) {
    return Status::InvalidData("dataset list: expected {\"datasets\": [...]}");
  }
  std::vector<StreamInfo> infos;
  for (const json& item : object["datasets"]) {
    ZKA_ASSIGN_OR_RETURN(StreamInfo info, InfoFromObject(item));
    infos.push_back(std::move(info));
  }
  return infos;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Digests first: equal lengths to compare, whatever the inputs' lengths.
  unsigned char da[SHA256_DIGEST_LENGTH];
  unsigned char db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

}  // namespace zkarrow::transport::http

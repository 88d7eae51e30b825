// What the HTTP server and client agree on beyond HTTP itself: the status
// code of each StatusCode (one table, both directions), the JSON of errors
// and of StreamInfo, the Arrow media type and its codecs parameter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "arrow/ipc/writer.h"
#include "base/status.h"
#include "transport/arrow_service.h"

namespace zkarrow::transport::http {

inline constexpr std::string_view kArrowStreamType = "application/vnd.apache.arrow.stream";
inline constexpr std::string_view kJsonType = "application/json";

// For Beast parsers whose body is limited elsewhere (or not at all: an Arrow
// response). Not boost::none: Beast 1.74 compares a Content-Length with the
// optional limit, and every length is "greater" than an empty optional.
inline constexpr uint64_t kNoBodyLimit = UINT64_MAX;

// The table in arrow_service.h: the HTTP status for an error, and back (a
// client turns a server's status into the same StatusCode).
int StatusToHttp(StatusCode code);
StatusCode HttpToStatusCode(int http_status);

// {"error": "<message>", "status": N}
std::string ErrorJson(int http_status, std::string_view message);
// The same with the status StatusToHttp gives `status`.
std::string ErrorJson(const Status& status);
// The Status a client reports for a non-2xx response: the JSON error's
// message when the body is one, else the body's start.
Status StatusFromErrorResponse(int http_status, std::string_view body);

// The compression an Accept header asks for: the codecs parameter of the
// Arrow stream media range ("zstd" or "lz4", the first one supported), or
// none. Anything else in the header is ignored: the body is uncompressed.
arrow::ipc::Compression CompressionFromAccept(std::string_view accept);
// The Accept header a client sends for `compression`.
std::string AcceptFor(arrow::ipc::Compression compression);

// Whether a Content-Type header names an Arrow IPC stream (parameters such
// as codecs aside): what a response's body must be before it is read as one.
bool IsArrowStreamType(std::string_view content_type);

// A StreamInfo as one JSON object: "target", "schema" (fields as text, for
// people), "schema_ipc" (the schema message, base64, for programs),
// "total_records", "total_bytes", and the app_metadata_json object's
// members merged in (ours win on a name clash).
Result<std::string> StreamInfoToJson(const StreamInfo& info);
Result<StreamInfo> StreamInfoFromJson(std::string_view json);
// GET /datasets: {"datasets": [StreamInfo...]}
Result<std::string> StreamInfoListToJson(const std::vector<StreamInfo>& infos);
Result<std::vector<StreamInfo>> StreamInfoListFromJson(std::string_view json);

// Compares without an early exit, so the time taken does not tell how much
// of a secret matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace zkarrow::transport::http

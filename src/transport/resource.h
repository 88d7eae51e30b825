// What a client asks a zkarrow server for, in one form for every transport.
// The canonical text is an HTTP request target:
//   /znodes?path=/sub&data=false&typed=true
//   /changes?from=4294967300
//   /datasets/NAME
// HTTP uses it as the URL; Flight uses it as the ticket, and maps a
// descriptor path ["znodes", "/sub"] or ["datasets", NAME] onto it
// (FromFlightPath), so the two transports cannot disagree on meaning.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace zkarrow::transport {

struct Resource {
  // Decoded path segments: {"znodes"}, {"datasets", "NAME"}, {"changes"}.
  std::vector<std::string> segments;
  // Decoded query parameters; a parameter given twice is an error.
  std::map<std::string, std::string> params;

  // The canonical target (segments and values percent-encoded).
  std::string ToTarget() const;
  std::optional<std::string_view> Param(std::string_view name) const;
  // A boolean parameter: true/false/1/0, `fallback` when absent; anything
  // else is InvalidArgument naming the parameter.
  Result<bool> BoolParam(std::string_view name, bool fallback) const;
  Result<std::optional<int64_t>> IntParam(std::string_view name) const;
  friend bool operator==(const Resource&, const Resource&) = default;
};

// Parses "/a/b?x=1&y=2" (percent-decoding; "+" is a space in values).
// Empty segments ("//"), "." and "..", NUL bytes and targets over 8 KiB are
// InvalidArgument.
Result<Resource> ParseTarget(std::string_view target);

// A Flight PATH descriptor: ["znodes"], ["znodes", "/sub/path"],
// ["changes"], ["datasets", NAME]. The second element of znodes is the
// subtree (the `path` parameter).
Result<Resource> FromFlightPath(const std::vector<std::string>& path);

// A resource on a server: grpc://HOST:PORT/TARGET (also grpc+tcp://),
// grpc+tls://..., http://... or https://...; TARGET as in ParseTarget. A
// missing port is an error (there is no conventional one for zkarrow).
struct ServerUrl {
  enum class Protocol : uint8_t { kFlight, kHttp };
  Protocol protocol = Protocol::kFlight;
  bool tls = false;
  std::string host;  // an IPv6 address without its brackets
  int port = 0;
  Resource resource;
};
Result<ServerUrl> ParseServerUrl(std::string_view url);

}  // namespace zkarrow::transport

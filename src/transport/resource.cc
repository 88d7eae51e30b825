#include "transport/resource.h"

#include <charconv>

namespace zkarrow::transport {

namespace {

constexpr size_t kMaxTargetBytes = 8 * 1024;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> Decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("bad percent-encoding in \"" + std::string(text) + "\"");
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return Status::InvalidArgument("a NUL byte in the request target");
    out += c;
  }
  return out;
}

void Encode(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~' || c == '/';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

// A segment names one level of a resource. Empty ones, "." and ".." would
// name something else once the canonical target is parsed again (or a
// file system's parent, should a segment become a file name).
Status CheckSegment(std::string_view segment, std::string_view where) {
  if (segment.empty() || segment == "." || segment == "..") {
    return Status::InvalidArgument(std::string(where) + " has an empty, \".\" or \"..\" segment");
  }
  return Status::Ok();
}

}  // namespace

std::string Resource::ToTarget() const {
  std::string target;
  for (const std::string& segment : segments) {
    target += '/';
    // A slash inside a segment must not split it when parsed back.
    for (char c : segment) {
      if (c == '/') {
        target += "%2F";
      } else {
        Encode(std::string_view(&c, 1), target);
      }
    }
  }
  if (segments.empty()) target += '/';
  char separator = '?';
  for (const auto& [name, value] : params) {
    target += separator;
    separator = '&';
    Encode(name, target);
    target += '=';
    Encode(value, target);
  }
  return target;
}

std::optional<std::string_view> Resource::Param(std::string_view name) const {
  auto it = params.find(std::string(name));
  if (it == params.end()) return std::nullopt;
  return std::string_view(it->second);
}

Result<bool> Resource::BoolParam(std::string_view name, bool fallback) const {
  auto value = Param(name);
  if (!value) return fallback;
  if (*value == "true" || *value == "1") return true;
  if (*value == "false" || *value == "0") return false;
  return Status::InvalidArgument("parameter " + std::string(name) +
                                 ": expected true or false, found \"" + std::string(*value) + "\"");
}

Result<std::optional<int64_t>> Resource::IntParam(std::string_view name) const {
  auto value = Param(name);
  if (!value) return std::optional<int64_t>();
  int64_t parsed = 0;
  auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), parsed);
  if (error != std::errc() || end != value->data() + value->size()) {
    return Status::InvalidArgument("parameter " + std::string(name) +
                                   ": expected an integer, found \"" + std::string(*value) + "\"");
  }
  return std::optional<int64_t>(parsed);
}

Result<Resource> ParseTarget(std::string_view target) {
  if (target.size() > kMaxTargetBytes) {
    return Status::InvalidArgument("request target of " + std::to_string(target.size()) +
                                   " bytes, expected at most " + std::to_string(kMaxTargetBytes));
  }
  if (target.empty() || target.front() != '/') {
    return Status::InvalidArgument("request target must start with /, found \"" +
                                   std::string(target) + "\"");
  }
  Resource resource;
  std::string_view path = target;
  std::string_view query;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  path.remove_prefix(1);
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view raw = path.substr(0, slash);
    ZKA_ASSIGN_OR_RETURN(std::string segment, Decode(raw, false));
    ZKA_RETURN_IF_ERROR(CheckSegment(segment, "request path \"" + std::string(target) + "\""));
    resource.segments.push_back(std::move(segment));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) break;  // a trailing slash names the same resource
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    ZKA_ASSIGN_OR_RETURN(std::string name, Decode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      ZKA_ASSIGN_OR_RETURN(value, Decode(pair.substr(eq + 1), true));
    }
    if (!resource.params.emplace(name, std::move(value)).second) {
      return Status::InvalidArgument("parameter " + name + " given twice");
    }
  }
  return resource;
}

Result<Resource> FromFlightPath(const std::vector<std::string>& path) {
  Resource resource;
  if (path.empty()) return Status::InvalidArgument("empty Flight descriptor path");
  if (path.size() > 2) {
    return Status::InvalidArgument("Flight descriptor path of " + std::to_string(path.size()) +
                                   " elements, expected 1 or 2");
  }
  for (const std::string& element : path) {
    if (element.find('\0') != std::string::npos) {
      return Status::InvalidArgument("a NUL byte in a Flight descriptor path");
    }
  }
  ZKA_RETURN_IF_ERROR(CheckSegment(path[0], "Flight descriptor path"));
  resource.segments.push_back(path[0]);
  if (path.size() == 2) {
    if (path[0] == "znodes") {
      resource.params["path"] = path[1];
    } else {
      ZKA_RETURN_IF_ERROR(CheckSegment(path[1], "Flight descriptor path"));
      resource.segments.push_back(path[1]);
    }
  }
  return resource;
}

Result<ServerUrl> ParseServerUrl(std::string_view url) {
  ServerUrl parsed;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Status::InvalidArgument(
        "expected a URL such as grpc://HOST:PORT/znodes or "
        "http://HOST:PORT/datasets/NAME, found \"" +
        std::string(url) + "\"");
  }
  std::string_view scheme = url.substr(0, scheme_end);
  if (scheme == "grpc" || scheme == "grpc+tcp") {
    parsed.protocol = ServerUrl::Protocol::kFlight;
  } else if (scheme == "grpc+tls") {
    parsed.protocol = ServerUrl::Protocol::kFlight;
    parsed.tls = true;
  } else if (scheme == "http") {
    parsed.protocol = ServerUrl::Protocol::kHttp;
  } else if (scheme == "https") {
    parsed.protocol = ServerUrl::Protocol::kHttp;
    parsed.tls = true;
  } else {
    return Status::InvalidArgument("unknown URL scheme \"" + std::string(scheme) +
                                   "\"; expected grpc, grpc+tls, http or https");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
  std::string_view port_text;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close + 1 >= authority.size() ||
        authority[close + 1] != ':') {
      return Status::InvalidArgument("expected [IPV6]:PORT in \"" + std::string(url) + "\"");
    }
    parsed.host = authority.substr(1, close - 1);
    port_text = authority.substr(close + 2);
  } else {
    size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("expected HOST:PORT in \"" + std::string(url) +
                                     "\" (zkarrow servers have no default port)");
    }
    parsed.host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), parsed.port);
  if (parsed.host.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      parsed.port <= 0 || parsed.port > 65535) {
    return Status::InvalidArgument("expected HOST:PORT with a port from 1 to 65535 in \"" +
                                   std::string(url) + "\"");
  }
  ZKA_ASSIGN_OR_RETURN(parsed.resource, ParseTarget(target));
  return parsed;
}

}  // namespace zkarrow::transport

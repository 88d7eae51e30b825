#include "zk/connect_string.h"

#include <charconv>

namespace zkarrow::zk {

Result<ConnectString> ParseConnectString(std::string_view text) {
  ConnectString result;
  std::string_view hosts = text;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    hosts = text.substr(0, slash);
    std::string_view chroot = text.substr(slash);
    if (chroot != "/") {
      ZKA_RETURN_IF_ERROR(ValidatePath(chroot).WithContext("chroot of connect string"));
      result.chroot = std::string(chroot);
    }
  }
  while (!hosts.empty()) {
    size_t comma = hosts.find(',');
    std::string_view entry = hosts.substr(0, comma);
    hosts = comma == std::string_view::npos ? std::string_view() : hosts.substr(comma + 1);
    if (entry.empty()) continue;
    HostPort server;
    size_t colon = entry.rfind(':');
    // IPv6 literals come bracketed: [::1]:2181.
    if (colon == std::string_view::npos || (entry.front() == '[' && entry[colon - 1] != ']')) {
      server.host = std::string(entry);
      server.port = 2181;
    } else {
      server.host = std::string(entry.substr(0, colon));
      std::string_view port = entry.substr(colon + 1);
      auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), server.port);
      if (ec != std::errc() || end != port.data() + port.size() || server.port <= 0 ||
          server.port > 65535) {
        return Status::InvalidArgument("bad port in connect string entry '" + std::string(entry) +
                                       "'");
      }
    }
    if (server.host.size() > 2 && server.host.front() == '[' && server.host.back() == ']') {
      server.host = server.host.substr(1, server.host.size() - 2);
    }
    if (server.host.empty()) {
      return Status::InvalidArgument("empty host in connect string '" + std::string(text) + "'");
    }
    result.servers.push_back(std::move(server));
  }
  if (result.servers.empty()) {
    return Status::InvalidArgument("connect string '" + std::string(text) + "' names no server");
  }
  return result;
}

Status ValidatePath(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid znode path '" + std::string(path) +
                                   "': " + std::string(why));
  };
  if (path.empty() || path.front() != '/') return bad("must start with '/'");
  if (path == "/") return Status::Ok();
  if (path.back() == '/') return bad("must not end with '/'");
  if (path.find('\0') != std::string_view::npos) return bad("contains NUL");
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view component = path.substr(start, end - start);
    if (component.empty()) return bad("empty component");
    if (component == "." || component == "..") return bad("relative component");
    start = end + 1;
  }
  return Status::Ok();
}

std::string ApplyChroot(std::string_view chroot, std::string_view path) {
  if (chroot.empty()) return std::string(path);
  if (path == "/") return std::string(chroot);
  std::string full(chroot);
  full += path;
  return full;
}

std::string ServerPathNote(std::string_view chroot, std::string_view path) {
  if (chroot.empty()) return "";
  return " (" + ApplyChroot(chroot, path) + " on the server, with the connect string's chroot)";
}

std::string StripChroot(std::string_view chroot, std::string_view server_path) {
  if (chroot.empty() || !server_path.starts_with(chroot)) return std::string(server_path);
  std::string_view rest = server_path.substr(chroot.size());
  if (rest.empty()) return "/";
  if (rest.front() != '/') return std::string(server_path);  // "/app2" is not under "/app"
  return std::string(rest);
}

}  // namespace zkarrow::zk

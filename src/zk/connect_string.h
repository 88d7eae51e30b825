// The connect string "host:port[,host:port...][/chroot]" and the chroot
// arithmetic: every path sent gets the chroot prepended, every path received
// gets it stripped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace zkarrow::zk {

struct HostPort {
  std::string host;
  int port = 0;

  std::string ToString() const { return host + ":" + std::to_string(port); }
};

struct ConnectString {
  std::vector<HostPort> servers;
  std::string chroot;  // "" or "/a/b" (no trailing slash)
};

Result<ConnectString> ParseConnectString(std::string_view text);

// Checks that `path` is an absolute znode path: starts with '/', no empty,
// "." or ".." components, no trailing '/' (except the root), no NUL.
Status ValidatePath(std::string_view path);

// "/x" under chroot "/app" -> "/app/x"; "/" -> "/app".
std::string ApplyChroot(std::string_view chroot, std::string_view path);
// The inverse; a path outside the chroot is returned unchanged.
std::string StripChroot(std::string_view chroot, std::string_view server_path);
// For a message saying that `path` (as the client names it) does not exist:
// "" without a chroot, else where the server looked, " (/app/x on the
// server, with the connect string's chroot)"; without it a missing chroot
// reads as a missing "/".
std::string ServerPathNote(std::string_view chroot, std::string_view path);

}  // namespace zkarrow::zk

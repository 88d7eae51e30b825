// The options and the connection of the commands that talk to a zkarrow
// server (get, put): the URL picks the protocol (grpc:// Flight, http://),
// the token comes from a file, TLS is verified against --tls-ca or the
// system's roots.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "transport/arrow_client.h"
#include "transport/resource.h"

namespace zkarrow::cli {

struct RemoteArgs {
  std::string token_file;
  std::string tls_ca;
  int connect_timeout_ms = transport::ClientOptions{}.connect_timeout_ms;
};

void AddRemoteOptions(CLI::App& command, RemoteArgs& args);

// A client for `url`'s protocol, connected. `interrupted` (optional) ends
// a Get stream waiting for the server (ClientOptions::interrupted).
Result<std::unique_ptr<transport::ArrowClient>> ConnectRemote(
    const transport::ServerUrl& url, const RemoteArgs& args,
    std::function<bool()> interrupted = {});

// A client of `protocol` with `options` as they are, connected.
Result<std::unique_ptr<transport::ArrowClient>> ConnectClient(
    transport::ServerUrl::Protocol protocol, const transport::ClientOptions& options);

// ParseServerUrl, with a malformed URL as a UsageError.
Result<transport::ServerUrl> ParseUrlArgument(const std::string& url);

}  // namespace zkarrow::cli

#include "cli/remote.h"

#include "cli/report.h"
#include "cli/secret_file.h"
#include "transport/flight/flight_client.h"
#include "transport/http/http_client.h"

namespace zkarrow::cli {

void AddRemoteOptions(CLI::App& command, RemoteArgs& args) {
  command
      .add_option("--token-file", args.token_file,
                  "File holding the server's bearer token (owner-only file)")
      ->check(CLI::ExistingFile);
  command
      .add_option("--tls-ca", args.tls_ca,
                  "PEM file of the CA that signed the server's certificate (default: the "
                  "system's roots)")
      ->check(CLI::ExistingFile);
  command.add_option("--connect-timeout-ms", args.connect_timeout_ms, "Connect timeout")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
}

Result<transport::ServerUrl> ParseUrlArgument(const std::string& url) {
  Result<transport::ServerUrl> parsed = transport::ParseServerUrl(url);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  return parsed;
}

Result<std::unique_ptr<transport::ArrowClient>> ConnectRemote(const transport::ServerUrl& url,
                                                              const RemoteArgs& args,
                                                              std::function<bool()> interrupted) {
  // The command's one-line message says why a call failed.
  transport::flight::DropGrpcLogs();
  transport::ClientOptions options;
  options.host = url.host;
  options.port = url.port;
  options.tls = url.tls;
  options.tls_ca_file = args.tls_ca;
  options.connect_timeout_ms = args.connect_timeout_ms;
  options.interrupted = std::move(interrupted);
  if (!args.tls_ca.empty() && !url.tls) {
    return UsageError("--tls-ca is for grpc+tls:// and https:// URLs");
  }
  if (!args.token_file.empty()) {
    ZKA_ASSIGN_OR_RETURN(options.bearer_token, ReadTokenFile(args.token_file, "--token-file"));
  }
  return ConnectClient(url.protocol, options);
}

Result<std::unique_ptr<transport::ArrowClient>> ConnectClient(
    transport::ServerUrl::Protocol protocol, const transport::ClientOptions& options) {
  // Both clients' errors name the address already.
  if (protocol == transport::ServerUrl::Protocol::kFlight) {
    ZKA_ASSIGN_OR_RETURN(auto client, transport::flight::FlightClient::Connect(options));
    return std::unique_ptr<transport::ArrowClient>(std::move(client));
  }
  ZKA_ASSIGN_OR_RETURN(auto client, transport::http::HttpClient::Connect(options));
  return std::unique_ptr<transport::ArrowClient>(std::move(client));
}

}  // namespace zkarrow::cli

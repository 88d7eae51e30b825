// `zkarrow serve`: the live tree, its changes and uploaded datasets over
// Arrow Flight and HTTP (src/serve holds the data, src/transport the wire
// protocols; this file parses options, starts and stops them in order).
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/output_target.h"
#include "cli/progress_line.h"
#include "cli/remote.h"
#include "cli/secret_file.h"
#include "cli/stop_signal.h"
#include "cli/zk_connection.h"
#include "coord/coordinator.h"
#include "coord/layout.h"
#include "query/server_query.h"
#include "serve/dataset_store.h"
#include "serve/service.h"
#include "serve/tree_service.h"
#include "serve/znode_access.h"
#include "transport/flight/flight_server.h"
#include "transport/http/http_server.h"
#include "webui/webui.h"

namespace zkarrow::cli {
namespace {

struct ServeArgs {
  ZkConnectionArgs connection;
  std::string path = "/";
  std::vector<std::string> excludes;
  std::string flight;
  std::string http;
  std::vector<std::string> http_allowed_hosts;
  std::string store;
  std::string tls_cert;
  std::string tls_key;
  std::string token_file;
  std::string ports_file;
  int64_t history_mb = serve::TreeServiceOptions{}.history_bytes >> 20;
  int64_t response_cache_mb = serve::TreeServiceOptions{}.response_cache_bytes >> 20;
  int64_t max_upload_mb = transport::ServerOptions{}.max_upload_bytes >> 20;
  int max_streams = transport::ServerOptions{}.max_concurrent_streams;
  int keep_versions = serve::DatasetStoreOptions{}.keep_versions;
  int64_t query_timeout_ms = query::ServerQueryOptions{}.timeout.count();
  bool allow_writes = false;
  // Coordination (src/coord): a group of servers through ZooKeeper.
  bool coord = false;
  std::string coord_root = std::string(coord::kDefaultRoot);
  std::string server_id;
  std::string advertise_host;
  int replicas = coord::kDefaultReplicas;
  int ack_replicas = coord::kDefaultAckReplicas;
  int64_t holder_grace_ms = coord::CoordinatorOptions{}.holder_grace.count();
  std::vector<std::string> coord_acl;
  std::string peer_tls_ca;
};

// "SCHEME:ID:PERMS" as zkCli's setAcl writes it, e.g.
// "digest:zkarrow:Rk1Vb3...=:cdrwa" (the id may hold colons); PERMS are
// letters of crwda.
Result<zk::Acl> ParseAcl(const std::string& text) {
  size_t first = text.find(':');
  size_t last = text.rfind(':');
  auto bad = [&] {
    return UsageError("--coord-acl " + text +
                      ": expected SCHEME:ID:PERMS, e.g. digest:zkarrow:HASH:cdrwa or "
                      "world:anyone:r");
  };
  if (first == std::string::npos || last == first || first == 0) return bad();
  zk::Acl acl;
  acl.scheme = text.substr(0, first);
  acl.id = text.substr(first + 1, last - first - 1);
  for (char c : text.substr(last + 1)) {
    switch (c) {
      case 'r':
        acl.perms |= zk::perms::kRead;
        break;
      case 'w':
        acl.perms |= zk::perms::kWrite;
        break;
      case 'c':
        acl.perms |= zk::perms::kCreate;
        break;
      case 'd':
        acl.perms |= zk::perms::kDelete;
        break;
      case 'a':
        acl.perms |= zk::perms::kAdmin;
        break;
      default:
        return bad();
    }
  }
  if (acl.perms == 0 || acl.id.empty()) return bad();
  return acl;
}

// The URL peers and clients reach a listener at.
std::string Advertised(std::string_view scheme, const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(scheme) + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// "HOST:PORT" (port 0: any free one), "[IPV6]:PORT".
Status ParseListen(const std::string& text, std::string_view option,
                   transport::ServerOptions& options) {
  size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  if (colon != std::string::npos) {
    const char* begin = text.data() + colon + 1;
    const char* end = text.data() + text.size();
    auto [stop, error] = std::from_chars(begin, end, port);
    if (error != std::errc() || stop != end || begin == end) port = -1;
  }
  if (host.empty() || port < 0 || port > 65535) {
    return UsageError(std::string(option) + " " + text +
                      ": expected HOST:PORT, e.g. 127.0.0.1:8815 (port 0 picks a free one)");
  }
  options.host = host;
  options.port = port;
  return Status::Ok();
}

// {"flight": PORT, "http": PORT, "pid": PID}, written atomically, for
// scripts that start a server on port 0.
Status WritePortsFile(OutputTarget& target, const std::string& path, int flight_port,
                      int http_port) {
  nlohmann::json ports = {{"pid", ::getpid()}};
  if (flight_port > 0) ports["flight"] = flight_port;
  if (http_port > 0) ports["http"] = http_port;
  std::string text = ports.dump() + "\n";
  ZKA_RETURN_IF_ERROR(
      target.stream().Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()}));
  return target.Commit().WithContext("--ports-file " + path);
}

// At a clean stop: a ports file outliving its server would send scripts to
// ports no one listens on (or someone else does). Left alone when another
// server has written it since.
void RemovePortsFileIfOurs(const std::string& path) {
  std::ifstream in(path);
  const nlohmann::json ports = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (ports.is_object() && ports.value("pid", int64_t{-1}) == ::getpid()) ::unlink(path.c_str());
}

Status RunServe(const ServeArgs& args) {
  if (args.flight.empty() && args.http.empty()) {
    return UsageError("nothing to listen on: give --flight HOST:PORT and/or --http HOST:PORT");
  }
  if (args.tls_cert.empty() != args.tls_key.empty()) {
    return UsageError("--tls-cert and --tls-key go together");
  }
  ZKA_RETURN_IF_ERROR(CheckZnodePath(args.path, "--path"));
  if (!args.tls_key.empty()) ZKA_RETURN_IF_ERROR(CheckSecretFile(args.tls_key, "--tls-key"));
  transport::ServerOptions base;
  base.tls_cert_file = args.tls_cert;
  base.tls_key_file = args.tls_key;
  base.max_upload_bytes = args.max_upload_mb << 20;
  base.max_concurrent_streams = args.max_streams;
  if (!args.token_file.empty()) {
    ZKA_ASSIGN_OR_RETURN(base.bearer_token, ReadTokenFile(args.token_file, "--token-file"));
  }
  transport::ServerOptions flight_options = base;
  transport::ServerOptions http_options = base;
  if (!args.flight.empty())
    ZKA_RETURN_IF_ERROR(ParseListen(args.flight, "--flight", flight_options));
  if (!args.http.empty()) ZKA_RETURN_IF_ERROR(ParseListen(args.http, "--http", http_options));
  // The group's options are the user's arguments too: refused here, before
  // the store, the tree and the listeners start (exit 2, not 1 after them).
  coord::CoordinatorOptions coord_options;
  if (args.coord) {
    ZKA_ASSIGN_OR_RETURN(coord_options.client, MakeClientOptions(args.connection));
    coord_options.root = args.coord_root;
    coord_options.keep_versions = args.keep_versions;
    coord_options.replicas = args.replicas;
    coord_options.ack_replicas = args.ack_replicas;
    coord_options.holder_grace = std::chrono::milliseconds(args.holder_grace_ms);
    if (!args.coord_acl.empty()) {
      coord_options.acl.clear();
      for (const std::string& text : args.coord_acl) {
        ZKA_ASSIGN_OR_RETURN(zk::Acl acl, ParseAcl(text));
        coord_options.acl.push_back(std::move(acl));
      }
    }
    // Peers are reached with this server's own token, which the coordinator
    // sends only over TLS verified by --peer-tls-ca.
    coord_options.peer.bearer_token = base.bearer_token;
    coord_options.peer.tls_ca_file = args.peer_tls_ca;
    coord_options.connect = ConnectClient;
    coord_options.log = [](const std::string& line) {
      std::fprintf(stderr, "zkarrow serve: %s\n", line.c_str());
    };
    if (Status valid = coord::ValidateCoordinatorOptions(coord_options); !valid.ok()) {
      return UsageError(valid.message());
    }
    if (!args.server_id.empty()) {
      if (Status valid = coord::ValidateServerId(args.server_id); !valid.ok()) {
        return UsageError("--server-id: " + valid.message());
      }
    }
    auto wildcard = [](const std::string& host) { return host == "0.0.0.0" || host == "::"; };
    if (args.advertise_host.empty() && ((!args.flight.empty() && wildcard(flight_options.host)) ||
                                        (!args.http.empty() && wildcard(http_options.host)))) {
      return UsageError(
          "--coord: a wildcard listener address cannot be advertised to peers; give "
          "--advertise-host HOST");
    }
  }

  // Opened before anything starts, so that a path that cannot be written is
  // refused at once; written and named once the ports are known.
  std::unique_ptr<OutputTarget> ports_file;
  if (!args.ports_file.empty()) {
    ZKA_ASSIGN_OR_RETURN(ports_file,
                         OutputTarget::Open(args.ports_file, {.option = "--ports-file"}));
  }

  serve::TreeServiceOptions tree_options;
  ZKA_ASSIGN_OR_RETURN(tree_options.watch.client, MakeClientOptions(args.connection));
  tree_options.watch.root = args.path;
  tree_options.watch.excludes = args.excludes;
  tree_options.source = args.connection.zk;
  tree_options.history_bytes = args.history_mb << 20;
  tree_options.response_cache_bytes = args.response_cache_mb << 20;
  ZKA_RETURN_IF_ERROR(InstallStopHandlers());

  serve::DatasetStoreOptions store_options;
  // Coordinated, the catalog decides which versions are kept.
  store_options.keep_versions = args.coord ? 0 : args.keep_versions;
  // What lands on disk and in memory is bounded like what is received.
  store_options.max_upload_bytes = base.max_upload_bytes;
  ZKA_ASSIGN_OR_RETURN(auto store, serve::DatasetStore::Open(args.store, store_options));
  for (const std::string& note : store->open_notes()) {
    std::fprintf(stderr, "zkarrow serve: store: %s\n", note.c_str());
  }
  ZKA_ASSIGN_OR_RETURN(auto tree, serve::TreeService::Start(std::move(tree_options)));
  serve::LocalCatalog local_catalog(*store);
  std::unique_ptr<coord::Coordinator> coordinator;
  if (args.coord) {
    ZKA_ASSIGN_OR_RETURN(coordinator, coord::Coordinator::Create(std::move(coord_options), *store));
  }
  serve::DatasetCatalog& catalog =
      coordinator ? static_cast<serve::DatasetCatalog&>(*coordinator) : local_catalog;
  serve::ServiceOptions service_options;
  query::ServerQueryOptions query_options;
  query_options.timeout = std::chrono::milliseconds(args.query_timeout_ms);
  service_options.query = [query_options](transport::ArrowService& service, std::string_view sql) {
    return query::StartServerQuery(service, sql, query_options);
  };
  // A session of its own, opened at the first acl or write request.
  ZKA_ASSIGN_OR_RETURN(zk::ClientOptions access_client, MakeClientOptions(args.connection));
  serve::ZnodeAccess znodes(std::move(access_client), args.path, args.allow_writes);
  service_options.znodes = &znodes;
  serve::Service service(*tree, *store, catalog, std::move(service_options));

  // Listeners stop before the service they call, the service before the
  // tree and store it reads.
  std::unique_ptr<transport::flight::FlightServer> flight;
  std::unique_ptr<transport::http::HttpServer> http;
  if (!args.flight.empty()) {
    auto started = transport::flight::FlightServer::Start(flight_options, service);
    if (!started.ok()) return started.status().WithContext("--flight " + args.flight);
    flight = std::move(*started);
    // Shut down after the HTTP listener, the only reader of /metrics.
    service.AddMetricsSource(
        [server = flight.get()](std::string& text) { server->AppendMetrics(text); });
    std::fprintf(stderr, "zkarrow serve: Flight on %s://%s:%d\n",
                 base.tls_cert_file.empty() ? "grpc" : "grpc+tls", flight_options.host.c_str(),
                 flight->port());
  }
  if (!args.http.empty()) {
    // The web UI at GET /: its files only; it reads what every client reads.
    transport::http::HttpLimits http_limits;
    http_limits.allowed_hosts = args.http_allowed_hosts;
    // Peers and clients that found the server through --coord use this name.
    if (!args.advertise_host.empty()) http_limits.allowed_hosts.push_back(args.advertise_host);
    auto started = transport::http::HttpServer::Start(http_options, service, http_limits,
                                                      webui::StaticFiles());
    if (!started.ok()) return started.status().WithContext("--http " + args.http);
    http = std::move(*started);
    std::fprintf(stderr, "zkarrow serve: HTTP on %s://%s:%d\n",
                 base.tls_cert_file.empty() ? "http" : "https", http_options.host.c_str(),
                 http->port());
  }
  if (coordinator) {
    coord::ServerRecord self;
    const bool tls = !base.tls_cert_file.empty();
    if (flight) {
      const std::string& host =
          args.advertise_host.empty() ? flight_options.host : args.advertise_host;
      self.flight = Advertised(tls ? "grpc+tls" : "grpc", host, flight->port());
    }
    if (http) {
      const std::string& host =
          args.advertise_host.empty() ? http_options.host : args.advertise_host;
      self.http = Advertised(tls ? "https" : "http", host, http->port());
    }
    self.id = args.server_id.empty()
                  ? "server-" + std::to_string(flight ? flight->port() : http->port())
                  : args.server_id;
    self.version = ZKARROW_VERSION;
    self.started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    ZKA_RETURN_IF_ERROR(coordinator->Join(std::move(self)));
  }
  if (ports_file) {
    ZKA_RETURN_IF_ERROR(WritePortsFile(*ports_file, args.ports_file, flight ? flight->port() : 0,
                                       http ? http->port() : 0));
  }

  // Report when the tree becomes servable and when that changes.
  std::string last_health = "starting";
  while (!StopRequested()) {
    Status health = tree->Health();
    std::string now = health.ok() ? "ok" : health.message();
    if (now != last_health) {
      if (health.ok()) {
        serve::TreeMetrics metrics = tree->metrics();
        std::fprintf(stderr, "zkarrow serve: serving %s znodes of %s%s at zxid 0x%llx\n",
                     FormatCount(metrics.znodes).c_str(), args.connection.zk.c_str(),
                     args.path == "/" ? "" : args.path.c_str(),
                     static_cast<unsigned long long>(metrics.zxid));
      } else if (health.code() != StatusCode::kUnavailable || last_health == "ok") {
        std::fprintf(stderr, "zkarrow serve: %s\n", health.ToString().c_str());
      }
      last_health = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "zkarrow serve: stopping\n");
  // Leaving the group first: peers stop sending readers here and start
  // re-replicating at once, while the listeners finish what they serve.
  if (coordinator) coordinator->Stop();
  if (http) http->Shutdown();
  if (flight) flight->Shutdown();
  tree->Stop();
  if (ports_file) RemovePortsFileIfOurs(args.ports_file);
  return Status::Ok();
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* command = app.add_subcommand(
      "serve", "Serve a live ZooKeeper tree, its changes and uploaded Arrow datasets");
  command->footer(
      "Keeps an in-memory mirror of the tree (as `watch` does) and serves, over Arrow Flight\n"
      "and/or HTTP:\n"
      "  znodes              the current table (snapshot schema), zkarrow.zxid in its metadata\n"
      "                      Flight [\"znodes\"] or [\"znodes\", \"/sub\"]; HTTP GET "
      "/znodes?path=/sub&data=false&typed=true\n"
      "  changes             a live stream in the watch schema; each epoch's last batch carries\n"
      "                      zkarrow.zxid; resume with from=ZXID, start with the state: "
      "initial=true\n"
      "  datasets/NAME       Arrow streams uploaded with DoPut / PUT (or `zkarrow put`), "
      "validated,\n"
      "                      fsynced and replaced atomically in --store DIR\n"
      "Actions (Flight DoAction, HTTP POST /actions/TYPE): sync (wait for a zxid), drop NAME.\n"
      "HTTP also has GET /datasets, /healthz and /metrics, and the web UI at GET / (tree,\n"
      "node, live changes, SQL, datasets, sizes). Writes to ZooKeeper (actions set_data,\n"
      "create, delete; the UI's editing) only with --allow-writes.\n"
      "SIGINT/SIGTERM stop it cleanly.\n"
      "Examples:\n"
      "  zkarrow serve --zk 127.0.0.1:2181 --flight 127.0.0.1:8815 --http 127.0.0.1:8080 "
      "--store /var/lib/zkarrow\n"
      "  zkarrow get grpc://127.0.0.1:8815/znodes -o tree.arrow\n"
      "  curl -s 127.0.0.1:8080/znodes?path=/brokers > brokers.arrows");
  AddZkConnectionOptions(*command, args->connection, /*zk_required=*/true,
                         ZkTlsNames::kPrefixedOnly);
  command->add_option("--path", args->path, "Subtree to serve")->default_str("/");
  command->add_option("--exclude", args->excludes,
                      "Glob on the absolute path; hides matching subtrees (repeatable)");
  command->add_option("--flight", args->flight,
                      "Arrow Flight listener HOST:PORT (port 0: a free one)");
  command->add_option("--http", args->http, "HTTP listener HOST:PORT (port 0: a free one)");
  command
      ->add_option("--http-allowed-hosts", args->http_allowed_hosts,
                   "Host names the HTTP listener answers besides IP addresses, localhost and "
                   "--advertise-host, e.g. a proxy's: name,name (other names get a 421, which "
                   "keeps pages of other sites out by DNS rebinding)")
      ->delimiter(',');
  command->add_option("--store", args->store, "Directory of the uploaded datasets")->required();
  command->add_option("--tls-cert", args->tls_cert, "PEM certificate (chain) for both listeners")
      ->check(CLI::ExistingFile);
  command->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert (mode 600)")
      ->check(CLI::ExistingFile);
  command
      ->add_option("--token-file", args->token_file,
                   "File holding the bearer token every request must carry (owner-only file)")
      ->check(CLI::ExistingFile);
  command->add_option(
      "--ports-file", args->ports_file,
      "Write {\"flight\": PORT, \"http\": PORT, \"pid\": PID} here once listening (removed "
      "at a clean stop)");
  command
      ->add_option("--history-mb", args->history_mb,
                   "Changes kept in memory for clients resuming with from=ZXID")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  command
      ->add_option("--response-cache-mb", args->response_cache_mb,
                   "Encoded /znodes responses kept for clients asking the same of the same "
                   "state (one larger than half of it is not kept; 0: none)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  command
      ->add_option("--max-upload-mb", args->max_upload_mb,
                   "Largest upload accepted, as received and as stored (uncompressed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
  command
      ->add_option("--max-streams", args->max_streams,
                   "Downloads and uploads in progress at once, per listener")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  command
      ->add_option("--query-timeout-ms", args->query_timeout_ms,
                   "A query (/query?sql=...) running longer fails with a timeout")
      ->check(CLI::Range(int64_t{1}, int64_t{24} * 3600 * 1000))
      ->capture_default_str();
  command->add_flag("--allow-writes", args->allow_writes,
                    "Allow the actions set_data, create and delete (the web UI's editing), each "
                    "checked against the version its client read; refused (403) without it");
  command
      ->add_option("--keep-versions", args->keep_versions,
                   "Versions of each dataset kept on disk, the current one included")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  CLI::Option* coord_flag = command->add_flag(
      "--coord", args->coord,
      "Join a group of servers coordinated through the --zk ensemble: datasets are published "
      "atomically in a catalog there, replicated and found by `get zk://...`");
  auto coord_option = [&](CLI::Option* option) { option->needs(coord_flag); };
  coord_option(command
                   ->add_option("--coord-root", args->coord_root,
                                "Znode under which the group keeps its servers, catalog and "
                                "election")
                   ->capture_default_str());
  coord_option(command->add_option(
      "--server-id", args->server_id,
      "This server's name in the group (default: server-PORT); keep it across restarts"));
  coord_option(command->add_option("--advertise-host", args->advertise_host,
                                   "Host peers and clients reach this server at (default: the "
                                   "listener's address)"));
  coord_option(command
                   ->add_option("--replicas", args->replicas,
                                "Verified copies of every kept dataset version")
                   ->check(CLI::Range(1, 100))
                   ->capture_default_str());
  coord_option(command
                   ->add_option("--ack-replicas", args->ack_replicas,
                                "Copies durable before a put is acknowledged")
                   ->check(CLI::Range(1, 100))
                   ->capture_default_str());
  coord_option(command
                   ->add_option("--holder-grace-ms", args->holder_grace_ms,
                                "How long a holder may be gone before the leader forgets it")
                   ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}))
                   ->capture_default_str());
  coord_option(command->add_option(
      "--coord-acl", args->coord_acl,
      "ACL of the group's znodes, SCHEME:ID:PERMS (repeatable; default world:anyone:cdrwa); "
      "authenticate with --auth/--auth-file"));
  coord_option(
      command
          ->add_option("--peer-tls-ca", args->peer_tls_ca,
                       "PEM file of the CA that signed the peers' certificates; needed with "
                       "--token-file, as the token is sent only to peers it verifies")
          ->check(CLI::ExistingFile));
  command->callback([args, command, &runner] {
    // Coordinated, the catalog keeps its own default number of versions.
    if (args->coord && command->count("--keep-versions") == 0) {
      args->keep_versions = coord::kDefaultKeepVersions;
    }
    runner = [args] { return Finish("serve", RunServe(*args)); };
  });
}

}  // namespace zkarrow::cli

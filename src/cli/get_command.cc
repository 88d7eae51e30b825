// `zkarrow get URL -o OUT`: reads a resource of a zkarrow server (the tree,
// its changes, a dataset) over Flight or HTTP and writes it as `snapshot`
// writes its tables (file or stream, compression), schema and batch
// metadata carried over. The response is read by the same strict reader as
// any Arrow input; a response cut short (no end-of-stream marker) is an
// error and leaves no output file, and so is one that --for or a signal
// stopped, except a changes stream, which runs until stopped.
//
// zk://HOSTS/RESOURCE reads from a group of coordinated servers (serve
// --coord): the servers that can answer are found in ZooKeeper, a dataset
// is pinned to the version current when the download starts, and when a
// server fails mid-download the download starts over from the next one
// (the output file is written whole by one server, or not at all).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "cli/commands.h"
#include "cli/heap_policy.h"
#include "cli/ipc_input.h"
#include "cli/ipc_options.h"
#include "cli/number_checks.h"
#include "cli/output_target.h"
#include "cli/progress_line.h"
#include "cli/remote.h"
#include "cli/stop_signal.h"
#include "cli/zk_connection.h"
#include "coord/discovery.h"
#include "zk/connect_string.h"

namespace zkarrow::cli {
namespace {

struct GetArgs {
  std::string url;
  std::string output;
  IpcOutputOptions ipc;
  arrow::ipc::Compression wire_compression = arrow::ipc::Compression::kNone;
  double for_seconds = 0;
  RemoteArgs remote;
  arrow::ipc::IpcReadOptions read_options;
  // zk:// URLs: the group's root and the session's credentials.
  std::string coord_root = std::string(coord::kDefaultRoot);
  ZkConnectionArgs connection;
};

constexpr std::string_view kZkScheme = "zk://";

// Counts the bytes the reader takes, for the progress line.
class CountingInputStream final : public arrow::InputStream {
 public:
  explicit CountingInputStream(std::unique_ptr<arrow::InputStream> inner)
      : inner_(std::move(inner)) {}
  Result<int64_t> Read(std::span<uint8_t> out) override {
    ZKA_ASSIGN_OR_RETURN(int64_t n, inner_->Read(out));
    bytes_ += n;
    return n;
  }
  int64_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<arrow::InputStream> inner_;
  int64_t bytes_ = 0;
};

// Only a live stream (changes) ends when its client stops reading; any other
// response stopped by --for or a signal before its end is incomplete.
bool IsLiveStream(const transport::Resource& resource) {
  return resource.segments == std::vector<std::string>{"changes"};
}

// Download's work; `output` is opened once the response's schema arrived.
Status DownloadTo(const GetArgs& args, const transport::ServerUrl& url, const std::string& name,
                  const std::function<bool()>& should_stop, double started_seconds,
                  const std::function<double()>& elapsed, std::unique_ptr<OutputTarget>& output) {
  ZKA_ASSIGN_OR_RETURN(auto client, ConnectRemote(url, args.remote, should_stop));
  ZKA_ASSIGN_OR_RETURN(auto body,
                       client->Get(url.resource, {.compression = args.wire_compression}));
  auto counting = std::make_unique<CountingInputStream>(std::move(body));
  CountingInputStream* counter = counting.get();
  ZKA_ASSIGN_OR_RETURN(auto reader,
                       arrow::ipc::StreamReader::Open(std::move(counting), args.read_options));
  ZKA_ASSIGN_OR_RETURN(output, OutputTarget::Open(args.output));
  ZKA_ASSIGN_OR_RETURN(auto writer,
                       arrow::ipc::IpcWriter::Open(output->stream(), reader->schema(),
                                                   args.ipc.ResolveFormat(output->is_stdout()),
                                                   {.compression = args.ipc.compression}));
  ProgressLine progress("rows");
  int64_t rows = 0;
  int64_t batches = 0;
  bool complete = false;
  while (!should_stop()) {
    Result<std::optional<arrow::RecordBatch>> next = reader->Next();
    if (!next.ok() && next.status().code() == StatusCode::kCancelled && should_stop()) break;
    if (!next.ok()) return next.status().WithContext("reading " + name);
    if (!*next) {
      complete = true;
      break;
    }
    ZKA_RETURN_IF_ERROR(writer->WriteBatch(**next, reader->last_batch_info().custom_metadata)
                            .WithContext("writing batch " + std::to_string(batches)));
    rows += (*next)->length;
    ++batches;
    progress.Update(rows, counter->bytes());
  }
  if (!complete && !IsLiveStream(url.resource)) {
    // A signal's stop exits 128 + the signal, --for's 1 (the run failed).
    const std::string what = " while reading " + name + ", after " + std::to_string(rows) +
                             " rows in " + std::to_string(batches) +
                             " batches, before the response's end; nothing was written (only a "
                             "changes stream is written out when stopped)";
    return AsSignalStop(Status::Cancelled("stopped by --for" + what), what);
  }
  if (complete && !reader->ended_with_marker()) {
    return Status::InvalidData(name +
                               ": the response ended without its end-of-stream marker (the "
                               "server or the connection failed mid-way); nothing was written");
  }
  ZKA_RETURN_IF_ERROR(writer->Close());
  ZKA_RETURN_IF_ERROR(output->Commit());
  progress.Clear();
  std::fprintf(stderr, "zkarrow get: %s rows in %s batches, %s received in %.2f s from %s\n",
               FormatCount(rows).c_str(), FormatCount(batches).c_str(),
               FormatBytes(counter->bytes()).c_str(), elapsed() - started_seconds, name.c_str());
  return Status::Ok();
}

// One download from one server into `args.output`. `written` tells the
// caller whether anything reached an output that cannot be taken back
// (stdout), which rules out starting over elsewhere.
Status Download(const GetArgs& args, const transport::ServerUrl& url, const std::string& name,
                const std::function<bool()>& should_stop, double started_seconds,
                const std::function<double()>& elapsed, bool& written) {
  std::unique_ptr<OutputTarget> output;
  Status status = DownloadTo(args, url, name, should_stop, started_seconds, elapsed, output);
  written = output && output->is_stdout() && output->bytes_written() > 0;
  // A signal that interrupted the request itself (the server had not
  // answered yet) ends the run as one between batches does.
  const std::string what = ": " + status.message() + "; nothing was written";
  return AsSignalStop(std::move(status), what);
}

// zk://HOSTS/RESOURCE: the ensemble's connect string and the resource.
Result<std::pair<std::string, transport::Resource>> ParseZkUrl(const std::string& url) {
  std::string_view rest = std::string_view(url).substr(kZkScheme.size());
  size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos) {
    return UsageError(url + ": expected zk://HOST:PORT[,HOST:PORT...]/RESOURCE, e.g. " +
                      "zk://127.0.0.1:2181/datasets/NAME");
  }
  const std::string hosts(rest.substr(0, slash));
  if (Result<zk::ConnectString> parsed = zk::ParseConnectString(hosts); !parsed.ok()) {
    return UsageError(url + ": " + parsed.status().message());
  }
  Result<transport::Resource> resource = transport::ParseTarget(rest.substr(slash));
  if (!resource.ok()) return UsageError(url + ": " + resource.status().message());
  return std::pair{hosts, std::move(*resource)};
}

Status RunGet(const GetArgs& args) {
  // Over Flight, gRPC receives each message into 64 KiB heap blocks that
  // are freed once it is parsed; glibc then trimmed the heap top, so every
  // message's blocks were faulted in again: most of the page faults of a
  // whole table's download.
  KeepFreedHeapMemory();
  ZKA_RETURN_IF_ERROR(CheckArrowNotToTerminal(args.output));
  const bool group = args.url.starts_with(kZkScheme);
  std::optional<transport::ServerUrl> direct;
  std::pair<std::string, transport::Resource> group_target;
  if (!group) {
    ZKA_ASSIGN_OR_RETURN(direct, ParseUrlArgument(args.url));
  } else {
    ZKA_ASSIGN_OR_RETURN(group_target, ParseZkUrl(args.url));
  }
  // A changes stream on stdout whose reader has gone: no write would tell
  // until the next change (on a quiet tree, never), so the wait for one
  // ends, and writing out what arrived then fails as on any closed pipe.
  const bool live_to_stdout =
      args.output == "-" && IsLiveStream(direct ? direct->resource : group_target.second);
  ZKA_RETURN_IF_ERROR(InstallStopHandlers());
  const auto started = std::chrono::steady_clock::now();
  std::function<double()> elapsed = [started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  // A live stream (changes) ends with --for or SIGINT/SIGTERM: between
  // batches, or by interrupting a read that waits for the server; what was
  // received by then is written out whole.
  std::function<bool()> should_stop = [&args, elapsed, live_to_stdout] {
    return StopRequested() || (args.for_seconds > 0 && elapsed() >= args.for_seconds) ||
           (live_to_stdout && arrow::PipeReaderClosed(STDOUT_FILENO));
  };
  bool written = false;
  if (direct) return Download(args, *direct, args.url, should_stop, 0, elapsed, written);

  const auto& [hosts, resource] = group_target;
  // The servers are whatever servers/ names, which anyone who may write the
  // group's root can fill (everyone, with serve's default --coord-acl): the
  // token goes only to servers that TLS proves signed by --tls-ca, as serve
  // sends it only to peers --peer-tls-ca verifies.
  const bool token = !args.remote.token_file.empty();
  if (token && args.remote.tls_ca.empty()) {
    return UsageError(
        "--token-file with a zk:// URL needs --tls-ca, the CA that signed the servers' "
        "certificates: the servers are found in ZooKeeper, where anyone who may write " +
        args.coord_root + " can register one, so the token is sent only over TLS verified by it");
  }
  ZkConnectionArgs connection = args.connection;
  connection.zk = hosts;
  ZKA_ASSIGN_OR_RETURN(zk::ClientOptions zk_options, MakeClientOptions(connection));
  auto zk_client = zk::Client::Connect(zk_options);
  if (!zk_client.ok()) return zk_client.status().WithContext("connecting to " + hosts);
  ZKA_ASSIGN_OR_RETURN(std::vector<coord::Candidate> candidates,
                       coord::Locate(**zk_client, coord::Layout(args.coord_root), resource));
  (*zk_client)->Close();
  Status last;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const coord::Candidate& candidate = candidates[i];
    const std::string name = candidate.server_id + " (" + candidate.url.host + ":" +
                             std::to_string(candidate.url.port) +
                             candidate.url.resource.ToTarget() + ")";
    if (token && !candidate.url.tls) {
      last = Status::PermissionDenied("not sending the token to " + name +
                                      ": it is sent only to servers over TLS verified by --tls-ca");
    } else {
      last = Download(args, candidate.url, name, should_stop, elapsed(), elapsed, written);
    }
    if (last.ok() || should_stop() || written) return last;
    if (i + 1 < candidates.size()) {
      std::fprintf(stderr, "zkarrow get: %s; starting over from the next server\n",
                   last.ToString().c_str());
    }
  }
  return last.WithContext("every server that could answer failed; the last");
}

}  // namespace

void RegisterGetCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<GetArgs>();
  CLI::App* command =
      app.add_subcommand("get", "Download the tree, its changes or a dataset from zkarrow serve");
  command->footer(
      "URL: grpc://HOST:PORT/RESOURCE (Arrow Flight), grpc+tls://, http://, https://,\n"
      "or zk://HOST:PORT[,...]/RESOURCE: any server of a group (serve --coord) that holds it,\n"
      "the next one if a server fails mid-download.\n"
      "RESOURCE: /znodes[?path=/sub&data=false&typed=true], /changes[?from=ZXID&initial=true],\n"
      "/datasets/NAME. A changes stream runs until --for, SIGINT or SIGTERM; what arrived by\n"
      "then is written out whole (exit 0). Any other response they stop writes nothing and\n"
      "exits 1 (--for), 130 (SIGINT) or 143 (SIGTERM).\n"
      "Examples:\n"
      "  zkarrow get grpc://127.0.0.1:8815/znodes -o tree.arrow\n"
      "  zkarrow get http://127.0.0.1:8080/znodes?path=/brokers -o - | zkarrow cat -\n"
      "  zkarrow get grpc://127.0.0.1:8815/changes --for 60 -o minute.arrows\n"
      "  zkarrow get zk://127.0.0.1:2181/datasets/prices?version=3 -o prices.arrow");
  command->add_option("URL", args->url, "Server URL of the resource")->required();
  command->add_option("-o,--output", args->output, "Output file, - for stdout")->required();
  AddIpcOutputOptions(*command, args->ipc);
  AddChoiceOption(*command, "--wire-compression", args->wire_compression, kCompressionNames,
                  "Ask the server to compress IPC bodies on the wire");
  command
      ->add_option("--for", args->for_seconds,
                   "Stop reading a changes stream after this many seconds (other responses "
                   "stopped by it fail and write nothing)")
      ->check(kPositive);
  AddRemoteOptions(*command, args->remote);
  AddIpcInputOptions(*command, args->read_options);
  command
      ->add_option("--coord-root", args->coord_root,
                   "zk:// URLs: the znode under which the servers' group lives")
      ->capture_default_str();
  command->add_option("--auth-file", args->connection.auth_file,
                      "zk:// URLs: file of SCHEME:CREDENTIAL lines for the ZooKeeper session");
  AddZkSecurityOptions(*command, args->connection, ZkTlsNames::kPrefixedOnly);
  command->callback([args, &runner] { runner = [args] { return Finish("get", RunGet(*args)); }; });
}

}  // namespace zkarrow::cli

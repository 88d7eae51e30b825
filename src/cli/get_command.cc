// `zkarrow get URL -o OUT`: reads a resource of a zkarrow server (the tree,
// its changes, a dataset) over Flight or HTTP and writes it as `snapshot`
// writes its tables (file or stream, compression), schema and batch
// metadata carried over. The response is read by the same strict reader as
// any Arrow input; a response cut short (no end-of-stream marker) is an
// error and leaves no output file.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "cli/commands.h"
#include "cli/ipc_input.h"
#include "cli/ipc_options.h"
#include "cli/output_target.h"
#include "cli/progress_line.h"
#include "cli/remote.h"
#include "cli/stop_signal.h"

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
};

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

Status RunGet(const GetArgs& args) {
  ZKA_ASSIGN_OR_RETURN(transport::ServerUrl url, ParseUrlArgument(args.url));
  ZKA_RETURN_IF_ERROR(InstallStopHandlers());
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  // A live stream (changes) ends with --for or SIGINT/SIGTERM: between
  // batches, or by interrupting a read that waits for the server; what was
  // received by then is written out whole.
  auto should_stop = [&args, elapsed] {
    return StopRequested() || (args.for_seconds > 0 && elapsed() >= args.for_seconds);
  };
  ZKA_ASSIGN_OR_RETURN(auto client, ConnectRemote(url, args.remote, should_stop));
  ZKA_ASSIGN_OR_RETURN(auto body,
                       client->Get(url.resource, {.compression = args.wire_compression}));
  auto counting = std::make_unique<CountingInputStream>(std::move(body));
  CountingInputStream* counter = counting.get();
  ZKA_ASSIGN_OR_RETURN(auto reader,
                       arrow::ipc::StreamReader::Open(std::move(counting), args.read_options));
  ZKA_ASSIGN_OR_RETURN(auto output, OutputTarget::Open(args.output));
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
    if (!next.ok()) return next.status().WithContext("reading " + args.url);
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
  if (complete && !reader->ended_with_marker()) {
    return Status::InvalidData(args.url +
                               ": the response ended without its end-of-stream marker (the "
                               "server or the connection failed mid-way); nothing was written");
  }
  ZKA_RETURN_IF_ERROR(writer->Close());
  ZKA_RETURN_IF_ERROR(output->Commit());
  progress.Clear();
  std::fprintf(stderr, "zkarrow get: %s rows in %s batches, %s received in %.2f s from %s\n",
               FormatCount(rows).c_str(), FormatCount(batches).c_str(),
               FormatBytes(counter->bytes()).c_str(), elapsed(), args.url.c_str());
  return Status::Ok();
}

}  // namespace

void RegisterGetCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<GetArgs>();
  CLI::App* command =
      app.add_subcommand("get", "Download the tree, its changes or a dataset from zkarrow serve");
  command->footer(
      "URL: grpc://HOST:PORT/RESOURCE (Arrow Flight), grpc+tls://, http://, https://.\n"
      "RESOURCE: /znodes[?path=/sub&data=false&typed=true], /changes[?from=ZXID&initial=true],\n"
      "/datasets/NAME. A changes stream runs until --for, SIGINT or SIGTERM; what arrived by\n"
      "then is written out whole.\n"
      "Examples:\n"
      "  zkarrow get grpc://127.0.0.1:8815/znodes -o tree.arrow\n"
      "  zkarrow get http://127.0.0.1:8080/znodes?path=/brokers -o - | zkarrow cat -\n"
      "  zkarrow get grpc://127.0.0.1:8815/changes --for 60 -o minute.arrows");
  command->add_option("URL", args->url, "Server URL of the resource")->required();
  command->add_option("-o,--output", args->output, "Output file, - for stdout")->required();
  AddIpcOutputOptions(*command, args->ipc);
  AddChoiceOption(*command, "--wire-compression", args->wire_compression, kCompressionNames,
                  "Ask the server to compress IPC bodies on the wire");
  command->add_option("--for", args->for_seconds, "Stop reading after this many seconds")
      ->check(CLI::PositiveNumber);
  AddRemoteOptions(*command, args->remote);
  AddIpcInputOptions(*command, args->read_options);
  command->callback([args, &runner] { runner = [args] { return Finish("get", RunGet(*args)); }; });
}

}  // namespace zkarrow::cli

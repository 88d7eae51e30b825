// `zkarrow put FILE URL`: uploads an Arrow IPC file or stream as a dataset
// of a zkarrow server. The input is read and validated here first by the
// strict reader (a bad file fails before anything is sent) and re-encoded
// as a stream in batches small enough for every protocol (Flight's 4 MiB
// messages); the server validates it again, stores and fsyncs it, and only
// then makes it visible.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "arrow/ipc/sliced_writer.h"
#include "arrow/ipc/writer.h"
#include "cli/commands.h"
#include "cli/ipc_input.h"
#include "cli/number_checks.h"
#include "cli/progress_line.h"
#include "cli/remote.h"
#include "serve/dataset_store.h"

namespace zkarrow::cli {
namespace {

struct PutArgs {
  std::string source;
  std::string url;
  std::optional<int64_t> if_version;
  RemoteArgs remote;
  arrow::ipc::IpcReadOptions read_options;
};

// The input re-encoded as an IPC stream, produced as the client reads it:
// one batch (sliced to fit a message) at a time; an input stream without
// its end-of-stream marker fails at its end instead of getting one.
class ReencodingStream final : public arrow::InputStream {
 public:
  static Result<std::unique_ptr<ReencodingStream>> Open(IpcInput& input) {
    auto stream = std::unique_ptr<ReencodingStream>(new ReencodingStream(input));
    ZKA_ASSIGN_OR_RETURN(stream->writer_,
                         arrow::ipc::IpcWriter::OpenStream(stream->buffer_, *input.schema()));
    return stream;
  }

  Result<int64_t> Read(std::span<uint8_t> out) override {
    while (pending_.empty() || offset_ == pending_.front()->size()) {
      if (!pending_.empty()) {
        pending_.pop_front();
        offset_ = 0;
        continue;
      }
      if (!writer_) return 0;
      ZKA_RETURN_IF_ERROR(Produce());
    }
    const arrow::Buffer& front = *pending_.front();
    int64_t n = std::min<int64_t>(static_cast<int64_t>(out.size()), front.size() - offset_);
    std::memcpy(out.data(), front.data() + offset_, static_cast<size_t>(n));
    offset_ += n;
    return n;
  }

  int64_t rows() const { return rows_; }

 private:
  explicit ReencodingStream(IpcInput& input) : input_(input) {}

  Status Produce() {
    ZKA_ASSIGN_OR_RETURN(auto batch, input_.Next());
    if (!batch) {
      // The upload's end-of-stream marker tells the server the upload is
      // complete: a stream that simply stops (its writer killed, a file
      // cut at a message boundary) must not get one here, or the server
      // would store the part that arrived as the whole dataset.
      if (!input_.ended_with_marker()) {
        return Status::InvalidData(
            input_.name() + ": expected the end-of-stream marker after the last record batch, " +
            "found the end of the input after " + std::to_string(batches_) + " record batches (" +
            std::to_string(rows_) +
            " rows): the stream is incomplete (its writer was cut short); nothing was stored");
      }
      ZKA_RETURN_IF_ERROR(writer_->Close());
      writer_.reset();
    } else {
      ZKA_ASSIGN_OR_RETURN(arrow::ipc::BatchInfo info, input_.LastBatchInfo());
      ZKA_RETURN_IF_ERROR(arrow::ipc::WriteBatchSliced(*writer_, *input_.schema(), *batch,
                                                       info.custom_metadata,
                                                       serve::kDefaultMaxServedMessageBytes));
      rows_ += batch->length;
      ++batches_;
    }
    pending_.push_back(buffer_.Finish());
    return Status::Ok();
  }

  IpcInput& input_;
  arrow::BufferOutputStream buffer_;
  std::unique_ptr<arrow::ipc::IpcWriter> writer_;
  std::deque<std::shared_ptr<const arrow::Buffer>> pending_;
  int64_t offset_ = 0;
  int64_t rows_ = 0;
  int64_t batches_ = 0;
};

Status RunPut(const PutArgs& args) {
  ZKA_ASSIGN_OR_RETURN(transport::ServerUrl url, ParseUrlArgument(args.url));
  if (url.resource.segments.size() != 2 || url.resource.segments[0] != "datasets") {
    return UsageError("put uploads datasets: expected a URL ending in /datasets/NAME, found " +
                      url.resource.ToTarget());
  }
  if (args.if_version) url.resource.params["if_version"] = std::to_string(*args.if_version);
  ZKA_ASSIGN_OR_RETURN(auto input, IpcInput::Open(args.source, args.read_options));
  ZKA_ASSIGN_OR_RETURN(auto client, ConnectRemote(url, args.remote));
  ZKA_ASSIGN_OR_RETURN(auto upload, ReencodingStream::Open(*input));
  ProgressLine progress("rows");
  int64_t sent = 0;
  auto started = std::chrono::steady_clock::now();
  ZKA_ASSIGN_OR_RETURN(transport::StreamInfo stored,
                       client->Put(url.resource, *upload, [&](int64_t bytes) {
                         sent = bytes;
                         progress.Update(upload->rows(), bytes);
                       }));
  progress.Clear();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr, "zkarrow put: %s rows, %s sent in %.2f s to %s\n",
               FormatCount(upload->rows()).c_str(), FormatBytes(sent).c_str(), seconds,
               args.url.c_str());
  // The server's description of what it stored (version, checksum) is the
  // command's output, for scripts.
  std::printf("%s\n", stored.app_metadata_json.c_str());
  return Status::Ok();
}

}  // namespace

void RegisterPutCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<PutArgs>();
  CLI::App* command =
      app.add_subcommand("put", "Upload an Arrow IPC file or stream as a dataset of zkarrow serve");
  command->footer(
      "URL: grpc://HOST:PORT/datasets/NAME (Arrow Flight), grpc+tls://, http://, https://.\n"
      "The dataset appears whole or not at all, replacing the previous version atomically.\n"
      "Prints what the server stored (name, version, rows, bytes, sha256) as JSON on stdout.\n"
      "Examples:\n"
      "  zkarrow put brokers.arrow grpc://127.0.0.1:8815/datasets/brokers\n"
      "  zkarrow put - http://127.0.0.1:8080/datasets/today --if-version 3 < today.arrows");
  command->add_option("FILE", args->source, "Arrow IPC file or stream; - for stdin")->required();
  command->add_option("URL", args->url, "Server URL ending in /datasets/NAME")->required();
  command
      ->add_option("--if-version", args->if_version,
                   "Store only if the current version is this one (0: the name must be new); "
                   "else fail with a conflict")
      ->check(kNonNegative);
  AddRemoteOptions(*command, args->remote);
  AddIpcInputOptions(*command, args->read_options);
  command->callback([args, &runner] { runner = [args] { return Finish("put", RunPut(*args)); }; });
}

}  // namespace zkarrow::cli

#include "transport/http/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/message.h"
#include "transport/http/http_protocol.h"

namespace zkarrow::transport::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// Beast reads at most 64 KiB a call into its buffer's free capacity.
constexpr size_t kReadBytes = 64 * 1024;

// A connection's read buffer holds the request headers, then each line of
// the body's framing (a chunk header with its extensions, the trailers)
// whole. Beast bounds neither of those (its body limit counts chunk data
// only), so the buffer's own limit does: else one line without an end
// would take all memory. A request past it is refused (FramingTooLong) and
// its connection closed.
size_t ReadBufferLimit(const HttpLimits& limits) { return limits.max_header_bytes + kReadBytes; }
std::string FramingTooLong(const HttpLimits& limits) {
  return "a chunk header or trailer of the request body over the limit of " +
         std::to_string(ReadBufferLimit(limits)) + " bytes";
}

// The host of an authority (a Host header, an Origin without its scheme),
// lowercase and without its port: "[::1]:8080" is "::1", "Name:80" "name".
// Empty when it is none.
std::string HostOfAuthority(std::string_view authority) {
  std::string_view host = authority;
  if (host.starts_with('[')) {
    const size_t end = host.find(']');
    if (end == std::string_view::npos) return "";
    host = host.substr(1, end - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  std::string lower(host);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

bool IEquals(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()),
                        beast::string_view(b.data(), b.size()));
}

// The media type of a Content-Type header, without its parameters.
std::string_view MediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return type;
}

// A response's messages already encoded are gathered into one write up to
// this many bytes (a larger message is written alone).
constexpr int64_t kGatherBytes = 256 * 1024;

// async_write's completion condition for a response's writes: no cap on one
// system call. asio's transfer_all caps each at 64 KiB, so a whole table
// went out as a sendmsg, a trip through the io_context and a timer update
// per 64 KiB, and on loopback the reader woke for each of them; without
// the cap a sendmsg takes what the socket's send buffer has room for.
struct WholeWrites {
  size_t operator()(const boost::system::error_code& ec, size_t) const {
    return ec ? 0 : std::numeric_limits<size_t>::max();
  }
};

// What a request does to the counters: its route label is the first segment
// when it is one the server knows (a bounded set of label values).
std::string RouteOf(const Resource& resource) {
  if (resource.segments.empty()) return "root";
  static constexpr std::string_view kKnown[] = {"znodes",  "changes", "datasets", "actions",
                                                "healthz", "metrics", "flights",  "query"};
  for (std::string_view known : kKnown) {
    if (resource.segments[0] == known) return std::string(known);
  }
  return "other";
}

class Metrics {
 public:
  void CountRequest(const std::string& route, std::string_view method, int status) {
    std::lock_guard lock(mu_);
    ++requests_[{route, std::string(method), status}];
  }
  void AddBytesSent(const std::string& route, int64_t bytes) {
    std::lock_guard lock(mu_);
    sent_[route] += bytes;
  }
  void AddBytesReceived(const std::string& route, int64_t bytes) {
    std::lock_guard lock(mu_);
    received_[route] += bytes;
  }
  // A response the server cut after its headers: an error of its own, or
  // a client that took no bytes for write_timeout.
  void CountStreamCut(const std::string& route) {
    std::lock_guard lock(mu_);
    ++cut_[route];
  }
  // A response the client left before its end: how a live stream's reader
  // normally ends it, so not an error.
  void CountStreamLeft(const std::string& route) {
    std::lock_guard lock(mu_);
    ++left_[route];
  }
  void CountSlowClient() {
    std::lock_guard lock(mu_);
    ++slow_clients_;
  }
  void CountRefusedConnection() {
    std::lock_guard lock(mu_);
    ++refused_connections_;
  }
  void CountHandlerException() {
    std::lock_guard lock(mu_);
    ++handler_exceptions_;
  }

  void Render(std::string& text, int connections, int streams) const {
    std::lock_guard lock(mu_);
    text +=
        "# HELP zkarrow_http_requests_total HTTP requests answered, by route, method and "
        "status.\n# TYPE zkarrow_http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      const auto& [route, method, status] = key;
      text += "zkarrow_http_requests_total{route=\"" + route + "\",method=\"" + method +
              "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(count) + "\n";
    }
    RenderByRoute(text, "zkarrow_http_response_bytes_total",
                  "Response body bytes sent (Arrow messages framed), by route.", sent_);
    RenderByRoute(text, "zkarrow_http_request_bytes_total",
                  "Request body bytes received (uploads, action bodies), by route.", received_);
    RenderByRoute(text, "zkarrow_http_stream_errors_total",
                  "Arrow responses the server cut after their headers (no end-of-stream marker: "
                  "an error, or a client that took no bytes for write_timeout), by route.",
                  cut_);
    RenderByRoute(text, "zkarrow_http_streams_left_by_client_total",
                  "Arrow responses the client closed before their end (how a live stream's "
                  "reader ends it; not an error), by route.",
                  left_);
    text +=
        "# HELP zkarrow_http_slow_client_disconnects_total Connections closed because the "
        "client took no bytes for write_timeout.\n"
        "# TYPE zkarrow_http_slow_client_disconnects_total counter\n"
        "zkarrow_http_slow_client_disconnects_total " +
        std::to_string(slow_clients_) +
        "\n# HELP zkarrow_http_refused_connections_total Connections refused past "
        "max_connections.\n# TYPE zkarrow_http_refused_connections_total counter\n"
        "zkarrow_http_refused_connections_total " +
        std::to_string(refused_connections_) +
        "\n# HELP zkarrow_http_handler_exceptions_total Operations ended by an exception "
        "(out of memory), their connections with them.\n"
        "# TYPE zkarrow_http_handler_exceptions_total counter\n"
        "zkarrow_http_handler_exceptions_total " +
        std::to_string(handler_exceptions_) +
        "\n# HELP zkarrow_http_connections Connections open.\n"
        "# TYPE zkarrow_http_connections gauge\nzkarrow_http_connections " +
        std::to_string(connections) +
        "\n# HELP zkarrow_http_streams Responses and uploads in progress.\n"
        "# TYPE zkarrow_http_streams gauge\nzkarrow_http_streams " +
        std::to_string(streams) + "\n";
  }

 private:
  static void RenderByRoute(std::string& text, const std::string& name, const std::string& help,
                            const std::map<std::string, int64_t>& values) {
    text += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& [route, value] : values) {
      text += name + "{route=\"" + route + "\"} " + std::to_string(value) + "\n";
    }
  }

  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, int64_t> requests_;
  std::map<std::string, int64_t> sent_;
  std::map<std::string, int64_t> received_;
  std::map<std::string, int64_t> cut_;
  std::map<std::string, int64_t> left_;
  int64_t slow_clients_ = 0;
  int64_t refused_connections_ = 0;
  int64_t handler_exceptions_ = 0;
};

// A response that is not an Arrow stream.
struct Reply {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply ErrorReply(const Status& status) {
  return {StatusToHttp(status.code()), std::string(kJsonType), ErrorJson(status)};
}
Reply ErrorReply(int http_status, std::string_view message) {
  return {http_status, std::string(kJsonType), ErrorJson(http_status, message)};
}

// A worker's reply. An exception out of the service (out of memory) would
// end the process with the worker thread and leave its client waiting: it
// becomes the request's error reply, counted like an I/O thread's.
Reply ReplyOf(const std::function<Reply()>& work, Metrics& metrics) {
  try {
    return work();
  } catch (const std::bad_alloc&) {
    metrics.CountHandlerException();
    return ErrorReply(OutOfMemoryError());
  } catch (const std::exception& e) {
    metrics.CountHandlerException();
    return ErrorReply(500, std::string("the server failed this request: ") + e.what());
  }
}

// The frames of the messages of one socket write. WriteFramed writes a
// message's own buffers (metadata, body) and small pieces of its own
// (prefix, padding): the first are referenced (the collector holds the
// messages until the write completed), the others copied here.
class FrameCollector final : public arrow::OutputStream {
 public:
  Status Add(IpcMessage message) {
    current_ = &messages_.emplace_back(std::move(message));
    Status framed = arrow::ipc::WriteFramed(*this, *current_);
    current_ = nullptr;
    return framed;
  }
  Status AddEndOfStream() { return arrow::ipc::WriteEndOfStream(*this); }
  Status Write(std::span<const uint8_t> bytes) override {
    if (bytes.empty()) return Status::Ok();
    if (!Owned(bytes)) {
      copies_.emplace_back(bytes.begin(), bytes.end());
      bytes = copies_.back();
    }
    buffers_.emplace_back(bytes.data(), bytes.size());
    size_ += static_cast<int64_t>(bytes.size());
    return Status::Ok();
  }
  const std::vector<asio::const_buffer>& buffers() const { return buffers_; }
  int64_t size() const { return size_; }
  void Reset() {
    messages_.clear();
    buffers_.clear();
    copies_.clear();
    size_ = 0;
  }

 private:
  bool Owned(std::span<const uint8_t> bytes) const {
    if (current_ == nullptr) return false;
    for (const auto& buffer : {current_->metadata, current_->body}) {
      if (!buffer) continue;
      std::span<const uint8_t> whole = buffer->bytes();
      if (bytes.data() >= whole.data() &&
          bytes.data() + bytes.size() <= whole.data() + whole.size()) {
        return true;
      }
    }
    return false;
  }

  std::vector<IpcMessage> messages_;
  const IpcMessage* current_ = nullptr;  // the one being framed
  std::vector<asio::const_buffer> buffers_;
  std::deque<std::vector<uint8_t>> copies_;  // stable addresses for buffers_
  int64_t size_ = 0;
};

// The body of an upload on its way from the connection's strand (which reads
// the socket) to the worker running ArrowService::Put: one chunk at a time,
// the next read only once the worker took the last one.
class UploadPipe {
 public:
  explicit UploadPipe(std::function<void()> request_more)
      : request_more_(std::move(request_more)) {}

  // I/O side. REQUIRES: the reader asked for more (one chunk in flight).
  void Deliver(std::vector<uint8_t> chunk, bool last) {
    std::lock_guard lock(mu_);
    chunk_ = std::move(chunk);
    position_ = 0;
    last_ = last;
    requested_ = false;
    cv_.notify_all();
  }
  void Fail(Status status) {
    std::lock_guard lock(mu_);
    if (error_.ok()) error_ = std::move(status);
    cv_.notify_all();
  }

  // Worker side.
  Result<int64_t> Read(std::span<uint8_t> out) {
    if (out.empty()) return int64_t{0};
    std::unique_lock lock(mu_);
    while (true) {
      if (!error_.ok()) return error_;
      if (position_ < chunk_.size()) {
        size_t n = std::min(out.size(), chunk_.size() - position_);
        std::copy_n(chunk_.data() + position_, n, out.data());
        position_ += n;
        return static_cast<int64_t>(n);
      }
      if (last_) return int64_t{0};
      if (!requested_) {
        requested_ = true;
        lock.unlock();
        request_more_();
        lock.lock();
        continue;
      }
      cv_.wait(lock);
    }
  }

 private:
  std::function<void()> request_more_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<uint8_t> chunk_;
  size_t position_ = 0;
  bool last_ = false;
  bool requested_ = true;  // the connection reads the first chunk unasked
  Status error_;
};

class PipeInputStream final : public arrow::InputStream {
 public:
  explicit PipeInputStream(std::shared_ptr<UploadPipe> pipe) : pipe_(std::move(pipe)) {}
  Result<int64_t> Read(std::span<uint8_t> out) override { return pipe_->Read(out); }

 private:
  std::shared_ptr<UploadPipe> pipe_;
};

class ConnectionBase;

// Hands work from other threads (a live stream's wakeup, an upload worker)
// to a connection's strand, until the connection closed: afterwards, and
// after the I/O threads stopped, nothing is posted.
class Poster {
 public:
  Poster(asio::any_io_executor strand, std::weak_ptr<ConnectionBase> connection)
      : strand_(std::move(strand)), connection_(std::move(connection)) {}
  void Post(std::function<void(ConnectionBase&)> work) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    asio::post(strand_, [connection = connection_, work = std::move(work)] {
      if (auto alive = connection.lock()) work(*alive);
    });
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  std::mutex mu_;
  bool closed_ = false;
  asio::any_io_executor strand_;
  std::weak_ptr<ConnectionBase> connection_;
};

class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  virtual ~ConnectionBase() = default;
  virtual void Start() = 0;
  // From any thread: closes the connection on its strand.
  virtual void PostClose() = 0;
  // On the strand, posted by a Poster.
  virtual void OnWakeup() = 0;
  virtual void OnUploadWanted() = 0;
  virtual void OnWorkDone(Reply reply) = 0;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const ServerOptions& options, ArrowService& service, const HttpLimits& limits,
       std::vector<StaticFile> static_files)
      : options_(options),
        limits_(limits),
        service_(service),
        static_files_(std::move(static_files)) {}

  ~Impl() { Shutdown(); }

  Status Listen() {
    if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
      return Status::InvalidArgument("TLS needs both a certificate and a key file");
    }
    if (!options_.tls_cert_file.empty()) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
      boost::system::error_code ec;
      tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
      if (ec) {
        return Status::InvalidArgument("TLS certificate " + options_.tls_cert_file + ": " +
                                       ec.message());
      }
      tls_->use_private_key_file(options_.tls_key_file, asio::ssl::context::pem, ec);
      if (ec) {
        return Status::InvalidArgument("TLS key " + options_.tls_key_file + ": " + ec.message());
      }
    }
    if (limits_.io_threads < 1 || options_.max_concurrent_streams < 1 ||
        limits_.max_connections < 1 || limits_.upload_chunk_bytes < 1) {
      return Status::InvalidArgument(
          "HTTP server limits: io_threads, max_concurrent_streams, max_connections and "
          "upload_chunk_bytes must be at least 1");
    }
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) {
      return Status::InvalidArgument("HTTP listen address \"" + options_.host +
                                     "\": expected an IP address (" + ec.message() + ")");
    }
    if (options_.port < 0 || options_.port > 65535) {
      return Status::InvalidArgument("HTTP listen port: expected 0..65535, found " +
                                     std::to_string(options_.port));
    }
    tcp::endpoint endpoint(address, static_cast<uint16_t>(options_.port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IoError("HTTP listen on " + options_.host + ":" +
                             std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < limits_.io_threads; ++i) io_threads_.emplace_back([this] { RunIo(); });
    return Status::Ok();
  }

  int port() const { return port_; }

  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    std::vector<std::shared_ptr<ConnectionBase>> open;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, weak] : connections_) {
        if (auto connection = weak.lock()) open.push_back(std::move(connection));
      }
    }

    for (auto& connection : open) connection->PostClose();
    open.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, limits_.shutdown_timeout,
                   [this] { return connections_.empty() && workers_running_ == 0; });
    }
    work_.reset();
    ioc_.stop();
    for (std::thread& thread : io_threads_) {
      if (thread.joinable()) thread.join();
    }
    // Uploads see their pipe failed and return; a worker still inside the
    // service is waited for (ArrowService::Put returns once its input fails).
    std::list<Worker> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (Worker& worker : workers) worker.thread.join();
  }

  // --- used by connections ---
  const ServerOptions& options() const { return options_; }
  const HttpLimits& limits() const { return limits_; }
  ArrowService& service() { return service_; }
  Metrics& metrics() { return metrics_; }
  // The static file at the resource's path ("/" + its segments), if any.
  const StaticFile* FindStaticFile(const Resource& resource) const {
    std::string path;
    for (const std::string& segment : resource.segments) path += "/" + segment;
    if (path.empty()) path = "/";
    for (const StaticFile& file : static_files_) {
      if (file.path == path) return &file;
    }
    return nullptr;
  }
  asio::ssl::context* tls() { return tls_ ? &*tls_ : nullptr; }
  // Whether a Host header's host may name this server. A page that reaches
  // the server through DNS rebinding sends a name of its own site, which a
  // browser never resolves for "localhost" and its subdomains. An IP address
  // rebinds nothing: a page with that origin came from the address itself.
  bool IsAllowedHost(const std::string& host) const {
    if (host.empty()) return false;
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    if (!ec) return true;
    if (host == "localhost" || host.ends_with(".localhost")) return true;
    return std::any_of(limits_.allowed_hosts.begin(), limits_.allowed_hosts.end(),
                       [&](const std::string& name) { return IEquals(name, host); });
  }

  bool TryAcquireStream() {
    int current = streams_.load();
    while (current < options_.max_concurrent_streams) {
      if (streams_.compare_exchange_weak(current, current + 1)) return true;
    }
    return false;
  }
  void ReleaseStream() { streams_.fetch_sub(1); }

  void Unregister(uint64_t id) {
    std::lock_guard lock(mu_);
    connections_.erase(id);
    cv_.notify_all();
  }

  // Runs `work` on a thread of its own (blocking service calls: Put,
  // DoAction, Delete); the caller holds a stream slot for it, which the
  // worker releases when done.
  void RunWorker(std::function<void()> work) {
    std::lock_guard lock(mu_);
    // Join the workers that finished, so threads do not pile up.
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    ++workers_running_;
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back(Worker{std::thread([this, done, work = std::move(work)] {
                                work();
                                ReleaseStream();
                                std::lock_guard done_lock(mu_);
                                --workers_running_;
                                done->store(true);
                                cv_.notify_all();
                              }),
                              done});
  }

  void RenderMetrics(std::string& text) {
    int connections;
    {
      std::lock_guard lock(mu_);
      connections = static_cast<int>(connections_.size());
    }
    metrics_.Render(text, connections, streams_.load());
  }

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           [this](boost::system::error_code ec, tcp::socket socket) {
                             if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
                               return;
                             }
                             if (!ec) OnAccept(std::move(socket));
                             Accept();
                           });
  }

  void OnAccept(tcp::socket socket);
  // TCP keepalive as limits_ say (keepalive_time, keepalive_timeout).
  void SetKeepalive(tcp::socket& socket) const;

  // An exception out of a handler (out of memory) leaves run() and would end
  // the process with the thread: it ends only the operation that threw,
  // whose handler (with the connection it held) is gone, and the thread
  // runs the io_context again.
  void RunIo() {
    while (true) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception&) {
        metrics_.CountHandlerException();
      }
    }
  }

  // Declared in destruction order: the io_context (and the connections its
  // handlers hold) goes before the state connections use.
  ServerOptions options_;
  HttpLimits limits_;
  ArrowService& service_;
  const std::vector<StaticFile> static_files_;
  Metrics metrics_;
  std::atomic<int> streams_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool shut_down_ = false;
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::weak_ptr<ConnectionBase>> connections_;
  std::list<Worker> workers_;
  int workers_running_ = 0;
  std::optional<asio::ssl::context> tls_;
  int port_ = 0;
  asio::io_context ioc_;
  // Keeps the I/O threads running while no operation is pending (every
  // connection waiting for a live stream, the acceptor closed by Shutdown)
  // until Shutdown let them go.
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  tcp::acceptor acceptor_{asio::make_strand(ioc_)};
  std::vector<std::thread> io_threads_;
};

namespace {

using ServerImpl = HttpServer::Impl;

// One client connection: a chain of asynchronous operations on its strand.
// Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <typename Stream>
class Connection final : public ConnectionBase {
 public:
  Connection(ServerImpl& server, uint64_t id, Stream stream)
      : server_(server),
        id_(id),
        stream_(std::move(stream)),
        buffer_(ReadBufferLimit(server.limits())) {}

  ~Connection() override {
    if (poster_) poster_->Close();
    if (message_stream_ && !stream_ended_) message_stream_->Cancel();
    if (holds_response_slot_) server_.ReleaseStream();
    if (pipe_) pipe_->Fail(Status::Unavailable("connection closed"));
    server_.Unregister(id_);
  }

  void Start() override {
    poster_ = std::make_shared<Poster>(stream_.get_executor(), weak_from_this());
    if constexpr (kTls) {
      Lowest().expires_after(server_.limits().idle_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = Self()](boost::system::error_code ec) {
                                if (ec) return self->Close();
                                self->ReadRequest();
                              });
    } else {
      asio::dispatch(stream_.get_executor(), [self = Self()] { self->ReadRequest(); });
    }
  }

  void PostClose() override {
    asio::post(stream_.get_executor(), [self = Self()] {
      self->shutting_down_ = true;
      // A pending write or upload completes with an error and closes; an
      // idle connection or a live stream waiting for data closes now.
      if (self->pipe_) self->pipe_->Fail(Status::Unavailable("the server is shutting down"));
      self->Close();
    });
  }

  void OnWakeup() override {
    if (closed_ || !waiting_) return;
    waiting_ = false;
    auto self = std::move(self_while_waiting_);
    Pump();
  }

  void OnUploadWanted() override {
    if (closed_ || !upload_parser_ || upload_io_in_flight_) return;
    ReadUploadChunk();
  }

  void OnWorkDone(Reply reply) override {
    auto self = std::move(self_while_waiting_);
    if (closed_) return;
    work_reply_ = std::move(reply);
    // A read of the upload still in flight finishes first (one read and one
    // write at a time on the stream); its handler sends the reply.
    if (!upload_io_in_flight_) FinishWork();
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  std::shared_ptr<Connection> Self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  const HttpLimits& limits() const { return server_.limits(); }

  // --- requests ---

  void ReadRequest() {
    if (shutting_down_) return Close();
    header_parser_.emplace();
    header_parser_->header_limit(limits().max_header_bytes);
    // Body limits are set per route once the headers are known (a limit here
    // would refuse a large Content-Length before the route is).
    header_parser_->body_limit(kNoBodyLimit);
    body_parser_.reset();
    upload_parser_.reset();
    must_close_ = false;
    route_ = "other";
    ++request_;
    EndHangupWatch();
    Lowest().expires_after(limits().idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *header_parser_,
        [self = Self()](boost::system::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(boost::system::error_code ec) {
    if (ec) {
      must_close_ = true;
      if (ec == bhttp::error::header_limit) {
        return SendReply(ErrorReply(431, "request headers over the limit of " +
                                             std::to_string(limits().max_header_bytes) + " bytes"));
      }
      // A client that went away, idled out or sent nothing at all.
      if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::eof || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || buffer_.size() == 0) {
        return Close();
      }
      return SendReply(ErrorReply(400, "malformed HTTP request: " + ec.message()));
    }
    const auto& request = header_parser_->get();
    verb_ = request.method();
    // A metric label: methods Beast does not know would make it unbounded.
    method_ = verb_ == bhttp::verb::unknown ? "other" : std::string(request.method_string());
    accept_ = std::string(request[bhttp::field::accept]);
    keep_alive_ = request.keep_alive();
    // A body the server does not read keeps the connection from carrying
    // another request: replies sent before reading it close the connection.
    must_close_ = !header_parser_->is_done();
    auto resource = ParseTarget(std::string_view(request.target().data(), request.target().size()));
    if (!resource.ok()) return SendReply(ErrorReply(resource.status()));
    resource_ = std::move(*resource);
    route_ = RouteOf(resource_);
    if (std::optional<Reply> refused = RefusedForBrowsers(request)) {
      return SendReply(std::move(*refused));
    }
    // A page's files carry no data: they load without the token, which the
    // page then asks for.
    if (verb_ == bhttp::verb::get) {
      if (const StaticFile* file = server_.FindStaticFile(resource_)) {
        route_ = "static";
        return SendReply({200, file->content_type, std::string(file->body), file->headers});
      }
    }
    if (!Authorized(request)) {
      Reply reply = ErrorReply(401, "a valid \"Authorization: Bearer TOKEN\" header is required");
      return SendReply(std::move(reply), /*www_authenticate=*/true);
    }
    const auto& segments = resource_.segments;
    if (request.method() == bhttp::verb::put && segments.size() == 2 && segments[0] == "datasets") {
      return StartUpload();
    }
    if (header_parser_->is_done()) return Handle("");
    // The parser checks a Content-Length against its limit with the headers
    // only, so this one is checked here; chunked bodies are checked as read.
    auto length = header_parser_->content_length();
    if (length && *length > limits().max_small_body_bytes) return SmallBodyTooLarge();
    body_parser_.emplace(std::move(*header_parser_));
    body_parser_->body_limit(limits().max_small_body_bytes);
    Lowest().expires_after(limits().idle_timeout);
    bhttp::async_read(
        stream_, buffer_, *body_parser_,
        [self = Self()](boost::system::error_code read_ec, size_t) { self->OnSmallBody(read_ec); });
  }

  void OnSmallBody(boost::system::error_code ec) {
    if (ec == bhttp::error::body_limit) return SmallBodyTooLarge();
    if (ec == bhttp::error::buffer_overflow) {
      return SendReply(ErrorReply(400, FramingTooLong(limits())));
    }
    if (ec) return Close();
    must_close_ = false;
    std::string body = std::move(body_parser_->get().body());
    server_.metrics().AddBytesReceived(route_, static_cast<int64_t>(body.size()));
    Handle(std::move(body));
  }

  void SmallBodyTooLarge() {
    SendReply(ErrorReply(413, "request body over the limit of " +
                                  std::to_string(limits().max_small_body_bytes) + " bytes"));
  }

  // What keeps a web page of another site from using the server through its
  // user's browser: a Host that is not the server's (DNS rebinding), a
  // request that changes state from another origin (the browser sends its
  // Origin; curl and zkarrow send none), a JSON endpoint's body of a type a
  // page may send anywhere without asking (a form's, text/plain). The server
  // answers no CORS preflight, so a page cannot ask for more.
  std::optional<Reply> RefusedForBrowsers(const bhttp::request<bhttp::empty_body>& request) const {
    const auto host_field = request[bhttp::field::host];
    const std::string_view host(host_field.data(), host_field.size());
    if (!host.empty() && !server_.IsAllowedHost(HostOfAuthority(host))) {
      return ErrorReply(421, "Host \"" + std::string(host) +
                                 "\" is not a name of this server: requests by name are "
                                 "answered for localhost and the names given to serve "
                                 "--http-allowed-hosts, which keeps pages of other sites out "
                                 "(DNS rebinding); use the server's IP address or add the name");
    }
    if (verb_ == bhttp::verb::get || verb_ == bhttp::verb::head) return std::nullopt;
    const auto origin_field = request[bhttp::field::origin];
    const std::string_view origin(origin_field.data(), origin_field.size());
    if (!origin.empty()) {
      // Same origin: the page came from this authority (its scheme may
      // differ behind a proxy that ends TLS).
      const size_t scheme_end = origin.find("://");
      const bool same = scheme_end != std::string_view::npos && !host.empty() &&
                        IEquals(origin.substr(scheme_end + 3), host);
      if (!same) {
        return ErrorReply(403, "cross-origin " + method_ + " refused: Origin \"" +
                                   std::string(origin) + "\" is not this server (Host \"" +
                                   std::string(host) +
                                   "\"); use the server's own page at / or a client that "
                                   "sends no Origin header (curl, zkarrow)");
      }
    }
    const auto& segments = resource_.segments;
    if (verb_ == bhttp::verb::post && segments.size() == 2 && segments[0] == "actions") {
      const auto type_field = request[bhttp::field::content_type];
      const std::string_view type(type_field.data(), type_field.size());
      // Without a body there is no type to check; a form always has one.
      const bool has_body = !header_parser_->is_done();
      if (type.empty() ? has_body : !IEquals(MediaType(type), kJsonType)) {
        return ErrorReply(
            415, "POST " + resource_.ToTarget() + " takes a JSON body: expected Content-Type " +
                     std::string(kJsonType) + ", found \"" + std::string(type) + "\"");
      }
    }
    return std::nullopt;
  }

  bool Authorized(const bhttp::request<bhttp::empty_body>& request) const {
    const std::string& token = server_.options().bearer_token;
    if (token.empty()) return true;
    auto header = request[bhttp::field::authorization];
    std::string_view value(header.data(), header.size());
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() < kScheme.size() ||
        !beast::iequals(beast::string_view(value.data(), kScheme.size()),
                        beast::string_view(kScheme.data(), kScheme.size()))) {
      return false;
    }
    return ConstantTimeEquals(value.substr(kScheme.size()), token);
  }

  void Handle(std::string body) {
    const auto& segments = resource_.segments;
    bhttp::verb method = verb_;
    ArrowService& service = server_.service();
    bool listing = segments.empty() || (segments.size() == 1 &&
                                        (segments[0] == "datasets" || segments[0] == "flights"));
    if (method == bhttp::verb::get && listing) {
      auto infos = service.List();
      if (!infos.ok()) return SendReply(ErrorReply(infos.status()));
      auto json = StreamInfoListToJson(*infos);
      if (!json.ok()) return SendReply(ErrorReply(json.status()));
      return SendReply({200, std::string(kJsonType), std::move(*json)});
    }
    if (method == bhttp::verb::get && segments.size() == 1 && segments[0] == "healthz") {
      Status health = service.Health();
      if (!health.ok()) return SendReply(ErrorReply(503, health.message()));
      return SendReply({200, "text/plain; charset=utf-8", "ok\n"});
    }
    if (method == bhttp::verb::get && segments.size() == 1 && segments[0] == "metrics") {
      std::string text;
      server_.RenderMetrics(text);
      service.AppendMetrics(text);
      return SendReply({200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)});
    }
    if (method == bhttp::verb::get && segments.size() == 1 && segments[0] == "actions") {
      nlohmann::json list = nlohmann::json::array();
      for (const ActionType& action : service.ListActions()) {
        list.push_back({{"type", action.type}, {"description", action.description}});
      }
      return SendReply({200, std::string(kJsonType),
                        list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
    }
    if (method == bhttp::verb::post && segments.size() == 2 && segments[0] == "actions") {
      return Offload([&service, type = segments[1], body = std::move(body)] {
        auto result = service.DoAction(type, body);
        if (!result.ok()) return ErrorReply(result.status());
        return Reply{200, std::string(kJsonType), std::move(*result)};
      });
    }
    if (method == bhttp::verb::delete_ && segments.size() == 2 && segments[0] == "datasets") {
      return Offload([&service, resource = resource_] {
        Status status = service.Delete(resource);
        if (!status.ok()) return ErrorReply(status);
        return Reply{204, "", ""};
      });
    }
    if (method == bhttp::verb::post && segments.size() == 1 && segments[0] == "query") {
      // A statement too long for a URL: the body is the sql= parameter,
      // answered as GET /query?sql=BODY (bounded by the small-body limit).
      if (resource_.params.count("sql")) {
        return SendReply(ErrorReply(400, "POST /query takes the SQL as its body, not as sql="));
      }
      resource_.params["sql"] = std::move(body);
      return StartStream();
    }
    if (method == bhttp::verb::get) return StartStream();
    return SendReply(
        ErrorReply(405, "method " + method_ + " not allowed on " + resource_.ToTarget()));
  }

  // --- replies that are not Arrow streams ---

  void SendReply(Reply reply, bool www_authenticate = false) {
    server_.metrics().CountRequest(route_, method_, reply.status);
    server_.metrics().AddBytesSent(route_, static_cast<int64_t>(reply.body.size()));
    auto response = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(reply.status), 11);
    response->set(bhttp::field::server, "zkarrow");
    if (!reply.content_type.empty()) response->set(bhttp::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) response->set(name, value);
    if (www_authenticate) response->set(bhttp::field::www_authenticate, "Bearer");
    response->body() = std::move(reply.body);
    response->keep_alive(keep_alive_ && !must_close_ && !shutting_down_);
    response->prepare_payload();
    Lowest().expires_after(limits().write_timeout);
    bhttp::async_write(stream_, *response,
                       [self = Self(), response](boost::system::error_code ec, size_t) {
                         if (self->closed_) return;
                         if (ec) return self->Close();
                         if (self->must_close_) return self->LingerClose();
                         if (!response->keep_alive()) return self->Close();
                         self->ReadRequest();
                       });
  }

  // A blocking service call on a worker thread, its reply sent from here.
  void Offload(std::function<Reply()> work) {
    if (!server_.TryAcquireStream()) return SendReply(Busy());
    self_while_waiting_ = Self();
    server_.RunWorker([poster = poster_, work = std::move(work), &metrics = server_.metrics()] {
      Reply reply = ReplyOf(work, metrics);
      poster->Post([reply = std::move(reply)](ConnectionBase& connection) mutable {
        connection.OnWorkDone(std::move(reply));
      });
    });
  }

  Reply Busy() const {
    return ErrorReply(503, "the server has " +
                               std::to_string(server_.options().max_concurrent_streams) +
                               " responses and uploads in progress, its limit: retry later");
  }

  void FinishWork() {
    Reply reply = std::move(*work_reply_);
    work_reply_.reset();
    if (upload_parser_) {
      // Unread upload bytes (a refused or malformed upload) end the
      // connection once the client had the reply.
      if (!upload_parser_->is_done()) must_close_ = true;
      pipe_.reset();
    }
    SendReply(std::move(reply));
  }

  // --- uploads ---

  void StartUpload() {
    auto length = header_parser_->content_length();
    int64_t limit = server_.options().max_upload_bytes;
    if (length && *length > static_cast<uint64_t>(limit)) {
      return SendReply(ErrorReply(413, "upload of " + std::to_string(*length) +
                                           " bytes is over the limit of " + std::to_string(limit) +
                                           " bytes"));
    }
    if (!server_.TryAcquireStream()) return SendReply(Busy());
    bool expects_continue =
        beast::iequals(header_parser_->get()[bhttp::field::expect], "100-continue");
    upload_parser_.emplace(std::move(*header_parser_));
    // Beast reads into the buffer's free capacity (at most 64 KiB a read):
    // grown only as far as the headers needed, it took an upload a few
    // hundred bytes per system call.
    buffer_.reserve(kReadBytes);
    upload_parser_->body_limit(static_cast<uint64_t>(limit));
    chunk_.resize(limits().upload_chunk_bytes);
    pipe_ = std::make_shared<UploadPipe>([poster = poster_] {
      poster->Post([](ConnectionBase& connection) { connection.OnUploadWanted(); });
    });
    self_while_waiting_ = Self();
    server_.RunWorker([&service = server_.service(), &metrics = server_.metrics(),
                       resource = resource_, pipe = pipe_, poster = poster_] {
      Reply reply = ReplyOf(
          [&]() -> Reply {
            bool existed = service.Describe(resource).ok();
            PipeInputStream input(pipe);
            auto stored = service.Put(resource, input);
            if (!stored.ok()) return ErrorReply(stored.status());
            auto json = StreamInfoToJson(*stored);
            if (!json.ok()) return ErrorReply(json.status());
            return {existed ? 200 : 201, std::string(kJsonType), std::move(*json)};
          },
          metrics);
      poster->Post([reply = std::move(reply)](ConnectionBase& connection) mutable {
        connection.OnWorkDone(std::move(reply));
      });
    });
    if (!expects_continue) return ReadUploadChunk();
    auto proceed =
        std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
    // Counts as upload I/O: no read starts and no reply is written until
    // it completed.
    upload_io_in_flight_ = true;
    Lowest().expires_after(limits().write_timeout);
    bhttp::async_write(stream_, *proceed,
                       [self = Self(), proceed](boost::system::error_code ec, size_t) {
                         self->upload_io_in_flight_ = false;
                         if (self->closed_) return;
                         if (ec) return self->Close();  // fails the upload
                         self->ReadUploadChunk();
                       });
  }

  void ReadUploadChunk() {
    if (work_reply_) return FinishWork();
    auto& body = upload_parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    body.more = true;
    upload_io_in_flight_ = true;
    Lowest().expires_after(limits().read_timeout);
    bhttp::async_read(
        stream_, buffer_, *upload_parser_,
        [self = Self()](boost::system::error_code ec, size_t) { self->OnUploadChunk(ec); });
  }

  void OnUploadChunk(boost::system::error_code ec) {
    upload_io_in_flight_ = false;
    if (closed_) return;
    if (ec == bhttp::error::need_buffer) ec = {};
    size_t filled = chunk_.size() - upload_parser_->get().body().size;
    if (work_reply_) return FinishWork();  // the worker is done with the body
    if (ec == bhttp::error::body_limit) {
      pipe_->Fail(Status::OutOfRange("upload over the limit of " +
                                     std::to_string(server_.options().max_upload_bytes) +
                                     " bytes"));
      return;
    }
    if (ec == bhttp::error::buffer_overflow) {
      pipe_->Fail(Status::InvalidData(FramingTooLong(limits())));
      return;
    }
    if (ec) {
      // Cut or malformed: the worker fails and its reply goes out (if the
      // client is still there).
      pipe_->Fail(Status::InvalidData("upload cut short: " + ec.message()));
      return;
    }
    server_.metrics().AddBytesReceived(route_, static_cast<int64_t>(filled));
    bool last = upload_parser_->is_done();
    if (filled == 0 && !last) return ReadUploadChunk();
    pipe_->Deliver(std::vector<uint8_t>(chunk_.begin(), chunk_.begin() + static_cast<long>(filled)),
                   last);
  }

  // --- Arrow stream responses ---

  void StartStream() {
    if (!server_.TryAcquireStream()) return SendReply(Busy());
    holds_response_slot_ = true;
    // The Accept header's codecs is the codecs parameter (a parameter in
    // the URL wins): one option on every transport.
    arrow::ipc::Compression accepted = CompressionFromAccept(accept_);
    if (accepted != arrow::ipc::Compression::kNone && !resource_.Param(kCodecsParam)) {
      resource_.params[kCodecsParam] = std::string(CodecName(accepted));
    }
    auto get_options = TakeGetOptions(resource_);
    if (!get_options.ok()) {
      ReleaseResponseSlot();
      return SendReply(ErrorReply(get_options.status()));
    }
    auto stream = server_.service().Get(resource_, *get_options);
    if (!stream.ok()) {
      ReleaseResponseSlot();
      return SendReply(ErrorReply(stream.status()));
    }
    message_stream_ = std::move(*stream);
    stream_ended_ = false;
    headers_sent_ = false;
    Pump();
  }

  void ReleaseResponseSlot() {
    if (holds_response_slot_) server_.ReleaseStream();
    holds_response_slot_ = false;
  }

  // Pulls what the stream has ready, up to kGatherBytes, and writes it as
  // one chunk (after the headers the first time, before the last chunk at
  // the end): a small response (headers, schema, a short batch, the
  // end-of-stream marker, the last chunk) is one system call and one TCP
  // segment instead of one each. Runs again when the write is done or, for
  // a live stream with nothing to send, when the stream wakes us.
  void Pump() {
    frames_.Reset();
    bool end = false;
    while (!end && frames_.size() < kGatherBytes) {
      IpcMessage message;
      auto poll = message_stream_->Next(&message);
      if (!poll.ok()) {
        stream_ended_ = true;
        if (frames_.size() > 0) {
          // What was pulled before the error goes out first, as it would
          // have one write at a time; then the response is cut.
          if (!headers_sent_) PrepareHeaders();
          server_.metrics().AddBytesSent(route_, frames_.size());
          return Write(false, [this] {
            server_.metrics().CountStreamCut(route_);
            Close();
          });
        }
        if (!headers_sent_) {
          // Nothing went out yet: the client gets the error as a reply.
          frames_.Reset();
          message_stream_.reset();
          ReleaseResponseSlot();
          return SendReply(ErrorReply(poll.status()));
        }
        // The headers are out: the response ends without the end-of-stream
        // marker and without the last chunk, so every reader sees it cut.
        server_.metrics().CountStreamCut(route_);
        return Close();
      }
      if (*poll == MessageStream::Poll::kPending) break;
      Status framed;
      if (*poll == MessageStream::Poll::kMessage) {
        framed = frames_.Add(std::move(message));
      } else {
        end = true;
        stream_ended_ = true;
        message_stream_.reset();
        framed = frames_.AddEndOfStream();
      }
      if (!framed.ok()) {
        server_.metrics().CountStreamCut(route_);
        return Close();
      }
    }
    // Nothing to send yet: the headers wait for the first message, so that
    // a stream failing before it (a query's SQL error or timeout) is the
    // request's error with its status. A live stream has its schema at once
    // (/changes), so its headers go out at once all the same.
    if (frames_.size() == 0 && !end) return Wait();
    if (!headers_sent_) PrepareHeaders();
    server_.metrics().AddBytesSent(route_, frames_.size());
    Write(end, [this, end] {
      frames_.Reset();
      if (!end) return Pump();
      ReleaseResponseSlot();
      if (!stream_keep_alive_) return Close();
      ReadRequest();
    });
  }

  // Counts the response and renders its headers for the next Write.
  void PrepareHeaders() {
    headers_sent_ = true;
    server_.metrics().CountRequest(route_, method_, 200);
    bhttp::response<bhttp::empty_body> header(bhttp::status::ok, 11);
    header.set(bhttp::field::server, "zkarrow");
    header.set(bhttp::field::content_type, std::string(kArrowStreamType));
    header.set(bhttp::field::cache_control, "no-store");
    header.chunked(true);
    stream_keep_alive_ = keep_alive_ && !must_close_ && !shutting_down_;
    header.keep_alive(stream_keep_alive_);
    std::ostringstream text;
    text << header.base();
    header_text_ = std::move(text).str();
  }

  // Writes the rendered headers (if any), the frames as one chunk (if any)
  // and, at the end, the last chunk; then runs `next`.
  void Write(bool end, std::function<void()> next) {
    out_.clear();
    if (!header_text_.empty()) out_.push_back(asio::buffer(header_text_));
    if (frames_.size() > 0) {
      chunk_header_.emplace(static_cast<size_t>(frames_.size()));
      for (asio::const_buffer b : beast::buffers_range_ref(*chunk_header_)) out_.push_back(b);
      out_.insert(out_.end(), frames_.buffers().begin(), frames_.buffers().end());
      for (asio::const_buffer b : beast::buffers_range_ref(chunk_crlf_)) out_.push_back(b);
    }
    if (end) {
      for (asio::const_buffer b : beast::buffers_range_ref(chunk_last_)) out_.push_back(b);
    }
    Lowest().expires_after(limits().write_timeout);
    asio::async_write(
        stream_, out_, WholeWrites{},
        [self = Self(), next = std::move(next)](boost::system::error_code ec, size_t) {
          if (self->closed_) return;
          if (ec) return self->WriteFailed(ec);
          self->header_text_.clear();
          next();
        });
  }

  // A live stream with nothing to send: woken by the stream (OnWakeup).
  void Wait() {
    waiting_ = true;
    self_while_waiting_ = Self();
    Lowest().expires_never();
    message_stream_->NotifyWhenReady([poster = poster_] {
      poster->Post([](ConnectionBase& connection) { connection.OnWakeup(); });
    });
    WatchForHangup();
  }

  // A client that goes away while its response has nothing to send (a
  // quiet live stream, a query waiting for its worker) would be noticed
  // only at the next write, holding a stream slot until then. So the
  // connection is watched for the client's FIN (or a reset), without
  // reading: bytes that came stay for TLS and for a next request. The FIN
  // is seen behind bytes not read, as a TLS client's close leaves them (its
  // close_notify alert goes first), and bytes alone do not wake the watch.
  // A client that half-closes after its request is taken as gone as well:
  // one that wants its response keeps its sending side open until it has
  // it. Once per response, ended by the next request's read; a watch that
  // woke before that acts for its own response only (acting for a later one
  // closed the connection with that request handled and not answered; a
  // browser sends a request lost on a kept connection again, and a delete
  // ran twice).
  void WatchForHangup() {
    if (hangup_watch_ == request_ || !OpenHangupEvents()) return;
    hangup_watch_ = request_;
    hangup_events_->async_wait(asio::posix::stream_descriptor::wait_read,
                               [self = Self(), request = request_](boost::system::error_code ec) {
                                 // Cancelled: by the next request's read or by Close().
                                 if (ec || self->closed_ || self->hangup_watch_ != request) return;
                                 if (self->message_stream_ && !self->stream_ended_) {
                                   self->server_.metrics().CountStreamLeft(self->route_);
                                 }
                                 self->Close();
                               });
  }

  // An epoll set of the socket alone for EPOLLRDHUP (EPOLLERR and EPOLLHUP
  // come with it): readable once the client's FIN or a reset came. A wait
  // on the socket itself wakes at every byte that arrives and, with bytes
  // left unread, at once each time it is armed again (asio modifies the
  // socket's epoll registration for each wait, which reports it readable
  // anew). Open while the watch is, so that its descriptors are bounded by
  // the stream slots. Best effort: without it the client's end is noticed
  // at the next write.
  bool OpenHangupEvents() {
    const int set = ::epoll_create1(EPOLL_CLOEXEC);
    if (set < 0) return false;
    epoll_event fin{};
    fin.events = EPOLLRDHUP;
    asio::posix::stream_descriptor events(stream_.get_executor());
    boost::system::error_code ec;
    if (::epoll_ctl(set, EPOLL_CTL_ADD, Lowest().socket().native_handle(), &fin) == 0) {
      events.assign(set, ec);
    }
    if (!events.is_open()) {
      ::close(set);
      return false;
    }
    hangup_events_.emplace(std::move(events));
    return true;
  }

  // Closing the set cancels its wait.
  void EndHangupWatch() {
    hangup_watch_ = 0;
    hangup_events_.reset();
  }

  // A write that timed out is the server's cut of a client not reading;
  // any other failed write, a client gone (reset, closed).
  void WriteFailed(boost::system::error_code ec) {
    const bool timed_out = ec == beast::error::timeout;
    if (timed_out) server_.metrics().CountSlowClient();
    if (!stream_ended_) {
      if (timed_out) {
        server_.metrics().CountStreamCut(route_);
      } else {
        server_.metrics().CountStreamLeft(route_);
      }
    }
    Close();
  }

  // --- closing ---

  void Close() {
    if (closed_) return;
    closed_ = true;
    waiting_ = false;
    // Released when this handler returns (the caller holds a reference).
    auto self = std::move(self_while_waiting_);
    poster_->Close();
    if (message_stream_) {
      if (!stream_ended_) message_stream_->Cancel();
      message_stream_.reset();
    }
    ReleaseResponseSlot();
    if (pipe_) pipe_->Fail(Status::IoError("the connection closed before the upload ended"));
    EndHangupWatch();
    boost::system::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  // After a reply sent with body bytes still unread: closing at once would
  // make the kernel answer those bytes with a reset, which can destroy the
  // reply before the client read it. Stop sending, then discard what comes
  // for a short bounded time.
  void LingerClose() {
    boost::system::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    linger_buffer_.resize(16 * 1024);
    Lowest().expires_after(std::chrono::seconds(2));
    Drain();
  }
  void Drain() {
    Lowest().async_read_some(asio::buffer(linger_buffer_),
                             [self = Self()](boost::system::error_code ec, size_t) {
                               if (ec || self->closed_) return self->Close();
                               self->Drain();
                             });
  }

  ServerImpl& server_;
  uint64_t id_;
  Stream stream_;
  std::shared_ptr<Poster> poster_;
  // While nothing of asio's holds the connection (waiting for a live
  // stream's wakeup or a worker's reply), it holds itself; the wakeup, the
  // reply or Close() lets go.
  std::shared_ptr<Connection> self_while_waiting_;
  beast::flat_buffer buffer_;
  bool closed_ = false;
  bool shutting_down_ = false;
  bool must_close_ = false;
  bool keep_alive_ = false;

  // The request being served.
  uint64_t request_ = 0;  // its number on this connection, from 1
  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> body_parser_;
  std::string method_;
  bhttp::verb verb_ = bhttp::verb::unknown;
  std::string accept_;
  std::string route_ = "other";
  Resource resource_;

  // An Arrow stream response.
  std::unique_ptr<MessageStream> message_stream_;
  bool holds_response_slot_ = false;
  bool stream_ended_ = false;
  bool headers_sent_ = false;
  bool waiting_ = false;
  uint64_t hangup_watch_ = 0;  // the request whose response is watched, or 0
  std::optional<asio::posix::stream_descriptor> hangup_events_;  // its epoll set
  bool stream_keep_alive_ = false;
  std::string header_text_;  // rendered, not yet written
  FrameCollector frames_;
  std::optional<bhttp::chunk_header> chunk_header_;
  bhttp::chunk_crlf chunk_crlf_;
  bhttp::chunk_last<> chunk_last_;
  std::vector<asio::const_buffer> out_;  // the write in progress

  // An upload, or other work on a worker thread.
  std::optional<bhttp::request_parser<bhttp::buffer_body>> upload_parser_;
  std::shared_ptr<UploadPipe> pipe_;
  std::vector<uint8_t> chunk_;
  bool upload_io_in_flight_ = false;
  std::optional<Reply> work_reply_;
  std::vector<uint8_t> linger_buffer_;
};

}  // namespace

void HttpServer::Impl::SetKeepalive(tcp::socket& socket) const {
  // The probes share keepalive_timeout: a peer is gone after all of them
  // went unanswered.
  constexpr int kProbes = 4;
  const auto seconds = [](std::chrono::milliseconds ms) {
    return std::max<int>(1, static_cast<int>(ms.count() / 1000));
  };
  const int idle = seconds(limits_.keepalive_time);
  const int interval = std::max(1, seconds(limits_.keepalive_timeout) / kProbes);
  const int fd = socket.native_handle();
  const int on = 1;
  // Best effort: a socket that refuses them still serves.
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kProbes, sizeof(kProbes));
}

void HttpServer::Impl::OnAccept(tcp::socket socket) {
  std::shared_ptr<ConnectionBase> connection;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return;
    if (connections_.size() >= static_cast<size_t>(limits_.max_connections)) {
      metrics_.CountRefusedConnection();
      if (!tls_) {
        // Plaintext: say why in a few bytes the fresh socket's empty send
        // buffer takes at once. (TLS would need a handshake first.)
        static const std::string kBusy = [] {
          std::string body = ErrorJson(503, "too many connections open at once");
          return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
        }();
        boost::system::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(kBusy), ignored);
      }
      return;
    }
    uint64_t id = next_id_++;
    // Responses are written as they are pulled, often a small message
    // (the schema, a short batch) after another write not yet acknowledged:
    // Nagle's algorithm would hold it for the client's delayed ACK.
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    SetKeepalive(socket);
    if (tls_) {
      connection = std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
          *this, id, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls_));
    } else {
      connection = std::make_shared<Connection<beast::tcp_stream>>(
          *this, id, beast::tcp_stream(std::move(socket)));
    }
    connections_[id] = connection;
  }
  connection->Start();
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                      ArrowService& service,
                                                      const HttpLimits& limits,
                                                      std::vector<StaticFile> static_files) {
  auto impl = std::make_shared<Impl>(options, service, limits, std::move(static_files));
  ZKA_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port(); }

void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace zkarrow::transport::http

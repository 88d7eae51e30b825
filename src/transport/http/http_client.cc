#include "transport/http/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "transport/http/http_protocol.h"

namespace zkarrow::transport::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// JSON replies (lists, stored infos, errors) are small; a larger one is a
// server we do not understand.
constexpr size_t kMaxReplyBytes = size_t{64} << 20;
constexpr size_t kUploadChunkBytes = 256 * 1024;
// Socket reads into the connection's buffer take up to this much: chunk
// headers, and body bytes for callers that ask for little at a time (see
// ReadBody).
constexpr size_t kBufferedReadBytes = 64 * 1024;
// A caller asking for at least this much, in the middle of a chunk, gets the
// chunk's bytes read from the socket straight into its buffer.
constexpr size_t kInPlaceReadBytes = 64 * 1024;
// Idle connections kept per client: one per thread that calls it at once
// is all a caller gains from, and each holds a socket on the server.
constexpr size_t kMaxIdleConnections = 4;
// How often ClientOptions::interrupted is asked while a call waits for the
// server.
constexpr auto kInterruptPoll = std::chrono::milliseconds(100);

Status NetworkError(std::string_view what, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return Status::Timeout(std::string(what) + ": timed out");
  return Status::IoError(std::string(what) + ": " + ec.message());
}

}  // namespace

struct HttpClient::Shared {
  ClientOptions options;
  std::optional<asio::ssl::context> tls;
  std::string port_text;
  std::chrono::milliseconds timeout;
};

// Connections whose last response ended cleanly and that the server keeps
// open, most recently used last. A call takes one (or opens one) and gives
// it back when its response is complete. Owned by the client alone: a
// connection points back to it weakly (an idle connection owning its pool
// would keep both alive for ever), so one given back after the client is
// gone is closed.
struct HttpClient::Pool {
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle;
};

// One connection with its own io_context: every operation is asynchronous
// (so tcp_stream's deadlines apply) and run to completion on the caller's
// thread. Plain HTTP uses the TLS stream's next layer.
class HttpClient::Connection {
 public:
  Connection(std::shared_ptr<Shared> shared, std::weak_ptr<Pool> pool)
      : shared_(std::move(shared)),
        pool_(std::move(pool)),
        stream_(asio::make_strand(ioc_), shared_->tls ? *shared_->tls : PlaceholderContext()) {}

  Status Open() {
    const ClientOptions& options = shared_->options;
    tcp::resolver resolver(ioc_);
    boost::system::error_code ec;
    auto endpoints = resolver.resolve(options.host, shared_->port_text, ec);
    if (ec) return NetworkError("resolving " + options.host, ec);
    Lowest().expires_after(shared_->timeout);
    ec = Run([&](auto handler) {
      Lowest().async_connect(endpoints, [handler](boost::system::error_code e,
                                                  const tcp::endpoint&) { handler(e, 0); });
    });
    if (ec) return Failure("connecting to " + Authority(), ec);
    // A request is written in parts (headers, then body chunks); Nagle's
    // algorithm would hold the later ones for the server's delayed ACK.
    boost::system::error_code ignored;
    Lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (shared_->tls) {
      SSL* ssl = stream_.native_handle();
      boost::system::error_code ip_ec;
      asio::ip::make_address(options.host, ip_ec);
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (ip_ec) {
        // A name: sent for virtual hosting (SNI) and matched to the
        // certificate's names.
        // SSL_set_tlsext_host_name without its C cast.
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(options.host.c_str()));
        X509_VERIFY_PARAM_set1_host(param, options.host.c_str(), 0);
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(param, options.host.c_str());
      }
      stream_.set_verify_mode(asio::ssl::verify_peer);
      Lowest().expires_after(shared_->timeout);
      ec = Run([&](auto handler) {
        stream_.async_handshake(asio::ssl::stream_base::client,
                                [handler](boost::system::error_code e) { handler(e, 0); });
      });
      if (ec) return Failure("TLS handshake with " + Authority(), ec);
    }
    return Status::Ok();
  }

  std::string Authority() const { return shared_->options.host + ":" + shared_->port_text; }

  // A failed network operation: kCancelled once ClientOptions::interrupted
  // ended the wait (see Run), else the error.
  Status Failure(std::string_view what, const boost::system::error_code& ec) const {
    if (interrupted_) {
      return Status::Cancelled(std::string(what) + ": interrupted while waiting for the server");
    }
    return NetworkError(what, ec);
  }

  template <typename Body>
  void AddHeaders(bhttp::request<Body>& request) {
    request.set(bhttp::field::host, Authority());
    request.set(bhttp::field::user_agent, "zkarrow");
    if (!shared_->options.bearer_token.empty()) {
      request.set(bhttp::field::authorization, "Bearer " + shared_->options.bearer_token);
    }
    request.keep_alive(true);
  }

  // Sends a request whose body is in memory, within the deadline.
  Status Send(bhttp::request<bhttp::string_body>& request) {
    AddHeaders(request);
    request.prepare_payload();
    response_done_ = false;
    Lowest().expires_after(shared_->timeout);
    auto ec = Run([&](auto handler) {
      WithStream([&](auto& s) { bhttp::async_write(s, request, handler); });
    });
    if (ec) {
      NoteFailure(ec);
      return Failure("sending a request to " + Authority(), ec);
    }
    return Status::Ok();
  }

  // Reads the response headers into `parser`, within the deadline.
  Status ReadHeader(bhttp::response_parser<bhttp::buffer_body>& parser) {
    Prepare(parser);
    Lowest().expires_after(shared_->timeout);
    auto ec = Run([&](auto handler) {
      WithStream([&](auto& s) { bhttp::async_read_header(s, buffer_, parser, handler); });
    });
    if (ec) {
      NoteFailure(ec);
      return Failure("reading the response from " + Authority(), ec);
    }
    return Status::Ok();
  }

  // An Arrow body is read without a deadline (see the header).
  void NoDeadline() { Lowest().expires_never(); }

  // Up to out.size() body bytes, as soon as some arrived (a live stream's
  // batch must not wait for the buffer to fill); 0 at the end of the body.
  // Bytes read before an error are returned first, the error by the next
  // call. In the middle of a chunk, with nothing buffered, a large `out` is
  // filled from the socket directly and the parser then reads the bytes
  // where they are (OnChunkBody copies nothing): a whole table crosses user
  // space once. Everything else (headers, chunk headers, small reads) goes
  // through buffer_ and is copied out of it.
  Result<int64_t> ReadBody(bhttp::response_parser<bhttp::buffer_body>& parser,
                           std::span<uint8_t> out) {
    while (!parser.is_done()) {
      if (!body_error_.ok()) return body_error_;
      Aim(parser, out);
      boost::system::error_code ec;
      if (buffer_.size() > 0) {
        buffer_.consume(parser.put(buffer_.data(), ec));
        if (ec == bhttp::error::need_buffer) ec = {};
      } else if (chunk_left_ > 0 && out.size() >= kInPlaceReadBytes) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), chunk_left_));
        size_t got = ReadSome(asio::buffer(out.data(), want), ec);
        if (got > 0) {
          boost::system::error_code put_ec;
          const size_t taken = parser.put(asio::buffer(out.data(), got), put_ec);
          if (!put_ec && taken != got) {
            body_error_ = Status::Internal("HTTP parser: expected to take " + std::to_string(got) +
                                           " chunk bytes, took " + std::to_string(taken));
            return body_error_;
          }
          if (put_ec) ec = put_ec;
        }
        if (ec == asio::error::eof) parser.put_eof(ec);
      } else {
        ec = bhttp::error::need_more;
      }
      if (ec == bhttp::error::need_more) {
        size_t got = ReadSome(buffer_.prepare(kBufferedReadBytes), ec);
        buffer_.commit(got);
        if (ec == asio::error::eof) parser.put_eof(ec);
      }
      if (ec) {
        body_error_ =
            interrupted_
                ? Failure("reading the response from " + Authority(), ec)
                : Status::IoError("the response from " + Authority() + " was cut: " + ec.message());
      }
      if (size_t n = Filled(parser); n > 0) return static_cast<int64_t>(n);
    }
    response_done_ = true;
    server_keeps_open_ = parser.get().keep_alive();
    return int64_t{0};
  }

  // Reads the rest of a response whose reader stopped at the end of its
  // Arrow stream: the body's last chunk comes right behind the end-of-stream
  // marker (the server sends them in one write, which TCP may still split),
  // and once it is read the connection can carry the next call. Waits for
  // it briefly (kLastChunkWaitMs) rather than not at all, so that a split
  // write does not cost the connection. Plain HTTP only (a TLS record may be
  // incomplete, and reading it could wait); at most a few chunks.
  void FinishIfArrived(bhttp::response_parser<bhttp::buffer_body>& parser) {
    if (shared_->tls || !body_error_.ok()) return;
    constexpr size_t kMaxDrainBytes = 64 * 1024;
    uint8_t discard[4096];
    size_t drained = 0;
    boost::system::error_code ec;
    bool need_more = buffer_.size() == 0;
    while (!parser.is_done() && drained < kMaxDrainBytes) {
      if (need_more) {
        size_t available = Lowest().socket().available(ec);
        if (!ec && available == 0) {
          // Bounded: a server that sends nothing more only costs the wait.
          constexpr int kLastChunkWaitMs = 100;
          pollfd readable{.fd = Lowest().socket().native_handle(), .events = POLLIN, .revents = 0};
          if (::poll(&readable, 1, kLastChunkWaitMs) != 1) return;
          available = Lowest().socket().available(ec);
        }
        if (ec || available == 0) return;
        const size_t n = Lowest().socket().read_some(
            buffer_.prepare(std::min(available, kBufferedReadBytes)), ec);
        if (ec) return;
        buffer_.commit(n);
      }
      Aim(parser, discard);
      buffer_.consume(parser.put(buffer_.data(), ec));
      // Once the buffer is empty, only the socket can move on: in the
      // middle of a chunk (a reader that stopped early) the parser reports
      // the empty slice as need_buffer, and the loop would spin on it.
      need_more = ec == bhttp::error::need_more || buffer_.size() == 0;
      if (ec == bhttp::error::need_buffer || ec == bhttp::error::need_more) ec = {};
      if (ec) return;
      drained += Filled(parser);
    }
    if (parser.is_done()) {
      response_done_ = true;
      server_keeps_open_ = parser.get().keep_alive();
    }
  }

  // A whole (small) body, within the deadline.
  Result<std::string> ReadSmallBody(bhttp::response_parser<bhttp::buffer_body>& parser) {
    std::string text;
    std::vector<uint8_t> chunk(64 * 1024);
    Lowest().expires_after(shared_->timeout);
    while (true) {
      ZKA_ASSIGN_OR_RETURN(int64_t n, ReadBody(parser, chunk));
      if (n == 0) return text;
      if (text.size() + static_cast<size_t>(n) > kMaxReplyBytes) {
        return Status::OutOfRange("a reply from " + Authority() + " over " +
                                  std::to_string(kMaxReplyBytes) + " bytes");
      }
      text.append(reinterpret_cast<const char*>(chunk.data()), static_cast<size_t>(n));
    }
  }

  // Status and body of a request without a streamed body.
  static Result<std::pair<int, std::string>> Exchange(const HttpClient& client, bhttp::verb verb,
                                                      const std::string& target, std::string body) {
    bhttp::request<bhttp::string_body> request(verb, target, 11);
    request.set(bhttp::field::accept, std::string(kJsonType));
    if (!body.empty()) request.set(bhttp::field::content_type, std::string(kJsonType));
    request.body() = std::move(body);
    std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> parser;
    ZKA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Request(client, request, parser));
    ZKA_ASSIGN_OR_RETURN(std::string reply, connection->ReadSmallBody(*parser));
    Release(std::move(connection));
    return std::pair{static_cast<int>(parser->get().result_int()), std::move(reply)};
  }

  // Streams `input` as a chunked PUT body while watching for an early
  // reply; returns the reply's status and body.
  Result<std::pair<int, std::string>> Upload(const std::string& target, arrow::InputStream& input,
                                             const ProgressCallback& progress) {
    bhttp::request<bhttp::empty_body> request(bhttp::verb::put, target, 11);
    AddHeaders(request);
    request.set(bhttp::field::content_type, std::string(kArrowStreamType));
    request.set(bhttp::field::accept, std::string(kJsonType));
    request.chunked(true);
    bhttp::request_serializer<bhttp::empty_body> serializer(request);
    Lowest().expires_after(shared_->timeout);
    auto ec = Run([&](auto handler) {
      WithStream([&](auto& s) { bhttp::async_write_header(s, serializer, handler); });
    });
    if (ec) return Failure("sending an upload to " + Authority(), ec);

    // The server may answer before the body ended (a refused or malformed
    // upload): the reply is read while the body is written.
    Lowest().expires_never();
    bhttp::response_parser<bhttp::buffer_body> parser;
    Prepare(parser);
    bool replied = false;
    boost::system::error_code reply_ec;
    WithStream([&](auto& s) {
      bhttp::async_read_header(s, buffer_, parser, [&](boost::system::error_code e, size_t) {
        replied = true;
        reply_ec = e;
      });
    });
    std::vector<uint8_t> chunk(kUploadChunkBytes);
    int64_t sent = 0;
    Status input_status;
    // Outlive the loop: a write left pending when the reply came completes
    // while the reply is read.
    bool written = false;
    boost::system::error_code write_ec;
    bool body_done = false;
    while (!replied && !body_done && !write_ec) {
      auto n = input.Read(chunk);
      if (!n.ok()) {
        input_status = n.status();
        break;
      }
      written = false;
      auto on_written = [&](boost::system::error_code e, size_t) {
        written = true;
        write_ec = e;
      };
      WithStream([&](auto& s) {
        if (*n == 0) {
          asio::async_write(s, bhttp::make_chunk_last(), on_written);
        } else {
          asio::async_write(s,
                            bhttp::make_chunk(asio::buffer(chunk.data(), static_cast<size_t>(*n))),
                            on_written);
        }
      });
      ioc_.restart();
      while (!written && !replied && ioc_.run_one() > 0) {
      }
      if (!written) {
        // The reply came first: the server reads no more, so the rest of
        // this write may never complete; the connection goes with it.
        break;
      }
      body_done = *n == 0;
      sent += *n;
      if (progress && *n > 0) progress(sent);
    }
    if (!input_status.ok()) {
      Close();
      return input_status.WithContext("reading the upload");
    }
    if (!replied) {
      // All sent (or the write failed: the reply may still have come).
      Lowest().expires_after(shared_->timeout);
      ioc_.restart();
      while (!replied && ioc_.run_one() > 0) {
      }
    }
    if (!replied || reply_ec) {
      if (write_ec) return NetworkError("sending an upload to " + Authority(), write_ec);
      return NetworkError("reading the reply to an upload from " + Authority(), reply_ec);
    }
    ZKA_ASSIGN_OR_RETURN(std::string reply, ReadSmallBody(parser));
    return std::pair{static_cast<int>(parser.get().result_int()), std::move(reply)};
  }

  void Close() {
    boost::system::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  // An idle connection of `client`'s, or a new one when there is none or
  // `fresh` is asked for.
  static Result<std::unique_ptr<Connection>> Take(const HttpClient& client, bool fresh) {
    if (!fresh) {
      std::lock_guard lock(client.pool_->mutex);
      if (!client.pool_->idle.empty()) {
        std::unique_ptr<Connection> connection = std::move(client.pool_->idle.back());
        client.pool_->idle.pop_back();
        return connection;
      }
    }
    auto connection = std::make_unique<Connection>(client.shared_, client.pool_);
    ZKA_RETURN_IF_ERROR(connection->Open());
    return connection;
  }

  // Sends `request` and reads its response's headers into `parser`, on an
  // idle connection when there is one. The server closes idle connections
  // at its own timeout, which the first write or read then meets before any
  // of the reply arrived; the request is then sent once more, on a new
  // connection (a server that closed the connection did not act on it).
  static Result<std::unique_ptr<Connection>> Request(
      const HttpClient& client, bhttp::request<bhttp::string_body>& request,
      std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>>& parser) {
    // A new connection is never reused_: the second turn is the last.
    for (bool fresh = false;; fresh = true) {
      ZKA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Take(client, fresh));
      parser = std::make_unique<bhttp::response_parser<bhttp::buffer_body>>();
      Status sent = connection->Send(request);
      if (sent.ok()) sent = connection->ReadHeader(*parser);
      if (sent.ok()) return connection;
      connection->Close();
      if (!connection->reused_ || !connection->closed_by_server_) return sent;
    }
  }

  // Back to the client's idle connections when the last response was read
  // whole, the server keeps the connection open and sent nothing after it;
  // closed otherwise.
  static void Release(std::unique_ptr<Connection> connection) {
    std::shared_ptr<Pool> pool = connection->pool_.lock();
    const bool reusable = pool && connection->response_done_ && connection->server_keeps_open_ &&
                          connection->body_error_.ok() && connection->buffer_.size() == 0 &&
                          connection->Lowest().socket().is_open();
    if (!reusable) return connection->Close();
    connection->reused_ = true;
    std::lock_guard lock(pool->mutex);
    if (pool->idle.size() >= kMaxIdleConnections) {
      pool->idle.front()->Close();
      pool->idle.erase(pool->idle.begin());
    }
    pool->idle.push_back(std::move(connection));
  }

 private:
  static asio::ssl::context& PlaceholderContext() {
    // Plain HTTP never uses the TLS layer; the stream type needs a context.
    static asio::ssl::context context(asio::ssl::context::tls_client);
    return context;
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // Readies a parser for a response on this connection, before its header
  // is read: no body limit of Beast's (callers bound what they keep), and
  // the chunk callbacks, which Beast takes only before the body starts.
  void Prepare(bhttp::response_parser<bhttp::buffer_body>& parser) {
    parser.body_limit(kNoBodyLimit);
    parser.on_chunk_header(on_chunk_header_);
    parser.on_chunk_body(on_chunk_body_);
    chunk_left_ = 0;
  }

  // Points the parser's body output at `out` for one ReadBody or drain step:
  // a chunked body (every Arrow response) through OnChunkBody, another one
  // through buffer_body.
  void Aim(bhttp::response_parser<bhttp::buffer_body>& parser, std::span<uint8_t> out) {
    target_ = out;
    target_filled_ = 0;
    auto& body = parser.get().body();
    body.data = out.data();
    body.size = out.size();
  }

  // Body bytes placed in the target since Aim (only one of the two ways is
  // used for a body).
  size_t Filled(bhttp::response_parser<bhttp::buffer_body>& parser) const {
    return target_filled_ + (target_.size() - parser.get().body().size);
  }

  size_t OnChunkBody(uint64_t remain, beast::string_view body, boost::system::error_code& ec) {
    const size_t n = std::min(body.size(), target_.size() - target_filled_);
    if (n == 0) {
      ec = bhttp::error::need_buffer;
      return 0;
    }
    uint8_t* to = target_.data() + target_filled_;
    // Bytes read in place (ReadBody) are where they belong already.
    if (reinterpret_cast<const uint8_t*>(body.data()) != to) std::memcpy(to, body.data(), n);
    target_filled_ += n;
    chunk_left_ = remain - n;
    return n;
  }

  // One read of what the socket has, into `buffer`, within the stream's
  // current deadline.
  size_t ReadSome(asio::mutable_buffer buffer, boost::system::error_code& ec) {
    size_t got = 0;
    ec = Run([&](auto handler) {
      WithStream([&](auto& s) {
        s.async_read_some(buffer, [&got, handler](boost::system::error_code e, size_t n) {
          got = n;
          handler(e, n);
        });
      });
    });
    return got;
  }

  template <typename F>
  void WithStream(F&& f) {
    if (shared_->tls) {
      f(stream_);
    } else {
      f(stream_.next_layer());
    }
  }

  // Starts one asynchronous operation through `start(handler)` and runs the
  // io_context until it completed. With ClientOptions::interrupted, asks it
  // every kInterruptPoll meanwhile (counted across calls, so that a server
  // trickling bytes cannot keep it from being asked) and, once it says so,
  // cancels the operation (which then completes with an error; see
  // Failure): a wait for the server is what a caller that stops, or a
  // server that stalls, must be able to end, whatever the deadline.
  template <typename Start>
  boost::system::error_code Run(Start&& start) {
    bool done = false;
    boost::system::error_code result;
    start([&done, &result](boost::system::error_code ec, size_t) {
      done = true;
      result = ec;
    });
    ioc_.restart();
    const std::function<bool()>& interrupted = shared_->options.interrupted;
    while (!done) {
      if (!interrupted) {
        if (ioc_.run_one() == 0) break;
        continue;
      }
      if (ioc_.run_one_until(next_interrupt_poll_) == 0 && ioc_.stopped()) break;
      const auto now = std::chrono::steady_clock::now();
      if (done || now < next_interrupt_poll_) continue;
      next_interrupt_poll_ = now + kInterruptPoll;
      if (!interrupted_ && interrupted()) {
        interrupted_ = true;
        Lowest().cancel();
      }
    }
    if (!done) return asio::error::operation_aborted;
    return result;
  }

  std::shared_ptr<Shared> shared_;
  std::weak_ptr<Pool> pool_;
  asio::io_context ioc_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  // A connection error on a reused connection before any byte of the
  // reply: see Request.
  void NoteFailure(const boost::system::error_code& ec) {
    closed_by_server_ = ec == asio::error::eof || ec == asio::error::connection_reset ||
                        ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream;
  }

  beast::flat_buffer buffer_;
  // The body's destination for the current ReadBody (see Aim), and the
  // bytes of the current chunk the parser has not seen yet.
  std::span<uint8_t> target_;
  size_t target_filled_ = 0;
  uint64_t chunk_left_ = 0;
  std::function<void(uint64_t, beast::string_view, boost::system::error_code&)> on_chunk_header_ =
      [this](uint64_t size, beast::string_view, boost::system::error_code&) { chunk_left_ = size; };
  std::function<size_t(uint64_t, beast::string_view, boost::system::error_code&)> on_chunk_body_ =
      [this](uint64_t remain, beast::string_view body, boost::system::error_code& ec) {
        return OnChunkBody(remain, body, ec);
      };
  Status body_error_;
  // ClientOptions::interrupted said so during a wait on this connection,
  // and when it is to be asked next (see Run).
  bool interrupted_ = false;
  std::chrono::steady_clock::time_point next_interrupt_poll_;
  // Whether this connection carried an earlier exchange: the server may
  // have closed it since (its idle timeout), which a first read or write
  // then reports.
  bool reused_ = false;
  bool closed_by_server_ = false;
  // Whether the last response was read to its end (a connection that sent
  // no request yet has none outstanding), and whether it left the
  // connection open.
  bool response_done_ = true;
  bool server_keeps_open_ = true;
};

namespace {

// The body of a Get response, read from its connection as the caller asks.
class ResponseStream final : public arrow::InputStream {
 public:
  ResponseStream(std::unique_ptr<HttpClient::Connection> connection,
                 std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> parser)
      : connection_(std::move(connection)), parser_(std::move(parser)) {}
  ~ResponseStream() override {
    connection_->FinishIfArrived(*parser_);
    HttpClient::Connection::Release(std::move(connection_));
  }

  Result<int64_t> Read(std::span<uint8_t> out) override {
    if (out.empty()) return int64_t{0};
    return connection_->ReadBody(*parser_, out);
  }

 private:
  std::unique_ptr<HttpClient::Connection> connection_;
  std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> parser_;
};

Status ExpectSuccess(int status, const std::string& body) {
  if (status >= 200 && status < 300) return Status::Ok();
  return StatusFromErrorResponse(status, body);
}

}  // namespace

HttpClient::HttpClient(std::shared_ptr<Shared> shared)
    : shared_(std::move(shared)), pool_(std::make_shared<Pool>()) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Connect(const ClientOptions& options) {
  if (options.host.empty()) return Status::InvalidArgument("HTTP client: no host given");
  if (options.port < 1 || options.port > 65535) {
    return Status::InvalidArgument("HTTP client port: expected 1..65535, found " +
                                   std::to_string(options.port));
  }
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->port_text = std::to_string(options.port);
  shared->timeout = std::chrono::milliseconds(options.connect_timeout_ms);
  if (options.tls) {
    shared->tls.emplace(asio::ssl::context::tls_client);
    shared->tls->set_options(asio::ssl::context::default_workarounds |
                             asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                             asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (options.tls_ca_file.empty()) {
      shared->tls->set_default_verify_paths(ec);
    } else {
      shared->tls->load_verify_file(options.tls_ca_file, ec);
    }
    if (ec) {
      return Status::InvalidArgument(
          "TLS trust store " + (options.tls_ca_file.empty() ? "(system)" : options.tls_ca_file) +
          ": " + ec.message());
    }
  }
  std::unique_ptr<HttpClient> client(new HttpClient(std::move(shared)));
  // The probe connection is the first idle one.
  ZKA_ASSIGN_OR_RETURN(auto probe, Connection::Take(*client, /*fresh=*/true));
  Connection::Release(std::move(probe));
  return client;
}

Result<std::vector<StreamInfo>> HttpClient::List() {
  ZKA_ASSIGN_OR_RETURN(auto reply, Connection::Exchange(*this, bhttp::verb::get, "/datasets", ""));
  ZKA_RETURN_IF_ERROR(ExpectSuccess(reply.first, reply.second));
  return StreamInfoListFromJson(reply.second);
}

Result<std::unique_ptr<arrow::InputStream>> HttpClient::Get(const Resource& resource,
                                                            const GetOptions& options) {
  bhttp::request<bhttp::string_body> request(bhttp::verb::get, resource.ToTarget(), 11);
  request.set(bhttp::field::accept, AcceptFor(options.compression));
  std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> parser;
  ZKA_ASSIGN_OR_RETURN(auto connection, Connection::Request(*this, request, parser));
  int status = static_cast<int>(parser->get().result_int());
  if (status != 200) {
    ZKA_ASSIGN_OR_RETURN(std::string body, connection->ReadSmallBody(*parser));
    Connection::Release(std::move(connection));
    return StatusFromErrorResponse(status, body);
  }
  // A page, JSON or text (the web UI at /, /healthz, /datasets, a proxy's
  // page) read as IPC fails on a nonsense message length: say what it is.
  const beast::string_view header = parser->get()[bhttp::field::content_type];
  const std::string_view content_type(header.data(), header.size());
  if (!IsArrowStreamType(content_type)) {
    Connection::Release(std::move(connection));
    return Status::InvalidData("GET " + resource.ToTarget() + ": expected an Arrow IPC stream (" +
                               std::string(kArrowStreamType) + "), found " +
                               (content_type.empty() ? std::string("no Content-Type")
                                                     : "'" + std::string(content_type) + "'") +
                               ": not an Arrow resource");
  }
  connection->NoDeadline();
  return std::unique_ptr<arrow::InputStream>(
      new ResponseStream(std::move(connection), std::move(parser)));
}

Result<StreamInfo> HttpClient::Put(const Resource& resource, arrow::InputStream& ipc_stream,
                                   const ProgressCallback& progress) {
  // Always a new connection: a body read from `ipc_stream` as it is sent
  // cannot be sent again should an idle one turn out closed.
  ZKA_ASSIGN_OR_RETURN(auto connection, Connection::Take(*this, /*fresh=*/true));
  ZKA_ASSIGN_OR_RETURN(auto reply, connection->Upload(resource.ToTarget(), ipc_stream, progress));
  connection->Close();
  ZKA_RETURN_IF_ERROR(ExpectSuccess(reply.first, reply.second));
  return StreamInfoFromJson(reply.second);
}

Status HttpClient::Delete(const Resource& resource) {
  ZKA_ASSIGN_OR_RETURN(auto reply,
                       Connection::Exchange(*this, bhttp::verb::delete_, resource.ToTarget(), ""));
  return ExpectSuccess(reply.first, reply.second);
}

Result<std::string> HttpClient::DoAction(std::string_view type, std::string_view body) {
  Resource action{{"actions", std::string(type)}, {}};
  ZKA_ASSIGN_OR_RETURN(auto reply, Connection::Exchange(*this, bhttp::verb::post, action.ToTarget(),
                                                        std::string(body)));
  ZKA_RETURN_IF_ERROR(ExpectSuccess(reply.first, reply.second));
  return std::move(reply.second);
}

}  // namespace zkarrow::transport::http

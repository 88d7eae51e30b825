// TLS over the client's non-blocking socket, with OpenSSL (Debian's
// libssl). Internal to the zk module: Session drives the handshake from its
// poll loop and reads and writes through TlsConnection once it is done.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"
#include "zk/client.h"
#include "zk/socket.h"

namespace zkarrow::zk {

// One SSL_CTX per Session: the trust store, the client certificate and the
// protocol range (TLS 1.2 and 1.3), loaded once so that a bad file fails
// Connect at once instead of every connection attempt.
class TlsContext {
 public:
  static Result<std::shared_ptr<const TlsContext>> Create(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool verify_host() const { return verify_host_; }

 private:
  TlsContext(SSL_CTX* ctx, bool verify_host) : ctx_(ctx), verify_host_(verify_host) {}
  SSL_CTX* ctx_;
  bool verify_host_;
};

// A handshake that failed for a reason retrying cannot fix (the server's
// certificate is untrusted, expired or names another host; no protocol in
// common; our certificate refused) is kUnauthenticated; a transport failure
// keeps its own code.
class TlsConnection {
 public:
  // Starts a client handshake on `fd` (connected, non-blocking) for `host`
  // (a DNS name or an IP literal, checked against the certificate).
  static Result<std::unique_ptr<TlsConnection>> Start(const TlsContext& context, int fd,
                                                      const std::string& host);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Advances the handshake: true once done; false while it waits for the
  // socket (poll for wants_write() ? POLLOUT : POLLIN).
  Result<bool> Handshake();
  bool wants_write() const { return wants_write_; }

  // As ReadSome/WriteSome on the plain socket (0 bytes read: the peer closed).
  Result<IoResult> Read(std::span<uint8_t> buffer);
  Result<IoResult> Write(std::span<const uint8_t> bytes);

  // "TLSv1.3 TLS_AES_256_GCM_SHA384", for messages and logs.
  std::string Description() const;

 private:
  TlsConnection(SSL* ssl, std::string host) : ssl_(ssl), host_(std::move(host)) {}
  // OpenSSL's verify callback: keeps the server's certificate, which a failed
  // handshake does not hand out afterwards, for the message.
  static int KeepLeaf(int preverified, X509_STORE_CTX* store);
  // The status for a failed SSL call that returned `rc`.
  Status Failure(int rc, const char* operation);
  Status HandshakeFailure(int rc);

  SSL* ssl_;
  X509* leaf_ = nullptr;  // the server's certificate, once verification saw it
  std::string host_;
  bool wants_write_ = false;
};

}  // namespace zkarrow::zk

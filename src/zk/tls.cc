#include "zk/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>

namespace zkarrow::zk {
namespace {

// OpenSSL's queued errors as one line (and the queue cleared).
std::string OpenSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char line[256];
    ERR_error_string_n(code, line, sizeof(line));
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text.empty() ? "no detail from OpenSSL" : text;
}

constexpr const char* kClosedDuringHandshake =
    "the server closed the connection during the handshake (is this its secureClientPort? does "
    "it require a client certificate?)";

bool IsIpLiteral(const std::string& host) {
  in6_addr address;
  return ::inet_pton(AF_INET, host.c_str(), &address) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

// "Jan  2 00:00:00 2020 GMT"
std::string TimeText(const ASN1_TIME* time) {
  if (time == nullptr) return "?";
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  ASN1_TIME_print(bio, time);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<size_t>(length));
  BIO_free(bio);
  return text;
}

// What the server's certificate names: its subject alternative names.
std::string NamesIn(X509* certificate) {
  if (certificate == nullptr) return "no certificate";
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  std::string text;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string entry;
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      entry = "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                   static_cast<size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char buffer[INET6_ADDRSTRLEN] = "?";
      int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      ::inet_ntop(family, ASN1_STRING_get0_data(ip), buffer, sizeof(buffer));
      entry = std::string("IP:") + buffer;
    } else {
      continue;
    }
    if (!text.empty()) text += ", ";
    text += entry;
  }
  GENERAL_NAMES_free(names);
  return text.empty() ? "no subject alternative names" : text;
}

}  // namespace

Result<std::shared_ptr<const TlsContext>> TlsContext::Create(const TlsOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::Internal("SSL_CTX_new: " + OpenSslErrors());
  std::shared_ptr<const TlsContext> context(new TlsContext(ctx, options.verify_host));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // A write may be taken in parts, from a buffer that grew meanwhile.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Fewer reads from the socket: records are decrypted from one large read.
  SSL_CTX_set_read_ahead(ctx, 1);
  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return Status::IoError("loading the system's trust store: " + OpenSslErrors());
    }
  } else if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    return Status::InvalidArgument("reading CA certificates from " + options.ca_file +
                                   " (expected PEM): " + OpenSslErrors());
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::InvalidArgument(
        "a client certificate needs both its certificate and its key file, found only the " +
        std::string(options.cert_file.empty() ? "key" : "certificate"));
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      return Status::InvalidArgument("reading the client certificate " + options.cert_file +
                                     " (expected PEM): " + OpenSslErrors());
    }
    // Never the key's bytes in a message: only the file's name.
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("reading the client key " + options.key_file +
                                     " (expected an unencrypted PEM private key)");
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("the client key " + options.key_file +
                                     " does not belong to the certificate " + options.cert_file);
    }
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<TlsConnection>> TlsConnection::Start(const TlsContext& context, int fd,
                                                            const std::string& host) {
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) return Status::Internal("SSL_new: " + OpenSslErrors());
  std::unique_ptr<TlsConnection> connection(new TlsConnection(ssl, host));
  if (SSL_set_fd(ssl, fd) != 1) return Status::Internal("SSL_set_fd: " + OpenSslErrors());
  const bool ip = IsIpLiteral(host);
  // SNI takes DNS names only. (SSL_set_tlsext_host_name is a macro with a
  // C cast; this is what it expands to.)
  if (!ip) {
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }
  if (context.verify_host()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    if (ok != 1) return Status::Internal("setting the host to verify: " + OpenSslErrors());
  }
  SSL_set_app_data(ssl, connection.get());
  SSL_set_verify(ssl, SSL_VERIFY_PEER, &TlsConnection::KeepLeaf);
  SSL_set_connect_state(ssl);
  return connection;
}

int TlsConnection::KeepLeaf(int preverified, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return preverified;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = ssl ? static_cast<TlsConnection*>(SSL_get_app_data(ssl)) : nullptr;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  if (self != nullptr && leaf != nullptr && self->leaf_ == nullptr && X509_up_ref(leaf) == 1) {
    self->leaf_ = leaf;
  }
  return preverified;
}

TlsConnection::~TlsConnection() {
  X509_free(leaf_);
  SSL_free(ssl_);
}

Result<bool> TlsConnection::Handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return true;
  int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    wants_write_ = error == SSL_ERROR_WANT_WRITE;
    return false;
  }
  return HandshakeFailure(rc);
}

Status TlsConnection::HandshakeFailure(int rc) {
  const std::string where = "TLS handshake with " + host_ + ": ";
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    X509* peer = leaf_ != nullptr ? leaf_ : SSL_get0_peer_certificate(ssl_);
    ERR_clear_error();
    switch (verify) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return Status::Unauthenticated(where + "the server's certificate expired on " +
                                       TimeText(peer ? X509_get0_notAfter(peer) : nullptr) +
                                       " (renew it on the server)");
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return Status::Unauthenticated(where + "the server's certificate is valid only from " +
                                       TimeText(peer ? X509_get0_notBefore(peer) : nullptr) +
                                       " (check the clocks)");
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return Status::Unauthenticated(
            where + "the server's certificate does not name " + host_ + " (it names " +
            NamesIn(peer) +
            "); connect by a name it holds, or pass --zk-tls-no-verify-host to skip this check");
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return Status::Unauthenticated(
            where + "the server's certificate is not signed by a trusted CA (" +
            X509_verify_cert_error_string(verify) + "); give its CA with --zk-tls-ca FILE");
      default:
        return Status::Unauthenticated(where + "the server's certificate was refused: " +
                                       X509_verify_cert_error_string(verify));
    }
  }
  unsigned long first = ERR_peek_error();
  int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL) {
    switch (ERR_GET_REASON(first)) {
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_VERSION_TOO_LOW:
        return Status::Unauthenticated(
            where +
            "no TLS version in common (we speak TLS 1.2 and 1.3; is this port a TLS port?): " +
            OpenSslErrors());
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return Status::Unauthenticated(
            where +
            "the server refused our client certificate (give one it trusts with "
            "--zk-tls-cert and --zk-tls-key): " +
            OpenSslErrors());
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        ERR_clear_error();
        return Status::IoError(where + kClosedDuringHandshake);
      default:
        break;
    }
  }
  if (error == SSL_ERROR_SYSCALL) {
    int saved = errno;
    ERR_clear_error();
    if (saved != 0) return Status::FromErrno(saved, where.substr(0, where.size() - 2));
    return Status::IoError(where + kClosedDuringHandshake);
  }
  return Status::IoError(where + OpenSslErrors());
}

Status TlsConnection::Failure(int rc, const char* operation) {
  int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_SYSCALL && errno != 0) {
    ERR_clear_error();
    return Status::FromErrno(errno, std::string("TLS ") + operation);
  }
  return Status::IoError(std::string("TLS ") + operation + " from " + host_ + ": " +
                         OpenSslErrors());
}

Result<IoResult> TlsConnection::Read(std::span<uint8_t> buffer) {
  ERR_clear_error();
  size_t bytes = 0;
  int rc = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &bytes);
  if (rc == 1) return IoResult{bytes, false};
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return IoResult{0, true};
    case SSL_ERROR_ZERO_RETURN:
      return IoResult{0, false};
    default:
      break;
  }
  // A peer that closes the socket without close_notify (ZooKeeper's Netty
  // may) is a close, as on a plain socket.
  unsigned long first = ERR_peek_error();
  if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
      ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    return IoResult{0, false};
  }
  return Failure(rc, "read");
}

Result<IoResult> TlsConnection::Write(std::span<const uint8_t> bytes) {
  ERR_clear_error();
  size_t written = 0;
  int rc = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written);
  if (rc == 1) return IoResult{written, false};
  int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return IoResult{0, true};
  return Failure(rc, "write");
}

std::string TlsConnection::Description() const {
  return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

}  // namespace zkarrow::zk

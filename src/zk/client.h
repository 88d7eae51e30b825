// A native, asynchronous ZooKeeper client speaking the wire protocol itself
// (3.6+ features: multiRead, persistent watches, setWatches2, whoAmI).
//
// One I/O thread per Client owns the socket. Requests are pipelined: any
// thread may submit; replies complete in submission order. Completion
// callbacks and listeners run on the I/O thread and must be quick (hand heavy
// work elsewhere); they may submit further requests. If the client is already
// closed or its session expired, the callback runs at once on the caller's
// thread with that error.
//
// Failures are Status values carrying the ZooKeeper code (ErrorCodeOf) and
// the operation and path in the message. On connection loss the client
// reconnects to another server of the ensemble within the session timeout and
// keeps the session and its watches. Reads in flight are resent; a write
// whose reply was not seen fails with CONNECTIONLOSS ("outcome unknown") and
// is never resent. If no server takes the session back within the session
// timeout, or the ensemble reports it gone, everything fails with
// SESSIONEXPIRED and the client stays expired: make a new one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "zk/error_code.h"
#include "zk/types.h"

namespace zkarrow::zk {

class Session;

// TLS to the servers' secure client port (secureClientPort).
struct TlsOptions {
  // PEM CA certificates the server's chain must end in; empty: the system's
  // trust store.
  std::string ca_file;
  // Our certificate chain and its (unencrypted) private key, both PEM: for
  // servers with ssl.clientAuth=need and for the x509 auth scheme.
  std::string cert_file;
  std::string key_file;
  // The server's certificate must name the host of the connect string (a
  // DNS name or an IP address).
  bool verify_host = true;
};

// SASL (Cyrus SASL), run on every connection after the session handshake
// and before any other request.
struct SaslOptions {
  // "DIGEST-MD5" or "GSSAPI".
  std::string mechanism;
  // DIGEST-MD5: the user of the server's JAAS DigestLoginModule. GSSAPI: the
  // client principal (empty: the credential cache's or keytab's default).
  std::string user;
  std::string password;  // DIGEST-MD5 only
  // GSSAPI: a keytab to take the principal's key from (empty: the Kerberos
  // credential cache, e.g. from kinit).
  std::string keytab;
  // The server's principal is SERVICE/HOST; ZooKeeper's DIGEST-MD5 always
  // uses the host "zk-sasl-md5", GSSAPI the host connected to unless set.
  std::string service = "zookeeper";
  std::string host;
};

struct ClientOptions {
  // "host:port[,host:port...][/chroot]"
  std::string connect_string;
  // Requested; the server clamps it to [2, 20] x its tickTime.
  std::chrono::milliseconds session_timeout{30000};
  // (scheme, credential) pairs sent on every (re)connection, e.g.
  // {"digest", "user:password"}.
  std::vector<std::pair<std::string, std::string>> auth;
  // Connect with TLS (the servers' secureClientPort).
  std::optional<TlsOptions> tls;
  // Authenticate every connection with SASL.
  std::optional<SaslOptions> sasl;
  // Accept a read-only server (one cut off from its quorum).
  bool read_only = false;
  // Requests outstanding at once; submitting more blocks until replies come
  // (except from the I/O thread itself, which is never blocked).
  int max_in_flight = 1000;
  // A larger reply fails its request with kOutOfRange and ends the
  // connection (it is not read through; the session goes on on the next one,
  // as after any connection loss). A reply whose child names or ACL entries
  // would take more memory than this decoded (a 4-byte name on the wire is a
  // 32-byte std::string) fails its request the same way, connection kept.
  size_t max_response_bytes = 64 << 20;
  // A larger request fails with kOutOfRange without being sent: the server
  // drops the connection of a client that sends a packet over its
  // jute.maxbuffer (default 1 MiB - 1), and a resent read would be dropped
  // again, forever.
  size_t max_request_bytes = 0xfffff;
  // How long Connect waits for the first session.
  std::chrono::milliseconds connect_timeout{10000};
  // Asked about every 50 ms while Connect waits for the first session: true
  // gives up at once (kCancelled), so that a program told to stop does not
  // sit out connect_timeout.
  std::function<bool()> abandon_connect;
  // Session state changes: connected, disconnected, expired, closed.
  SessionListener session_listener;
};

template <typename T>
using Callback = std::function<void(Result<T>)>;
using StatusCallback = std::function<void(Status)>;

class Client {
 public:
  // Connects and establishes a session; fails if no server of the ensemble
  // grants one within options.connect_timeout.
  static Result<std::unique_ptr<Client>> Connect(ClientOptions options);

  // Closes the session (ephemeral nodes go away) and joins the I/O thread.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Ends the session on the server; pending requests fail with kCancelled.
  // Idempotent. Must not be called from a callback.
  void Close();

  // -- Node operations. Each has a callback form and a future form. `version`
  // -1 matches any version. A non-null `watch` is a one-shot watch, set only
  // if the request succeeds (Exists: also when the node does not exist).

  void Create(std::string_view path, std::string_view data, std::vector<Acl> acl, CreateMode mode,
              Callback<CreateResult> done, int64_t ttl_ms = 0);
  std::future<Result<CreateResult>> Create(std::string_view path, std::string_view data,
                                           std::vector<Acl> acl = OpenAclUnsafe(),
                                           CreateMode mode = CreateMode::kPersistent,
                                           int64_t ttl_ms = 0);

  void Delete(std::string_view path, int32_t version, StatusCallback done);
  std::future<Status> Delete(std::string_view path, int32_t version = -1);

  // Empty optional: the node does not exist (not an error).
  void Exists(std::string_view path, Callback<std::optional<Stat>> done,
              WatchListener watch = nullptr);
  std::future<Result<std::optional<Stat>>> Exists(std::string_view path,
                                                  WatchListener watch = nullptr);

  void GetData(std::string_view path, Callback<DataResult> done, WatchListener watch = nullptr);
  std::future<Result<DataResult>> GetData(std::string_view path, WatchListener watch = nullptr);

  void SetData(std::string_view path, std::string_view data, int32_t version, Callback<Stat> done);
  std::future<Result<Stat>> SetData(std::string_view path, std::string_view data,
                                    int32_t version = -1);

  void GetChildren(std::string_view path, Callback<std::vector<std::string>> done,
                   WatchListener watch = nullptr);
  std::future<Result<std::vector<std::string>>> GetChildren(std::string_view path,
                                                            WatchListener watch = nullptr);

  // Children and the parent's stat.
  void GetChildren2(std::string_view path, Callback<ChildrenResult> done,
                    WatchListener watch = nullptr);
  std::future<Result<ChildrenResult>> GetChildren2(std::string_view path,
                                                   WatchListener watch = nullptr);

  // `max_decoded_bytes` as for MultiRead.
  void GetAcl(std::string_view path, Callback<AclResult> done,
              std::optional<size_t> max_decoded_bytes = std::nullopt);
  std::future<Result<AclResult>> GetAcl(std::string_view path);

  void SetAcl(std::string_view path, std::vector<Acl> acl, int32_t version, Callback<Stat> done);
  std::future<Result<Stat>> SetAcl(std::string_view path, std::vector<Acl> acl,
                                   int32_t version = -1);

  // Waits until the connected server has caught up with the leader.
  void Sync(std::string_view path, StatusCallback done);
  std::future<Status> Sync(std::string_view path);

  // Atomic: all operations apply or none. The Result fails only if the
  // request as a whole failed (connection, session); a rejected transaction
  // is an OK Result whose OpResults say which operation failed.
  void Multi(std::vector<Op> ops, Callback<std::vector<OpResult>> done);
  std::future<Result<std::vector<OpResult>>> Multi(std::vector<Op> ops);

  // Reads several nodes in one round trip; one result per op, in order. Not
  // atomic. On a server without multiRead (3.5 and older) the reads are sent
  // as pipelined single requests instead, with the same results.
  // `max_decoded_bytes` (default: options.max_response_bytes) bounds the
  // memory the decoded results take; a reply past it fails with kOutOfRange
  // (on an old server the bound applies to each single reply).
  void MultiRead(std::vector<ReadOp> ops, Callback<std::vector<ReadResult>> done,
                 std::optional<size_t> max_decoded_bytes = std::nullopt);
  std::future<Result<std::vector<ReadResult>>> MultiRead(std::vector<ReadOp> ops);

  // Paths of the session's ephemeral nodes under `prefix` ("/" for all).
  void GetEphemerals(std::string_view prefix, Callback<std::vector<std::string>> done);
  std::future<Result<std::vector<std::string>>> GetEphemerals(std::string_view prefix);

  // Number of nodes in the subtree below `path` (excluding `path`).
  void GetAllChildrenNumber(std::string_view path, Callback<int32_t> done);
  std::future<Result<int32_t>> GetAllChildrenNumber(std::string_view path);

  // A watch that stays until removed and survives reconnections. The server
  // keeps one mode per path and session: adding kPersistentRecursive to a
  // path with a kPersistent watch (or the reverse) replaces it there.
  void AddWatch(std::string_view path, AddWatchMode mode, WatchListener listener,
                StatusCallback done);
  std::future<Status> AddWatch(std::string_view path, AddWatchMode mode, WatchListener listener);

  // Removes this client's watches of `type` on `path`, here and on the server
  // (NOWATCHER if the server had none).
  void RemoveWatches(std::string_view path, WatcherType type, StatusCallback done);
  std::future<Status> RemoveWatches(std::string_view path, WatcherType type = WatcherType::kAny);

  // The identities the server associates with this session (3.7+).
  void WhoAmI(Callback<std::vector<ClientIdentity>> done);
  std::future<Result<std::vector<ClientIdentity>>> WhoAmI();

  // Adds an identity, e.g. ("digest", "user:password"); it is resent on every
  // reconnection.
  void AddAuth(std::string_view scheme, std::string_view credential, StatusCallback done);
  std::future<Status> AddAuth(std::string_view scheme, std::string_view credential);

  // -- Session facts.

  // False once a server answered UNIMPLEMENTED to multiRead; MultiRead then
  // falls back to single reads.
  bool SupportsMultiRead() const;
  int64_t session_id() const;
  std::chrono::milliseconds negotiated_session_timeout() const;
  // The highest zxid seen in any reply so far. Read inside a callback, it
  // covers that reply: for a read, the state the server answered from.
  int64_t last_zxid() const;
  // "host:port" of the current server; empty while disconnected.
  std::string connected_server() const;
  // The current connection's TLS version and cipher ("TLSv1.3
  // TLS_AES_128_GCM_SHA256"); empty without TLS or while disconnected.
  std::string connection_security() const;
  // The chroot from the connect string, "" if none.
  const std::string& chroot() const;

 private:
  explicit Client(std::unique_ptr<Session> session);

  // The reads of a MultiRead as pipelined single requests.
  void MultiReadOneByOne(std::vector<ReadOp> ops, Callback<std::vector<ReadResult>> done,
                         size_t max_decoded_bytes);

  std::unique_ptr<Session> session_;
  std::atomic<bool> multi_read_supported_{true};
};

}  // namespace zkarrow::zk

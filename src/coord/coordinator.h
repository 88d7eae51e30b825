// The catalog of a group of `zkarrow serve` processes, kept in ZooKeeper
// (layout.h): each server registers itself, publishes uploads with
// version-checked writes, keeps R verified copies of every kept version,
// and removes what the catalog no longer keeps. ZooKeeper is the only
// coordinator: no server trusts another's word, only the catalog.
//
// Publication (Publish), the one path by which a version comes to exist:
//   1. the upload is validated and fsynced in the local store (by the
//      caller, DatasetStore::Prepare) without a name;
//   2. the catalog entry is read: version v is current;
//   3. the file is named as version v+1 in the local store; no reader sees
//      it, because readers resolve versions through the catalog;
//   4. one multi: check that this server is registered, and write the entry
//      with v+1 (held by this server) if its znode version is still the one
//      read in 2 (or create it if there was none). Of two concurrent
//      publications exactly one passes; the other removes its file and
//      reports a conflict.
//   A crash between 3 and 4 leaves a file the catalog does not name: the
//   server removes it when it next compares its store with the catalog
//   (Reconcile). A connection lost during 4 leaves the outcome unknown
//   until the entry is read again on a live session; the client is told
//   which it was.
//
// Replication: every server compares the catalog with the live servers; for
// a kept version with fewer than R live holders, a server that holds none
// takes the version's lock (an ephemeral node), fetches the version from a
// holder, verifies its SHA-256, stores it and adds itself as a holder.
//
// Leader (lowest election node): removes holders that have been gone from
// servers/ for longer than the grace period.
//
// Session loss: uploads are refused (kUnavailable) and reads of the current
// version fail, while copies named by version are still served; a new
// session re-registers and re-validates this server's holdings.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "coord/layout.h"
#include "serve/dataset_catalog.h"
#include "serve/dataset_store.h"
#include "transport/arrow_client.h"
#include "transport/resource.h"
#include "zk/client.h"

namespace zkarrow::coord {

// A fetch of a copy must receive this many bytes (or the rest of the copy)
// within every CoordinatorOptions::fetch_stall_timeout.
inline constexpr int64_t kFetchProgressBytes = 64 * 1024;
// The delay before another fetch of a version whose fetch failed doubles
// after every failure, up to this many times CoordinatorOptions::
// fetch_retry_delay.
inline constexpr int kMaxFetchRetryFactor = 64;

struct CoordinatorOptions {
  // Connection of the coordinator's own session (its ephemeral nodes live
  // and die with it).
  zk::ClientOptions client;
  std::string root = std::string(kDefaultRoot);
  int keep_versions = kDefaultKeepVersions;
  int replicas = kDefaultReplicas;
  int ack_replicas = kDefaultAckReplicas;
  // ACL of every node the coordinator creates (--coord-acl).
  std::vector<zk::Acl> acl = zk::OpenAclUnsafe();
  // How long a holder may be absent from servers/ before the leader removes
  // it from the catalog (a restarting server keeps its holdings).
  std::chrono::milliseconds holder_grace{30'000};
  // How long a put waits for ack_replicas copies.
  std::chrono::milliseconds ack_timeout{60'000};
  // How often the catalog is re-read even without a watch event (for the
  // grace period, and retries of failed fetches).
  std::chrono::milliseconds refresh_interval{1'000};
  // A fetch of a copy that receives less than kFetchProgressBytes (or the
  // rest of the copy) within this long is given up: a holder that answers
  // and then sends nothing (or a trickle) would otherwise hold the loop, and
  // the version's lock, as long as it likes.
  std::chrono::milliseconds fetch_stall_timeout{30'000};
  // How long a version whose fetch failed (a holder gone or sending a bad
  // copy, a full disk) waits for the next fetch; doubled per failure (see
  // kMaxFetchRetryFactor). Without it the loop would fetch again at once:
  // the fetch's own lock node wakes it.
  std::chrono::milliseconds fetch_retry_delay{1'000};
  // How peers are reached to fetch copies: the bearer token and the CA of
  // their certificates (--peer-tls-ca). A token is sent only to peers over
  // TLS verified against that CA (see Create); host, port, tls and
  // interrupted are set per fetch.
  transport::ClientOptions peer;
  // Connects to another server of the group with `options` (a client of
  // the protocol its URL names).
  std::function<Result<std::unique_ptr<transport::ArrowClient>>(
      transport::ServerUrl::Protocol protocol, const transport::ClientOptions& options)>
      connect;
  // One line per event worth an operator's attention (stderr in the CLI).
  std::function<void(const std::string&)> log;
};

struct CoordinatorMetrics {
  bool session = false;
  bool leader = false;
  int64_t live_servers = 0;
  int64_t publishes = 0;
  int64_t conflicts = 0;
  int64_t copies_fetched = 0;
  int64_t fetch_failures = 0;
  int64_t holders_pruned = 0;
  int64_t files_removed = 0;
};

// The options' own consistency (the root, the replica counts, a peer token
// needs a peer CA: see `peer`), which Create checks; a command line checks
// it before it starts anything.
Status ValidateCoordinatorOptions(const CoordinatorOptions& options);

class Coordinator final : public serve::DatasetCatalog {
 public:
  // Checks the options (ValidateCoordinatorOptions). Until
  // Join succeeds, uploads and reads of the current version are refused
  // (kUnavailable), so that a Service can be built over the coordinator
  // before its listeners know their ports.
  // REQUIRES: `store` outlives the coordinator and was opened with
  // keep_versions = 0 (the catalog decides).
  static Result<std::unique_ptr<Coordinator>> Create(CoordinatorOptions options,
                                                     serve::DatasetStore& store);
  // Connects, registers `self` (its id names this server), stands for
  // election and starts the background reconciliation. Once only.
  Status Join(ServerRecord self);
  ~Coordinator() override;
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Ends the session (this server leaves servers/ at once) and the
  // background thread; a fetch in progress is cancelled. Idempotent.
  void Stop();

  Result<serve::DatasetInfo> Publish(std::unique_ptr<serve::PreparedDataset> prepared,
                                     std::optional<int64_t> if_version) override;
  Result<serve::CatalogVersion> Resolve(std::string_view name,
                                        std::optional<int64_t> version) override;
  Result<std::vector<serve::CatalogVersion>> List() override;
  Status Drop(std::string_view name) override;
  void AppendMetrics(std::string& text) override;

  CoordinatorMetrics metrics() const;

 private:
  struct Cached {
    CatalogEntry entry;
    int32_t znode_version = -1;
  };

  Coordinator(CoordinatorOptions options, serve::DatasetStore& store);
  void Run();
  // A new session: base nodes, registration, election, watch.
  Status Establish();
  // Re-reads servers/, leader/ and datasets/ and acts on them.
  Status Refresh();
  // A node Refresh cannot use: logged once per content (its mzxid, noted
  // in `malformed`), not on every refresh, which would let anyone who may
  // write the root fill the log at the refresh rate.
  void Malformed(const std::string& path, const zk::Stat& stat, const Status& status,
                 std::map<std::string, int64_t>& malformed);
  void Reconcile();
  // False when a fetch was tried and failed (true: a copy was made, or
  // none was needed or possible here now).
  bool Replicate(const CatalogEntry& entry, const CatalogVersionRecord& record);
  void PruneGoneHolders();
  // Read-modify-write of one entry, retried on a concurrent change; `edit`
  // returns false when there is nothing to write.
  Status UpdateEntry(const std::string& name, const std::function<bool(CatalogEntry&)>& edit);
  Result<std::optional<Cached>> ReadEntry(const std::string& name);
  std::shared_ptr<zk::Client> client() const;
  std::vector<std::string> LocationsOf(const CatalogVersionRecord& record) const;
  serve::CatalogVersion ToCatalogVersion(const CatalogEntry& entry,
                                         const CatalogVersionRecord& record) const;
  // Decides a publication whose multi's outcome was lost with the
  // connection: reads the entry on a live session.
  Result<bool> PublishedAfterAll(const std::string& name, int64_t version,
                                 const std::string& sha256);
  void Log(const std::string& line) const;
  void Wake();
  bool Stopping() const;
  // Waits `pause` or until Stop(); true if stopping.
  bool PauseUnlessStopping(std::chrono::milliseconds pause);

  const CoordinatorOptions options_;
  const Layout layout_;
  ServerRecord self_;  // set by Join, before the thread starts
  serve::DatasetStore& store_;
  // The nodes the last Refresh could not use, by path: their mzxid (read
  // and written by Refresh only, which Join and then the loop call).
  std::map<std::string, int64_t> malformed_;
  // Versions whose last fetch failed, by name, version and SHA-256: when
  // the next may start, and the delay after the next failure (the loop's
  // thread only).
  struct FetchRetry {
    std::chrono::steady_clock::time_point not_before;
    std::chrono::milliseconds delay;
  };
  std::map<std::string, FetchRetry> fetch_retries_;

  mutable std::mutex mutex_;  // guards everything below up to the thread
  std::shared_ptr<zk::Client> client_;
  bool session_lost_ = true;
  std::string election_node_;
  std::map<std::string, ServerRecord> servers_;  // live, by id
  std::map<std::string, Cached> entries_;        // by name
  // Holders seen absent from servers/, since when (leader only).
  std::map<std::string, std::chrono::steady_clock::time_point> absent_since_;
  bool dirty_ = true;
  bool stopping_ = false;
  std::condition_variable wake_;
  CoordinatorMetrics metrics_;

  // Held by Publish from naming its file to the catalog's answer, and by
  // Reconcile while it removes files the catalog does not name, so that a
  // file is never removed between being named and being published.
  std::mutex publish_mutex_;
  std::atomic<bool> session_ok_{false};
  std::thread thread_;
};

}  // namespace zkarrow::coord

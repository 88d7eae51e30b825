#include "coord/coordinator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <limits>

#include "arrow/io.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/reader.h"
#include "zk/error_code.h"
#include "zk/protocol.h"

namespace zkarrow::coord {

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < size; ++i) {
    text += kHex[bytes[i] >> 4];
    text += kHex[bytes[i] & 15];
  }
  return text;
}

// The stored file's Schema message (the flatbuffer bytes).
std::string SchemaMessage(const serve::Dataset& dataset) {
  auto messages = dataset.Read(arrow::ipc::Compression::kNone);
  transport::IpcMessage first;
  if (!messages.ok()) return {};
  auto polled = (*messages)->Next(&first);
  if (!polled.ok() || *polled != transport::MessageStream::Poll::kMessage || !first.metadata) {
    return {};
  }
  auto bytes = first.metadata->bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  return Hex(digest, size);
}

// The schema of a Schema message given as hex: framed, followed by the
// end-of-stream marker, it is a stream holding only a schema, which the
// stream reader checks as it checks any input.
Result<std::shared_ptr<const arrow::Schema>> SchemaFromHex(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) {
    return Status::InvalidData("schema_message: expected an even number of hex digits, found " +
                               std::to_string(hex.size()));
  }
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::vector<uint8_t> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    int high = digit(hex[2 * i]), low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return Status::InvalidData("schema_message: not hex");
    bytes[i] = static_cast<uint8_t>(high << 4 | low);
  }
  arrow::BufferOutputStream framed;
  ZKA_RETURN_IF_ERROR(arrow::ipc::WriteFramedMetadata(framed, bytes).status());
  ZKA_RETURN_IF_ERROR(arrow::ipc::WriteEndOfStream(framed));
  ZKA_ASSIGN_OR_RETURN(
      auto reader,
      arrow::ipc::StreamReader::Open(std::make_unique<arrow::BufferInputStream>(framed.Finish())));
  return reader->shared_schema();
}

bool IsCode(const Status& status, zk::ErrorCode code) { return zk::ErrorCodeOf(status) == code; }

// When a fetch last made progress; read by the peer client's interrupt
// poll, on the fetching thread.
struct FetchProgress {
  Clock::time_point last = Clock::now();
  bool stalled = false;
};

// A copy's bytes as they arrive from a holder: at most `limit`, the
// catalog's size of the stored file (the stream of its messages is never
// longer: the file holds those messages, a footer and magic), so that a
// holder cannot fill the disk with a copy that never ends; every
// kFetchProgressBytes count as progress. `interrupted` (the client's too,
// which asks it only while waiting) is asked after every read as well, so
// that a holder trickling bytes is given up like one sending none.
class FetchStream final : public arrow::InputStream {
 public:
  FetchStream(arrow::InputStream& body, int64_t limit, FetchProgress& progress,
              std::function<bool()> interrupted)
      : body_(body), limit_(limit), progress_(progress), interrupted_(std::move(interrupted)) {}

  Result<int64_t> Read(std::span<uint8_t> out) override {
    if (static_cast<int64_t>(out.size()) > Room()) out = out.first(static_cast<size_t>(Room()));
    ZKA_ASSIGN_OR_RETURN(int64_t n, body_.Read(out));
    return Count(n);
  }

  Result<std::shared_ptr<const arrow::Buffer>> ReadBuffer(int64_t length) override {
    ZKA_ASSIGN_OR_RETURN(std::shared_ptr<const arrow::Buffer> buffer,
                         body_.ReadBuffer(std::min(length, Room())));
    ZKA_RETURN_IF_ERROR(Count(buffer->size()).status());
    return buffer;
  }

 private:
  // One byte past the limit is enough to know the copy is too long (none
  // past the largest limit, which no copy can pass).
  int64_t Room() const {
    const int64_t left = limit_ - read_;
    return left < std::numeric_limits<int64_t>::max() ? left + 1 : left;
  }

  Result<int64_t> Count(int64_t n) {
    if (read_ / kFetchProgressBytes != (read_ + n) / kFetchProgressBytes) {
      progress_.last = Clock::now();
    }
    read_ += n;
    if (read_ > limit_) {
      return Status::OutOfRange("expected a copy of at most " + std::to_string(limit_) +
                                " bytes (the catalog's size), found more");
    }
    if (interrupted_()) {
      return Status::Cancelled("interrupted after " + std::to_string(read_) + " bytes");
    }
    return n;
  }

  arrow::InputStream& body_;
  const int64_t limit_;
  FetchProgress& progress_;
  const std::function<bool()> interrupted_;
  int64_t read_ = 0;
};

// Creates `path` unless it exists.
Status EnsureNode(zk::Client& client, const std::string& path, const std::vector<zk::Acl>& acl) {
  Result<zk::CreateResult> created =
      client.Create(path, "", acl, zk::CreateMode::kPersistent).get();
  if (created.ok() || IsCode(created.status(), zk::ErrorCode::NODEEXISTS)) return Status::Ok();
  return created.status();
}

// What ZooKeeper measures against its jute.maxbuffer for the multi `ops`,
// sent by `client` (its chroot prefixes every path).
size_t RequestBytes(const std::vector<zk::Op>& ops, const zk::Client& client) {
  size_t bytes = zk::kMultiEndBytes + zk::kRequestPacketOverhead;
  for (const zk::Op& op : ops) bytes += zk::MultiOpEncodedBytes(op) + client.chroot().size();
  return bytes;
}

}  // namespace

Coordinator::Coordinator(CoordinatorOptions options, serve::DatasetStore& store)
    : options_(std::move(options)), layout_(options_.root), store_(store) {}

Status ValidateCoordinatorOptions(const CoordinatorOptions& options) {
  ZKA_RETURN_IF_ERROR(ValidateRoot(options.root));
  if (options.keep_versions < 1 || options.replicas < 1 || options.ack_replicas < 1) {
    return Status::InvalidArgument(
        "coordination: expected --keep-versions, --replicas and --ack-replicas of at least 1, "
        "found " +
        std::to_string(options.keep_versions) + ", " + std::to_string(options.replicas) + " and " +
        std::to_string(options.ack_replicas));
  }
  if (options.ack_replicas > options.replicas) {
    return Status::InvalidArgument(
        "coordination: a put cannot wait for more copies than are kept; expected --ack-replicas "
        "at most --replicas (" +
        std::to_string(options.replicas) + "), found " + std::to_string(options.ack_replicas));
  }
  // The peers' addresses come from servers/, which anyone allowed to write
  // the coordination root can fill (the default --coord-acl lets everyone),
  // and ZooKeeper does not say who wrote a node: an address is no proof that
  // a peer belongs to the group. What can prove it is the peer itself: a
  // TLS certificate for the host it is reached at, signed by a CA the
  // operator names for the group. So this server's bearer token goes only
  // to peers over TLS verified against that CA (system roots would accept
  // anyone's public certificate), and a token without such a CA is refused
  // here rather than sent in the clear to whatever a record names (or
  // replication failing later, since peers would then refuse us).
  if (!options.peer.bearer_token.empty() && options.peer.tls_ca_file.empty()) {
    return Status::InvalidArgument(
        "coordination: this server's bearer token would be sent to peers found in ZooKeeper, "
        "which only a TLS certificate can vouch for; expected a CA file for the peers' "
        "certificates (--peer-tls-ca) with --token-file, found none");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Coordinator>> Coordinator::Create(CoordinatorOptions options,
                                                         serve::DatasetStore& store) {
  ZKA_RETURN_IF_ERROR(ValidateCoordinatorOptions(options));
  if (store.options().keep_versions != 0) {
    return Status::InvalidArgument(
        "coordination: the store must leave pruning to the catalog (keep_versions 0)");
  }
  if (!options.connect) return Status::InvalidArgument("coordination: no way to reach peers");
  return std::unique_ptr<Coordinator>(new Coordinator(std::move(options), store));
}

Status Coordinator::Join(ServerRecord self) {
  ZKA_RETURN_IF_ERROR(ValidateServerId(self.id));
  if (thread_.joinable() || !self_.id.empty()) return Status::InvalidArgument("joined already");
  self_ = std::move(self);
  // The first session is established here, so that a wrong address or ACL
  // fails the start instead of a background loop.
  ZKA_RETURN_IF_ERROR(Establish().WithContext("coordination"));
  ZKA_RETURN_IF_ERROR(Refresh().WithContext("coordination"));
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

Coordinator::~Coordinator() { Stop(); }

void Coordinator::Stop() {
  std::shared_ptr<zk::Client> client;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable() && !client_) return;
    stopping_ = true;
    client = std::move(client_);
  }
  wake_.notify_all();
  session_ok_ = false;
  // Closed before the loop is joined: a request the loop waits on fails at
  // once, where an ensemble that stopped answering held it (and the stop)
  // for the session timeout and a new session's connect.
  if (client) client->Close();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mutex_);
    client = std::move(client_);  // one the loop established meanwhile
  }
  if (client) client->Close();
}

bool Coordinator::Stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

bool Coordinator::PauseUnlessStopping(std::chrono::milliseconds pause) {
  std::unique_lock lock(mutex_);
  return wake_.wait_for(lock, pause, [this] { return stopping_; });
}

void Coordinator::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void Coordinator::Wake() {
  {
    std::lock_guard lock(mutex_);
    dirty_ = true;
  }
  wake_.notify_all();
}

std::shared_ptr<zk::Client> Coordinator::client() const {
  std::lock_guard lock(mutex_);
  return client_;
}

Status Coordinator::Establish() {
  zk::ClientOptions client_options = options_.client;
  client_options.abandon_connect = [this] { return Stopping(); };
  client_options.session_listener = [this](const zk::SessionEvent& event) {
    if (event.state == zk::SessionState::kExpired || event.state == zk::SessionState::kClosed) {
      session_ok_ = false;
      {
        std::lock_guard lock(mutex_);
        session_lost_ = true;
      }
      Wake();
    } else if (event.state == zk::SessionState::kConnected) {
      Wake();
    }
  };
  ZKA_ASSIGN_OR_RETURN(std::unique_ptr<zk::Client> owned, zk::Client::Connect(client_options));
  std::shared_ptr<zk::Client> client = std::move(owned);
  // The root's ancestors are the operator's; the root and below are ours.
  for (size_t slash = layout_.root.find('/', 1); slash != std::string::npos;
       slash = layout_.root.find('/', slash + 1)) {
    ZKA_RETURN_IF_ERROR(EnsureNode(*client, layout_.root.substr(0, slash), options_.acl));
  }
  for (const std::string* path :
       {&layout_.root, &layout_.servers, &layout_.datasets, &layout_.leader, &layout_.locks}) {
    ZKA_RETURN_IF_ERROR(EnsureNode(*client, *path, options_.acl).WithContext("creating " + *path));
  }

  // Registration. A node left by this id's previous session (a restart
  // within the session timeout) goes away when that session expires; a
  // node of a live session means two servers were given one id.
  const std::string self_path = layout_.Server(self_.id);
  const Clock::time_point give_up =
      Clock::now() + client->negotiated_session_timeout() + std::chrono::seconds(2);
  while (true) {
    Result<zk::CreateResult> created =
        client->Create(self_path, ToJson(self_), options_.acl, zk::CreateMode::kEphemeral).get();
    if (created.ok()) break;
    if (!IsCode(created.status(), zk::ErrorCode::NODEEXISTS)) {
      return created.status().WithContext("registering " + self_path);
    }
    if (Clock::now() > give_up) {
      return Status::Conflict("server id '" + self_.id + "' is registered at " + self_path +
                              " by another live session: give each server its own --server-id");
    }
    if (PauseUnlessStopping(std::chrono::milliseconds(250))) return Status::Cancelled("stopping");
  }
  Result<zk::CreateResult> candidate = client
                                           ->Create(layout_.LeaderPrefix(), self_.id, options_.acl,
                                                    zk::CreateMode::kEphemeralSequential)
                                           .get();
  if (!candidate.ok()) return candidate.status().WithContext("standing for election");
  ZKA_RETURN_IF_ERROR(client
                          ->AddWatch(layout_.root, zk::AddWatchMode::kPersistentRecursive,
                                     [this](const zk::WatchEvent&) { Wake(); })
                          .get()
                          .WithContext("watching " + layout_.root));
  {
    std::lock_guard lock(mutex_);
    client_ = std::move(client);
    session_lost_ = false;
    election_node_ = candidate->path.substr(candidate->path.rfind('/') + 1);
    dirty_ = true;
  }
  session_ok_ = true;
  Log("coordination: registered as " + self_path);
  return Status::Ok();
}

void Coordinator::Run() {
  Clock::time_point next_refresh = Clock::now();
  while (true) {
    bool lost = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_refresh, [this] { return stopping_ || dirty_; });
      if (stopping_) return;
      dirty_ = false;
      lost = session_lost_;
    }
    next_refresh = Clock::now() + options_.refresh_interval;
    if (lost) {
      std::shared_ptr<zk::Client> old;
      {
        std::lock_guard lock(mutex_);
        old = std::move(client_);
      }
      if (old) {
        Log("coordination: ZooKeeper session lost; uploads are refused until a new one");
        old->Close();
      }
      Status established = Establish();
      if (!established.ok()) {
        Log("coordination: " + established.ToString() + " (retrying)");
        continue;
      }
    }
    Status refreshed = Refresh();
    if (!refreshed.ok()) {
      // A stop closes the session under the reads: nothing to report.
      if (!Stopping()) Log("coordination: reading the catalog: " + refreshed.ToString());
      continue;
    }
    Reconcile();
  }
}

Status Coordinator::Refresh() {
  std::shared_ptr<zk::Client> client = this->client();
  if (!client) return Status::Unavailable("no ZooKeeper session");
  // Servers.
  ZKA_ASSIGN_OR_RETURN(std::vector<std::string> ids, client->GetChildren(layout_.servers).get());
  std::vector<zk::ReadOp> reads;
  for (const std::string& id : ids) reads.push_back(zk::ReadOp::GetData(layout_.Server(id)));
  ZKA_ASSIGN_OR_RETURN(std::vector<zk::ReadResult> records, client->MultiRead(reads).get());
  std::map<std::string, int64_t> malformed;
  std::map<std::string, ServerRecord> servers;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (records[i].error != zk::ErrorCode::OK) continue;  // gone meanwhile
    Result<ServerRecord> record = ServerRecordFromJson(records[i].data);
    if (!record.ok()) {
      Malformed(layout_.Server(ids[i]), records[i].stat, record.status(), malformed);
      continue;
    }
    servers[ids[i]] = std::move(*record);
  }
  // Election: the lowest sequence number leads.
  ZKA_ASSIGN_OR_RETURN(std::vector<std::string> candidates,
                       client->GetChildren(layout_.leader).get());
  std::sort(candidates.begin(), candidates.end());
  // Catalog.
  ZKA_ASSIGN_OR_RETURN(std::vector<std::string> names, client->GetChildren(layout_.datasets).get());
  reads.clear();
  for (const std::string& name : names) reads.push_back(zk::ReadOp::GetData(layout_.Dataset(name)));
  ZKA_ASSIGN_OR_RETURN(std::vector<zk::ReadResult> entries, client->MultiRead(reads).get());
  std::map<std::string, Cached> catalog;
  for (size_t i = 0; i < names.size(); ++i) {
    if (entries[i].error != zk::ErrorCode::OK) continue;
    Result<CatalogEntry> entry = CatalogEntryFromJson(names[i], entries[i].data);
    if (!entry.ok()) {
      Malformed(layout_.Dataset(names[i]), entries[i].stat, entry.status(), malformed);
      continue;
    }
    catalog[names[i]] = {std::move(*entry), entries[i].stat.version};
  }
  malformed_ = std::move(malformed);
  std::lock_guard lock(mutex_);
  servers_ = std::move(servers);
  entries_ = std::move(catalog);
  metrics_.live_servers = static_cast<int64_t>(servers_.size());
  metrics_.leader = !candidates.empty() && candidates.front() == election_node_;
  return Status::Ok();
}

void Coordinator::Malformed(const std::string& path, const zk::Stat& stat, const Status& status,
                            std::map<std::string, int64_t>& malformed) {
  malformed[path] = stat.mzxid;
  auto reported = malformed_.find(path);
  if (reported != malformed_.end() && reported->second == stat.mzxid) return;
  Log("coordination: ignoring " + path + ": " + status.ToString());
}

void Coordinator::Reconcile() {
  std::map<std::string, Cached> entries;
  std::map<std::string, ServerRecord> servers;
  bool leader = false;
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
    servers = servers_;
    leader = metrics_.leader;
  }
  const std::string& self = self_.id;

  // 1. This server's claims against its store: claim verified copies the
  //    catalog does not list (a restart, a lost acknowledgement), withdraw
  //    claims to copies it does not have.
  for (const auto& [name, cached] : entries) {
    for (const CatalogVersionRecord& record : cached.entry.versions) {
      auto held = store_.Get(name, record.version);
      const bool verified = held.ok() && (*held)->info().sha256_hex == record.sha256;
      if (verified != record.HeldBy(self)) {
        Status updated = UpdateEntry(name, [&](CatalogEntry& entry) {
          CatalogVersionRecord* current = entry.Find(record.version);
          if (!current || current->HeldBy(self) == verified) return false;
          if (verified) {
            current->holders.push_back(self);
            std::sort(current->holders.begin(), current->holders.end());
          } else {
            std::erase(current->holders, self);
          }
          return true;
        });
        if (!updated.ok()) Log("coordination: updating " + name + ": " + updated.ToString());
      }
    }
  }

  // 2. Files the catalog does not name (an old version, a dropped dataset, a
  //    publication that lost or never reached the catalog). Checked again
  //    against a fresh read, under the publish lock, before removal.
  for (const serve::DatasetInfo& info : store_.ListVersions()) {
    auto found = entries.find(info.name);
    const CatalogVersionRecord* record =
        found == entries.end() ? nullptr : found->second.entry.Find(info.version);
    if (record && record->sha256 == info.sha256_hex) continue;
    std::lock_guard publishing(publish_mutex_);
    Result<std::optional<Cached>> fresh = ReadEntry(info.name);
    if (!fresh.ok()) continue;
    const CatalogVersionRecord* now = *fresh ? (*fresh)->entry.Find(info.version) : nullptr;
    if (now && now->sha256 == info.sha256_hex) continue;
    if (store_.Remove(info.name, info.version).ok()) {
      Log("coordination: removed " + info.name + " v" + std::to_string(info.version) +
          " (not kept by the catalog)");
      std::lock_guard lock(mutex_);
      ++metrics_.files_removed;
    }
  }

  // 3. Copies missing: fetch one where the lock is ours, unless its last
  //    fetch failed too recently.
  std::map<std::string, FetchRetry> retries;
  for (const auto& [name, cached] : entries) {
    for (const CatalogVersionRecord& record : cached.entry.versions) {
      if (record.HeldBy(self)) continue;
      int live = 0;
      for (const std::string& holder : record.holders) live += servers.count(holder) ? 1 : 0;
      if (live == 0 || live >= options_.replicas) continue;
      if (Stopping()) return;
      const std::string key = name + ".v" + std::to_string(record.version) + " " + record.sha256;
      auto failed = fetch_retries_.find(key);
      if (failed != fetch_retries_.end() && Clock::now() < failed->second.not_before) {
        retries.insert(*failed);
        continue;
      }
      if (Replicate(cached.entry, record)) continue;
      const std::chrono::milliseconds delay =
          failed == fetch_retries_.end()
              ? options_.fetch_retry_delay
              : std::min(failed->second.delay * 2,
                         options_.fetch_retry_delay * kMaxFetchRetryFactor);
      retries[key] = {Clock::now() + delay, delay};
    }
  }
  // Only versions still missing are remembered.
  fetch_retries_ = std::move(retries);

  // 4. Leader: forget holders gone for longer than the grace period.
  if (leader) PruneGoneHolders();
}

bool Coordinator::Replicate(const CatalogEntry& entry, const CatalogVersionRecord& record) {
  std::shared_ptr<zk::Client> client = this->client();
  if (!client) return true;
  const std::string lock_path = layout_.Lock(entry.name, record.version);
  Result<zk::CreateResult> locked =
      client->Create(lock_path, self_.id, options_.acl, zk::CreateMode::kEphemeral).get();
  if (!locked.ok()) return true;  // another server is fetching it (or ZooKeeper trouble)
  const std::string what = entry.name + " v" + std::to_string(record.version);
  // The lock's previous owner may have just made the copy that was missing:
  // decide again on the catalog as it is now.
  Result<std::optional<Cached>> fresh = ReadEntry(entry.name);
  const CatalogVersionRecord* latest =
      fresh.ok() && *fresh ? (*fresh)->entry.Find(record.version) : nullptr;
  if (!latest || latest->sha256 != record.sha256 || latest->HeldBy(self_.id) ||
      static_cast<int>(LocationsOf(*latest).size()) >= options_.replicas) {
    (void)client->Delete(lock_path, -1).get();
    return true;
  }
  Status fetched = [&]() -> Status {
    std::vector<std::string> sources = LocationsOf(record);
    Status last = Status::Unavailable("no live holder of " + what);
    for (const std::string& source : sources) {
      if (Stopping()) return Status::Cancelled("stopping");
      Result<transport::ServerUrl> url = transport::ParseServerUrl(
          source + "/datasets/" + entry.name + "?version=" + std::to_string(record.version));
      if (!url.ok()) {
        last = url.status();
        continue;
      }
      if (!options_.peer.bearer_token.empty() && !url->tls) {
        // See Create: the token goes only where TLS authenticates the peer.
        last = Status::PermissionDenied(
            "not fetching from " + source +
            ": this server's token is sent only to peers over TLS verified by --peer-tls-ca");
        continue;
      }
      FetchProgress progress;
      transport::ClientOptions peer_options = options_.peer;
      peer_options.host = url->host;
      peer_options.port = url->port;
      peer_options.tls = url->tls;
      auto interrupted = [this, &progress] {
        if (Stopping()) return true;
        progress.stalled = Clock::now() - progress.last >= options_.fetch_stall_timeout;
        return progress.stalled;
      };
      peer_options.interrupted = interrupted;
      Status one = [&]() -> Status {
        ZKA_ASSIGN_OR_RETURN(auto peer, options_.connect(url->protocol, peer_options));
        ZKA_ASSIGN_OR_RETURN(auto body, peer->Get(url->resource, {}));
        FetchStream bounded(*body, record.bytes, progress, interrupted);
        ZKA_ASSIGN_OR_RETURN(auto prepared, store_.Prepare(entry.name, bounded));
        if (prepared->info().bytes != record.bytes) {
          return Status::InvalidData("expected a copy of the catalog's " +
                                     std::to_string(record.bytes) + " bytes, found " +
                                     std::to_string(prepared->info().bytes) + "; not kept");
        }
        if (prepared->info().sha256_hex != record.sha256) {
          return Status::InvalidData("the copy's SHA-256 is " + prepared->info().sha256_hex +
                                     ", the catalog's " + record.sha256 + "; not kept");
        }
        return store_.CommitVersion(std::move(prepared), record.version, record.created_ms)
            .status();
      }();
      if (one.ok()) {
        Log("coordination: fetched " + what + " from " + source);
        return Status::Ok();
      }
      if (progress.stalled) {
        one = Status::Timeout("expected at least " + std::to_string(kFetchProgressBytes) +
                              " bytes (or the rest of the copy) every " +
                              std::to_string(options_.fetch_stall_timeout.count()) +
                              " ms, found fewer; given up (" + one.message() + ")");
      }
      last = one.WithContext("from " + source);
    }
    return last;
  }();
  if (fetched.ok()) {
    Status claimed = UpdateEntry(entry.name, [&](CatalogEntry& current) {
      CatalogVersionRecord* now = current.Find(record.version);
      if (!now || now->sha256 != record.sha256 || now->HeldBy(self_.id)) return false;
      now->holders.push_back(self_.id);
      std::sort(now->holders.begin(), now->holders.end());
      return true;
    });
    std::lock_guard lock(mutex_);
    ++metrics_.copies_fetched;
    if (!claimed.ok()) Log("coordination: claiming " + what + ": " + claimed.ToString());
  } else {
    Log("coordination: fetching " + what + ": " + fetched.ToString());
    std::lock_guard lock(mutex_);
    ++metrics_.fetch_failures;
  }
  // A lock that cannot be deleted goes with this session.
  (void)client->Delete(lock_path, -1).get();
  return fetched.ok();
}

void Coordinator::PruneGoneHolders() {
  std::map<std::string, Cached> entries;
  std::set<std::string> gone;
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
    std::set<std::string> absent;
    for (const auto& [name, cached] : entries_) {
      for (const CatalogVersionRecord& record : cached.entry.versions) {
        for (const std::string& holder : record.holders) {
          if (!servers_.count(holder)) absent.insert(holder);
        }
      }
    }
    for (auto it = absent_since_.begin(); it != absent_since_.end();) {
      it = absent.count(it->first) ? std::next(it) : absent_since_.erase(it);
    }
    for (const std::string& holder : absent) {
      auto [it, inserted] = absent_since_.emplace(holder, now);
      if (now - it->second >= options_.holder_grace) gone.insert(holder);
    }
  }
  if (gone.empty()) return;
  for (const auto& [name, cached] : entries) {
    int64_t removed = 0;
    Status updated = UpdateEntry(name, [&](CatalogEntry& entry) {
      removed = 0;
      for (CatalogVersionRecord& record : entry.versions) {
        removed +=
            std::erase_if(record.holders, [&](const std::string& h) { return gone.count(h); });
      }
      return removed > 0;
    });
    if (updated.ok() && removed > 0) {
      Log("coordination: removed " + std::to_string(removed) + " gone holder(s) from " + name);
      std::lock_guard lock(mutex_);
      metrics_.holders_pruned += removed;
    }
  }
}

Result<std::optional<Coordinator::Cached>> Coordinator::ReadEntry(const std::string& name) {
  std::shared_ptr<zk::Client> client = this->client();
  if (!client || !session_ok_) return Status::Unavailable("no ZooKeeper session");
  Result<zk::DataResult> data = client->GetData(layout_.Dataset(name)).get();
  if (!data.ok()) {
    if (IsCode(data.status(), zk::ErrorCode::NONODE)) return std::optional<Cached>();
    return data.status();
  }
  ZKA_ASSIGN_OR_RETURN(CatalogEntry entry, CatalogEntryFromJson(name, data->data));
  return std::optional<Cached>(Cached{std::move(entry), data->stat.version});
}

Status Coordinator::UpdateEntry(const std::string& name,
                                const std::function<bool(CatalogEntry&)>& edit) {
  // Each retry follows a write that won in between; a few suffice unless
  // the entry is hot, and then the next refresh tries again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    ZKA_ASSIGN_OR_RETURN(std::optional<Cached> cached, ReadEntry(name));
    if (!cached) return Status::Ok();  // dropped meanwhile
    if (!edit(cached->entry)) return Status::Ok();
    std::shared_ptr<zk::Client> client = this->client();
    if (!client) return Status::Unavailable("no ZooKeeper session");
    std::string text = ToJson(cached->entry);
    // A holder more can tip an entry near the limit over it (see Publish).
    while (RequestBytes({zk::Op::SetData(layout_.Dataset(name), text)}, *client) >
               options_.client.max_request_bytes &&
           cached->entry.LeaveOutOldestSchemaMessage()) {
      text = ToJson(cached->entry);
    }
    Result<zk::Stat> written =
        client->SetData(layout_.Dataset(name), text, cached->znode_version).get();
    if (written.ok()) return Status::Ok();
    if (!IsCode(written.status(), zk::ErrorCode::BADVERSION)) return written.status();
  }
  return Status::Conflict("the catalog entry of '" + name + "' kept changing; retried later");
}

std::vector<std::string> Coordinator::LocationsOf(const CatalogVersionRecord& record) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> locations;
  for (const std::string& holder : record.holders) {
    auto found = servers_.find(holder);
    if (found == servers_.end()) continue;
    const ServerRecord& server = found->second;
    if (!server.flight.empty()) {
      locations.push_back(server.flight);
    } else if (!server.http.empty()) {
      locations.push_back(server.http);
    }
  }
  return locations;
}

serve::CatalogVersion Coordinator::ToCatalogVersion(const CatalogEntry& entry,
                                                    const CatalogVersionRecord& record) const {
  serve::CatalogVersion version;
  version.info.name = entry.name;
  version.info.version = record.version;
  version.info.rows = record.rows;
  version.info.bytes = record.bytes;
  version.info.sha256_hex = record.sha256;
  version.info.created_ms = record.created_ms;
  auto held = store_.Get(entry.name, record.version);
  if (held.ok() && (*held)->info().sha256_hex == record.sha256) {
    version.info.schema = (*held)->info().schema;
  } else if (!entry.SchemaMessageHexOf(record).empty()) {
    // Described without a copy here; a schema the catalog cannot give is
    // left out, and the holders describe it.
    Result<std::shared_ptr<const arrow::Schema>> schema =
        SchemaFromHex(entry.SchemaMessageHexOf(record));
    if (schema.ok()) version.info.schema = std::move(*schema);
  }
  version.locations = LocationsOf(record);
  return version;
}

Result<serve::DatasetInfo> Coordinator::Publish(std::unique_ptr<serve::PreparedDataset> prepared,
                                                std::optional<int64_t> if_version) {
  const std::string name = prepared->info().name;
  if (!session_ok_) {
    return Status::Unavailable(
        "this server has no ZooKeeper session: uploads are refused until "
        "it has one again (another server of the group may take it)");
  }
  std::unique_lock publishing(publish_mutex_);
  ZKA_ASSIGN_OR_RETURN(std::optional<Cached> cached, ReadEntry(name));
  const int64_t current = cached ? cached->entry.current() : 0;
  if (if_version && *if_version != current) {
    std::lock_guard lock(mutex_);
    ++metrics_.conflicts;
    return Status::Conflict("dataset '" + name + "' is at version " + std::to_string(current) +
                            (current == 0 ? " (does not exist)" : "") +
                            ", the upload expected version " + std::to_string(*if_version));
  }
  const int64_t version = current + 1;
  // A stored file already numbered `version` is not published (the catalog
  // is at `current`, and publications of this server wait for each other):
  // left by a dropped dataset or a publication that never reached the
  // catalog, it gives way.
  if (store_.Get(name, version).ok()) (void)store_.Remove(name, version);
  ZKA_ASSIGN_OR_RETURN(serve::DatasetInfo info,
                       store_.CommitVersion(std::move(prepared), version, NowMs()));
  auto discard = [&] { (void)store_.Remove(name, version); };
  CatalogVersionRecord record;
  record.version = version;
  record.sha256 = info.sha256_hex;
  record.rows = info.rows;
  record.bytes = info.bytes;
  record.created_ms = info.created_ms;
  record.holders = {self_.id};
  if (auto stored = store_.Get(name, version); stored.ok()) {
    const std::string message = SchemaMessage(**stored);
    record.schema_message_hex =
        Hex(reinterpret_cast<const unsigned char*>(message.data()), message.size());
    record.schema_fingerprint = Sha256Hex(message);
  }
  const std::string path = layout_.Dataset(name);
  // The entry may change under this publication without another version
  // being published (a server claiming a copy): that is retried on the
  // fresh entry; only a version published meanwhile is a conflict.
  constexpr int kAttempts = 8;
  for (int attempt = 0;; ++attempt) {
    CatalogEntry next = cached ? cached->entry : CatalogEntry{name, {}};
    next.versions.push_back(record);
    next.KeepNewest(static_cast<size_t>(options_.keep_versions));
    std::shared_ptr<zk::Client> client = this->client();
    if (!client) {
      discard();
      return Status::Unavailable("no ZooKeeper session: the upload was not published");
    }
    auto publication = [&] {
      std::vector<zk::Op> ops;
      ops.push_back(zk::Op::Check(layout_.Server(self_.id), -1));
      if (cached) {
        ops.push_back(zk::Op::SetData(path, ToJson(next), cached->znode_version));
      } else {
        ops.push_back(zk::Op::Create(path, ToJson(next), options_.acl));
      }
      return ops;
    };
    std::vector<zk::Op> ops = publication();
    // The schemas are in the catalog only so that servers without a copy
    // can describe a version; without them the holders do.
    bool left_out = false;
    while (RequestBytes(ops, *client) > options_.client.max_request_bytes &&
           next.LeaveOutOldestSchemaMessage()) {
      left_out = true;
      ops = publication();
    }
    if (left_out) {
      Log("coordination: schemas left out of the catalog entry of " + name +
          " to fit ZooKeeper's request limit; servers without a copy send clients to "
          "the holders to describe those versions");
    }
    if (const size_t bytes = RequestBytes(ops, *client);
        bytes > options_.client.max_request_bytes) {
      discard();
      return Status::OutOfRange("the catalog entry of dataset '" + name + "' would take a " +
                                std::to_string(bytes) +
                                "-byte request, over ZooKeeper's limit of " +
                                std::to_string(options_.client.max_request_bytes) +
                                " (jute.maxbuffer); keep fewer versions (--keep-versions)");
    }
    Result<std::vector<zk::OpResult>> results = client->Multi(std::move(ops)).get();
    if (!results.ok()) {
      // The outcome is unknown until the entry is read on a live session.
      Result<bool> published = PublishedAfterAll(name, version, info.sha256_hex);
      if (!published.ok()) {
        // Not removed: if it was published, this server is its holder; the
        // next reconciliation removes it if it was not.
        return Status::Unavailable(
            "ZooKeeper failed during the publication of '" + name + "' version " +
            std::to_string(version) + " and its outcome could not be learned (" +
            published.status().message() + "); read the dataset to see whether it is current");
      }
      if (!*published) {
        discard();
        return Status::Unavailable("ZooKeeper failed during the publication of '" + name + "' (" +
                                   results.status().message() +
                                   "); it was not published: upload it again");
      }
      break;
    }
    if ((*results)[0].error != zk::ErrorCode::OK &&
        (*results)[0].error != zk::ErrorCode::RUNTIMEINCONSISTENCY) {
      discard();
      return Status::Unavailable("this server is not registered in " + layout_.servers +
                                 " (its session is being replaced): upload again");
    }
    const zk::ErrorCode failed = (*results)[1].error;
    if (failed == zk::ErrorCode::OK) break;
    Result<std::optional<Cached>> fresh = ReadEntry(name);
    const int64_t now_current = fresh.ok() && *fresh ? (*fresh)->entry.current() : 0;
    if (!fresh.ok() || now_current != current || attempt + 1 == kAttempts) {
      discard();
      std::lock_guard lock(mutex_);
      ++metrics_.conflicts;
      return Status::Conflict("another upload of dataset '" + name + "' became version " +
                              std::to_string(now_current) + " first (" +
                              std::string(zk::ErrorCodeName(failed)) +
                              "); this one was not stored: upload it again");
    }
    cached = std::move(*fresh);
  }
  {
    std::lock_guard lock(mutex_);
    ++metrics_.publishes;
  }
  publishing.unlock();
  Wake();
  Log("coordination: published " + name + " v" + std::to_string(version));
  if (options_.ack_replicas > 1) {
    const Clock::time_point deadline = Clock::now() + options_.ack_timeout;
    while (true) {
      Result<std::optional<Cached>> now = ReadEntry(name);
      if (now.ok() && *now) {
        const CatalogVersionRecord* held = (*now)->entry.Find(version);
        if (held && static_cast<int>(held->holders.size()) >= options_.ack_replicas) break;
      }
      if (Clock::now() > deadline) {
        return Status::Timeout(
            "dataset '" + name + "' version " + std::to_string(version) +
            " is published, but fewer than " + std::to_string(options_.ack_replicas) +
            " servers hold a copy after " + std::to_string(options_.ack_timeout.count()) + " ms");
      }
      // A stopping server does not hold its shutdown for the copies of others.
      if (PauseUnlessStopping(std::chrono::milliseconds(50))) {
        return Status::Unavailable("dataset '" + name + "' version " + std::to_string(version) +
                                   " is published, but this server stopped before " +
                                   std::to_string(options_.ack_replicas) +
                                   " servers held a copy; read the dataset to see its holders");
      }
    }
  }
  return info;
}

Result<bool> Coordinator::PublishedAfterAll(const std::string& name, int64_t version,
                                            const std::string& sha256) {
  // The client reconnects within the session timeout, or the session
  // expires and the loop makes a new one; either way a read will answer.
  const Clock::time_point deadline =
      Clock::now() + options_.client.session_timeout * 2 + std::chrono::seconds(5);
  Status last = Status::Unavailable("no ZooKeeper session");
  while (Clock::now() < deadline) {
    std::shared_ptr<zk::Client> client = this->client();
    if (client && session_ok_) {
      // A sync first, so that the read is not from a server behind the
      // leader that decided the multi.
      if (client->Sync(layout_.datasets).get().ok()) {
        Result<std::optional<Cached>> entry = ReadEntry(name);
        if (entry.ok()) {
          const CatalogVersionRecord* record = *entry ? (*entry)->entry.Find(version) : nullptr;
          return record && record->sha256 == sha256 && record->HeldBy(self_.id);
        }
        last = entry.status();
      }
    }
    // A stopping server has ended its session: no read will answer.
    if (PauseUnlessStopping(std::chrono::milliseconds(200))) return Status::Cancelled("stopping");
  }
  return last;
}

Result<serve::CatalogVersion> Coordinator::Resolve(std::string_view name,
                                                   std::optional<int64_t> version) {
  ZKA_RETURN_IF_ERROR(serve::ValidateDatasetName(name));
  Result<std::optional<Cached>> cached = ReadEntry(std::string(name));
  if (!cached.ok()) {
    if (cached.status().code() != StatusCode::kUnavailable) return cached.status();
    // Without the catalog only a copy named by its version can be served,
    // and only one the catalog listed when last read: the file of a
    // publication whose outcome was lost with the session is no version
    // (yet), and another server may publish its number with other bytes.
    if (version) {
      if (auto held = store_.Get(name, *version); held.ok()) {
        std::lock_guard lock(mutex_);
        auto listed = entries_.find(std::string(name));
        const CatalogVersionRecord* record =
            listed == entries_.end() ? nullptr : listed->second.entry.Find(*version);
        if (record && record->sha256 == (*held)->info().sha256_hex) {
          return serve::CatalogVersion{(*held)->info(), {}};
        }
        return Status::Unavailable(
            "this server has no ZooKeeper session, and its copy of '" + std::string(name) +
            "' version " + std::to_string(*version) +
            " was not published when it last read the catalog; ask another server");
      }
    }
    return Status::Unavailable("this server has no ZooKeeper session, so the current version of '" +
                               std::string(name) +
                               "' is unknown here; ask another server, or name a version held "
                               "here (?version=V)");
  }
  if (!*cached) return Status::NotFound("no dataset named '" + std::string(name) + "'");
  const CatalogEntry& entry = (*cached)->entry;
  const CatalogVersionRecord* record =
      version ? entry.Find(*version) : (entry.versions.empty() ? nullptr : &entry.versions.back());
  if (!record) {
    return Status::NotFound("dataset '" + std::string(name) + "' has no version " +
                            std::to_string(version.value_or(0)) +
                            " (no longer kept; kept: " + entry.KeptList() + ")");
  }
  return ToCatalogVersion(entry, *record);
}

Result<std::vector<serve::CatalogVersion>> Coordinator::List() {
  std::map<std::string, Cached> entries;
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
  }
  std::vector<serve::CatalogVersion> list;
  for (const auto& [name, cached] : entries) {
    if (!cached.entry.versions.empty()) {
      list.push_back(ToCatalogVersion(cached.entry, cached.entry.versions.back()));
    }
  }
  return list;
}

Status Coordinator::Drop(std::string_view name) {
  ZKA_RETURN_IF_ERROR(serve::ValidateDatasetName(name));
  std::shared_ptr<zk::Client> client = this->client();
  if (!client || !session_ok_) {
    return Status::Unavailable("this server has no ZooKeeper session: drop refused");
  }
  Status deleted = client->Delete(layout_.Dataset(name), -1).get();
  if (IsCode(deleted, zk::ErrorCode::NONODE)) {
    return Status::NotFound("no dataset named '" + std::string(name) + "'");
  }
  ZKA_RETURN_IF_ERROR(deleted);
  Wake();  // every server removes its files when it sees the entry gone
  return Status::Ok();
}

CoordinatorMetrics Coordinator::metrics() const {
  std::lock_guard lock(mutex_);
  CoordinatorMetrics metrics = metrics_;
  metrics.session = session_ok_;
  return metrics;
}

void Coordinator::AppendMetrics(std::string& text) {
  const CoordinatorMetrics m = metrics();
  auto line = [&](std::string_view name, std::string_view type, std::string_view help,
                  int64_t value) {
    text += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    text += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
    text += std::string(name) + " " + std::to_string(value) + "\n";
  };
  line("zkarrow_coord_session", "gauge", "1 while the coordination session is up", m.session);
  line("zkarrow_coord_leader", "gauge", "1 while this server is the group's leader", m.leader);
  line("zkarrow_coord_live_servers", "gauge", "servers registered in the group", m.live_servers);
  line("zkarrow_coord_publishes_total", "counter", "versions this server published", m.publishes);
  line("zkarrow_coord_conflicts_total", "counter", "uploads refused because another won",
       m.conflicts);
  line("zkarrow_coord_copies_fetched_total", "counter", "copies fetched from other holders",
       m.copies_fetched);
  line("zkarrow_coord_fetch_failures_total", "counter", "failed attempts to fetch a copy",
       m.fetch_failures);
  line("zkarrow_coord_holders_pruned_total", "counter", "gone holders removed (as leader)",
       m.holders_pruned);
  line("zkarrow_coord_files_removed_total", "counter",
       "stored versions removed because the catalog no longer keeps them", m.files_removed);
}

}  // namespace zkarrow::coord

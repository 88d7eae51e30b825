// The datasets of `zkarrow serve`: Arrow streams that clients upload under a
// name, kept in one directory as Arrow IPC files and served back as
// encapsulated messages. Knows Arrow, not ZooKeeper.
//
// Durability and atomicity: an upload is read to its end by the strict
// StreamReader (every batch decoded, memory bounded by IpcReadOptions and
// the upload limit) and written meanwhile by our IpcWriter, in the file
// format, to an unnamed file (O_TMPFILE) in the directory. Only when all of
// it succeeded, and the file is fsynced, does it get its name (linkat) and
// become the current version; then the directory is fsynced. A malformed,
// interrupted or failed upload (bad input, disk full, a crash, kill -9)
// therefore leaves nothing to clean up and the previous version is served
// throughout. Readers of a replaced version keep reading it: its file stays
// mapped as long as they hold it.
//
// On disk, one file per version: NAME.vVERSION.SHA256.arrow, the SHA-256 of
// the file's bytes computed while writing. Open() recomputes it for every
// version it loads, so a file damaged at rest is found (and skipped, with an
// older version served if one is kept) instead of being served.
//
// Served messages: every message of a stored file (schema, dictionaries,
// batches) is at most `max_batch_bytes_served` bytes framed, with or without
// body compression, because gRPC refuses messages over 4 MiB by default.
// Uploaded batches larger than that are stored as several row slices; a
// single row (or a dictionary, which cannot be split) too large is refused.
//
// One store per directory: Open() takes an exclusive lock on it (flock), so a
// second server on the same directory fails instead of racing for versions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arrow/buffer.h"
#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "arrow/type.h"
#include "base/status.h"
#include "transport/arrow_service.h"
#include "transport/message_stream.h"

namespace zkarrow::serve {

// Flight's gRPC message limit is 4 MiB; half of it leaves room for the
// FlightData envelope and the app metadata a transport adds.
inline constexpr int64_t kDefaultMaxServedMessageBytes = int64_t{2} << 20;
// Below this a slice could not hold the metadata of a wide schema's batch.
inline constexpr int64_t kMinServedMessageBytes = 4096;
// Names are at most this long, in [A-Za-z0-9._-], not starting with '.'.
inline constexpr size_t kMaxDatasetNameLength = 128;

struct DatasetStoreOptions {
  // Budgets for reading uploads (and for re-reading stored files when a
  // compressed response is asked for).
  arrow::ipc::IpcReadOptions read;
  // The upload limit (zkarrow serve's --max-upload-mb, which the transports
  // apply to the bytes received) applied to what an upload decodes to: a
  // compressed upload is stored uncompressed, so its stored file is at most
  // this many bytes, and one batch or the dictionaries are decoded within
  // it (read's budgets, lowered to it for uploads). Over it: OutOfRange.
  int64_t max_upload_bytes = transport::ServerOptions{}.max_upload_bytes;
  // Upper bound on one served message, framed (see above).
  int64_t max_batch_bytes_served = kDefaultMaxServedMessageBytes;
  // Versions kept per name, the current one included. Older files are
  // deleted once a newer version is visible. 0: the store deletes nothing by
  // itself; a catalog that decides which versions exist removes them
  // (Remove), as coordinated servers do (src/coord).
  int keep_versions = 1;
};

struct DatasetInfo {
  std::string name;
  int64_t version = 0;  // 1, 2, ... per name; 0 while not yet committed
  int64_t rows = 0;
  int64_t bytes = 0;       // of the stored file
  std::string sha256_hex;  // of the stored file, lower-case hex
  std::shared_ptr<const arrow::Schema> schema;
  int64_t created_ms = 0;  // Unix time of the commit (after a restart: the file's mtime)
};

// One stored version, immutable and shareable; holding it keeps its file
// mapped (and readable) even after the version was replaced or dropped.
class Dataset {
 public:
  Dataset(DatasetInfo info, std::shared_ptr<const arrow::Buffer> file,
          std::shared_ptr<const std::vector<transport::IpcMessage>> messages);

  const DatasetInfo& info() const { return info_; }
  // The stored file's bytes (the mapping), e.g. to copy it to a replica.
  const std::shared_ptr<const arrow::Buffer>& file() const { return file_; }

  // The file's messages in stream order (schema, dictionaries, batches; not
  // the footer), pulled one at a time. kNone: zero-copy slices of the
  // mapping. A codec: each batch is decoded and re-encoded with it when
  // pulled. `read` bounds that decoding (the store's options).
  Result<std::unique_ptr<transport::MessageStream>> Read(
      arrow::ipc::Compression compression, const arrow::ipc::IpcReadOptions& read = {}) const;

 private:
  DatasetInfo info_;
  std::shared_ptr<const arrow::Buffer> file_;
  std::shared_ptr<const std::vector<transport::IpcMessage>> messages_;
};

// An upload that was validated, written and fsynced, but has no name yet:
// Commit() makes it visible, destroying it discards it (nothing remains on
// disk). Lets a caller coordinate visibility with others (issue 13 publishes
// in ZooKeeper between the two steps).
class PreparedDataset {
 public:
  ~PreparedDataset();
  PreparedDataset(const PreparedDataset&) = delete;
  PreparedDataset& operator=(const PreparedDataset&) = delete;

  // Everything but version and created_ms, which Commit assigns.
  const DatasetInfo& info() const { return info_; }

 private:
  friend class DatasetStore;
  PreparedDataset() = default;

  const void* store_ = nullptr;  // the store that prepared it
  int fd_ = -1;                  // the unnamed file
  DatasetInfo info_;
  std::shared_ptr<const arrow::Buffer> file_;
  std::shared_ptr<const std::vector<transport::IpcMessage>> messages_;
};

class DatasetStore {
 public:
  // Opens (creating it if needed) and locks `dir`, and loads the newest
  // intact version of every name (up to keep_versions of them); older
  // versions past keep_versions are deleted. Files it cannot use (damaged,
  // unknown names) are left alone and listed in open_notes().
  static Result<std::unique_ptr<DatasetStore>> Open(const std::filesystem::path& dir,
                                                    DatasetStoreOptions options = {});
  ~DatasetStore();
  DatasetStore(const DatasetStore&) = delete;
  DatasetStore& operator=(const DatasetStore&) = delete;

  // Validate + Prepare + Commit. `if_version`: the version the caller
  // expects to be current (0: the name must not exist), else kConflict;
  // checked before the upload is read and again at commit.
  // `upload` is an Arrow IPC stream that ends with the end-of-stream
  // marker: one that simply stops is treated as interrupted (transports
  // append the marker when the client completed its upload, never when it
  // went away), and one with bytes after it (a second stream) is refused.
  // An Arrow IPC file is accepted as well (read in order, its footer
  // drained unread), as long as its dictionaries precede the batches that
  // use them, as every writer we know does it.
  Result<DatasetInfo> Put(std::string_view name, arrow::InputStream& upload,
                          std::optional<int64_t> if_version = {});

  // Reads, validates and writes an upload without making it visible. Safe to
  // call concurrently, also for one name: uploads never share a file.
  Result<std::unique_ptr<PreparedDataset>> Prepare(std::string_view name,
                                                   arrow::InputStream& upload);
  // Gives `prepared` the next version of its name and makes it the current
  // one. Commits of one name are serialized: each gets its own version.
  Result<DatasetInfo> Commit(std::unique_ptr<PreparedDataset> prepared,
                             std::optional<int64_t> if_version = {});

  // Makes `prepared` version `version` of its name, a number a catalog
  // assigned (src/coord), instead of the next one. Versions may arrive out
  // of order (a replica fetching a kept older version); the highest one is
  // current. The version existing already with the same SHA-256 is success
  // (a retried install), with another SHA-256 kConflict.
  Result<DatasetInfo> CommitVersion(std::unique_ptr<PreparedDataset> prepared, int64_t version,
                                    int64_t created_ms);
  // Deletes one version's file (kNotFound when it is not stored). Readers
  // holding it keep reading it.
  Status Remove(std::string_view name, int64_t version);
  // Every stored version of every name, oldest first per name.
  std::vector<DatasetInfo> ListVersions() const;

  // The current version, or the given one while it is kept; kNotFound
  // otherwise, naming the versions still kept.
  Result<std::shared_ptr<const Dataset>> Get(std::string_view name,
                                             std::optional<int64_t> version = {}) const;
  // The current version of every name, by name.
  std::vector<DatasetInfo> List() const;
  // Deletes every version of `name` (kNotFound when there is none). Readers
  // holding a version keep reading it. A later Put starts again at version 1.
  Status Drop(std::string_view name);

  // What Open() skipped and why (damaged or unknown files), one line each.
  const std::vector<std::string>& open_notes() const { return open_notes_; }
  const DatasetStoreOptions& options() const { return options_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Entry;
  DatasetStore(std::filesystem::path dir, int dir_fd, DatasetStoreOptions options);
  Status Load();
  std::shared_ptr<Entry> FindEntry(std::string_view name) const;
  Status SyncDir(std::string_view what) const;
  void PruneOld(Entry& entry);
  // Locks the entry of `name`'s commits, creating it if needed.
  std::pair<std::shared_ptr<Entry>, std::unique_lock<std::mutex>> LockEntry(
      const std::string& name);
  // Links the prepared file under `info`'s name and version and syncs the
  // directory. REQUIRES: entry.commit is held.
  Status LinkVersion(PreparedDataset& prepared, const DatasetInfo& info);

  const std::filesystem::path dir_;
  const int dir_fd_;  // open and flock'ed for the store's lifetime
  const DatasetStoreOptions options_;
  std::vector<std::string> open_notes_;

  mutable std::mutex mutex_;  // guards entries_ and every Entry::versions
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;
};

// OK when `name` may name a dataset; InvalidArgument saying why otherwise.
Status ValidateDatasetName(std::string_view name);

}  // namespace zkarrow::serve

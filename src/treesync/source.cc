#include "treesync/source.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "arrow/array_access.h"
#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/type.h"
#include "treesync/internal/record_sorter.h"
#include "zk/connect_string.h"
#include "znodes/datadir/data_dir.h"
#include "znodes/live/tree_walker.h"
#include "znodes/znode_schema.h"

namespace zkarrow::treesync {
namespace {

constexpr std::string_view kZkScheme = "zk://";
constexpr std::string_view kDataDirScheme = "datadir:";

Status BadSource(std::string_view text, std::string_view expected) {
  return Status(StatusCode::kInvalidArgument,
                "'" + std::string(text) + "': expected " + std::string(expected));
}

Result<int64_t> ParseZxid(std::string_view text, std::string_view source) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  std::string_view digits = text.substr(hex ? 2 : 0);
  int64_t zxid = 0;
  auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), zxid, hex ? 16 : 10);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || zxid < 0) {
    return BadSource(source,
                     "a zxid in decimal or 0x hex after '@', found '" + std::string(text) + "'");
  }
  return zxid;
}

// ZooKeeper's own subtree: quotas and the ensemble's configuration, kept by
// the server. /zookeeper/config differs between any two ensembles and only
// reconfig may change it, so a tree rooted above /zookeeper leaves it out
// (diff would always differ, restore and copy would fail on it); a root at
// or below it, named on purpose, keeps it.
constexpr std::string_view kServerSubtree = "/zookeeper";

bool AtOrBelow(std::string_view path, std::string_view ancestor) {
  return path.starts_with(ancestor) &&
         (path.size() == ancestor.size() || path[ancestor.size()] == '/');
}

// Turns the records a reader hands out (absolute paths, views) into owned
// records relative to the root, applying the excludes (to the relative path
// and every ancestor of it: a match prunes the subtree) and leaving out the
// server's own subtree unless the root is in it.
class RecordFilter {
 public:
  RecordFilter(const SourceOptions& options, std::string root)
      : options_(options),
        root_(std::move(root)),
        keep_server_subtree_(AtOrBelow(root_, kServerSubtree)) {}

  bool Excluded(const std::string& relative) const {
    if (options_.excludes.empty()) return false;
    for (size_t end = 1; end <= relative.size(); ++end) {
      if (end != relative.size() && relative[end] != '/') continue;
      const std::string prefix = relative.substr(0, end);
      for (const std::string& pattern : options_.excludes) {
        if (fnmatch(pattern.c_str(), prefix.c_str(), 0) == 0) return true;
      }
    }
    return false;
  }

  // nullopt for a record left out.
  std::optional<Record> Own(const znodes::ZnodeRecord& view) {
    if (!keep_server_subtree_ && AtOrBelow(view.path, kServerSubtree)) return std::nullopt;
    std::optional<std::string> relative = RelativePath(root_, view.path);
    if (!relative || Excluded(*relative)) return std::nullopt;
    Record record;
    record.path = std::move(*relative);
    record.stat = view.stat;
    record.kind = view.kind;
    if (view.data && options_.read_data) {
      record.data.emplace(reinterpret_cast<const char*>(view.data->data()), view.data->size());
      record.null_data = view.null_data;
    }
    record.ttl_ms = view.ttl_ms;
    if (view.acl && options_.read_acl) record.acl = *view.acl;
    record.error = std::string(view.error);
    if (view.stat) {
      info_.max_zxid =
          std::max({info_.max_zxid, view.stat->mzxid, view.stat->czxid, view.stat->pzxid});
    }
    ++info_.records;
    return record;
  }

  SourceInfo& info() { return info_; }
  const std::string& root() const { return root_; }

 private:
  const SourceOptions& options_;
  std::string root_;
  bool keep_server_subtree_;
  SourceInfo info_;
};

// The filtered records into the external sort.
class Collector {
 public:
  Collector(const SourceOptions& options, std::string root)
      : filter_(options, std::move(root)),
        sorter_(options.sort_memory_bytes),
        stop_requested_(options.stop_requested) {}

  Status Add(const znodes::ZnodeRecord& view) {
    if (stop_requested_ && stop_requested_()) return StoppedBySignal();
    std::optional<Record> record = filter_.Own(view);
    return record ? sorter_.Add(std::move(*record)) : Status::Ok();
  }

  const std::string& root() const { return filter_.root(); }

  Result<std::unique_ptr<RecordStream>> Finish(SourceInfo* info) && {
    filter_.info().spilled_runs = sorter_.spilled_runs();
    if (info != nullptr) *info = filter_.info();
    return std::move(sorter_).Finish();
  }

 private:
  RecordFilter filter_;
  internal::RecordSorter sorter_;
  std::function<bool()> stop_requested_;
};

// Column positions of a znode table read from a file, checked by name and
// type against the schema znodes defines.
struct FileColumns {
  int path = -1, kind = -1, data = -1, ttl_ms = -1, acl = -1, error = -1;
  int version = -1, cversion = -1, aversion = -1, data_length = -1, num_children = -1;
  int czxid = -1, mzxid = -1, pzxid = -1, ephemeral_owner = -1, ctime = -1, mtime = -1;
  // The table says it read data (znodes::kMetaData): a null data cell
  // without an error is then ZooKeeper's null data, not "not read".
  bool data_read = false;
};

Result<FileColumns> FindColumns(const arrow::Schema& schema, const std::string& file) {
  const arrow::Schema expected = znodes::ZnodeTableSchema(false);
  FileColumns columns;
  auto find = [&](int expected_index, int* out) -> Status {
    const arrow::Field& want = expected.fields[static_cast<size_t>(expected_index)];
    for (size_t i = 0; i < schema.fields.size(); ++i) {
      if (schema.fields[i].name != want.name) continue;
      if (!(schema.fields[i].type == want.type) ||
          schema.fields[i].dictionary.has_value() != want.dictionary.has_value()) {
        return Status(StatusCode::kInvalidData,
                      file + ": column '" + want.name +
                          "' does not have the znode table's type (is it a zkarrow snapshot?)");
      }
      *out = static_cast<int>(i);
      return Status::Ok();
    }
    return Status(StatusCode::kInvalidData,
                  file + ": expected a znode table with a '" + want.name + "' column, found none");
  };
  using namespace znodes;
  ZKA_RETURN_IF_ERROR(find(kPathColumn, &columns.path));
  ZKA_RETURN_IF_ERROR(find(kKindColumn, &columns.kind));
  ZKA_RETURN_IF_ERROR(find(kDataColumn, &columns.data));
  ZKA_RETURN_IF_ERROR(find(kDataLengthColumn, &columns.data_length));
  ZKA_RETURN_IF_ERROR(find(kNumChildrenColumn, &columns.num_children));
  ZKA_RETURN_IF_ERROR(find(kVersionColumn, &columns.version));
  ZKA_RETURN_IF_ERROR(find(kCversionColumn, &columns.cversion));
  ZKA_RETURN_IF_ERROR(find(kAversionColumn, &columns.aversion));
  ZKA_RETURN_IF_ERROR(find(kCzxidColumn, &columns.czxid));
  ZKA_RETURN_IF_ERROR(find(kMzxidColumn, &columns.mzxid));
  ZKA_RETURN_IF_ERROR(find(kPzxidColumn, &columns.pzxid));
  ZKA_RETURN_IF_ERROR(find(kEphemeralOwnerColumn, &columns.ephemeral_owner));
  ZKA_RETURN_IF_ERROR(find(kCtimeColumn, &columns.ctime));
  ZKA_RETURN_IF_ERROR(find(kMtimeColumn, &columns.mtime));
  ZKA_RETURN_IF_ERROR(find(kTtlMsColumn, &columns.ttl_ms));
  ZKA_RETURN_IF_ERROR(find(kAclColumn, &columns.acl));
  ZKA_RETURN_IF_ERROR(find(kErrorColumn, &columns.error));
  columns.data_read = DataColumnWasRead(schema.metadata);
  return columns;
}

std::string_view StringValue(const arrow::ArrayData& array, int64_t i) {
  auto bytes = arrow::BinaryValue(array, i, false);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

template <typename T>
T IntValue(const arrow::ArrayData& array, int64_t i) {
  return array.buffers[1]->data_as<T>()[array.offset + i];
}

// A file's row names a node under the file's root, or the file is refused:
// restore writes each row at its path relative to that root, so a path
// without its leading '/' would land beside the target (root "/t", row
// "x": "/tx"), and one outside the root has no place in the target at all.
Status CheckRowPath(std::string_view path, const std::string& root, const std::string& file,
                    int64_t row) {
  const std::string where = file + ": row " + std::to_string(row) + ": ";
  if (Status valid = zk::ValidatePath(path); !valid.ok()) {
    return Status(StatusCode::kInvalidData, where + arrow::EscapeText(valid.message()));
  }
  if (!RelativePath(root, path)) {
    return Status(StatusCode::kInvalidData, where + "expected a path under the table's root '" +
                                                root + "' (" + znodes::kMetaRoot + "), found '" +
                                                arrow::EscapeText(path) + "'");
  }
  return Status::Ok();
}

// One batch of a znode table into the collector; `first_row` is the
// batch's first row's number in the file.
Status AddBatch(const arrow::RecordBatch& batch, int64_t first_row, const FileColumns& c,
                const std::string& file, Collector& collector) {
  auto col = [&](int index) -> const arrow::ArrayData& {
    return *batch.columns[static_cast<size_t>(index)];
  };
  const arrow::ArrayData& kind = col(c.kind);
  const arrow::ArrayData& acl = col(c.acl);
  std::vector<zk::Acl> acls;
  for (int64_t i = 0; i < batch.length; ++i) {
    znodes::ZnodeRecord record;
    const std::string path(StringValue(col(c.path), i));
    ZKA_RETURN_IF_ERROR(CheckRowPath(path, collector.root(), file, first_row + i));
    record.path = path;
    if (arrow::IsValidAt(kind, i)) {
      const int32_t index = IntValue<int32_t>(kind, i);
      const std::string_view name = index >= 0 && index < kind.dictionary->length
                                        ? StringValue(*kind.dictionary, index)
                                        : std::string_view();
      auto found = std::find(znodes::kNodeKindNames.begin(), znodes::kNodeKindNames.end(), name);
      if (found == znodes::kNodeKindNames.end()) {
        return Status(StatusCode::kInvalidData,
                      file + ": row " + path +
                          ": expected a node kind (persistent, ephemeral, "
                          "container, ttl), found '" +
                          std::string(name) + "'");
      }
      record.kind = static_cast<znodes::NodeKind>(found - znodes::kNodeKindNames.begin());
    }
    if (arrow::IsValidAt(col(c.version), i)) {
      zk::Stat stat;
      stat.version = IntValue<int32_t>(col(c.version), i);
      stat.cversion = IntValue<int32_t>(col(c.cversion), i);
      stat.aversion = IntValue<int32_t>(col(c.aversion), i);
      stat.data_length = IntValue<int32_t>(col(c.data_length), i);
      stat.num_children = IntValue<int32_t>(col(c.num_children), i);
      stat.czxid = IntValue<int64_t>(col(c.czxid), i);
      stat.mzxid = IntValue<int64_t>(col(c.mzxid), i);
      stat.pzxid = IntValue<int64_t>(col(c.pzxid), i);
      stat.ephemeral_owner = IntValue<int64_t>(col(c.ephemeral_owner), i);
      stat.ctime = IntValue<int64_t>(col(c.ctime), i);
      stat.mtime = IntValue<int64_t>(col(c.mtime), i);
      record.stat = stat;
    }
    if (arrow::IsValidAt(col(c.data), i)) {
      record.data = arrow::BinaryValue(col(c.data), i, false);
    } else if (c.data_read && !arrow::IsValidAt(col(c.error), i)) {
      record.data = std::span<const uint8_t>();
      record.null_data = true;
    }
    if (arrow::IsValidAt(col(c.ttl_ms), i)) record.ttl_ms = IntValue<int64_t>(col(c.ttl_ms), i);
    if (arrow::IsValidAt(acl, i)) {
      acls.clear();
      const int64_t begin = arrow::ReadOffset(acl, i, false);
      const int64_t end = arrow::ReadOffset(acl, i + 1, false);
      const arrow::ArrayData& entries = *acl.children[0];
      for (int64_t e = begin; e < end; ++e) {
        acls.push_back({IntValue<int32_t>(*entries.children[0], e),
                        std::string(StringValue(*entries.children[1], e)),
                        std::string(StringValue(*entries.children[2], e))});
      }
      record.acl = &acls;
    }
    if (arrow::IsValidAt(col(c.error), i)) record.error = StringValue(col(c.error), i);
    ZKA_RETURN_IF_ERROR(collector.Add(record));
  }
  return Status::Ok();
}

std::string RootFromMetadata(const arrow::KeyValueMetadata& metadata) {
  for (const auto& [key, value] : metadata) {
    if (key == znodes::kMetaRoot && !value.empty() && value[0] == '/') return value;
  }
  return "/";
}

// A file read to its end holds the whole tree only if its writer finished:
// a stream ends with its end-of-stream marker, and a znode table zkarrow
// wrote carries its end-of-run metadata on its last batch. A stream cut at a
// message boundary is still valid Arrow, and restore --mode mirror would
// delete everything the cut left out.
Status CheckComplete(const arrow::Schema& schema,
                     const arrow::KeyValueMetadata& last_batch_metadata, bool ended_with_marker,
                     int64_t batches, int64_t rows, const std::string& file) {
  const std::string read =
      std::to_string(batches) + " record batches (" + std::to_string(rows) + " rows)";
  if (!ended_with_marker) {
    return Status(StatusCode::kInvalidData,
                  file +
                      ": expected the end-of-stream marker after the last record batch, found "
                      "the end of the file after " +
                      read + ": the file is incomplete (its writer was cut short); take it again");
  }
  if (znodes::IsZnodeTable(schema) && !znodes::HasEndOfRunMetadata(last_batch_metadata)) {
    return Status(StatusCode::kInvalidData,
                  file + ": expected the znode table's end-of-run metadata (" +
                      znodes::kMetaZnodes + ") on its last batch, found none in " + read +
                      ": the run that wrote it did not finish, so the file is incomplete; take "
                      "it again");
  }
  return Status::Ok();
}

Result<std::unique_ptr<RecordStream>> OpenFile(const SourceSpec& spec, const SourceOptions& options,
                                               SourceInfo* info) {
  auto file_reader = arrow::ipc::FileReader::OpenPath(spec.file);
  if (file_reader.ok()) {
    arrow::ipc::FileReader& reader = **file_reader;
    ZKA_ASSIGN_OR_RETURN(FileColumns columns, FindColumns(reader.schema(), spec.file));
    Collector collector(options, RootFromMetadata(reader.schema().metadata));
    int64_t rows = 0;
    arrow::KeyValueMetadata last_batch_metadata;
    for (int b = 0; b < reader.num_batches(); ++b) {
      ZKA_ASSIGN_OR_RETURN(arrow::RecordBatch batch, reader.ReadBatch(b));
      ZKA_RETURN_IF_ERROR(AddBatch(batch, rows, columns, spec.file, collector));
      rows += batch.length;
      if (b + 1 == reader.num_batches()) {
        ZKA_ASSIGN_OR_RETURN(arrow::ipc::BatchInfo last, reader.ReadBatchInfo(b));
        last_batch_metadata = std::move(last.custom_metadata);
      }
    }
    // The footer ends the file format as the marker ends a stream.
    ZKA_RETURN_IF_ERROR(CheckComplete(reader.schema(), last_batch_metadata,
                                      /*ended_with_marker=*/true, reader.num_batches(), rows,
                                      spec.file));
    return std::move(collector).Finish(info);
  }
  // Not an IPC file: perhaps an IPC stream (snapshot -o - > FILE).
  ZKA_ASSIGN_OR_RETURN(auto input, arrow::FileInputStream::Open(spec.file));
  auto stream_reader = arrow::ipc::StreamReader::Open(std::move(input));
  if (!stream_reader.ok()) {
    return Status(StatusCode::kInvalidData, spec.file + ": expected an Arrow IPC file or stream: " +
                                                file_reader.status().message());
  }
  arrow::ipc::StreamReader& reader = **stream_reader;
  ZKA_ASSIGN_OR_RETURN(FileColumns columns, FindColumns(reader.schema(), spec.file));
  Collector collector(options, RootFromMetadata(reader.schema().metadata));
  int64_t rows = 0;
  int64_t batches = 0;
  arrow::KeyValueMetadata last_batch_metadata;
  while (true) {
    ZKA_ASSIGN_OR_RETURN(std::optional<arrow::RecordBatch> batch, reader.Next());
    if (!batch) break;
    ZKA_RETURN_IF_ERROR(AddBatch(*batch, rows, columns, spec.file, collector));
    rows += batch->length;
    ++batches;
    last_batch_metadata = reader.last_batch_info().custom_metadata;
  }
  ZKA_RETURN_IF_ERROR(CheckComplete(reader.schema(), last_batch_metadata,
                                    reader.ended_with_marker(), batches, rows, spec.file));
  return std::move(collector).Finish(info);
}

// `missing_root_is_empty`: a target may not exist yet; a source that does
// not exist is a mistake (a mirror restore from it would delete everything).
Status Walk(const std::vector<zk::Client*>& sessions, const std::string& root,
            const SourceOptions& options, bool missing_root_is_empty,
            const znodes::RecordSink& sink) {
  znodes::WalkOptions walk;
  walk.root = root;
  walk.read_data = options.read_data;
  walk.read_acl = options.read_acl;
  // Asked while the walk waits for replies too: a server that stalls sends
  // no record to ask it at, and the client's own timeouts take a while.
  walk.should_stop = options.stop_requested;
  znodes::WalkStats stats;
  Status walked = znodes::WalkTree(sessions, walk, sink, &stats);
  if (!walked.ok() && options.stop_requested && options.stop_requested()) {
    return StoppedBySignal();
  }
  if (walked.ok() || zk::ErrorCodeOf(walked) != zk::ErrorCode::NONODE) return walked;
  // A missing node other than the root, or a root that must exist.
  if (stats.znodes > 0 || !missing_root_is_empty) return walked;
  return Status::Ok();
}

Result<std::unique_ptr<RecordStream>> WalkInto(const std::vector<zk::Client*>& sessions,
                                               const std::string& root,
                                               const SourceOptions& options, SourceInfo* info,
                                               bool missing_root_is_empty) {
  Collector collector(options, root);
  ZKA_RETURN_IF_ERROR(
      Walk(sessions, root, options, missing_root_is_empty,
           [&](const znodes::ZnodeRecord& record) { return collector.Add(record); }));
  return std::move(collector).Finish(info);
}

// options.sessions sessions to a live source's ensemble. Their errors name
// the source: a copy or a diff also connects to another ensemble.
Result<std::vector<std::unique_ptr<zk::Client>>> ConnectSessions(const SourceSpec& spec,
                                                                 const SourceOptions& options) {
  zk::ClientOptions client_options = options.client;
  client_options.connect_string = spec.connect;
  // A stop requested while a server does not answer ends the wait for it.
  client_options.abandon_connect = options.stop_requested;
  std::vector<std::unique_ptr<zk::Client>> clients;
  for (int i = 0; i < std::max(1, options.sessions); ++i) {
    auto client = zk::Client::Connect(client_options);
    if (!client.ok()) return client.status().WithContext("connecting to the source " + spec.text);
    clients.push_back(std::move(*client));
  }
  return clients;
}

std::vector<zk::Client*> Pointers(const std::vector<std::unique_ptr<zk::Client>>& clients) {
  std::vector<zk::Client*> sessions;
  for (const auto& client : clients) sessions.push_back(client.get());
  return sessions;
}

}  // namespace

Status StoppedBySignal() { return Status::Cancelled("stopped by SIGINT or SIGTERM"); }

Result<SourceSpec> ParseSource(std::string_view text) {
  SourceSpec spec;
  spec.text = std::string(text);
  if (text.starts_with(kZkScheme)) {
    spec.kind = SourceSpec::Kind::kLive;
    std::string_view rest = text.substr(kZkScheme.size());
    const size_t slash = rest.find('/');
    spec.connect = std::string(rest.substr(0, slash));
    spec.root = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (spec.connect.empty()) {
      return BadSource(text, "zk://HOST:PORT[,HOST:PORT...][/path], found no host");
    }
    ZKA_RETURN_IF_ERROR(
        zk::ParseConnectString(spec.connect).status().WithContext("'" + spec.text + "'"));
    if (spec.root.size() > 1 && spec.root.back() == '/') {
      return BadSource(text, "a path without a trailing '/', found '" + spec.root + "'");
    }
    if (spec.root.find("//") != std::string::npos) {
      return BadSource(text, "a path without empty names, found '" + spec.root + "'");
    }
    return spec;
  }
  if (text.starts_with(kDataDirScheme)) {
    spec.kind = SourceSpec::Kind::kDataDir;
    std::string_view rest = text.substr(kDataDirScheme.size());
    const size_t at = rest.rfind('@');
    if (at != std::string_view::npos) {
      ZKA_ASSIGN_OR_RETURN(spec.zxid, ParseZxid(rest.substr(at + 1), text));
      rest = rest.substr(0, at);
    }
    if (rest.empty()) return BadSource(text, "datadir:DIR[@ZXID], found no directory");
    spec.data_dir = std::string(rest);
    return spec;
  }
  if (text.empty()) return BadSource(text, "a file, zk://HOST:PORT/path or datadir:DIR");
  spec.file = std::string(text);
  return spec;
}

znodes::ZnodeRecord Record::View() const {
  znodes::ZnodeRecord view;
  view.path = path;
  view.stat = stat;
  view.kind = kind;
  if (data) view.data = std::span(reinterpret_cast<const uint8_t*>(data->data()), data->size());
  view.null_data = null_data;
  view.ttl_ms = ttl_ms;
  view.acl = acl ? &*acl : nullptr;
  view.error = error;
  return view;
}

size_t Record::MemoryBytes() const {
  size_t bytes = sizeof(Record) + path.capacity() + error.capacity();
  if (data) bytes += data->capacity();
  if (acl) {
    for (const zk::Acl& entry : *acl) {
      bytes += sizeof(zk::Acl) + entry.scheme.capacity() + entry.id.capacity();
    }
  }
  return bytes;
}

std::optional<std::string> RelativePath(std::string_view root, std::string_view absolute) {
  if (!absolute.starts_with('/')) return std::nullopt;
  if (root == "/") return std::string(absolute);
  if (!absolute.starts_with(root)) return std::nullopt;
  if (absolute.size() == root.size()) return "/";
  if (absolute[root.size()] != '/') return std::nullopt;
  return std::string(absolute.substr(root.size()));
}

std::string AbsolutePath(std::string_view root, std::string_view relative) {
  if (root == "/") return std::string(relative);
  if (relative == "/") return std::string(root);
  return std::string(root) + std::string(relative);
}

Result<std::unique_ptr<RecordStream>> OpenLiveTree(zk::Client& client, const std::string& root,
                                                   const SourceOptions& options, SourceInfo* info) {
  return WalkInto({&client}, root, options, info, /*missing_root_is_empty=*/true);
}

Result<std::unique_ptr<RecordStream>> OpenSource(const SourceSpec& spec,
                                                 const SourceOptions& options, SourceInfo* info) {
  switch (spec.kind) {
    case SourceSpec::Kind::kFile:
      return OpenFile(spec, options, info);
    case SourceSpec::Kind::kDataDir: {
      Collector collector(options, "/");
      znodes::DataDirOptions data_dir;
      data_dir.dir = spec.data_dir;
      data_dir.target_zxid = spec.zxid;
      ZKA_RETURN_IF_ERROR(znodes::ReadDataDir(
          data_dir, [&](const znodes::ZnodeRecord& record) { return collector.Add(record); },
          nullptr));
      return std::move(collector).Finish(info);
    }
    case SourceSpec::Kind::kLive: {
      ZKA_ASSIGN_OR_RETURN(auto clients, ConnectSessions(spec, options));
      auto stream =
          WalkInto(Pointers(clients), spec.root, options, info, /*missing_root_is_empty=*/false);
      if (!stream.ok()) return stream.status().WithContext("reading " + spec.text);
      return stream;
    }
  }
  return Status(StatusCode::kInternal, "unknown source kind");
}

Status ReadLiveSource(const SourceSpec& spec, const SourceOptions& options,
                      const OwnedRecordSink& sink, SourceInfo* info) {
  if (spec.kind != SourceSpec::Kind::kLive) {
    return Status::InvalidArgument("source '" + spec.text + "' is not live (zk://HOST:PORT/path)");
  }
  ZKA_ASSIGN_OR_RETURN(auto clients, ConnectSessions(spec, options));
  RecordFilter filter(options, spec.root);
  Status walked = Walk(Pointers(clients), spec.root, options, /*missing_root_is_empty=*/false,
                       [&](const znodes::ZnodeRecord& view) {
                         if (options.stop_requested && options.stop_requested()) {
                           return StoppedBySignal();
                         }
                         std::optional<Record> record = filter.Own(view);
                         return record ? sink(std::move(*record)) : Status::Ok();
                       });
  if (info != nullptr) *info = filter.info();
  return walked.WithContext("reading " + spec.text);
}

}  // namespace zkarrow::treesync

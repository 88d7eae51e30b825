#include "treesync/internal/record_sorter.h"

#include <algorithm>
#include <cstring>
#include <queue>
#include <string>
#include <type_traits>
#include <utility>

namespace zkarrow::treesync::internal {
namespace {

static_assert(std::is_trivially_copyable_v<zk::Stat>);

// A spilled string or buffer longer than this is a corrupt run file (a node's
// data and path are at most jute.maxbuffer, which is far smaller).
constexpr uint32_t kMaxFieldBytes = 1u << 30;

enum Flags : uint8_t { kHasStat = 1, kHasData = 2, kHasTtl = 4, kHasAcl = 8, kNullData = 16 };

Status WriteBytes(const void* bytes, size_t size, std::FILE* file) {
  if (size > 0 && std::fwrite(bytes, 1, size, file) != size) {
    return Status(StatusCode::kIoError,
                  std::string("writing a sort run to a temporary file: ") + std::strerror(errno));
  }
  return Status::Ok();
}

template <typename T>
Status WriteValue(T value, std::FILE* file) {
  return WriteBytes(&value, sizeof(value), file);
}

Status WriteString(std::string_view text, std::FILE* file) {
  ZKA_RETURN_IF_ERROR(WriteValue(static_cast<uint32_t>(text.size()), file));
  return WriteBytes(text.data(), text.size(), file);
}

Status ReadBytes(void* bytes, size_t size, std::FILE* file) {
  if (size > 0 && std::fread(bytes, 1, size, file) != size) {
    return Status(StatusCode::kIoError, "reading a sort run back: expected " +
                                            std::to_string(size) + " more bytes, found the end");
  }
  return Status::Ok();
}

template <typename T>
Status ReadValue(T* value, std::FILE* file) {
  return ReadBytes(value, sizeof(*value), file);
}

Status ReadString(std::string* text, std::FILE* file) {
  uint32_t size = 0;
  ZKA_RETURN_IF_ERROR(ReadValue(&size, file));
  if (size > kMaxFieldBytes) {
    return Status(StatusCode::kInvalidData, "sort run: a field of " + std::to_string(size) +
                                                " bytes, expected at most " +
                                                std::to_string(kMaxFieldBytes));
  }
  text->resize(size);
  return ReadBytes(text->data(), size, file);
}

bool PathLess(const Record& a, const Record& b) { return a.path < b.path; }

Status DuplicatePath(const std::string& path) {
  return Status(StatusCode::kInvalidData,
                "the source holds the path " + path + " twice: expected one row per znode");
}

class VectorStream final : public RecordStream {
 public:
  explicit VectorStream(std::vector<Record> records) : records_(std::move(records)) {}
  Result<const Record*> Next() override {
    if (next_ == records_.size()) return nullptr;
    // The previous record is no longer needed: free its memory as we go.
    if (next_ > 0) records_[next_ - 1] = Record{};
    return &records_[next_++];
  }

 private:
  std::vector<Record> records_;
  size_t next_ = 0;
};

// K-way merge of the spilled runs and the in-memory tail.
class MergeStream final : public RecordStream {
 public:
  MergeStream(std::vector<RecordSorter::File> runs, std::vector<Record> tail)
      : runs_(std::move(runs)), tail_(std::move(tail)) {
    heads_.resize(runs_.size() + 1);
  }

  Status Start() {
    for (size_t i = 0; i < runs_.size(); ++i) {
      std::rewind(runs_[i].get());
      ZKA_RETURN_IF_ERROR(Advance(i));
    }
    return Advance(runs_.size());
  }

  Result<const Record*> Next() override {
    if (queue_.empty()) return nullptr;
    const size_t source = queue_.top();
    queue_.pop();
    current_ = std::move(heads_[source]);
    ZKA_RETURN_IF_ERROR(Advance(source));
    if (!queue_.empty() && heads_[queue_.top()].path == current_.path) {
      return DuplicatePath(current_.path);
    }
    return &current_;
  }

 private:
  // Loads the next record of `source` (a run, or the tail) into heads_.
  Status Advance(size_t source) {
    bool more = false;
    if (source < runs_.size()) {
      ZKA_ASSIGN_OR_RETURN(more, ReadRecord(runs_[source].get(), &heads_[source]));
    } else if (tail_next_ < tail_.size()) {
      heads_[source] = std::move(tail_[tail_next_++]);
      more = true;
    }
    if (more) queue_.push(source);
    return Status::Ok();
  }

  struct HeadGreater {
    const MergeStream* self;
    bool operator()(size_t a, size_t b) const {
      return self->heads_[b].path < self->heads_[a].path;
    }
  };

  std::vector<RecordSorter::File> runs_;
  std::vector<Record> tail_;
  size_t tail_next_ = 0;
  std::vector<Record> heads_;
  std::priority_queue<size_t, std::vector<size_t>, HeadGreater> queue_{HeadGreater{this}};
  Record current_;
};

}  // namespace

Status WriteRecord(const Record& record, std::FILE* file) {
  uint8_t flags = 0;
  if (record.stat) flags |= kHasStat;
  if (record.data) flags |= kHasData;
  if (record.null_data) flags |= kNullData;
  if (record.ttl_ms) flags |= kHasTtl;
  if (record.acl) flags |= kHasAcl;
  ZKA_RETURN_IF_ERROR(WriteString(record.path, file));
  ZKA_RETURN_IF_ERROR(WriteValue(flags, file));
  ZKA_RETURN_IF_ERROR(WriteValue(static_cast<uint8_t>(record.kind), file));
  if (record.stat) ZKA_RETURN_IF_ERROR(WriteValue(*record.stat, file));
  if (record.data) ZKA_RETURN_IF_ERROR(WriteString(*record.data, file));
  if (record.ttl_ms) ZKA_RETURN_IF_ERROR(WriteValue(*record.ttl_ms, file));
  if (record.acl) {
    ZKA_RETURN_IF_ERROR(WriteValue(static_cast<uint32_t>(record.acl->size()), file));
    for (const zk::Acl& acl : *record.acl) {
      ZKA_RETURN_IF_ERROR(WriteValue(acl.perms, file));
      ZKA_RETURN_IF_ERROR(WriteString(acl.scheme, file));
      ZKA_RETURN_IF_ERROR(WriteString(acl.id, file));
    }
  }
  return WriteString(record.error, file);
}

Result<bool> ReadRecord(std::FILE* file, Record* record) {
  *record = Record{};
  uint32_t path_size = 0;
  if (std::fread(&path_size, 1, sizeof(path_size), file) != sizeof(path_size)) return false;
  if (path_size > kMaxFieldBytes) {
    return Status(StatusCode::kInvalidData, "sort run: a path of " + std::to_string(path_size) +
                                                " bytes, expected at most " +
                                                std::to_string(kMaxFieldBytes));
  }
  record->path.resize(path_size);
  ZKA_RETURN_IF_ERROR(ReadBytes(record->path.data(), path_size, file));
  uint8_t flags = 0;
  uint8_t kind = 0;
  ZKA_RETURN_IF_ERROR(ReadValue(&flags, file));
  ZKA_RETURN_IF_ERROR(ReadValue(&kind, file));
  if (kind >= znodes::kNodeKindNames.size()) {
    return Status(StatusCode::kInvalidData, "sort run: node kind " + std::to_string(kind) +
                                                ", expected below " +
                                                std::to_string(znodes::kNodeKindNames.size()));
  }
  record->kind = static_cast<znodes::NodeKind>(kind);
  if (flags & kHasStat) ZKA_RETURN_IF_ERROR(ReadValue(&record->stat.emplace(), file));
  if (flags & kHasData) ZKA_RETURN_IF_ERROR(ReadString(&record->data.emplace(), file));
  record->null_data = (flags & kNullData) != 0;
  if (flags & kHasTtl) ZKA_RETURN_IF_ERROR(ReadValue(&record->ttl_ms.emplace(), file));
  if (flags & kHasAcl) {
    uint32_t count = 0;
    ZKA_RETURN_IF_ERROR(ReadValue(&count, file));
    auto& acls = record->acl.emplace();
    for (uint32_t i = 0; i < count; ++i) {
      zk::Acl& acl = acls.emplace_back();
      ZKA_RETURN_IF_ERROR(ReadValue(&acl.perms, file));
      ZKA_RETURN_IF_ERROR(ReadString(&acl.scheme, file));
      ZKA_RETURN_IF_ERROR(ReadString(&acl.id, file));
    }
  }
  ZKA_RETURN_IF_ERROR(ReadString(&record->error, file));
  return true;
}

Status RecordSorter::Add(Record record) {
  memory_used_ += record.MemoryBytes();
  records_.push_back(std::move(record));
  if (memory_used_ > memory_budget_) return Spill();
  return Status::Ok();
}

Status RecordSorter::Spill() {
  std::sort(records_.begin(), records_.end(), PathLess);
  File file(std::tmpfile());
  if (!file) {
    return Status(StatusCode::kIoError,
                  std::string("creating a temporary file for a sort run: ") + std::strerror(errno));
  }
  for (const Record& record : records_) ZKA_RETURN_IF_ERROR(WriteRecord(record, file.get()));
  if (std::fflush(file.get()) != 0) {
    return Status(StatusCode::kIoError,
                  std::string("writing a sort run to a temporary file: ") + std::strerror(errno));
  }
  runs_.push_back(std::move(file));
  records_.clear();
  records_.shrink_to_fit();
  memory_used_ = 0;
  return Status::Ok();
}

Result<std::unique_ptr<RecordStream>> RecordSorter::Finish() && {
  std::sort(records_.begin(), records_.end(), PathLess);
  if (runs_.empty()) {
    auto duplicate =
        std::adjacent_find(records_.begin(), records_.end(),
                           [](const Record& a, const Record& b) { return a.path == b.path; });
    if (duplicate != records_.end()) return DuplicatePath(duplicate->path);
    return std::unique_ptr<RecordStream>(std::make_unique<VectorStream>(std::move(records_)));
  }
  auto merge = std::make_unique<MergeStream>(std::move(runs_), std::move(records_));
  ZKA_RETURN_IF_ERROR(merge->Start());
  return std::unique_ptr<RecordStream>(std::move(merge));
}

}  // namespace zkarrow::treesync::internal

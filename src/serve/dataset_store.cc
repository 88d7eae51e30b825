#include "serve/dataset_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <deque>
#include <utility>

#include "arrow/ipc/body_writer.h"
#include "arrow/ipc/compression.h"
#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/flatbuf.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/sliced_writer.h"

namespace zkarrow::serve {

struct DatasetStore::Entry {
  // Serializes the commits and the drop of this name.
  std::mutex commit;
  // Under `commit`: the entry left the map (dropped, or its first commit
  // failed); a committer that waited for it looks the name up again.
  bool dropped = false;
  // Under `commit`: the highest version on disk, damaged files included, so
  // that a new version never reuses a number.
  int64_t last_version = 0;
  // Oldest first; the last one is current. Changed under `commit` and the
  // store's mutex_, read under either.
  std::vector<std::shared_ptr<const Dataset>> versions;
};

namespace {

using arrow::ipc::Compression;
using arrow::ipc::IpcReadOptions;

constexpr std::string_view kFileSuffix = ".arrow";
constexpr size_t kSha256HexLength = 64;
// Written through a buffer: the IPC writer makes a write per metadata block,
// buffer and padding.
constexpr size_t kWriteBufferBytes = size_t{1} << 20;
std::string Str(int64_t value) { return std::to_string(value); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SHA-256 through OpenSSL's EVP interface (SHA-NI or AVX2 where available).
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new()) {
    ok_ = context_ && EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) == 1;
  }
  void Update(std::span<const uint8_t> bytes) {
    if (ok_ && !bytes.empty())
      ok_ = EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()) == 1;
  }
  Result<std::string> FinishHex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (!ok_ || EVP_DigestFinal_ex(context_.get(), digest.data(), &length) != 1) {
      return Status::Internal("OpenSSL failed to compute a SHA-256");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> context_;
  bool ok_ = false;
};

Result<std::string> Sha256Hex(std::span<const uint8_t> bytes) {
  Sha256 sha;
  sha.Update(bytes);
  return sha.FinishHex();
}

Status WriteAll(int fd, std::span<const uint8_t> bytes, std::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, what);
    }
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string UploadLimitText(int64_t limit) {
  return "the upload limit of " + Str(limit) + " bytes (--max-upload-mb)";
}

// What an upload's reader may allocate: the store's read budgets, each at
// most the upload limit, since a batch or a dictionary decoded past it
// could not be stored anyway.
IpcReadOptions UploadReadOptions(const DatasetStoreOptions& options) {
  IpcReadOptions read = options.read;
  read.max_batch_bytes = std::min(read.max_batch_bytes, options.max_upload_bytes);
  read.max_dictionary_bytes = std::min(read.max_dictionary_bytes, options.max_upload_bytes);
  return read;
}

// The stored file as the IPC writer produces it: hashed and counted as
// written, buffered on its way to the descriptor, and at most `limit` bytes
// (an upload's stored file is bounded like the upload).
class HashingFileSink final : public arrow::OutputStream {
 public:
  // `what` names the file in errors.
  HashingFileSink(int fd, std::string what, int64_t limit)
      : fd_(fd), what_(std::move(what)), limit_(limit) {
    buffer_.reserve(kWriteBufferBytes);
  }

  Status Write(std::span<const uint8_t> bytes) override {
    const int64_t size = static_cast<int64_t>(bytes.size());
    if (size > limit_ - bytes_) {
      return Status::OutOfRange("stored uncompressed, the upload needs at least " +
                                Str(bytes_ + size) + " bytes, expected at most " +
                                UploadLimitText(limit_));
    }
    sha_.Update(bytes);
    bytes_ += size;
    if (buffer_.size() + bytes.size() > kWriteBufferBytes) ZKA_RETURN_IF_ERROR(Flush());
    if (bytes.size() >= kWriteBufferBytes) return WriteAll(fd_, bytes, what_);
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    return Status::Ok();
  }
  Status Flush() override {
    Status status = WriteAll(fd_, buffer_, what_);
    buffer_.clear();
    return status;
  }
  int64_t bytes() const { return bytes_; }
  Result<std::string> FinishHex() { return sha_.FinishHex(); }

 private:
  int fd_;
  std::string what_;
  const int64_t limit_;
  std::vector<uint8_t> buffer_;
  Sha256 sha_;
  int64_t bytes_ = 0;
};

std::string HexPrefix(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (uint8_t byte : bytes) {
    text += kHex[byte >> 4];
    text += kHex[byte & 15];
  }
  return text;
}

// The upload as the StreamReader reads it (which owns its input; the
// upload belongs to the caller). An Arrow IPC file is accepted too (a client
// sending a file as it is, e.g. curl -T data.arrow): its magic is skipped,
// and what follows up to the end-of-stream marker is a stream; the footer
// after it repeats the schema and the message offsets and is drained unread.
class UploadInput final : public arrow::InputStream {
 public:
  static Result<std::unique_ptr<UploadInput>> Open(arrow::InputStream& in) {
    std::unique_ptr<UploadInput> input(new UploadInput(in));
    ZKA_ASSIGN_OR_RETURN(int64_t n, arrow::ReadFully(in, input->prefix_));
    input->prefix_size_ = static_cast<size_t>(n);
    auto format = arrow::ipc::DetectFormat(std::span(input->prefix_).first(input->prefix_size_));
    input->is_file_ = format.ok() && *format == arrow::ipc::IpcFormat::kFile;
    // Uploads come from writers of this decade: a stream starts with the
    // continuation token. The pre-0.15 framing (a bare length) is refused
    // here, so that arbitrary bytes are called malformed rather than read
    // as a length and refused as too large.
    if (!input->is_file_ && input->prefix_size_ >= 4 &&
        arrow::ipc::LoadUint32Le(input->prefix_.data()) != arrow::ipc::kContinuationToken) {
      return Status::InvalidData(
          "not an Arrow IPC stream or file: expected the continuation token 0xFFFFFFFF or "
          "ARROW1 at the start, found 0x" +
          HexPrefix(std::span(input->prefix_).first(4)));
    }
    if (input->is_file_) input->prefix_used_ = input->prefix_size_;  // "ARROW1" and padding
    return input;
  }

  bool is_file() const { return is_file_; }
  // Reads the rest of the input and drops it.
  Status Drain() {
    std::array<uint8_t, 64 * 1024> sink{};
    while (true) {
      ZKA_ASSIGN_OR_RETURN(int64_t n, Read(sink));
      if (n == 0) return Status::Ok();
    }
  }

  Result<int64_t> Read(std::span<uint8_t> out) override {
    if (prefix_used_ == prefix_size_) return in_.Read(out);
    const size_t n = std::min(out.size(), prefix_size_ - prefix_used_);
    std::copy_n(prefix_.begin() + static_cast<std::ptrdiff_t>(prefix_used_), n, out.begin());
    prefix_used_ += n;
    return static_cast<int64_t>(n);
  }
  Result<std::shared_ptr<const arrow::Buffer>> ReadBuffer(int64_t length) override {
    if (prefix_used_ == prefix_size_) return in_.ReadBuffer(length);
    return InputStream::ReadBuffer(length);
  }

 private:
  explicit UploadInput(arrow::InputStream& in) : in_(in) {}

  arrow::InputStream& in_;
  std::array<uint8_t, 8> prefix_{};
  size_t prefix_size_ = 0;
  size_t prefix_used_ = 0;
  bool is_file_ = false;
};

// Owned by the StreamReader, forwarding to the UploadInput the caller keeps.
class ForwardingInput final : public arrow::InputStream {
 public:
  explicit ForwardingInput(arrow::InputStream& in) : in_(in) {}
  Result<int64_t> Read(std::span<uint8_t> out) override { return in_.Read(out); }
  Result<std::shared_ptr<const arrow::Buffer>> ReadBuffer(int64_t length) override {
    return in_.ReadBuffer(length);
  }

 private:
  arrow::InputStream& in_;
};

std::string FileName(std::string_view name, int64_t version, std::string_view sha256_hex) {
  std::string file(name);
  file += ".v" + Str(version) + "." + std::string(sha256_hex) + std::string(kFileSuffix);
  return file;
}

struct ParsedFileName {
  std::string name;
  int64_t version = 0;
  std::string sha256_hex;
};

// Inverse of FileName, read from the right (names may contain dots).
std::optional<ParsedFileName> ParseFileName(std::string_view file) {
  if (!file.ends_with(kFileSuffix)) return std::nullopt;
  file.remove_suffix(kFileSuffix.size());
  size_t dot = file.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view sha = file.substr(dot + 1);
  if (sha.size() != kSha256HexLength || !std::all_of(sha.begin(), sha.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return std::nullopt;
  }
  file = file.substr(0, dot);
  size_t v = file.rfind(".v");
  if (v == std::string_view::npos) return std::nullopt;
  std::string_view digits = file.substr(v + 2);
  ParsedFileName parsed;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed.version);
  if (error != std::errc() || end != digits.data() + digits.size() || parsed.version <= 0 ||
      digits.front() == '0') {
    return std::nullopt;
  }
  parsed.name = std::string(file.substr(0, v));
  if (!ValidateDatasetName(parsed.name).ok()) return std::nullopt;
  parsed.sha256_hex = std::string(sha);
  return parsed;
}

// A stored dataset's dictionaries are those of its first batch (later ones
// are refused), each written whole in one message: checked before anything
// is written, so an upload that cannot be served fails at its start.
Status CheckDictionaries(const arrow::Field& field, const arrow::ArrayData& array, int64_t limit) {
  const std::vector<arrow::Field>& children = field.type.children;
  if (field.dictionary && array.dictionary) {
    arrow::Field value_field = field;
    value_field.dictionary.reset();
    ZKA_ASSIGN_OR_RETURN(const int64_t size,
                         arrow::ipc::DictionaryMessageBound(value_field, *array.dictionary));
    if (size > limit) {
      return Status::OutOfRange("the dictionary of field '" + field.name + "' (id " +
                                Str(field.dictionary->id) + ") needs " + Str(size) +
                                " bytes as one message, over the limit of " + Str(limit) +
                                " bytes per served message; a dictionary cannot be split");
    }
    for (size_t i = 0; i < children.size() && i < array.dictionary->children.size(); ++i) {
      ZKA_RETURN_IF_ERROR(CheckDictionaries(children[i], *array.dictionary->children[i], limit));
    }
    return Status::Ok();
  }
  for (size_t i = 0; i < children.size() && i < array.children.size(); ++i) {
    ZKA_RETURN_IF_ERROR(CheckDictionaries(children[i], *array.children[i], limit));
  }
  return Status::Ok();
}

const char* MessageKind(const arrow::ipc::fb::Message& header) {
  switch (header.header_type()) {
    case arrow::ipc::fb::MessageHeader::Schema:
      return "the schema";
    case arrow::ipc::fb::MessageHeader::DictionaryBatch:
      return "a dictionary batch";
    case arrow::ipc::fb::MessageHeader::RecordBatch:
      return "a record batch";
    default:
      return "an unknown message";
  }
}

struct FileIndex {
  std::shared_ptr<const arrow::Schema> schema;
  std::shared_ptr<const std::vector<transport::IpcMessage>> messages;
  int64_t rows = 0;
};

// Checks a stored file (footer, schema, dictionaries through the FileReader;
// the framing of every message) and lists its messages as zero-copy slices,
// in stream order. With `limit`, a message framed larger is OutOfRange.
Result<FileIndex> IndexFile(const std::shared_ptr<const arrow::Buffer>& file,
                            const IpcReadOptions& options, std::optional<int64_t> limit) {
  ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::FileReader::Open(file, options));
  FileIndex index;
  index.schema = reader->shared_schema();
  auto messages = std::make_shared<std::vector<transport::IpcMessage>>();
  int record_batches = 0;
  const int64_t size = file->size();
  int64_t position = 8;  // "ARROW1" and two bytes of padding
  while (true) {
    if (position + 8 > size) return Status::InvalidData("file ends inside its messages");
    const uint8_t* prefix = file->data() + position;
    if (arrow::ipc::LoadUint32Le(prefix) != arrow::ipc::kContinuationToken) {
      return Status::InvalidData("expected a continuation token at byte " + Str(position));
    }
    const int64_t metadata_length = arrow::ipc::LoadUint32Le(prefix + 4);
    if (metadata_length == 0) break;  // the end-of-stream marker; the footer follows
    if (metadata_length > size - position - 8) {
      return Status::InvalidData("message at byte " + Str(position) + " declares " +
                                 Str(metadata_length) + " bytes of metadata, past the file's end");
    }
    auto metadata = file->Slice(position + 8, metadata_length);
    ZKA_ASSIGN_OR_RETURN(const arrow::ipc::fb::Message* header,
                         arrow::ipc::VerifyMessage(*metadata, options));
    const int64_t body_length = header->bodyLength();
    const int64_t body_start = position + 8 + metadata_length;
    if (body_length < 0 || body_length > size - body_start) {
      return Status::InvalidData("message at byte " + Str(position) + " declares a body of " +
                                 Str(body_length) + " bytes, past the file's end");
    }
    if (messages->empty() && header->header_type() != arrow::ipc::fb::MessageHeader::Schema) {
      return Status::InvalidData("the file's first message is not its schema");
    }
    const int64_t framed = 8 + metadata_length + body_length;
    if (limit && framed > *limit) {
      const bool dictionary =
          header->header_type() == arrow::ipc::fb::MessageHeader::DictionaryBatch;
      return Status::OutOfRange(std::string(MessageKind(*header)) + " needs " + Str(framed) +
                                " bytes as one message, over the limit of " + Str(*limit) +
                                " bytes per served message" +
                                (dictionary ? " (a dictionary cannot be split)" : ""));
    }
    if (const auto* batch = header->header_as_RecordBatch()) {
      index.rows += batch->length();
      ++record_batches;
    }
    messages->push_back(
        {metadata, body_length > 0 ? file->Slice(body_start, body_length) : nullptr});
    position = body_start + body_length;
  }
  if (record_batches != reader->num_batches()) {
    return Status::InvalidData("the file holds " + Str(record_batches) +
                               " record batches, its footer lists " + Str(reader->num_batches()));
  }
  index.messages = std::move(messages);
  return index;
}

// A stored file's batches re-encoded with a codec as they are pulled.
class ReencodingStream final : public transport::MessageStream {
 public:
  static Result<std::unique_ptr<ReencodingStream>> Make(std::shared_ptr<const arrow::Buffer> file,
                                                        Compression compression,
                                                        const IpcReadOptions& options) {
    std::unique_ptr<ReencodingStream> stream(new ReencodingStream());
    ZKA_ASSIGN_OR_RETURN(stream->reader_, arrow::ipc::FileReader::Open(std::move(file), options));
    ZKA_ASSIGN_OR_RETURN(stream->writer_, arrow::ipc::IpcWriter::OpenStream(
                                              stream->splitter_, stream->reader_->schema(),
                                              {.compression = compression}));
    stream->TakePending();  // the schema
    return stream;
  }

  Result<Poll> Next(transport::IpcMessage* out) override {
    while (pending_.empty()) {
      if (next_batch_ == reader_->num_batches()) {
        if (!writer_closed_) {
          writer_closed_ = true;
          ZKA_RETURN_IF_ERROR(writer_->Close());
        }
        return Poll::kEnd;
      }
      const int i = next_batch_++;
      ZKA_ASSIGN_OR_RETURN(arrow::RecordBatch batch, reader_->ReadBatch(i));
      ZKA_ASSIGN_OR_RETURN(arrow::ipc::BatchInfo info, reader_->ReadBatchInfo(i));
      ZKA_RETURN_IF_ERROR(writer_->WriteBatch(batch, info.custom_metadata));
      TakePending();
    }
    *out = std::move(pending_.front());
    pending_.pop_front();
    return Poll::kMessage;
  }

 private:
  ReencodingStream() = default;
  void TakePending() {
    for (auto& message : splitter_.TakeMessages()) pending_.push_back(std::move(message));
  }

  std::unique_ptr<arrow::ipc::FileReader> reader_;
  arrow::ipc::MessageSplitter splitter_;  // outlives writer_, which writes to it
  std::unique_ptr<arrow::ipc::IpcWriter> writer_;
  std::deque<transport::IpcMessage> pending_;
  int next_batch_ = 0;
  bool writer_closed_ = false;
};

std::string ProcFdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace

Status ValidateDatasetName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("a dataset name cannot be empty");
  if (name.size() > kMaxDatasetNameLength) {
    return Status::InvalidArgument("a dataset name has at most " + Str(kMaxDatasetNameLength) +
                                   " characters, found " + Str(static_cast<int64_t>(name.size())));
  }
  if (name.front() == '.') {
    return Status::InvalidArgument("a dataset name cannot start with '.'");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) {
      return Status::InvalidArgument(
          "a dataset name has only the characters A-Z a-z 0-9 . _ -, found byte " +
          Str(static_cast<uint8_t>(c)) + " at position " + Str(static_cast<int64_t>(i)));
    }
  }
  return Status::Ok();
}

Dataset::Dataset(DatasetInfo info, std::shared_ptr<const arrow::Buffer> file,
                 std::shared_ptr<const std::vector<transport::IpcMessage>> messages)
    : info_(std::move(info)), file_(std::move(file)), messages_(std::move(messages)) {}

Result<std::unique_ptr<transport::MessageStream>> Dataset::Read(Compression compression,
                                                                const IpcReadOptions& read) const {
  if (compression == Compression::kNone) {
    return std::unique_ptr<transport::MessageStream>(
        std::make_unique<transport::VectorMessageStream>(messages_));
  }
  ZKA_ASSIGN_OR_RETURN(auto stream, ReencodingStream::Make(file_, compression, read));
  return std::unique_ptr<transport::MessageStream>(std::move(stream));
}

PreparedDataset::~PreparedDataset() {
  if (fd_ >= 0) ::close(fd_);  // the unnamed file disappears with its last descriptor
}

DatasetStore::DatasetStore(std::filesystem::path dir, int dir_fd, DatasetStoreOptions options)
    : dir_(std::move(dir)), dir_fd_(dir_fd), options_(std::move(options)) {}

DatasetStore::~DatasetStore() { ::close(dir_fd_); }  // releases the flock

Result<std::unique_ptr<DatasetStore>> DatasetStore::Open(const std::filesystem::path& dir,
                                                         DatasetStoreOptions options) {
  if (options.keep_versions < 0) {
    return Status::InvalidArgument("keep_versions must be at least 0, found " +
                                   Str(options.keep_versions));
  }
  if (options.max_upload_bytes < 1) {
    return Status::InvalidArgument("max_upload_bytes must be at least 1, found " +
                                   Str(options.max_upload_bytes));
  }
  if (options.max_batch_bytes_served < kMinServedMessageBytes) {
    return Status::InvalidArgument("max_batch_bytes_served must be at least " +
                                   Str(kMinServedMessageBytes) + ", found " +
                                   Str(options.max_batch_bytes_served));
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return Status::IoError("creating the store directory " + dir.string() + ": " + error.message());
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Status::FromErrno(errno, "opening the store directory " + dir.string());
  std::unique_ptr<DatasetStore> store(new DatasetStore(dir, dir_fd, std::move(options)));
  if (::flock(dir_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Unavailable("the store directory " + dir.string() +
                                 " is in use by another dataset store");
    }
    return Status::FromErrno(errno, "locking the store directory " + dir.string());
  }
  // Uploads depend on unnamed files for their atomicity; find out now.
  int probe = ::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (probe < 0) {
    if (errno == EOPNOTSUPP || errno == EISDIR) {
      return Status::NotImplemented("the file system of " + dir.string() +
                                    " has no unnamed files (O_TMPFILE), which the dataset store "
                                    "needs to make uploads atomic");
    }
    return Status::FromErrno(errno, "creating a file in " + dir.string());
  }
  ::close(probe);
  ZKA_RETURN_IF_ERROR(store->Load());
  return store;
}

Status DatasetStore::Load() {
  std::map<std::string, std::vector<ParsedFileName>> files;
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir_, error), end; !error && it != end;
       it.increment(error)) {
    const std::string file = it->path().filename().string();
    std::optional<ParsedFileName> parsed;
    if (it->is_regular_file(error)) parsed = ParseFileName(file);
    if (!parsed) {
      open_notes_.push_back("ignored " + file + ": not a dataset file");
      continue;
    }
    files[parsed->name].push_back(std::move(*parsed));
  }
  if (error) return Status::IoError("listing " + dir_.string() + ": " + error.message());

  // Not a structured binding: clang 14 cannot capture one in the lambda below.
  for (auto& named : files) {
    const std::string& name = named.first;
    std::vector<ParsedFileName>& versions = named.second;
    std::sort(versions.begin(), versions.end(),
              [](const auto& a, const auto& b) { return a.version > b.version; });
    auto entry = std::make_shared<Entry>();
    entry->last_version = versions.front().version;
    std::vector<std::shared_ptr<const Dataset>> loaded;  // newest first
    for (const ParsedFileName& parsed : versions) {
      const std::string file = FileName(name, parsed.version, parsed.sha256_hex);
      if (options_.keep_versions > 0 && static_cast<int>(loaded.size()) == options_.keep_versions) {
        // Kept no longer (keep_versions was lowered, or a prune failed).
        ::unlinkat(dir_fd_, file.c_str(), 0);
        continue;
      }
      auto dataset = [&]() -> Result<std::shared_ptr<const Dataset>> {
        ZKA_ASSIGN_OR_RETURN(auto bytes, arrow::MapFile(dir_ / file));
        ZKA_ASSIGN_OR_RETURN(std::string sha, Sha256Hex(bytes->bytes()));
        if (sha != parsed.sha256_hex) {
          return Status::InvalidData("its SHA-256 is " + sha + ": damaged since it was written");
        }
        ZKA_ASSIGN_OR_RETURN(FileIndex index, IndexFile(bytes, options_.read, std::nullopt));
        struct stat info {};
        if (::fstatat(dir_fd_, file.c_str(), &info, 0) != 0) {
          return Status::FromErrno(errno, "stat");
        }
        DatasetInfo dataset_info{
            name,
            parsed.version,
            index.rows,
            bytes->size(),
            parsed.sha256_hex,
            index.schema,
            int64_t{info.st_mtim.tv_sec} * 1000 + info.st_mtim.tv_nsec / 1000000};
        return std::make_shared<const Dataset>(std::move(dataset_info), std::move(bytes),
                                               std::move(index.messages));
      }();
      if (!dataset.ok()) {
        open_notes_.push_back("skipped " + file + ": " + dataset.status().ToString());
        continue;
      }
      loaded.push_back(std::move(*dataset));
    }
    if (loaded.empty()) continue;
    entry->versions.assign(loaded.rbegin(), loaded.rend());
    entries_.emplace(name, std::move(entry));
  }
  return Status::Ok();
}

std::shared_ptr<DatasetStore::Entry> DatasetStore::FindEntry(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(name);
  return found == entries_.end() ? nullptr : found->second;
}

Status DatasetStore::SyncDir(std::string_view what) const {
  if (::fsync(dir_fd_) != 0) {
    return Status::FromErrno(errno, std::string(what) + ": syncing " + dir_.string());
  }
  return Status::Ok();
}

Result<std::unique_ptr<PreparedDataset>> DatasetStore::Prepare(std::string_view name,
                                                               arrow::InputStream& upload) {
  ZKA_RETURN_IF_ERROR(ValidateDatasetName(name));
  const std::string context = "dataset '" + std::string(name) + "'";
  std::unique_ptr<PreparedDataset> prepared(new PreparedDataset());
  prepared->store_ = this;
  prepared->fd_ = ::openat(dir_fd_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (prepared->fd_ < 0) {
    return Status::FromErrno(errno, context + ": creating a file in " + dir_.string());
  }
  HashingFileSink sink(prepared->fd_, "writing its file in " + dir_.string(),
                       options_.max_upload_bytes);
  const IpcReadOptions read = UploadReadOptions(options_);
  // A budget the upload limit lowered names that limit when it is hit.
  const bool read_within_upload_limit =
      read.max_batch_bytes < options_.read.max_batch_bytes ||
      read.max_dictionary_bytes < options_.read.max_dictionary_bytes;
  int64_t rows = 0;
  Status written = [&]() -> Status {
    ZKA_ASSIGN_OR_RETURN(auto input, UploadInput::Open(upload));
    ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::StreamReader::Open(
                                          std::make_unique<ForwardingInput>(*input), read));
    ZKA_ASSIGN_OR_RETURN(auto writer, arrow::ipc::IpcWriter::OpenFile(sink, reader->schema()));
    int64_t batch_index = 0;
    int64_t dictionary_batches = 0;
    while (true) {
      const std::string where = "upload batch " + Str(batch_index);
      auto batch = reader->Next();
      if (!batch.ok()) {
        if (batch.status().code() == StatusCode::kOutOfRange && read_within_upload_limit) {
          return batch.status().WithContext(where + ": decoded within " +
                                            UploadLimitText(options_.max_upload_bytes));
        }
        return batch.status().WithContext(where);
      }
      if (!*batch) break;
      // The file format holds one dictionary per id, written before the
      // first batch: one that changes later cannot be stored.
      if (batch_index == 0) {
        dictionary_batches = reader->num_dictionary_batches_read();
        for (size_t i = 0; i < (*batch)->columns.size(); ++i) {
          ZKA_RETURN_IF_ERROR(CheckDictionaries(reader->schema().fields[i], *(*batch)->columns[i],
                                                options_.max_batch_bytes_served)
                                  .WithContext(where));
        }
      } else if (reader->num_dictionary_batches_read() != dictionary_batches) {
        return Status::InvalidArgument(
            where +
            ": a dictionary is replaced or extended (delta) after the first batch; a "
            "dataset is stored as an IPC file, which holds one dictionary per field, so "
            "send every dictionary whole before the first batch and keep it");
      }
      ZKA_RETURN_IF_ERROR(arrow::ipc::WriteBatchSliced(*writer, reader->schema(), **batch,
                                                       reader->last_batch_info().custom_metadata,
                                                       options_.max_batch_bytes_served)
                              .WithContext(where));
      rows += (*batch)->length;
      ++batch_index;
    }
    if (!reader->ended_with_marker()) {
      return Status::InvalidData("the upload stopped after " + Str(batch_index) +
                                 " batches without the end-of-stream marker (interrupted)");
    }
    if (input->is_file()) {
      ZKA_RETURN_IF_ERROR(input->Drain().WithContext("the upload's footer"));
    } else {
      // What follows the marker would be dropped unread: a second stream
      // (`cat a.arrows b.arrows`) or stray bytes, either way not what the
      // client meant to store.
      std::array<uint8_t, 1> next{};
      ZKA_ASSIGN_OR_RETURN(int64_t n, input->Read(next));
      if (n != 0) {
        return Status::InvalidData(
            "expected the upload to end after its end-of-stream marker (after " + Str(batch_index) +
            " batches), found more bytes: upload one Arrow IPC stream (one schema, one marker)");
      }
    }
    return writer->Close();
  }();
  if (!written.ok()) return written.WithContext(context + ": nothing stored");
  if (::fsync(prepared->fd_) != 0) {
    return Status::FromErrno(errno,
                             context + ": nothing stored: syncing its file in " + dir_.string());
  }
  ZKA_ASSIGN_OR_RETURN(std::string sha, sink.FinishHex());
  ZKA_ASSIGN_OR_RETURN(prepared->file_, arrow::MapFile(ProcFdPath(prepared->fd_)));
  auto index = IndexFile(prepared->file_, options_.read, options_.max_batch_bytes_served);
  if (!index.ok()) return index.status().WithContext(context + ": nothing stored");
  prepared->messages_ = std::move(index->messages);
  prepared->info_ = {std::string(name), 0, rows, sink.bytes(), std::move(sha), index->schema, 0};
  return prepared;
}

std::pair<std::shared_ptr<DatasetStore::Entry>, std::unique_lock<std::mutex>>
DatasetStore::LockEntry(const std::string& name) {
  while (true) {
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard lock(mutex_);
      auto& slot = entries_[name];
      if (!slot) slot = std::make_shared<Entry>();
      entry = slot;
    }
    std::unique_lock commit(entry->commit);
    if (!entry->dropped) return {std::move(entry), std::move(commit)};
  }
}

Status DatasetStore::LinkVersion(PreparedDataset& prepared, const DatasetInfo& info) {
  const std::string file = FileName(info.name, info.version, info.sha256_hex);
  // linkat through /proc works without privileges (AT_EMPTY_PATH needs
  // CAP_DAC_READ_SEARCH); the name is new, so nothing is replaced.
  if (::linkat(AT_FDCWD, ProcFdPath(prepared.fd_).c_str(), dir_fd_, file.c_str(),
               AT_SYMLINK_FOLLOW) != 0) {
    return Status::FromErrno(errno, "dataset '" + info.name + "': naming its file " + file);
  }
  Status synced = SyncDir("dataset '" + info.name + "'");
  if (!synced.ok()) {
    // Not durable, so not acknowledged: it must not appear after a restart.
    ::unlinkat(dir_fd_, file.c_str(), 0);
  }
  return synced;
}

Result<DatasetInfo> DatasetStore::Commit(std::unique_ptr<PreparedDataset> prepared,
                                         std::optional<int64_t> if_version) {
  if (!prepared || prepared->store_ != this || prepared->fd_ < 0) {
    return Status::InvalidArgument("Commit needs a dataset this store prepared, once");
  }
  const std::string name = prepared->info_.name;
  auto [entry, commit] = LockEntry(name);
  // An entry this commit created leaves the map again if the commit fails.
  auto forget_if_empty = [&, &entry = entry] {
    if (!entry->versions.empty()) return;
    entry->dropped = true;
    std::lock_guard lock(mutex_);
    entries_.erase(name);
  };
  const int64_t current = entry->versions.empty() ? 0 : entry->versions.back()->info().version;
  if (if_version && *if_version != current) {
    forget_if_empty();
    return Status::Conflict("dataset '" + name + "' is at version " + Str(current) +
                            (current == 0 ? " (does not exist)" : "") +
                            ", the upload expected version " + Str(*if_version));
  }
  DatasetInfo info = prepared->info_;
  info.version = entry->last_version + 1;
  info.created_ms = NowMs();
  if (Status linked = LinkVersion(*prepared, info); !linked.ok()) {
    forget_if_empty();
    return linked;
  }
  entry->last_version = info.version;
  auto dataset = std::make_shared<const Dataset>(info, std::move(prepared->file_),
                                                 std::move(prepared->messages_));
  {
    std::lock_guard lock(mutex_);
    entry->versions.push_back(std::move(dataset));
  }
  PruneOld(*entry);
  return info;
}

Result<DatasetInfo> DatasetStore::CommitVersion(std::unique_ptr<PreparedDataset> prepared,
                                                int64_t version, int64_t created_ms) {
  if (!prepared || prepared->store_ != this || prepared->fd_ < 0) {
    return Status::InvalidArgument("CommitVersion needs a dataset this store prepared, once");
  }
  if (version < 1)
    return Status::InvalidArgument("dataset versions start at 1, not " + Str(version));
  const std::string name = prepared->info_.name;
  auto [entry, commit] = LockEntry(name);
  auto position = std::find_if(entry->versions.begin(), entry->versions.end(),
                               [&](const auto& d) { return d->info().version >= version; });
  if (position != entry->versions.end() && (*position)->info().version == version) {
    if ((*position)->info().sha256_hex == prepared->info_.sha256_hex) return (*position)->info();
    return Status::Conflict("dataset '" + name + "' version " + Str(version) +
                            " is stored already with SHA-256 " + (*position)->info().sha256_hex +
                            ", not " + prepared->info_.sha256_hex);
  }
  DatasetInfo info = prepared->info_;
  info.version = version;
  info.created_ms = created_ms;
  if (Status linked = LinkVersion(*prepared, info); !linked.ok()) {
    if (entry->versions.empty()) {
      entry->dropped = true;
      std::lock_guard lock(mutex_);
      entries_.erase(name);
    }
    return linked;
  }
  entry->last_version = std::max(entry->last_version, version);
  auto dataset = std::make_shared<const Dataset>(info, std::move(prepared->file_),
                                                 std::move(prepared->messages_));
  {
    std::lock_guard lock(mutex_);
    entry->versions.insert(position, std::move(dataset));
  }
  PruneOld(*entry);
  return info;
}

Status DatasetStore::Remove(std::string_view name, int64_t version) {
  ZKA_RETURN_IF_ERROR(ValidateDatasetName(name));
  std::shared_ptr<Entry> entry = FindEntry(name);
  const Status not_found = Status::NotFound("dataset '" + std::string(name) + "' has no version " +
                                            Str(version) + " stored here");
  if (!entry) return not_found;
  std::lock_guard commit(entry->commit);
  auto found = std::find_if(entry->versions.begin(), entry->versions.end(),
                            [&](const auto& d) { return d->info().version == version; });
  if (entry->dropped || found == entry->versions.end()) return not_found;
  const DatasetInfo& info = (*found)->info();
  const std::string file = FileName(info.name, info.version, info.sha256_hex);
  if (::unlinkat(dir_fd_, file.c_str(), 0) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "dataset '" + info.name + "': deleting " + file);
  }
  {
    std::lock_guard lock(mutex_);
    entry->versions.erase(found);
    if (entry->versions.empty()) {
      entry->dropped = true;
      entries_.erase(std::string(name));
    }
  }
  return SyncDir("dataset '" + std::string(name) + "'");
}

std::vector<DatasetInfo> DatasetStore::ListVersions() const {
  std::lock_guard lock(mutex_);
  std::vector<DatasetInfo> infos;
  for (const auto& [name, entry] : entries_) {
    for (const auto& dataset : entry->versions) infos.push_back(dataset->info());
  }
  return infos;
}

// REQUIRES: entry.commit is held.
void DatasetStore::PruneOld(Entry& entry) {
  while (options_.keep_versions > 0 &&
         static_cast<int>(entry.versions.size()) > options_.keep_versions) {
    const DatasetInfo& oldest = entry.versions.front()->info();
    const std::string file = FileName(oldest.name, oldest.version, oldest.sha256_hex);
    // A failure keeps the version listed; the next prune (or Open) retries.
    if (::unlinkat(dir_fd_, file.c_str(), 0) != 0) return;
    std::lock_guard lock(mutex_);
    entry.versions.erase(entry.versions.begin());
  }
}

Result<DatasetInfo> DatasetStore::Put(std::string_view name, arrow::InputStream& upload,
                                      std::optional<int64_t> if_version) {
  ZKA_RETURN_IF_ERROR(ValidateDatasetName(name));
  if (if_version) {
    // Fails fast, before a large upload is read; Commit checks again.
    std::shared_ptr<Entry> entry = FindEntry(name);
    std::lock_guard lock(mutex_);
    const int64_t current =
        entry && !entry->versions.empty() ? entry->versions.back()->info().version : 0;
    if (*if_version != current) {
      return Status::Conflict("dataset '" + std::string(name) + "' is at version " + Str(current) +
                              (current == 0 ? " (does not exist)" : "") +
                              ", the upload expected version " + Str(*if_version));
    }
  }
  ZKA_ASSIGN_OR_RETURN(auto prepared, Prepare(name, upload));
  return Commit(std::move(prepared), if_version);
}

Result<std::shared_ptr<const Dataset>> DatasetStore::Get(std::string_view name,
                                                         std::optional<int64_t> version) const {
  ZKA_RETURN_IF_ERROR(ValidateDatasetName(name));
  std::lock_guard lock(mutex_);
  auto found = entries_.find(name);
  if (found == entries_.end() || found->second->versions.empty()) {
    return Status::NotFound("no dataset named '" + std::string(name) + "'");
  }
  const auto& versions = found->second->versions;
  if (!version) return versions.back();
  std::string kept;
  for (const auto& dataset : versions) {
    if (dataset->info().version == *version) return dataset;
    kept += (kept.empty() ? "" : ", ") + Str(dataset->info().version);
  }
  return Status::NotFound("dataset '" + std::string(name) + "' has no version " + Str(*version) +
                          " (kept: " + kept + ")");
}

std::vector<DatasetInfo> DatasetStore::List() const {
  std::lock_guard lock(mutex_);
  std::vector<DatasetInfo> infos;
  for (const auto& [name, entry] : entries_) {
    if (!entry->versions.empty()) infos.push_back(entry->versions.back()->info());
  }
  return infos;
}

Status DatasetStore::Drop(std::string_view name) {
  ZKA_RETURN_IF_ERROR(ValidateDatasetName(name));
  std::shared_ptr<Entry> entry = FindEntry(name);
  const Status not_found = Status::NotFound("no dataset named '" + std::string(name) + "'");
  if (!entry) return not_found;
  std::lock_guard commit(entry->commit);
  if (entry->dropped || entry->versions.empty()) return not_found;
  // Oldest first: a failure part way leaves the newest versions, as listed.
  while (!entry->versions.empty()) {
    const DatasetInfo& oldest = entry->versions.front()->info();
    const std::string file = FileName(oldest.name, oldest.version, oldest.sha256_hex);
    if (::unlinkat(dir_fd_, file.c_str(), 0) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno,
                               "dropping dataset '" + std::string(name) + "': deleting " + file);
    }
    std::lock_guard lock(mutex_);
    entry->versions.erase(entry->versions.begin());
  }
  entry->dropped = true;
  {
    std::lock_guard lock(mutex_);
    entries_.erase(std::string(name));
  }
  return SyncDir("dropping dataset '" + std::string(name) + "'");
}

}  // namespace zkarrow::serve

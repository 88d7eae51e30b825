#include "query/internal/znode_tables.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "arrow/array_access.h"
#include "query/internal/path_map.h"
#include "query/internal/remote_sources.h"
#include "znodes/datadir/data_dir.h"
#include "znodes/live/tree_walker.h"
#include "znodes/znode_batch_builder.h"
#include "znodes/znode_path.h"
#include "znodes/znode_schema.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::query::internal {
namespace {

using znodes::ZnodeRecord;

// The letters of idxStr: one per xFilter argument, in argument order.
constexpr char kPathEquals = 'E';
constexpr char kPathIn = 'I';
constexpr char kPathLike = 'L';
constexpr char kPathGlob = 'G';
constexpr char kPathLower = 'g';  // path >= x or path > x
constexpr char kPathUpper = 'l';  // path < x or path <= x
constexpr char kParentEquals = 'P';
constexpr char kDepthAtMost = 'D';  // depth <= n
constexpr char kDepthBelow = 'd';   // depth < n
constexpr char kDepthEquals = 'Q';
constexpr char kLimit = 'M';
constexpr char kOffset = 'O';

// idxNum bits.
constexpr int kReadData = 1;
constexpr int kReadAcl = 2;
constexpr int kReadError = 4;

// What a plan costs when nothing narrows it: SQLite only compares costs, and
// a whole tree is the most expensive thing there is.
constexpr double kWholeTreeRows = 1e6;

// A path the server would accept: "/" or "/a/b" without empty components.
bool IsZnodePath(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path.size() == 1) return true;
  return path.back() != '/' && path.find("//") == std::string_view::npos;
}

std::optional<std::string> TextOf(sqlite3_value* value) {
  const int type = sqlite3_value_type(value);
  if (type == SQLITE_NULL || type == SQLITE_BLOB) return std::nullopt;
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
  if (text == nullptr) return std::nullopt;
  return std::string(text, static_cast<size_t>(sqlite3_value_bytes(value)));
}

// The greatest whole depth d with d <= value, or with d < value when
// `strict`; none when value is not a number.
std::optional<int64_t> GreatestDepth(sqlite3_value* value, bool strict) {
  const int type = sqlite3_value_type(value);
  if (type == SQLITE_INTEGER) {
    const int64_t n = sqlite3_value_int64(value);
    // No depth is below 0: depth < n for n <= 0 is -1, which reads nothing.
    return strict ? std::max<int64_t>(n, 0) - 1 : n;
  }
  if (type == SQLITE_FLOAT) {
    // depth <= 2.5 and depth < 2.5 are both depth <= 2; a bound beyond
    // int's range bounds nothing.
    const double bound = sqlite3_value_double(value);
    if (bound > 1e9 || bound < -1e9 || std::isnan(bound)) return std::nullopt;
    return strict ? static_cast<int64_t>(std::ceil(bound)) - 1
                  : static_cast<int64_t>(std::floor(bound));
  }
  return std::nullopt;
}

std::string CommonPrefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return std::string(a.substr(0, n));
}

void TightenDepth(ZnodePlan& plan, int64_t bound) {
  const int clamped = static_cast<int>(std::clamp<int64_t>(bound, -1, 1 << 20));
  plan.max_depth = plan.max_depth ? std::min(*plan.max_depth, clamped) : clamped;
}

// Decodes xFilter's arguments as BestIndex encoded them.
Result<ZnodePlan> DecodePlan(int idx_num, const char* idx_str, int argc, sqlite3_value** argv) {
  ZnodePlan plan;
  plan.read_data = (idx_num & kReadData) != 0;
  plan.read_acl = (idx_num & kReadAcl) != 0;
  plan.read_error = (idx_num & kReadError) != 0;
  const std::string_view ops = idx_str == nullptr ? "" : idx_str;
  if (static_cast<int>(ops.size()) != argc) {
    return Status::Internal("the plan's arguments do not match its constraints");
  }
  std::optional<std::string> lower, upper;
  int64_t limit = -1, offset = 0;
  for (int i = 0; i < argc; ++i) {
    sqlite3_value* value = argv[i];
    switch (ops[static_cast<size_t>(i)]) {
      case kPathEquals: {
        std::vector<std::string> paths;
        if (auto text = TextOf(value)) paths.push_back(*text);
        plan.paths = std::move(paths);
        break;
      }
      case kPathIn: {
        std::vector<std::string> paths;
        sqlite3_value* item = nullptr;
        int rc = sqlite3_vtab_in_first(value, &item);
        for (; rc == SQLITE_OK && item != nullptr; rc = sqlite3_vtab_in_next(value, &item)) {
          if (auto text = TextOf(item)) paths.push_back(*text);
        }
        if (rc != SQLITE_OK && rc != SQLITE_DONE) {
          return Status::Internal("reading the IN list of path");
        }
        plan.paths = std::move(paths);
        break;
      }
      case kPathLike:
        if (auto text = TextOf(value)) plan.prefix = LikePrefix(*text);
        break;
      case kPathGlob:
        if (auto text = TextOf(value)) plan.prefix = GlobPrefix(*text);
        break;
      case kPathLower:
        lower = TextOf(value);
        break;
      case kPathUpper:
        upper = TextOf(value);
        break;
      case kParentEquals:
        // parent = NULL matches nothing; an empty list of paths says so.
        if (auto text = TextOf(value)) {
          plan.parent = *text;
        } else {
          plan.paths = std::vector<std::string>{};
        }
        break;
      case kDepthAtMost:
      case kDepthEquals:  // depth = 2.5 matches nothing: SQLite re-checks the rows to 2
        if (auto n = GreatestDepth(value, /*strict=*/false)) TightenDepth(plan, *n);
        break;
      case kDepthBelow:
        if (auto n = GreatestDepth(value, /*strict=*/true)) TightenDepth(plan, *n);
        break;
      case kLimit:
        if (sqlite3_value_type(value) == SQLITE_INTEGER) limit = sqlite3_value_int64(value);
        break;
      case kOffset:
        if (sqlite3_value_type(value) == SQLITE_INTEGER) {
          offset = std::max<int64_t>(0, sqlite3_value_int64(value));
        }
        break;
      default:
        return Status::Internal("unknown plan letter in '" + std::string(ops) + "'");
    }
  }
  if (lower && upper && !plan.prefix) {
    // Every string between the two bounds starts with what they share.
    std::string shared = CommonPrefix(*lower, *upper);
    if (!shared.empty()) plan.prefix = std::move(shared);
  }
  // A LIMIT + OFFSET past int64 stops no walk.
  if (limit >= 0 && limit <= std::numeric_limits<int64_t>::max() - offset) {
    plan.row_limit = limit + offset;
  }
  return plan;
}

// Records into batches of a snapshot's size, each handed on when full.
class RecordBatcher {
 public:
  using Emit = std::function<Status(arrow::RecordBatch)>;
  explicit RecordBatcher(Emit emit) : builder_(/*typed_values=*/true), emit_(std::move(emit)) {}

  Status Append(const ZnodeRecord& record) {
    Status appended = builder_.Append(record);
    if (appended.code() == StatusCode::kOutOfRange && builder_.rows() > 0) {
      ZKA_RETURN_IF_ERROR(Flush());
      appended = builder_.Append(record);
    }
    ZKA_RETURN_IF_ERROR(appended.WithContext("znode " + std::string(record.path)));
    ++rows_;
    if (builder_.rows() >= kBatchRows || builder_.data_bytes() >= kLimits.max_batch_bytes) {
      return Flush();
    }
    return Status::Ok();
  }
  // Hands on the rows so far, if any.
  Status Flush() { return builder_.rows() > 0 ? emit_(builder_.Finish()) : Status::Ok(); }
  int64_t rows() const { return rows_; }

 private:
  // SQLite sees a scan's rows a batch at a time: small batches let a LIMIT
  // that SQLite applies stop the walk soon after, at little cost per batch.
  static constexpr int64_t kBatchRows = 4096;
  static inline const znodes::ZnodeTableOptions kLimits{};  // the snapshot writer's byte limit
  znodes::ZnodeBatchBuilder builder_;
  Emit emit_;
  int64_t rows_ = 0;
};

// Rows kept in memory (a few nodes read by path, an index lookup).
class CollectedRows {
 public:
  CollectedRows()
      : batcher_([this](arrow::RecordBatch batch) {
          batches_.push_back(std::move(batch));
          return Status::Ok();
        }) {}
  CollectedRows(const CollectedRows&) = delete;
  CollectedRows& operator=(const CollectedRows&) = delete;

  Status Append(const ZnodeRecord& record) { return batcher_.Append(record); }
  Result<std::unique_ptr<BatchStream>> Finish() {
    ZKA_RETURN_IF_ERROR(batcher_.Flush());
    return std::unique_ptr<BatchStream>(std::make_unique<VectorStream>(std::move(batches_)));
  }

 private:
  std::vector<arrow::RecordBatch> batches_;
  RecordBatcher batcher_;
};

// What a batch holds in memory, roughly (its buffers; shared ones counted
// once per use, which errs on the safe side).
int64_t BytesOf(const arrow::ArrayData& data) {
  int64_t bytes = 0;
  for (const auto& buffer : data.buffers) {
    if (buffer != nullptr) bytes += buffer->size();
  }
  for (const auto& child : data.children) bytes += BytesOf(*child);
  if (data.dictionary != nullptr) bytes += BytesOf(*data.dictionary);
  return bytes;
}

int64_t BytesOf(const arrow::RecordBatch& batch) {
  int64_t bytes = 0;
  for (const auto& column : batch.columns) bytes += BytesOf(*column);
  return bytes;
}

// The rows of the scans of one statement that read their source (a walk,
// a replay, a server's response), by plan. A join's inner scan runs once
// per outer row, and when the join is on a column the plan cannot narrow
// (b.name = a.name, b.depth = a.depth, a cross join) it is the same scan
// each time: without this, every outer row walked the whole tree again,
// a ZooKeeper load of rows x tree. A plan's first scan keeps nothing (most
// statements scan once, and a copy would only hold memory while the rows
// stream); its second keeps its rows for the rest, as far as the
// statement's memory allows (past it, scans read again). Used on SQLite's
// thread only (Scan, and the streams SQLite pulls).
class ScanMemo {
 public:
  explicit ScanMemo(StatementMemory& memory) : memory_(memory) {}
  ~ScanMemo() { Clear(); }
  ScanMemo(const ScanMemo&) = delete;
  ScanMemo& operator=(const ScanMemo&) = delete;

  void Clear() {
    memory_.Release(bytes_);
    scans_.clear();
    seen_.clear();
    bytes_ = 0;
  }

  // The rows of an earlier scan with `key` that read to its end.
  std::optional<std::vector<arrow::RecordBatch>> Find(const std::string& key) const {
    auto it = scans_.find(key);
    if (it == scans_.end()) return std::nullopt;
    return it->second;
  }

  // `stream`, whose batches are kept under `key` once it ends, if the
  // statement's memory holds them (a scan SQLite stops early keeps
  // nothing), unless it is the first scan with `key`.
  std::unique_ptr<BatchStream> Recording(std::string key, std::unique_ptr<BatchStream> stream) {
    if (seen_.insert(key).second) return stream;
    return std::make_unique<RecordingStream>(*this, std::move(key), std::move(stream));
  }

 private:
  class RecordingStream final : public BatchStream {
   public:
    RecordingStream(ScanMemo& memo, std::string key, std::unique_ptr<BatchStream> stream)
        : memo_(memo), key_(std::move(key)), stream_(std::move(stream)) {}
    ~RecordingStream() override { memo_.memory_.Release(kept_bytes_); }
    RecordingStream(const RecordingStream&) = delete;
    RecordingStream& operator=(const RecordingStream&) = delete;

    Result<std::optional<arrow::RecordBatch>> Next() override {
      ZKA_ASSIGN_OR_RETURN(std::optional<arrow::RecordBatch> batch, stream_->Next());
      if (!keeping_) return batch;
      if (!batch) {
        memo_.Keep(std::move(key_), std::move(kept_), std::exchange(kept_bytes_, 0));
        keeping_ = false;
        return batch;
      }
      const int64_t bytes = BytesOf(*batch);
      if (memo_.memory_.TryReserve(bytes)) {
        kept_bytes_ += bytes;
        kept_.push_back(*batch);  // shares the buffers
      } else {
        keeping_ = false;
        memo_.memory_.Release(std::exchange(kept_bytes_, 0));
        kept_.clear();
      }
      return batch;
    }
    int64_t NodesRead() const override { return stream_->NodesRead(); }

   private:
    ScanMemo& memo_;
    std::string key_;
    std::unique_ptr<BatchStream> stream_;
    std::vector<arrow::RecordBatch> kept_;
    int64_t kept_bytes_ = 0;  // of kept_, reserved in the statement's memory
    bool keeping_ = true;
  };

  // `bytes`, reserved already, become the memo's.
  void Keep(std::string key, std::vector<arrow::RecordBatch> batches, int64_t bytes) {
    if (scans_.emplace(std::move(key), std::move(batches)).second) {
      bytes_ += bytes;
    } else {
      memory_.Release(bytes);  // another scan of the plan kept them first
    }
  }

  StatementMemory& memory_;
  std::unordered_map<std::string, std::vector<arrow::RecordBatch>> scans_;
  std::unordered_set<std::string> seen_;  // keys of the scans started
  int64_t bytes_ = 0;                     // of scans_, reserved in memory_
};

// What tells one scan's rows from another's: every field of the plan.
std::string KeyOf(const ZnodePlan& plan) {
  std::string key;
  key += plan.read_data ? 'd' : '-';
  key += plan.read_acl ? 'a' : '-';
  key += plan.read_error ? 'e' : '-';
  auto add = [&key](char tag, const std::optional<std::string>& text) {
    if (!text) return;
    key += tag;
    key += std::to_string(text->size());
    key += ':';
    key += *text;
  };
  if (plan.paths) {
    for (const std::string& path : std::set<std::string>(plan.paths->begin(), plan.paths->end())) {
      add('E', path);
    }
    key += 'e';  // an empty list is a key of its own
  }
  add('X', plan.prefix);
  add('P', plan.parent);
  if (plan.max_depth) add('D', std::to_string(*plan.max_depth));
  if (plan.row_limit) add('M', std::to_string(*plan.row_limit));
  return key;
}

constexpr const char* kReplayed = " (the rows of an earlier identical scan: nothing read)";

// A record with only the columns a plan asks for: no data (nor typed
// values) or ACL when they are not used.
ZnodeRecord Trimmed(ZnodeRecord record, const ZnodePlan& plan) {
  if (!plan.read_data) {
    record.data.reset();
    record.null_data = false;
  }
  if (!plan.read_acl) record.acl = nullptr;
  return record;
}

// The roots to walk and how deep, for a plan without a list of paths.
struct WalkRoot {
  std::string root;
  int max_depth = -1;  // levels below root; -1: all
};

int RelativeDepth(const ZnodePlan& plan, const std::string& root, int levels) {
  int max_depth = levels;
  if (plan.max_depth) {
    const int bound = *plan.max_depth - znodes::PathDepth(root);
    max_depth = max_depth < 0 ? bound : std::min(max_depth, bound);
  }
  return max_depth;
}

bool IsNoNode(const Status& status) {
  return status.code() == StatusCode::kRemote && zk::ErrorCodeOf(status) == zk::ErrorCode::NONODE;
}

bool IsNoAuth(const Status& status) {
  return status.code() == StatusCode::kRemote && zk::ErrorCodeOf(status) == zk::ErrorCode::NOAUTH;
}

std::string_view StringAt(const arrow::ArrayData& data, int64_t i) {
  const int64_t begin = arrow::ReadOffset(data, i, false);
  const int64_t end = arrow::ReadOffset(data, i + 1, false);
  return {reinterpret_cast<const char*>(data.buffers[2]->data()) + begin,
          static_cast<size_t>(end - begin)};
}

// The part of the optimizer shared by every source: which constraints to
// take, encoded for DecodePlan. True when the plan looks nodes up by path
// or parent (what the live source's node cache serves).
bool ChooseZnodePlan(sqlite3_index_info* info) {
  const sqlite3_uint64 used = info->colUsed;
  auto uses = [used](int column) {
    return column >= 63 ? (used >> 63) != 0 : ((used >> column) & 1) != 0;
  };
  int idx_num = 0;
  for (int column : {znodes::kDataColumn, znodes::kValueTypeColumn, znodes::kValueIntColumn,
                     znodes::kValueFloatColumn, znodes::kValueTextColumn}) {
    if (uses(column)) idx_num |= kReadData;
  }
  if (uses(znodes::kAclColumn)) idx_num |= kReadAcl;
  if (uses(znodes::kErrorColumn)) idx_num |= kReadError;

  std::string ops;
  double rows = kWholeTreeRows;
  bool filtered_elsewhere = false;  // a constraint SQLite checks that the plan does not
  bool have_point = false;
  int limit_constraint = -1, offset_constraint = -1;
  auto take = [&](int i, char op, bool omit = false) {
    ops += op;
    info->aConstraintUsage[i].argvIndex = static_cast<int>(ops.size());
    info->aConstraintUsage[i].omit = omit ? 1 : 0;
  };
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& constraint = info->aConstraint[i];
    if (constraint.op == SQLITE_INDEX_CONSTRAINT_LIMIT) {
      limit_constraint = i;
      continue;
    }
    if (constraint.op == SQLITE_INDEX_CONSTRAINT_OFFSET) {
      offset_constraint = i;
      continue;
    }
    filtered_elsewhere = true;
    if (!constraint.usable) continue;
    // The plan compares bytes. Under another collation (NOCASE, RTRIM, one
    // of the application's) a comparison holds for rows the plan would not
    // read, so SQLite alone checks it.
    if (sqlite3_stricmp(sqlite3_vtab_collation(info, i), "BINARY") != 0) continue;
    if (constraint.iColumn == znodes::kPathColumn) {
      switch (constraint.op) {
        case SQLITE_INDEX_CONSTRAINT_EQ:
          if (have_point) break;
          have_point = true;
          if (sqlite3_vtab_in(info, i, -1)) {
            // The whole list at once, for one multiRead. Exact, so SQLite
            // need not re-check it (and only then hands the list over).
            sqlite3_vtab_in(info, i, 1);
            take(i, kPathIn, /*omit=*/true);
            rows = std::min(rows, 10.0);
          } else {
            take(i, kPathEquals);
            rows = 1;
          }
          break;
        case SQLITE_INDEX_CONSTRAINT_LIKE:
          take(i, kPathLike);
          rows = std::min(rows, 1e4);
          break;
        case SQLITE_INDEX_CONSTRAINT_GLOB:
          take(i, kPathGlob);
          rows = std::min(rows, 1e4);
          break;
        case SQLITE_INDEX_CONSTRAINT_GE:
        case SQLITE_INDEX_CONSTRAINT_GT:
          take(i, kPathLower);
          rows = std::min(rows, 1e5);
          break;
        case SQLITE_INDEX_CONSTRAINT_LT:
        case SQLITE_INDEX_CONSTRAINT_LE:
          take(i, kPathUpper);
          rows = std::min(rows, 1e5);
          break;
        default:
          break;
      }
    } else if (constraint.iColumn == znodes::kParentColumn &&
               constraint.op == SQLITE_INDEX_CONSTRAINT_EQ) {
      take(i, kParentEquals);
      rows = std::min(rows, 100.0);
    } else if (constraint.iColumn == znodes::kDepthColumn) {
      if (constraint.op == SQLITE_INDEX_CONSTRAINT_LE) take(i, kDepthAtMost);
      if (constraint.op == SQLITE_INDEX_CONSTRAINT_LT) take(i, kDepthBelow);
      if (constraint.op == SQLITE_INDEX_CONSTRAINT_EQ) take(i, kDepthEquals);
      if (constraint.op == SQLITE_INDEX_CONSTRAINT_LE ||
          constraint.op == SQLITE_INDEX_CONSTRAINT_LT ||
          constraint.op == SQLITE_INDEX_CONSTRAINT_EQ) {
        rows = std::min(rows, 1e5);
      }
    }
  }
  // LIMIT may stop the walk only when SQLite drops none of the rows read
  // and sorts none: under ORDER BY, the first rows are not the first read.
  if (!filtered_elsewhere && limit_constraint >= 0 && info->nOrderBy == 0) {
    take(limit_constraint, kLimit);
    if (offset_constraint >= 0) take(offset_constraint, kOffset);
  }
  info->idxNum = idx_num;
  info->idxStr = sqlite3_mprintf("%s", ops.c_str());
  info->needToFreeIdxStr = 1;
  info->estimatedRows = static_cast<sqlite3_int64>(rows);
  info->estimatedCost = rows;
  constexpr char kLookups[] = {kPathEquals, kPathIn, kParentEquals, '\0'};
  return ops.find_first_of(kLookups) != std::string::npos;
}

// Exists replies laid out as getData results without data: a missing
// node is NONODE.
Result<std::vector<zk::ReadResult>> StatsAsReads(
    std::vector<std::future<Result<std::optional<zk::Stat>>>>& stats) {
  std::vector<zk::ReadResult> reads(stats.size());
  Status failed;
  for (size_t i = 0; i < stats.size(); ++i) {
    Result<std::optional<zk::Stat>> stat = stats[i].get();  // every reply is awaited
    if (!stat.ok()) {
      if (failed.ok()) failed = stat.status();
    } else if (*stat) {
      reads[i].stat = **stat;
    } else {
      reads[i].error = zk::ErrorCode::NONODE;
    }
  }
  if (!failed.ok()) return failed;
  return reads;
}

// A node as one scan read it, kept for the other scans of the statement
// (a join of znodes with itself reads each node once).
struct CachedNode {
  std::optional<zk::Stat> stat;
  znodes::NodeKind kind = znodes::NodeKind::kPersistent;
  std::optional<std::string> data;          // when the scan kept data
  bool null_data = false;                   // as ZnodeRecord::null_data
  std::optional<std::vector<zk::Acl>> acl;  // when the scan read the ACL
  std::string error;
  bool has_data = false;
  bool has_acl = false;
  bool has_error = false;  // READ was probed: exists alone needs no permission
  int64_t cost = 0;        // reserved in the statement's memory

  bool Covers(const ZnodePlan& plan) const {
    return (has_data || !plan.read_data) && (has_acl || !plan.read_acl) &&
           (has_error || !plan.read_error);
  }
  ZnodeRecord View(std::string_view path) const {
    ZnodeRecord record;
    record.path = path;
    record.stat = stat;
    record.kind = kind;
    if (data) {
      record.data = std::span(reinterpret_cast<const uint8_t*>(data->data()), data->size());
      record.null_data = null_data;
    }
    record.acl = acl ? &*acl : nullptr;
    record.error = error;
    return record;
  }
};

class LiveZnodeSource final : public TableSource {
 public:
  LiveZnodeSource(std::vector<zk::Client*> sessions, StatementMemory& memory,
                  std::function<Status()> check_stop)
      : sessions_(std::move(sessions)),
        schema_(znodes::ZnodeTableSchema(true)),
        memory_(memory),
        check_stop_(std::move(check_stop)),
        memo_(memory) {}
  ~LiveZnodeSource() override { ForgetNodes(); }

  const arrow::Schema& schema() const override { return schema_; }
  std::optional<int> primary_key() const override { return znodes::kPathColumn; }
  // Called while SQLite prepares the statement, for every plan it weighs:
  // one that looks nodes up makes the statement's walks keep their nodes.
  void BestIndex(sqlite3_index_info* info) override {
    if (ChooseZnodePlan(info)) lookups_planned_ = true;
  }

  Result<std::unique_ptr<BatchStream>> Scan(int idx_num, const char* idx_str, int argc,
                                            sqlite3_value** argv, ScanReport* report) override {
    ZKA_ASSIGN_OR_RETURN(ZnodePlan plan, DecodePlan(idx_num, idx_str, argc, argv));
    report->plan = plan.Describe() + "; reads: " + DescribeLiveReads(plan);
    report->estimated_rows = EstimateOf(plan);
    if (plan.paths) {
      CollectedRows rows;
      ZKA_RETURN_IF_ERROR(ReadPoints(plan, rows, report));
      return rows.Finish();
    }
    if (plan.parent && !plan.row_limit) {
      CollectedRows rows;
      if (ServeChildrenFromCache(plan, rows)) {
        report->plan += " (all in memory from an earlier scan: nothing read)";
        return rows.Finish();
      }
    }
    std::string key = KeyOf(plan);
    if (auto kept = memo_.Find(key)) {
      report->plan += kReplayed;
      return std::unique_ptr<BatchStream>(std::make_unique<VectorStream>(std::move(*kept)));
    }
    ZKA_ASSIGN_OR_RETURN(std::vector<WalkRoot> roots, RootsOf(plan, report));
    // A walk's nodes are kept only for a lookup of this statement: a scan
    // alone would hold them for nothing.
    auto walk = [this, plan = std::move(plan), roots = std::move(roots),
                 remember = lookups_planned_](ProducerStream::Output& out) {
      RecordBatcher rows([&out](arrow::RecordBatch batch) { return out.Emit(std::move(batch)); });
      for (const WalkRoot& root : roots) {
        if (plan.row_limit && rows.rows() >= *plan.row_limit) break;
        ZKA_RETURN_IF_ERROR(Walk(plan, root, remember, rows, out));
      }
      return rows.Flush();
    };
    return memo_.Recording(std::move(key),
                           std::make_unique<ProducerStream>(std::move(walk), check_stop_));
  }

  // Before the statement is prepared (and its BestIndex calls made).
  void StartStatement() override {
    memo_.Clear();
    ForgetNodes();
    lookups_planned_ = false;
  }

 private:
  void ForgetNodes() {
    std::lock_guard lock(cache_mutex_);
    memory_.Release(cache_bytes_);
    cache_.Clear();
    cache_bytes_ = 0;
  }

  // What a cached node costs, roughly (its path is kept twice: as the key
  // and in its parent's list of children).
  static int64_t CostOf(const ZnodeRecord& record) {
    size_t bytes = sizeof(CachedNode) + 2 * record.path.size() + 96;
    if (record.data) bytes += record.data->size();
    if (record.acl != nullptr) bytes += record.acl->size() * (sizeof(zk::Acl) + 32);
    return static_cast<int64_t>(bytes);
  }

  // Called on a walk's thread while the statement's other scans may look
  // nodes up from the SQLite thread.
  void Remember(const ZnodeRecord& record, const ZnodePlan& plan, bool read_probed) {
    const int64_t cost = CostOf(record);
    // Past the statement's memory, later scans read again.
    if (!memory_.TryReserve(cost)) return;
    std::lock_guard lock(cache_mutex_);
    CachedNode& node = cache_[record.path];
    memory_.Release(node.cost);  // a node read again replaces its first read
    cache_bytes_ += cost - node.cost;
    node.cost = cost;
    node.stat = record.stat;
    node.kind = record.kind;
    node.has_data = plan.read_data;
    node.data.reset();
    if (record.data) {
      node.data.emplace(reinterpret_cast<const char*>(record.data->data()), record.data->size());
      node.null_data = record.null_data;
    }
    node.has_acl = plan.read_acl;
    node.acl.reset();
    if (record.acl != nullptr) node.acl = *record.acl;
    node.error = std::string(record.error);
    node.has_error = read_probed;
  }

  // `read_probed`: the record's error says whether the node is readable (a
  // walk's reads, getData), not only that it exists.
  template <typename Rows>
  Status AppendAndRemember(const ZnodeRecord& record, const ZnodePlan& plan, bool read_probed,
                           Rows& rows) {
    Remember(record, plan, read_probed);
    return rows.Append(record);
  }

  // parent = x, when an earlier scan of this statement read x and every one
  // of its children (as many as x's stat counts) with the columns needed.
  // Visits x's children only: a join's inner scan runs once per outer row.
  bool ServeChildrenFromCache(const ZnodePlan& plan, CollectedRows& rows) {
    std::lock_guard lock(cache_mutex_);
    const std::string& parent = *plan.parent;
    const CachedNode* node = cache_.Find(parent);
    if (node == nullptr || !node->stat) return false;
    if (plan.max_depth && znodes::PathDepth(parent) + 1 > *plan.max_depth) return false;
    std::vector<const PathMap<CachedNode>::Entry*> children = cache_.Children(parent);
    if (static_cast<int64_t>(children.size()) != node->stat->num_children) return false;
    for (const auto* child : children) {
      if (!child->second.Covers(plan)) return false;
    }
    // In path order, as a walk returns them.
    std::sort(children.begin(), children.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* child : children) {
      if (!rows.Append(child->second.View(child->first)).ok()) return false;
    }
    return true;
  }

  static int64_t EstimateOf(const ZnodePlan& plan) {
    if (plan.paths) return static_cast<int64_t>(plan.paths->size());
    return -1;  // unknown before the walk
  }

  // The walk's roots. A prefix whose last component is partial ("/a/b"
  // of LIKE '/a/b%') lists the directory above it once and walks only the
  // children whose names match.
  Result<std::vector<WalkRoot>> RootsOf(const ZnodePlan& plan, ScanReport* report) {
    std::vector<WalkRoot> roots;
    auto add = [&](std::string root, int levels) {
      const int max_depth = RelativeDepth(plan, root, levels);
      if (plan.max_depth && max_depth < 0) return;  // the root is already too deep
      roots.push_back({std::move(root), max_depth});
    };
    if (plan.parent) {
      if (IsZnodePath(*plan.parent)) add(*plan.parent, 1);
      return roots;
    }
    const std::string prefix = plan.prefix.value_or("/");
    if (prefix.empty() || prefix.front() != '/') {
      // No path starts otherwise; "" bounds nothing.
      if (prefix.empty()) add("/", -1);
      return roots;
    }
    const size_t slash = prefix.rfind('/');
    std::string dir = slash == 0 ? "/" : prefix.substr(0, slash);
    const std::string partial = prefix.substr(slash + 1);
    if (!IsZnodePath(dir)) return roots;
    if (partial.empty()) {
      add(dir, -1);
      return roots;
    }
    auto listing = sessions_.front()->GetChildren(dir);
    ZKA_RETURN_IF_ERROR(AwaitReady(listing, check_stop_));
    auto children = listing.get();
    ++report->nodes_read;
    if (!children.ok()) {
      // A walk shows an unreadable dir as its own NOAUTH row, which does
      // not start with the prefix, and no children.
      if (IsNoNode(children.status()) || IsNoAuth(children.status())) return roots;
      return children.status().WithContext("listing " + dir);
    }
    std::sort(children->begin(), children->end());
    for (const std::string& name : *children) {
      if (name.compare(0, partial.size(), partial) == 0) add(znodes::JoinPath(dir, name), -1);
    }
    return roots;
  }

  // On the scan's producer thread.
  // `remember`: the nodes go to the node cache too.
  Status Walk(const ZnodePlan& plan, const WalkRoot& root, bool remember, RecordBatcher& rows,
              ProducerStream::Output& out) {
    znodes::WalkOptions options;
    options.root = root.root;
    options.max_depth = root.max_depth;
    options.read_data = plan.read_data;
    options.stat_without_data = !plan.read_data;
    options.read_acl = plan.read_acl;
    // A reader gone (SQLite done with the scan, or the statement stopped
    // while waiting for it) ends the walk at once, not at its next reply.
    options.should_stop = [&out] { return out.abandoned(); };
    if (plan.row_limit && *plan.row_limit < options.nodes_per_batch) {
      // A small LIMIT: small batches, one at a time, so that the walk stops
      // within a batch of the rows it needs.
      options.nodes_per_batch = static_cast<int>(std::max<int64_t>(1, *plan.row_limit));
      options.batches_in_flight_per_session = 1;
    }
    bool limit_reached = false;
    znodes::WalkStats stats;
    int64_t counted = 0;
    Status walked = znodes::WalkTree(
        sessions_, options,
        [&](const ZnodeRecord& record) -> Status {
          if (plan.row_limit && rows.rows() >= *plan.row_limit) {
            limit_reached = true;
            return Status::Cancelled("the query's LIMIT is reached");
          }
          if (out.abandoned()) return Status::Cancelled("the scan's reader is gone");
          if (!remember) return rows.Append(record);
          return AppendAndRemember(record, plan, /*read_probed=*/true, rows);
        },
        &stats,
        [&](const znodes::WalkStats& progress) {
          out.CountRead(progress.znodes + progress.vanished - counted);
          counted = progress.znodes + progress.vanished;
        });
    out.CountRead(stats.znodes + stats.vanished - counted);
    if (limit_reached) return Status::Ok();
    if (!walked.ok() && IsNoNode(walked) && stats.znodes == 0) return Status::Ok();
    return walked;
  }

  // path = x / path IN (...): the nodes' data in multiReads of at most a
  // walk batch's size, their ACLs alongside.
  Status ReadPoints(const ZnodePlan& plan, CollectedRows& rows, ScanReport* report) {
    std::set<std::string> unique;
    for (const std::string& path : *plan.paths) {
      if (IsZnodePath(path)) unique.insert(path);
    }
    std::vector<std::string> paths;
    {
      std::lock_guard lock(cache_mutex_);
      for (const std::string& path : unique) {
        const CachedNode* cached = cache_.Find(path);
        if (cached != nullptr && cached->Covers(plan)) {
          ZKA_RETURN_IF_ERROR(rows.Append(cached->View(path)));
        } else {
          paths.push_back(path);
        }
      }
    }
    const size_t chunk = static_cast<size_t>(znodes::WalkOptions{}.nodes_per_batch);
    zk::Client& client = *sessions_.front();
    // exists needs no permission, so only getData tells an unreadable node
    // (error NOAUTH, as a walk reports it) when the error column is used.
    const bool probe_read = plan.read_data || plan.read_error;
    for (size_t begin = 0; begin < paths.size(); begin += chunk) {
      const size_t end = std::min(paths.size(), begin + chunk);
      // Otherwise: pipelined exists, which returns the stat alone (a
      // multiRead's only stat read is getData).
      std::future<Result<std::vector<zk::ReadResult>>> data_reads;
      std::vector<std::future<Result<std::optional<zk::Stat>>>> stat_reads;
      if (probe_read) {
        std::vector<zk::ReadOp> ops;
        for (size_t i = begin; i < end; ++i) ops.push_back(zk::ReadOp::GetData(paths[i]));
        data_reads = client.MultiRead(std::move(ops));
      } else {
        for (size_t i = begin; i < end; ++i) stat_reads.push_back(client.Exists(paths[i]));
      }
      std::vector<std::future<Result<zk::AclResult>>> acls;
      if (plan.read_acl) {
        for (size_t i = begin; i < end; ++i) acls.push_back(client.GetAcl(paths[i]));
      }
      if (probe_read) ZKA_RETURN_IF_ERROR(AwaitReady(data_reads, check_stop_));
      for (const auto& stat : stat_reads) ZKA_RETURN_IF_ERROR(AwaitReady(stat, check_stop_));
      for (const auto& acl : acls) ZKA_RETURN_IF_ERROR(AwaitReady(acl, check_stop_));
      auto reads = probe_read ? data_reads.get() : StatsAsReads(stat_reads);
      std::vector<Result<zk::AclResult>> acl_results;
      for (auto& acl : acls) acl_results.push_back(acl.get());
      ZKA_RETURN_IF_ERROR(reads.status().WithContext("reading " + paths[begin]));
      report->nodes_read += static_cast<int64_t>(end - begin);
      // exists needs no permission: an unreadable node's row still gets its
      // stat, the chunk's exists pipelined as its other reads are.
      std::vector<std::future<Result<std::optional<zk::Stat>>>> unreadable_stats(end - begin);
      for (size_t i = begin; i < end; ++i) {
        if ((*reads)[i - begin].error == zk::ErrorCode::NOAUTH) {
          unreadable_stats[i - begin] = client.Exists(paths[i]);
        }
      }
      std::vector<std::optional<Result<std::optional<zk::Stat>>>> unreadable(end - begin);
      for (size_t i = 0; i < unreadable_stats.size(); ++i) {
        if (!unreadable_stats[i].valid()) continue;
        ZKA_RETURN_IF_ERROR(AwaitReady(unreadable_stats[i], check_stop_));
        unreadable[i] = unreadable_stats[i].get();
      }
      for (size_t i = begin; i < end; ++i) {
        const zk::ReadResult& read = (*reads)[i - begin];
        if (read.error == zk::ErrorCode::NONODE) continue;
        ZnodeRecord record;
        record.path = paths[i];
        std::optional<zk::Stat> stat;
        if (read.error == zk::ErrorCode::OK) {
          stat = read.stat;
          if (plan.read_data) {
            record.data =
                std::span(reinterpret_cast<const uint8_t*>(read.data.data()), read.data.size());
            record.null_data = read.null_data;
          }
        } else {
          record.error = zk::ErrorCodeName(read.error);
          if (read.error == zk::ErrorCode::NOAUTH) {
            const Result<std::optional<zk::Stat>>& exists = *unreadable[i - begin];
            ZKA_RETURN_IF_ERROR(exists.status().WithContext("reading " + paths[i]));
            if (!*exists) continue;
            stat = **exists;
          }
        }
        if (plan.read_acl) {
          const Result<zk::AclResult>& acl = acl_results[i - begin];
          if (acl.ok()) {
            record.acl = &acl->acls;
          } else if (acl.status().code() != StatusCode::kRemote) {
            return acl.status().WithContext("reading the ACL of " + paths[i]);
          } else if (record.error.empty()) {  // as the walker reports it
            record.error = zk::ErrorCodeName(zk::ErrorCodeOf(acl.status()));
          }
        }
        record.stat = stat;
        if (stat) {
          record.kind = stat->ephemeral_owner != 0 ? znodes::NodeKind::kEphemeral
                                                   : znodes::NodeKind::kPersistent;
        }
        ZKA_RETURN_IF_ERROR(AppendAndRemember(record, plan, probe_read, rows));
      }
    }
    return Status::Ok();
  }

  std::vector<zk::Client*> sessions_;
  arrow::Schema schema_;
  StatementMemory& memory_;
  std::function<Status()> check_stop_;  // asked on SQLite's thread only
  ScanMemo memo_;                       // walks; lookups by path or parent have cache_
  bool lookups_planned_ = false;        // a plan of the statement looks nodes up by path or parent
  std::mutex cache_mutex_;
  PathMap<CachedNode> cache_;  // guarded; the nodes this statement read
  int64_t cache_bytes_ = 0;    // guarded; CostOf the cached nodes, reserved in memory_
};

class DataDirZnodeSource final : public TableSource {
 public:
  DataDirZnodeSource(std::filesystem::path dir, std::optional<int64_t> zxid,
                     StatementMemory& memory, std::function<Status()> check_stop)
      : dir_(std::move(dir)),
        zxid_(zxid),
        schema_(znodes::ZnodeTableSchema(true)),
        memory_(memory),
        check_stop_(std::move(check_stop)),
        memo_(memory) {}
  ~DataDirZnodeSource() override { Unload(); }

  const arrow::Schema& schema() const override { return schema_; }
  std::optional<int> primary_key() const override { return znodes::kPathColumn; }
  void BestIndex(sqlite3_index_info* info) override { ChooseZnodePlan(info); }

  Result<std::unique_ptr<BatchStream>> Scan(int idx_num, const char* idx_str, int argc,
                                            sqlite3_value** argv, ScanReport* report) override {
    ZKA_ASSIGN_OR_RETURN(ZnodePlan plan, DecodePlan(idx_num, idx_str, argc, argv));
    report->estimated_rows = plan.paths ? static_cast<int64_t>(plan.paths->size()) : -1;
    const bool lookup = plan.paths || plan.parent;
    const bool first_lookup = lookup && tree_ == Tree::kUnread;
    if (first_lookup) ZKA_RETURN_IF_ERROR(Load(report));
    if (lookup && tree_ == Tree::kLoaded) {
      report->plan = first_lookup ? "data directory, loaded whole once for lookups: "
                                  : "data directory, from the tree loaded for lookups: ";
    } else if (lookup) {
      report->plan =
          "data directory, too large to keep for lookups (the statement's memory), replayed "
          "for this scan: ";
    } else {
      report->plan = "data directory, replayed for this scan: ";
    }
    if (lookup && tree_ == Tree::kLoaded) {
      // Lookups by path or parent (a join's inner scans, one per outer row)
      // take their rows from indexes over the tree loaded once, as one-row
      // slices; znodes is WITHOUT ROWID, so rows need no positions.
      report->plan += plan.Describe();
      std::vector<arrow::RecordBatch> rows;
      auto add = [&](RowRef ref) { rows.push_back(SliceRow(batches_[ref.batch], ref.row)); };
      if (plan.paths) {
        for (const std::string& path :
             std::set<std::string>(plan.paths->begin(), plan.paths->end())) {
          if (auto found = by_path_.find(path); found != by_path_.end()) add(found->second);
        }
      } else if (auto found = by_parent_.find(*plan.parent); found != by_parent_.end()) {
        for (RowRef ref : found->second) add(ref);
      }
      return std::unique_ptr<BatchStream>(std::make_unique<VectorStream>(std::move(rows)));
    }
    // Anything else (and lookups in a tree too large to keep) streams the
    // replay, keeping the rows the plan can match with only the columns
    // used; records come in path order, so a prefix's rows end the scan
    // once passed.
    report->plan += plan.Describe() + (plan.read_data ? "" : "; data not kept (not used)");
    std::string key = KeyOf(plan);
    if (auto kept = memo_.Find(key)) {
      report->plan += kReplayed;
      return std::unique_ptr<BatchStream>(std::make_unique<VectorStream>(std::move(*kept)));
    }
    return memo_.Recording(
        std::move(key),
        std::make_unique<ProducerStream>(
            [this, plan = std::move(plan)](ProducerStream::Output& out) -> Status {
              RecordBatcher rows(
                  [&out](arrow::RecordBatch batch) { return out.Emit(std::move(batch)); });
              bool finished = false;
              Status read = znodes::ReadDataDir(
                  {.dir = dir_, .target_zxid = zxid_},
                  [&](const ZnodeRecord& record) -> Status {
                    out.CountRead(1);
                    if (out.abandoned()) return Status::Cancelled("the scan's reader is gone");
                    if (plan.prefix && !record.path.starts_with(*plan.prefix)) {
                      if (record.path > std::string_view(*plan.prefix)) {
                        finished = true;
                        return Status::Cancelled("past the prefix");
                      }
                      return Status::Ok();
                    }
                    if (plan.max_depth && znodes::PathDepth(record.path) > *plan.max_depth) {
                      return Status::Ok();
                    }
                    if (plan.paths && std::find(plan.paths->begin(), plan.paths->end(),
                                                record.path) == plan.paths->end()) {
                      return Status::Ok();
                    }
                    if (plan.parent && znodes::PathParent(record.path) != *plan.parent) {
                      return Status::Ok();
                    }
                    if (plan.row_limit && rows.rows() >= *plan.row_limit) {
                      finished = true;
                      return Status::Cancelled("the query's LIMIT is reached");
                    }
                    return rows.Append(Trimmed(record, plan));
                  },
                  nullptr);
              if (!read.ok() && !finished) {
                return read.WithContext("reading the data directory " + dir_.string());
              }
              return rows.Flush();
            },
            check_stop_));
  }

  void StartStatement() override {
    memo_.Clear();
    Unload();
  }

 private:
  struct RowRef {
    size_t batch = 0;
    int64_t row = 0;
  };
  enum class Tree : uint8_t { kUnread, kLoaded, kTooLarge };

  // The whole tree, for the statement's lookups, if the statement's memory
  // holds it; else none (kTooLarge: each lookup replays the directory).
  Status Load(ScanReport* report) {
    int64_t read = 0;
    bool fits = true;
    RecordBatcher rows([&](arrow::RecordBatch batch) -> Status {
      const int64_t bytes = BytesOf(batch);
      if (!memory_.TryReserve(bytes)) {
        fits = false;
        return Status::Cancelled("the tree outgrows the statement's memory");
      }
      loaded_bytes_ += bytes;
      batches_.push_back(std::move(batch));
      return Status::Ok();
    });
    Status loaded = znodes::ReadDataDir(
        {.dir = dir_, .target_zxid = zxid_},
        [&](const ZnodeRecord& record) -> Status {
          // Loading runs on SQLite's thread, which asks the stop check only
          // between steps: this is one step.
          if (++read % kRecordsBetweenStopChecks == 0 && check_stop_) {
            ZKA_RETURN_IF_ERROR(check_stop_());
          }
          return rows.Append(record);
        },
        nullptr);
    if (loaded.ok()) loaded = rows.Flush();
    report->nodes_read += read;
    if (!fits) {
      Unload();
      tree_ = Tree::kTooLarge;
      return Status::Ok();
    }
    ZKA_RETURN_IF_ERROR(loaded.WithContext("reading the data directory " + dir_.string()));
    BuildIndexes();
    tree_ = Tree::kLoaded;
    return Status::Ok();
  }

  void Unload() {
    by_path_.clear();
    by_parent_.clear();
    batches_.clear();
    memory_.Release(std::exchange(loaded_bytes_, 0));
    tree_ = Tree::kUnread;
  }

  void BuildIndexes() {
    for (size_t b = 0; b < batches_.size(); ++b) {
      const arrow::ArrayData& paths = *batches_[b].columns[znodes::kPathColumn];
      const arrow::ArrayData& parents = *batches_[b].columns[znodes::kParentColumn];
      for (int64_t row = 0; row < batches_[b].length; ++row) {
        by_path_.emplace(StringAt(paths, row), RowRef{b, row});
        if (arrow::IsValidAt(parents, row)) {
          by_parent_[StringAt(parents, row)].push_back(RowRef{b, row});
        }
      }
    }
  }

  std::filesystem::path dir_;
  std::optional<int64_t> zxid_;
  arrow::Schema schema_;
  static constexpr int64_t kRecordsBetweenStopChecks = 4096;

  StatementMemory& memory_;
  std::function<Status()> check_stop_;  // asked on SQLite's thread only
  ScanMemo memo_;                       // replays; lookups use the loaded tree
  Tree tree_ = Tree::kUnread;
  int64_t loaded_bytes_ = 0;  // of batches_, reserved in memory_
  std::vector<arrow::RecordBatch> batches_;
  // Views into batches_, which stay put once loaded.
  std::unordered_map<std::string_view, RowRef> by_path_;
  std::unordered_map<std::string_view, std::vector<RowRef>> by_parent_;
};

// The mirror of a zkarrow server. The server answers a subtree (path=),
// with or without data: the plan's narrowest subtree is asked for and
// SQLite re-checks the rest; lookups by path ask for each node's subtree
// and keep the node alone (SQLite does not re-check an IN list).
class RemoteZnodeSource final : public TableSource {
 public:
  RemoteZnodeSource(ServerTables& server, StatementMemory& memory)
      : server_(server), schema_(znodes::ZnodeTableSchema(true)), memo_(memory) {}

  const arrow::Schema& schema() const override { return schema_; }
  std::optional<int> primary_key() const override { return znodes::kPathColumn; }
  void BestIndex(sqlite3_index_info* info) override { ChooseZnodePlan(info); }

  Result<std::unique_ptr<BatchStream>> Scan(int idx_num, const char* idx_str, int argc,
                                            sqlite3_value** argv, ScanReport* report) override {
    ZKA_ASSIGN_OR_RETURN(ZnodePlan plan, DecodePlan(idx_num, idx_str, argc, argv));
    report->estimated_rows = plan.paths ? static_cast<int64_t>(plan.paths->size()) : -1;
    const std::string reads = plan.read_data ? "" : ", data=false";
    std::string key = KeyOf(plan);
    std::optional<std::vector<arrow::RecordBatch>> kept_before = memo_.Find(key);
    auto replay = [&]() -> std::unique_ptr<BatchStream> {
      report->plan += kReplayed;
      return std::make_unique<VectorStream>(std::move(*kept_before));
    };
    if (plan.paths) {
      report->plan = plan.Describe() + "; reads: the subtree of each path from " +
                     server_.Describe() + reads + ", keeping the node";
      if (kept_before) return replay();
      std::set<std::string> unique;
      for (const std::string& path : *plan.paths) {
        if (IsZnodePath(path)) unique.insert(path);
      }
      std::vector<arrow::RecordBatch> kept;
      for (const std::string& path : unique) {
        ZKA_ASSIGN_OR_RETURN(std::unique_ptr<BatchStream> stream,
                             Open(plan, path, [path](const arrow::RecordBatch& batch, int64_t row) {
                               return StringAt(*batch.columns[znodes::kPathColumn], row) == path;
                             }));
        while (stream != nullptr) {
          ZKA_ASSIGN_OR_RETURN(std::optional<arrow::RecordBatch> batch, stream->Next());
          if (!batch) {
            report->nodes_read += stream->NodesRead();
            break;
          }
          kept.push_back(std::move(*batch));
        }
      }
      return memo_.Recording(std::move(key), std::make_unique<VectorStream>(std::move(kept)));
    }
    std::string root = "/";
    ResponseStream::Keep keep;
    if (plan.parent) {
      if (!IsZnodePath(*plan.parent)) return EmptyStream();
      root = *plan.parent;
      keep = [parent = *plan.parent](const arrow::RecordBatch& batch, int64_t row) {
        const arrow::ArrayData& parents = *batch.columns[znodes::kParentColumn];
        return arrow::IsValidAt(parents, row) && StringAt(parents, row) == parent;
      };
    } else if (plan.prefix && !plan.prefix->empty()) {
      if (plan.prefix->front() != '/') return EmptyStream();  // no path starts otherwise
      // The directory the prefix names, or the one above its partial name.
      const size_t slash = plan.prefix->rfind('/');
      root = slash == 0 ? "/" : plan.prefix->substr(0, slash);
      if (!IsZnodePath(root)) return EmptyStream();
    }
    report->plan =
        plan.Describe() + "; reads: the subtree of " + root + " from " + server_.Describe() + reads;
    if (kept_before) return replay();
    ZKA_ASSIGN_OR_RETURN(std::unique_ptr<BatchStream> stream, Open(plan, root, std::move(keep)));
    if (stream == nullptr) return EmptyStream();
    return memo_.Recording(std::move(key), std::move(stream));
  }

  void StartStatement() override { memo_.Clear(); }

 private:
  static std::unique_ptr<BatchStream> EmptyStream() {
    return std::make_unique<VectorStream>(std::vector<arrow::RecordBatch>{});
  }

  // nullptr when the server has no such node (or it is outside the
  // subtree it serves): no rows, as a live read of a missing node.
  Result<std::unique_ptr<BatchStream>> Open(const ZnodePlan& plan, const std::string& root,
                                            ResponseStream::Keep keep) {
    transport::Resource resource{.segments = {"znodes"}, .params = {}};
    if (root != "/") resource.params["path"] = root;
    if (!plan.read_data) resource.params["data"] = "false";
    resource.params["typed"] = "true";
    Result<std::unique_ptr<ResponseStream>> stream =
        OpenResponse(server_, resource, schema_, std::move(keep));
    if (!stream.ok()) {
      if (stream.status().code() == StatusCode::kNotFound) return std::unique_ptr<BatchStream>();
      return stream.status();
    }
    return std::unique_ptr<BatchStream>(std::move(*stream));
  }

  ServerTables& server_;
  arrow::Schema schema_;
  ScanMemo memo_;  // every scan: each asks the server
};

}  // namespace

std::unique_ptr<TableSource> MakeRemoteZnodeSource(ServerTables& server, StatementMemory& memory) {
  return std::make_unique<RemoteZnodeSource>(server, memory);
}

std::string LikePrefix(std::string_view pattern) {
  return std::string(pattern.substr(0, pattern.find_first_of("%_")));
}

std::string GlobPrefix(std::string_view pattern) {
  return std::string(pattern.substr(0, pattern.find_first_of("*?[")));
}

std::string ZnodePlan::Describe() const {
  std::string text;
  if (paths) {
    text = std::to_string(paths->size()) + " node(s) by path";
  } else if (parent) {
    text = "children of " + *parent;
  } else if (prefix && *prefix != "/" && !prefix->empty()) {
    text = "subtree(s) of paths starting with '" + *prefix + "'";
  } else {
    text = "whole tree";
  }
  if (!paths && max_depth) text += ", depth <= " + std::to_string(*max_depth);
  if (row_limit) text += ", stops after " + std::to_string(*row_limit) + " rows";
  return text;
}

std::string DescribeLiveReads(const ZnodePlan& plan) {
  std::string text;
  if (plan.paths) {
    text = plan.read_data || plan.read_error
               ? "getData in one multiRead per " +
                     std::to_string(znodes::WalkOptions{}.nodes_per_batch) + " nodes" +
                     (plan.read_data ? "" : ", data not kept")
               : std::string("exists per node (stat without data)");
  } else {
    text = plan.read_data
               ? "getData+getChildren in multiRead batches"
               : "getData+getChildren in multiRead batches, data not kept; getChildren2 "
                 "per node (no data) once the nodes read average " +
                     std::to_string(znodes::kStatOnlyAverageDataBytes >> 10) + " KiB of data";
  }
  if (plan.read_acl) text += ", getACL per node";
  return text;
}

std::unique_ptr<TableSource> MakeLiveZnodeSource(std::vector<zk::Client*> sessions,
                                                 StatementMemory& memory,
                                                 std::function<Status()> check_stop) {
  return std::make_unique<LiveZnodeSource>(std::move(sessions), memory, std::move(check_stop));
}

std::unique_ptr<TableSource> MakeDataDirZnodeSource(std::filesystem::path dir,
                                                    std::optional<int64_t> zxid,
                                                    StatementMemory& memory,
                                                    std::function<Status()> check_stop) {
  return std::make_unique<DataDirZnodeSource>(std::move(dir), zxid, memory, std::move(check_stop));
}

}  // namespace zkarrow::query::internal

#include "treesync/diff.h"

#include <string>
#include <utility>
#include <vector>

#include "arrow/enum_dictionary.h"
#include "znodes/znode_schema.h"

namespace zkarrow::treesync {
namespace {

// Dictionary ids of the diff table (an IPC file holds one dictionary per id).
constexpr int64_t kChangeDictionaryId = 0;
constexpr int64_t kOldKindDictionaryId = 1;
constexpr int64_t kNewKindDictionaryId = 2;

arrow::Field DictionaryField(std::string name, int64_t id, bool nullable) {
  arrow::Field field = arrow::MakeField(std::move(name), arrow::Utf8Type(), nullable);
  field.dictionary = arrow::DictionaryEncoding{.id = id, .index_type = arrow::Int32()};
  return field;
}

Status AppendAcl(arrow::ListBuilder& builder, const Record* record) {
  if (record == nullptr || !record->acl) {
    builder.AppendNull();
    return Status::Ok();
  }
  ZKA_RETURN_IF_ERROR(builder.Append());
  auto& entries = builder.values_as<arrow::StructBuilder>();
  for (const zk::Acl& acl : *record->acl) {
    entries.Append();
    entries.child_as<arrow::Int32Builder>(0).Append(acl.perms);
    ZKA_RETURN_IF_ERROR(entries.child_as<arrow::StringBuilder>(1).Append(acl.scheme));
    ZKA_RETURN_IF_ERROR(entries.child_as<arrow::StringBuilder>(2).Append(acl.id));
  }
  return Status::Ok();
}

Status AppendData(arrow::BinaryBuilder& builder, const Record* record) {
  if (record == nullptr || !record->data || record->null_data) {
    builder.AppendNull();
    return Status::Ok();
  }
  return builder.Append(std::string_view(*record->data));
}

template <typename Builder, typename T>
void AppendStat(Builder& builder, const Record* record, T zk::Stat::*field) {
  if (record == nullptr || !record->stat) {
    builder.AppendNull();
  } else {
    builder.Append((*record->stat).*field);
  }
}

void AppendKind(arrow::Int32Builder& builder, const Record* record) {
  if (record == nullptr) {
    builder.AppendNull();
  } else {
    builder.Append(static_cast<int32_t>(record->kind));
  }
}

}  // namespace

bool IsRedactedDigest(const zk::Acl& entry) {
  return entry.scheme == "digest" && entry.id.ends_with(":x") &&
         entry.id.find(':') == entry.id.size() - 2;
}

bool AclsEquivalent(const std::vector<zk::Acl>& a, const std::vector<zk::Acl>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (a[i].perms != b[i].perms || a[i].scheme != b[i].scheme) return false;
    if (!IsRedactedDigest(a[i]) && !IsRedactedDigest(b[i])) return false;
    // "user:x" matches any hash of the same user.
    auto user = [](const std::string& id) { return std::string_view(id).substr(0, id.find(':')); };
    if (user(a[i].id) != user(b[i].id)) return false;
  }
  return true;
}

std::string UnreadableText(const UnreadableCount& count, std::string_view old_name,
                           std::string_view new_name) {
  if (count.subtrees == 0 || !count.first) return "";
  const UnreadableSubtree& first = *count.first;
  return std::to_string(count.subtrees) +
         (count.subtrees == 1 ? " unreadable subtree (" : " unreadable subtrees (first ") +
         first.path + ": " + first.error + " in " +
         std::string(first.in_old ? old_name : new_name) + ")";
}

bool UnreadableSubtrees::Covers(std::string_view path) const {
  if (roots_.empty()) return false;
  if (roots_.contains("/")) return true;
  // The path itself and each of its ancestors.
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    if (roots_.find(path.substr(0, end)) != roots_.end()) return true;
    if (end == std::string_view::npos) return false;
  }
}

bool UnreadableSubtrees::Add(const Record& record, bool in_old) {
  if (record.error.empty()) return false;
  roots_.insert(record.path);
  if (count_.subtrees++ == 0) count_.first = UnreadableSubtree{record.path, record.error, in_old};
  return true;
}

int64_t DiffCounts::total() const {
  int64_t sum = 0;
  for (int64_t count : by_change) sum += count;
  return sum;
}

void CompareRecords(const Record& a, const Record& b, const DiffOptions& options,
                    const std::function<void(Change)>& found) {
  if (options.exact_kinds) {
    if (a.kind != b.kind || a.ttl_ms != b.ttl_ms) found(Change::kKind);
  } else if ((a.kind == znodes::NodeKind::kEphemeral) != (b.kind == znodes::NodeKind::kEphemeral)) {
    found(Change::kKind);
  }
  // Data compares when both sides read it (a --no-data snapshot has none);
  // ZooKeeper's null data differs from empty data.
  if (a.data && b.data && (*a.data != *b.data || a.null_data != b.null_data)) {
    found(Change::kData);
  }
  if (options.compare_acl && a.acl && b.acl && !AclsEquivalent(*a.acl, *b.acl)) {
    found(Change::kAcl);
  }
  if (options.compare_stat && a.stat && b.stat &&
      (a.stat->version != b.stat->version || a.stat->cversion != b.stat->cversion ||
       a.stat->aversion != b.stat->aversion || a.stat->czxid != b.stat->czxid ||
       a.stat->mzxid != b.stat->mzxid || a.stat->pzxid != b.stat->pzxid)) {
    found(Change::kStat);
  }
}

Status Diff(RecordStream& a, RecordStream& b, const DiffOptions& options, const DiffSink& sink,
            DiffCounts* counts) {
  DiffCounts local;
  if (counts == nullptr) counts = &local;
  *counts = DiffCounts{};
  auto emit = [&](Change change, const Record* old_record, const Record* new_record) {
    ++counts->by_change[static_cast<size_t>(change)];
    return sink(DiffRow{change, old_record, new_record});
  };
  UnreadableSubtrees unreadable;
  // Whether a path (present on one side or both) is in an unreadable subtree.
  auto unknown = [&](const Record* old_record, const Record* new_record) {
    if (unreadable.Covers(old_record ? old_record->path : new_record->path)) return true;
    const bool added = old_record != nullptr && options.unknown_below_old_errors &&
                       unreadable.Add(*old_record, /*in_old=*/true);
    return added || (new_record != nullptr && unreadable.Add(*new_record, /*in_old=*/false));
  };
  ZKA_ASSIGN_OR_RETURN(const Record* left, a.Next());
  ZKA_ASSIGN_OR_RETURN(const Record* right, b.Next());
  while (left != nullptr || right != nullptr) {
    if (options.stop_requested && options.stop_requested()) return StoppedBySignal();
    ++counts->compared;
    if (right == nullptr || (left != nullptr && left->path < right->path)) {
      if (!unknown(left, nullptr)) ZKA_RETURN_IF_ERROR(emit(Change::kRemoved, left, nullptr));
      ZKA_ASSIGN_OR_RETURN(left, a.Next());
    } else if (left == nullptr || right->path < left->path) {
      if (!unknown(nullptr, right)) ZKA_RETURN_IF_ERROR(emit(Change::kAdded, nullptr, right));
      ZKA_ASSIGN_OR_RETURN(right, b.Next());
    } else {
      if (!unknown(left, right)) {
        Status status;
        CompareRecords(*left, *right, options, [&](Change change) {
          if (status.ok()) status = emit(change, left, right);
        });
        ZKA_RETURN_IF_ERROR(status);
      }
      ZKA_ASSIGN_OR_RETURN(left, a.Next());
      ZKA_ASSIGN_OR_RETURN(right, b.Next());
    }
  }
  counts->unreadable = unreadable.count();
  return Status::Ok();
}

arrow::Schema DiffTableSchema() {
  const arrow::DataType acl =
      arrow::ListType(arrow::MakeField("item", znodes::AclEntryType(), false));
  arrow::Schema schema;
  schema.fields = {
      arrow::MakeField("path", arrow::Utf8Type(), false),
      DictionaryField("change", kChangeDictionaryId, false),
      DictionaryField("old_kind", kOldKindDictionaryId, true),
      DictionaryField("new_kind", kNewKindDictionaryId, true),
      arrow::MakeField("old_data", arrow::BinaryType()),
      arrow::MakeField("new_data", arrow::BinaryType()),
      arrow::MakeField("old_acl", acl),
      arrow::MakeField("new_acl", acl),
      arrow::MakeField("old_version", arrow::Int32()),
      arrow::MakeField("new_version", arrow::Int32()),
      arrow::MakeField("old_mzxid", arrow::Int64()),
      arrow::MakeField("new_mzxid", arrow::Int64()),
  };
  return schema;
}

DiffBatchBuilder::DiffBatchBuilder()
    : schema_(std::make_shared<const arrow::Schema>(DiffTableSchema())),
      change_dictionary_(arrow::MakeEnumDictionary(kChangeNames)),
      kind_dictionary_(arrow::MakeEnumDictionary(znodes::kNodeKindNames)),
      old_acl_(znodes::MakeAclEntryBuilder()),
      new_acl_(znodes::MakeAclEntryBuilder()) {}

Status DiffBatchBuilder::Append(const DiffRow& row) {
  ZKA_RETURN_IF_ERROR(path_.Append(row.path()));
  change_.Append(static_cast<int32_t>(row.change));
  AppendKind(old_kind_, row.old_record);
  AppendKind(new_kind_, row.new_record);
  ZKA_RETURN_IF_ERROR(AppendData(old_data_, row.old_record));
  ZKA_RETURN_IF_ERROR(AppendData(new_data_, row.new_record));
  ZKA_RETURN_IF_ERROR(AppendAcl(old_acl_, row.old_record));
  ZKA_RETURN_IF_ERROR(AppendAcl(new_acl_, row.new_record));
  AppendStat(old_version_, row.old_record, &zk::Stat::version);
  AppendStat(new_version_, row.new_record, &zk::Stat::version);
  AppendStat(old_mzxid_, row.old_record, &zk::Stat::mzxid);
  AppendStat(new_mzxid_, row.new_record, &zk::Stat::mzxid);
  ++rows_;
  return Status::Ok();
}

int64_t DiffBatchBuilder::data_bytes() const {
  return path_.value_data_length() + old_data_.value_data_length() + new_data_.value_data_length();
}

arrow::RecordBatch DiffBatchBuilder::Finish() {
  arrow::RecordBatch batch;
  batch.schema = schema_;
  batch.length = rows_;
  batch.columns = {
      path_.Finish(),
      arrow::WithDictionary(change_.Finish(), change_dictionary_),
      arrow::WithDictionary(old_kind_.Finish(), kind_dictionary_),
      arrow::WithDictionary(new_kind_.Finish(), kind_dictionary_),
      old_data_.Finish(),
      new_data_.Finish(),
      old_acl_.Finish(),
      new_acl_.Finish(),
      old_version_.Finish(),
      new_version_.Finish(),
      old_mzxid_.Finish(),
      new_mzxid_.Finish(),
  };
  rows_ = 0;
  return batch;
}

std::string AclText(const std::vector<zk::Acl>& acl) {
  std::string text;
  for (const zk::Acl& entry : acl) {
    if (!text.empty()) text += ',';
    text += entry.scheme + ':' + entry.id + ':';
    static constexpr std::pair<int32_t, char> kLetters[] = {{zk::perms::kCreate, 'c'},
                                                            {zk::perms::kDelete, 'd'},
                                                            {zk::perms::kRead, 'r'},
                                                            {zk::perms::kWrite, 'w'},
                                                            {zk::perms::kAdmin, 'a'}};
    for (auto [bit, letter] : kLetters) {
      if (entry.perms & bit) text += letter;
    }
  }
  return text;
}

}  // namespace zkarrow::treesync

#include "znodes/znode_batch_builder.h"

#include <limits>
#include <string>
#include <vector>

#include "arrow/enum_dictionary.h"
#include "znodes/typed_value.h"
#include "znodes/znode_path.h"
#include "znodes/znode_schema.h"

namespace zkarrow::znodes {
namespace {

template <typename Builder, typename T>
void AppendOptional(Builder& builder, bool present, T value) {
  if (present) {
    builder.Append(value);
  } else {
    builder.AppendNull();
  }
}

}  // namespace

ZnodeBatchBuilder::ZnodeBatchBuilder(bool typed_values, arrow::KeyValueMetadata schema_metadata,
                                     std::vector<int> columns)
    : columns_(std::move(columns)), acl_(MakeAclEntryBuilder()) {
  arrow::Schema table{ZnodeTableSchema(typed_values).fields, std::move(schema_metadata)};
  if (columns_.empty()) {
    for (int column = 0; column < static_cast<int>(table.fields.size()); ++column) {
      columns_.push_back(column);
    }
  }
  for (int column : columns_) fills_[static_cast<size_t>(column)] = true;
  schema_ = std::make_shared<const arrow::Schema>(SelectFields(table, columns_));
  const std::pair<ZnodeColumn, arrow::ArrayBuilder*> builders[] = {
      {kPathColumn, &path_},
      {kNameColumn, &name_},
      {kParentColumn, &parent_},
      {kDepthColumn, &depth_},
      {kKindColumn, &kind_},
      {kDataColumn, &data_},
      {kDataLengthColumn, &data_length_},
      {kNumChildrenColumn, &num_children_},
      {kVersionColumn, &version_},
      {kCversionColumn, &cversion_},
      {kAversionColumn, &aversion_},
      {kCzxidColumn, &czxid_},
      {kMzxidColumn, &mzxid_},
      {kPzxidColumn, &pzxid_},
      {kEphemeralOwnerColumn, &ephemeral_owner_},
      {kCtimeColumn, &ctime_},
      {kMtimeColumn, &mtime_},
      {kTtlMsColumn, &ttl_ms_},
      {kAclColumn, &acl_},
      {kErrorColumn, &error_},
      {kValueTypeColumn, &value_type_},
      {kValueIntColumn, &value_int_},
      {kValueFloatColumn, &value_float_},
      {kValueTextColumn, &value_text_},
  };
  for (const auto& [column, builder] : builders) builders_[column] = builder;
  dictionaries_[kKindColumn] = arrow::MakeEnumDictionary(kNodeKindNames);
  dictionaries_[kValueTypeColumn] = arrow::MakeEnumDictionary(kValueTypeNames);
  acl_entries_ = &acl_.values_as<arrow::StructBuilder>();
  acl_perms_ = &acl_entries_->child_as<arrow::Int32Builder>(0);
  acl_schemes_ = &acl_entries_->child_as<arrow::StringBuilder>(1);
  acl_ids_ = &acl_entries_->child_as<arrow::StringBuilder>(2);
}

int64_t ZnodeBatchBuilder::data_bytes() const {
  // A column not filled holds nothing.
  return path_.value_data_length() + name_.value_data_length() + parent_.value_data_length() +
         data_.value_data_length() + value_text_.value_data_length() +
         acl_schemes_->value_data_length() + acl_ids_->value_data_length() +
         error_.value_data_length();
}

Status ZnodeBatchBuilder::Append(const ZnodeRecord& record) {
  // Every variable-length column filled (and the ACL list's entries) must
  // still fit 32-bit offsets after this row. All are checked before anything
  // is appended, so a refused row leaves the batch as it was and the appends
  // below cannot fail.
  const int64_t path_size = static_cast<int64_t>(record.path.size());
  const int64_t data_size = record.data ? static_cast<int64_t>(record.data->size()) : 0;
  int64_t scheme_size = 0;
  int64_t id_size = 0;
  const int64_t acl_entries = record.acl ? static_cast<int64_t>(record.acl->size()) : 0;
  if (record.acl && fills(kAclColumn)) {
    for (const zk::Acl& acl : *record.acl) {
      scheme_size += static_cast<int64_t>(acl.scheme.size());
      id_size += static_cast<int64_t>(acl.id.size());
    }
  }
  struct Growth {
    ZnodeColumn column;
    const char* name;
    int64_t before;
    int64_t added;
  };
  const Growth growths[] = {
      {kPathColumn, "path", path_.value_data_length(), path_size},
      {kNameColumn, "name", name_.value_data_length(), path_size},
      {kParentColumn, "parent", parent_.value_data_length(), path_size},
      {kDataColumn, "data", data_.value_data_length(), data_size},
      {kValueTextColumn, "value_text", value_text_.value_data_length(), data_size},
      {kAclColumn, "acl scheme", acl_schemes_->value_data_length(), scheme_size},
      {kAclColumn, "acl id", acl_ids_->value_data_length(), id_size},
      {kAclColumn, "acl entries", acl_.values().length(), acl_entries},
      {kErrorColumn, "error", error_.value_data_length(),
       static_cast<int64_t>(record.error.size())},
  };
  constexpr int64_t kLimit = std::numeric_limits<int32_t>::max();
  for (const Growth& growth : growths) {
    if (fills(growth.column) && growth.added > kLimit - growth.before) {
      return Status::OutOfRange(std::string("znode batch is full: column ") + growth.name +
                                " holds " + std::to_string(growth.before) + " and the row adds " +
                                std::to_string(growth.added) +
                                ", past the 2 GiB limit of "
                                "32-bit offsets");
    }
  }

  if (fills(kPathColumn)) ZKA_RETURN_IF_ERROR(path_.Append(record.path));
  if (fills(kNameColumn)) ZKA_RETURN_IF_ERROR(name_.Append(PathName(record.path)));
  if (fills(kParentColumn)) {
    if (auto parent = PathParent(record.path)) {
      ZKA_RETURN_IF_ERROR(parent_.Append(*parent));
    } else {
      parent_.AppendNull();
    }
  }
  if (fills(kDepthColumn)) depth_.Append(PathDepth(record.path));
  if (fills(kKindColumn)) kind_.Append(static_cast<int32_t>(record.kind));
  if (fills(kDataColumn)) {
    if (record.data && !record.null_data) {
      ZKA_RETURN_IF_ERROR(data_.Append(*record.data));
    } else {
      data_.AppendNull();
    }
  }
  AppendStat(record);
  if (fills(kTtlMsColumn)) {
    AppendOptional(ttl_ms_, record.ttl_ms.has_value(), record.ttl_ms.value_or(0));
  }
  if (fills(kAclColumn)) {
    if (record.acl) {
      ZKA_RETURN_IF_ERROR(acl_.Append());
      for (const zk::Acl& acl : *record.acl) {
        acl_entries_->Append();
        acl_perms_->Append(acl.perms);
        ZKA_RETURN_IF_ERROR(acl_schemes_->Append(acl.scheme));
        ZKA_RETURN_IF_ERROR(acl_ids_->Append(acl.id));
      }
    } else {
      acl_.AppendNull();
    }
  }
  if (fills(kErrorColumn)) {
    if (record.error.empty()) {
      error_.AppendNull();
    } else {
      ZKA_RETURN_IF_ERROR(error_.Append(record.error));
    }
  }
  ZKA_RETURN_IF_ERROR(AppendTypedValue(record));
  ++rows_;
  return Status::Ok();
}

void ZnodeBatchBuilder::AppendStat(const ZnodeRecord& record) {
  const bool has = record.stat.has_value();
  const zk::Stat stat = record.stat.value_or(zk::Stat{});
  auto append = [&](ZnodeColumn column, auto& builder, auto value) {
    if (fills(column)) AppendOptional(builder, has, value);
  };
  append(kDataLengthColumn, data_length_, stat.data_length);
  append(kNumChildrenColumn, num_children_, stat.num_children);
  append(kVersionColumn, version_, stat.version);
  append(kCversionColumn, cversion_, stat.cversion);
  append(kAversionColumn, aversion_, stat.aversion);
  append(kCzxidColumn, czxid_, stat.czxid);
  append(kMzxidColumn, mzxid_, stat.mzxid);
  append(kPzxidColumn, pzxid_, stat.pzxid);
  append(kEphemeralOwnerColumn, ephemeral_owner_, stat.ephemeral_owner);
  append(kCtimeColumn, ctime_, stat.ctime);
  append(kMtimeColumn, mtime_, stat.mtime);
}

// The four typed-value columns (only in a typed table's schema, so never
// filled otherwise).
Status ZnodeBatchBuilder::AppendTypedValue(const ZnodeRecord& record) {
  if (!fills(kValueTypeColumn) && !fills(kValueIntColumn) && !fills(kValueFloatColumn) &&
      !fills(kValueTextColumn)) {
    return Status::Ok();
  }
  if (!record.data || record.null_data) {
    if (fills(kValueTypeColumn)) value_type_.AppendNull();
    if (fills(kValueIntColumn)) value_int_.AppendNull();
    if (fills(kValueFloatColumn)) value_float_.AppendNull();
    if (fills(kValueTextColumn)) value_text_.AppendNull();
    return Status::Ok();
  }
  const TypedValue value = ClassifyValue(*record.data);
  if (fills(kValueTypeColumn)) value_type_.Append(static_cast<int32_t>(value.type));
  if (fills(kValueIntColumn)) {
    AppendOptional(value_int_, value.as_int.has_value(), value.as_int.value_or(0));
  }
  if (fills(kValueFloatColumn)) {
    AppendOptional(value_float_, value.as_float.has_value(), value.as_float.value_or(0));
  }
  if (fills(kValueTextColumn)) {
    if (value.has_text) {
      ZKA_RETURN_IF_ERROR(value_text_.Append(*record.data));
    } else {
      value_text_.AppendNull();
    }
  }
  return Status::Ok();
}

arrow::RecordBatch ZnodeBatchBuilder::Finish() {
  for (const auto& [column, builder] : VariableLengthColumns()) {
    last_data_bytes_[column] = builder->value_data_length();
  }
  arrow::RecordBatch batch;
  batch.schema = schema_;
  batch.length = rows_;
  for (int column : columns_) {
    const auto at = static_cast<size_t>(column);
    std::shared_ptr<const arrow::ArrayData> array = builders_[at]->Finish();
    if (dictionaries_[at]) array = arrow::WithDictionary(std::move(array), dictionaries_[at]);
    batch.columns.push_back(std::move(array));
  }
  rows_ = 0;
  return batch;
}

void ZnodeBatchBuilder::ReserveRows(int64_t rows) {
  for (int column : columns_) builders_[static_cast<size_t>(column)]->Reserve(rows);
  for (const auto& [column, builder] : VariableLengthColumns()) {
    if (fills(column)) builder->ReserveData(last_data_bytes_[column]);
  }
}

std::array<std::pair<ZnodeColumn, arrow::BinaryBuilder*>, 6>
ZnodeBatchBuilder::VariableLengthColumns() {
  return {{{kPathColumn, &path_},
           {kNameColumn, &name_},
           {kParentColumn, &parent_},
           {kDataColumn, &data_},
           {kValueTextColumn, &value_text_},
           {kErrorColumn, &error_}}};
}

}  // namespace zkarrow::znodes

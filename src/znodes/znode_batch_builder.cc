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

std::unique_ptr<arrow::ArrayBuilder> MakeAclEntryBuilder() {
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> children;
  children.push_back(std::make_unique<arrow::Int32Builder>());
  children.push_back(std::make_unique<arrow::StringBuilder>());
  children.push_back(std::make_unique<arrow::StringBuilder>());
  return std::make_unique<arrow::StructBuilder>(std::move(children));
}

template <typename Builder, typename T>
void AppendOptional(Builder& builder, bool present, T value) {
  if (present) {
    builder.Append(value);
  } else {
    builder.AppendNull();
  }
}

}  // namespace

ZnodeBatchBuilder::ZnodeBatchBuilder(bool typed_values, arrow::KeyValueMetadata schema_metadata)
    : typed_values_(typed_values),
      schema_(std::make_shared<const arrow::Schema>(
          arrow::Schema{ZnodeTableSchema(typed_values).fields, std::move(schema_metadata)})),
      kind_dictionary_(arrow::MakeEnumDictionary(kNodeKindNames)),
      value_type_dictionary_(arrow::MakeEnumDictionary(kValueTypeNames)),
      acl_(MakeAclEntryBuilder()) {}

arrow::StringBuilder& ZnodeBatchBuilder::acl_schemes() {
  return acl_.values_as<arrow::StructBuilder>().child_as<arrow::StringBuilder>(1);
}
arrow::StringBuilder& ZnodeBatchBuilder::acl_ids() {
  return acl_.values_as<arrow::StructBuilder>().child_as<arrow::StringBuilder>(2);
}

int64_t ZnodeBatchBuilder::data_bytes() {
  return path_.value_data_length() + name_.value_data_length() + parent_.value_data_length() +
         data_.value_data_length() + value_text_.value_data_length() +
         acl_schemes().value_data_length() + acl_ids().value_data_length() +
         error_.value_data_length();
}

Status ZnodeBatchBuilder::Append(const ZnodeRecord& record) {
  // Every variable-length column (and the ACL list's entries) must still fit
  // 32-bit offsets after this row. All are checked before anything is
  // appended, so a refused row leaves the batch as it was and the appends
  // below cannot fail.
  const int64_t path_size = static_cast<int64_t>(record.path.size());
  const int64_t data_size = record.data ? static_cast<int64_t>(record.data->size()) : 0;
  int64_t scheme_size = 0;
  int64_t id_size = 0;
  const int64_t acl_entries = record.acl ? static_cast<int64_t>(record.acl->size()) : 0;
  if (record.acl) {
    for (const zk::Acl& acl : *record.acl) {
      scheme_size += static_cast<int64_t>(acl.scheme.size());
      id_size += static_cast<int64_t>(acl.id.size());
    }
  }
  struct Growth {
    const char* column;
    int64_t before;
    int64_t added;
  };
  const Growth growths[] = {
      {"path", path_.value_data_length(), path_size},
      {"name", name_.value_data_length(), path_size},
      {"parent", parent_.value_data_length(), path_size},
      {"data", data_.value_data_length(), data_size},
      {"value_text", value_text_.value_data_length(), typed_values_ ? data_size : 0},
      {"acl scheme", acl_schemes().value_data_length(), scheme_size},
      {"acl id", acl_ids().value_data_length(), id_size},
      {"acl entries", acl_.values().length(), acl_entries},
      {"error", error_.value_data_length(), static_cast<int64_t>(record.error.size())},
  };
  constexpr int64_t kLimit = std::numeric_limits<int32_t>::max();
  for (const Growth& growth : growths) {
    if (growth.added > kLimit - growth.before) {
      return Status::OutOfRange(std::string("znode batch is full: column ") + growth.column +
                                " holds " + std::to_string(growth.before) + " and the row adds " +
                                std::to_string(growth.added) +
                                ", past the 2 GiB limit of "
                                "32-bit offsets");
    }
  }

  ZKA_RETURN_IF_ERROR(path_.Append(record.path));
  ZKA_RETURN_IF_ERROR(name_.Append(PathName(record.path)));
  if (auto parent = PathParent(record.path)) {
    ZKA_RETURN_IF_ERROR(parent_.Append(*parent));
  } else {
    parent_.AppendNull();
  }
  depth_.Append(PathDepth(record.path));
  kind_.Append(static_cast<int32_t>(record.kind));
  if (record.data) {
    ZKA_RETURN_IF_ERROR(data_.Append(*record.data));
  } else {
    data_.AppendNull();
  }
  AppendStat(record);
  AppendOptional(ttl_ms_, record.ttl_ms.has_value(), record.ttl_ms.value_or(0));

  if (record.acl) {
    ZKA_RETURN_IF_ERROR(acl_.Append());
    auto& entries = acl_.values_as<arrow::StructBuilder>();
    for (const zk::Acl& acl : *record.acl) {
      entries.Append();
      entries.child_as<arrow::Int32Builder>(0).Append(acl.perms);
      ZKA_RETURN_IF_ERROR(acl_schemes().Append(acl.scheme));
      ZKA_RETURN_IF_ERROR(acl_ids().Append(acl.id));
    }
  } else {
    acl_.AppendNull();
  }
  if (record.error.empty()) {
    error_.AppendNull();
  } else {
    ZKA_RETURN_IF_ERROR(error_.Append(record.error));
  }
  if (typed_values_) ZKA_RETURN_IF_ERROR(AppendTypedValue(record));
  ++rows_;
  return Status::Ok();
}

void ZnodeBatchBuilder::AppendStat(const ZnodeRecord& record) {
  const bool has = record.stat.has_value();
  const zk::Stat stat = record.stat.value_or(zk::Stat{});
  AppendOptional(data_length_, has, stat.data_length);
  AppendOptional(num_children_, has, stat.num_children);
  AppendOptional(version_, has, stat.version);
  AppendOptional(cversion_, has, stat.cversion);
  AppendOptional(aversion_, has, stat.aversion);
  AppendOptional(czxid_, has, stat.czxid);
  AppendOptional(mzxid_, has, stat.mzxid);
  AppendOptional(pzxid_, has, stat.pzxid);
  AppendOptional(ephemeral_owner_, has, stat.ephemeral_owner);
  AppendOptional(ctime_, has, stat.ctime);
  AppendOptional(mtime_, has, stat.mtime);
}

Status ZnodeBatchBuilder::AppendTypedValue(const ZnodeRecord& record) {
  if (!record.data) {
    value_type_.AppendNull();
    value_int_.AppendNull();
    value_float_.AppendNull();
    value_text_.AppendNull();
    return Status::Ok();
  }
  TypedValue value = ClassifyValue(*record.data);
  value_type_.Append(static_cast<int32_t>(value.type));
  AppendOptional(value_int_, value.as_int.has_value(), value.as_int.value_or(0));
  AppendOptional(value_float_, value.as_float.has_value(), value.as_float.value_or(0));
  if (value.has_text) {
    ZKA_RETURN_IF_ERROR(value_text_.Append(*record.data));
  } else {
    value_text_.AppendNull();
  }
  return Status::Ok();
}

arrow::RecordBatch ZnodeBatchBuilder::Finish() {
  arrow::RecordBatch batch;
  batch.schema = schema_;
  batch.length = rows_;
  batch.columns = {
      path_.Finish(),
      name_.Finish(),
      parent_.Finish(),
      depth_.Finish(),
      arrow::WithDictionary(kind_.Finish(), kind_dictionary_),
      data_.Finish(),
      data_length_.Finish(),
      num_children_.Finish(),
      version_.Finish(),
      cversion_.Finish(),
      aversion_.Finish(),
      czxid_.Finish(),
      mzxid_.Finish(),
      pzxid_.Finish(),
      ephemeral_owner_.Finish(),
      ctime_.Finish(),
      mtime_.Finish(),
      ttl_ms_.Finish(),
      acl_.Finish(),
      error_.Finish(),
  };
  if (typed_values_) {
    batch.columns.push_back(arrow::WithDictionary(value_type_.Finish(), value_type_dictionary_));
    batch.columns.push_back(value_int_.Finish());
    batch.columns.push_back(value_float_.Finish());
    batch.columns.push_back(value_text_.Finish());
  }
  rows_ = 0;
  return batch;
}

void ZnodeBatchBuilder::ReserveRows(int64_t rows) {
  std::vector<arrow::ArrayBuilder*> columns = {
      &path_,     &name_,        &parent_,       &depth_,   &kind_,
      &data_,     &data_length_, &num_children_, &version_, &cversion_,
      &aversion_, &czxid_,       &mzxid_,        &pzxid_,   &ephemeral_owner_,
      &ctime_,    &mtime_,       &ttl_ms_,       &acl_};
  if (typed_values_) {
    columns.insert(columns.end(), {&value_type_, &value_int_, &value_float_, &value_text_});
  }
  for (arrow::ArrayBuilder* column : columns) column->Reserve(rows);
}

}  // namespace zkarrow::znodes

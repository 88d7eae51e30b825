#include "znodes/znode_schema.h"

#include <algorithm>

namespace zkarrow::znodes {
namespace {

using arrow::MakeField;

arrow::Field DictionaryUtf8Field(std::string name, int64_t id, bool nullable) {
  arrow::Field field = MakeField(std::move(name), arrow::Utf8Type(), nullable);
  // int32 indices: every Arrow reader (Polars, Arrow JS, pandas) accepts them.
  field.dictionary = arrow::DictionaryEncoding{.id = id, .index_type = arrow::Int32()};
  return field;
}

bool HasKey(const arrow::KeyValueMetadata& metadata, std::string_view key) {
  return std::any_of(metadata.begin(), metadata.end(),
                     [&](const auto& entry) { return entry.first == key; });
}

}  // namespace

bool IsZnodeTable(const arrow::Schema& schema) {
  return HasKey(schema.metadata, kMetaSource) && (schema.fields == ZnodeTableSchema(false).fields ||
                                                  schema.fields == ZnodeTableSchema(true).fields);
}

bool HasEndOfRunMetadata(const arrow::KeyValueMetadata& last_batch_metadata) {
  return HasKey(last_batch_metadata, kMetaZnodes);
}

arrow::DataType AclEntryType() {
  return arrow::StructType({
      MakeField("perms", arrow::Int32(), false),
      MakeField("scheme", arrow::Utf8Type(), false),
      MakeField("id", arrow::Utf8Type(), false),
  });
}

std::unique_ptr<arrow::ArrayBuilder> MakeAclEntryBuilder() {
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> children;
  children.push_back(std::make_unique<arrow::Int32Builder>());
  children.push_back(std::make_unique<arrow::StringBuilder>());
  children.push_back(std::make_unique<arrow::StringBuilder>());
  return std::make_unique<arrow::StructBuilder>(std::move(children));
}

bool DataColumnWasRead(const arrow::KeyValueMetadata& metadata) {
  return std::any_of(metadata.begin(), metadata.end(), [](const auto& entry) {
    return entry.first == kMetaData && entry.second == kMetaDataRead;
  });
}

arrow::Schema ZnodeTableSchema(bool typed_values) {
  const arrow::DataType ms_utc = arrow::TimestampType(arrow::TimeUnit::kMillisecond, "UTC");
  arrow::Schema schema;
  schema.fields = {
      MakeField("path", arrow::Utf8Type(), false),
      MakeField("name", arrow::Utf8Type(), false),
      MakeField("parent", arrow::Utf8Type()),
      MakeField("depth", arrow::Int32()),
      DictionaryUtf8Field("kind", kKindDictionaryId, true),
      MakeField("data", arrow::BinaryType()),
      MakeField("data_length", arrow::Int32()),
      MakeField("num_children", arrow::Int32()),
      MakeField("version", arrow::Int32()),
      MakeField("cversion", arrow::Int32()),
      MakeField("aversion", arrow::Int32()),
      MakeField("czxid", arrow::Int64()),
      MakeField("mzxid", arrow::Int64()),
      MakeField("pzxid", arrow::Int64()),
      MakeField("ephemeral_owner", arrow::Int64()),
      MakeField("ctime", ms_utc),
      MakeField("mtime", ms_utc),
      MakeField("ttl_ms", arrow::Int64()),
      MakeField("acl", arrow::ListType(MakeField("item", AclEntryType(), false))),
      MakeField("error", arrow::Utf8Type()),
  };
  if (typed_values) {
    schema.fields.push_back(DictionaryUtf8Field("value_type", kValueTypeDictionaryId, true));
    schema.fields.push_back(MakeField("value_int", arrow::Int64()));
    schema.fields.push_back(MakeField("value_float", arrow::Float64()));
    schema.fields.push_back(MakeField("value_text", arrow::Utf8Type()));
  }
  return schema;
}

Result<std::vector<int>> ZnodeColumnsNamed(std::string_view names, bool typed_values) {
  const arrow::Schema schema = ZnodeTableSchema(typed_values);
  auto valid = [&] {
    std::string list;
    for (const arrow::Field& field : schema.fields) list += (list.empty() ? "" : ",") + field.name;
    return list;
  };
  std::vector<int> columns;
  size_t at = 0;
  while (true) {
    const size_t comma = std::min(names.find(',', at), names.size());
    const std::string_view name = names.substr(at, comma - at);
    const auto found = std::find_if(schema.fields.begin(), schema.fields.end(),
                                    [&](const arrow::Field& field) { return field.name == name; });
    if (found == schema.fields.end()) {
      return Status::InvalidArgument("columns: expected names among " + valid() + ", found \"" +
                                     std::string(name) + "\"");
    }
    const int column = static_cast<int>(found - schema.fields.begin());
    if (std::find(columns.begin(), columns.end(), column) != columns.end()) {
      return Status::InvalidArgument("columns: \"" + std::string(name) + "\" is named twice");
    }
    columns.push_back(column);
    if (comma == names.size()) return columns;
    at = comma + 1;
  }
}

arrow::Schema SelectFields(const arrow::Schema& schema, const std::vector<int>& columns) {
  arrow::Schema selected;
  selected.metadata = schema.metadata;
  for (int column : columns) selected.fields.push_back(schema.fields[static_cast<size_t>(column)]);
  return selected;
}

}  // namespace zkarrow::znodes

#include "znodes/znode_schema.h"

namespace zkarrow::znodes {
namespace {

using arrow::MakeField;

arrow::Field DictionaryUtf8Field(std::string name, int64_t id, bool nullable) {
  arrow::Field field = MakeField(std::move(name), arrow::Utf8Type(), nullable);
  // int32 indices: every Arrow reader (Polars, Arrow JS, pandas) accepts them.
  field.dictionary = arrow::DictionaryEncoding{.id = id, .index_type = arrow::Int32()};
  return field;
}

}  // namespace

arrow::DataType AclEntryType() {
  return arrow::StructType({
      MakeField("perms", arrow::Int32(), false),
      MakeField("scheme", arrow::Utf8Type(), false),
      MakeField("id", arrow::Utf8Type(), false),
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

}  // namespace zkarrow::znodes

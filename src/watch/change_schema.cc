#include "watch/change_schema.h"

#include "znodes/znode_schema.h"

namespace zkarrow::watch {

arrow::Schema ChangeTableSchema(bool typed_values) {
  arrow::Schema schema = znodes::ZnodeTableSchema(typed_values);
  arrow::Field event = arrow::MakeField("event", arrow::Utf8Type(), false);
  event.dictionary =
      arrow::DictionaryEncoding{.id = kEventDictionaryId, .index_type = arrow::Int32()};
  schema.fields.push_back(std::move(event));
  schema.fields.push_back(arrow::MakeField("zxid", arrow::Int64(), false));
  schema.fields.push_back(arrow::MakeField(
      "observed_at", arrow::TimestampType(arrow::TimeUnit::kMillisecond, "UTC"), false));
  return schema;
}

}  // namespace zkarrow::watch

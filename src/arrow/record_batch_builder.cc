#include "arrow/record_batch_builder.h"

#include <string>

#include "arrow/dictionary_builder.h"

namespace zkarrow::arrow {
namespace {

std::unique_ptr<ArrayBuilder> MakeIntBuilder(int32_t bit_width, bool is_signed) {
  switch (bit_width) {
    case 8:
      return is_signed ? std::unique_ptr<ArrayBuilder>(std::make_unique<Int8Builder>())
                       : std::make_unique<UInt8Builder>();
    case 16:
      return is_signed ? std::unique_ptr<ArrayBuilder>(std::make_unique<Int16Builder>())
                       : std::make_unique<UInt16Builder>();
    case 32:
      return is_signed ? std::unique_ptr<ArrayBuilder>(std::make_unique<Int32Builder>())
                       : std::make_unique<UInt32Builder>();
    case 64:
      return is_signed ? std::unique_ptr<ArrayBuilder>(std::make_unique<Int64Builder>())
                       : std::make_unique<UInt64Builder>();
    default:
      return nullptr;
  }
}

Result<std::unique_ptr<ArrayBuilder>> MakeValueBuilder(const Field& field) {
  const DataType& type = field.type;
  auto not_implemented = [&] {
    return Status::NotImplemented("no builder for field \"" + field.name + "\" of type " +
                                  TypeToString(type));
  };
  switch (type.id) {
    case TypeId::kBool:
      return std::unique_ptr<ArrayBuilder>(std::make_unique<BooleanBuilder>());
    case TypeId::kInt: {
      auto builder = MakeIntBuilder(type.bit_width, type.is_signed);
      if (!builder) return not_implemented();
      return builder;
    }
    case TypeId::kFloatingPoint:
      if (type.float_precision == FloatPrecision::kSingle) {
        return std::unique_ptr<ArrayBuilder>(std::make_unique<FloatBuilder>());
      }
      if (type.float_precision == FloatPrecision::kDouble) {
        return std::unique_ptr<ArrayBuilder>(std::make_unique<DoubleBuilder>());
      }
      return not_implemented();
    case TypeId::kDate:
      if (type.date_unit == DateUnit::kDay) {
        return std::unique_ptr<ArrayBuilder>(std::make_unique<Int32Builder>());
      }
      return std::unique_ptr<ArrayBuilder>(std::make_unique<Int64Builder>());
    case TypeId::kTime:
      return MakeIntBuilder(type.bit_width, true);
    case TypeId::kTimestamp:
    case TypeId::kDuration:
      return std::unique_ptr<ArrayBuilder>(std::make_unique<TimestampBuilder>());
    case TypeId::kBinary:
    case TypeId::kUtf8:
      return std::unique_ptr<ArrayBuilder>(std::make_unique<BinaryBuilder>());
    case TypeId::kList: {
      ZKA_ASSIGN_OR_RETURN(auto values, MakeBuilder(type.children.at(0)));
      return std::unique_ptr<ArrayBuilder>(std::make_unique<ListBuilder>(std::move(values)));
    }
    case TypeId::kStruct: {
      std::vector<std::unique_ptr<ArrayBuilder>> children;
      for (const Field& child : type.children) {
        ZKA_ASSIGN_OR_RETURN(auto builder, MakeBuilder(child));
        children.push_back(std::move(builder));
      }
      return std::unique_ptr<ArrayBuilder>(std::make_unique<StructBuilder>(std::move(children)));
    }
    default:
      return not_implemented();
  }
}

// A struct's children must be as long as the struct; builders cannot enforce
// it per append, so it is checked once per batch.
Status CheckStructLengths(const Field& field, const ArrayData& data) {
  if (field.dictionary) return Status::Ok();
  if (field.type.id == TypeId::kStruct) {
    for (size_t i = 0; i < data.children.size(); ++i) {
      if (data.children[i]->length != data.length) {
        return Status::InvalidArgument("struct field \"" + field.name + "\" has " +
                                       std::to_string(data.length) + " values but its child \"" +
                                       field.type.children[i].name + "\" has " +
                                       std::to_string(data.children[i]->length));
      }
    }
  }
  for (size_t i = 0; i < data.children.size() && i < field.type.children.size(); ++i) {
    ZKA_RETURN_IF_ERROR(CheckStructLengths(field.type.children[i], *data.children[i]));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ArrayBuilder>> MakeBuilder(const Field& field) {
  if (!field.dictionary) return MakeValueBuilder(field);
  const DataType& index_type = field.dictionary->index_type;
  bool valid_index =
      index_type.id == TypeId::kInt && index_type.is_signed && index_type.bit_width <= 32;
  if (field.type.id != TypeId::kUtf8 || !valid_index) {
    return Status::NotImplemented("no builder for dictionary field \"" + field.name +
                                  "\": only utf8 values with int8/16/32 indices");
  }
  return std::unique_ptr<ArrayBuilder>(
      std::make_unique<StringDictionaryBuilder>(index_type.bit_width));
}

Result<RecordBatchBuilder> RecordBatchBuilder::Make(std::shared_ptr<const Schema> schema) {
  std::vector<std::unique_ptr<ArrayBuilder>> columns;
  for (const Field& field : schema->fields) {
    ZKA_ASSIGN_OR_RETURN(auto builder, MakeBuilder(field));
    columns.push_back(std::move(builder));
  }
  return RecordBatchBuilder(std::move(schema), std::move(columns));
}

void RecordBatchBuilder::Reserve(int64_t rows) {
  for (auto& column : columns_) column->Reserve(rows);
}

Result<RecordBatch> RecordBatchBuilder::Finish() {
  RecordBatch batch;
  batch.schema = schema_;
  batch.length = num_rows();
  for (auto& column : columns_) batch.columns.push_back(column->Finish());
  for (size_t i = 0; i < batch.columns.size(); ++i) {
    const Field& field = schema_->fields[i];
    if (batch.columns[i]->length != batch.length) {
      return Status::InvalidArgument("column \"" + field.name + "\" has " +
                                     std::to_string(batch.columns[i]->length) + " rows, not " +
                                     std::to_string(batch.length));
    }
    ZKA_RETURN_IF_ERROR(CheckStructLengths(field, *batch.columns[i]));
  }
  return batch;
}

}  // namespace zkarrow::arrow

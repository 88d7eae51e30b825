#include "arrow/ipc/metadata.h"

#include <string>
#include <utility>
#include <vector>

namespace zkarrow::arrow::ipc {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

// ---- Writing ----

fb::TimeUnit ToFb(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSecond:
      return fb::TimeUnit::SECOND;
    case TimeUnit::kMillisecond:
      return fb::TimeUnit::MILLISECOND;
    case TimeUnit::kMicrosecond:
      return fb::TimeUnit::MICROSECOND;
    case TimeUnit::kNanosecond:
      return fb::TimeUnit::NANOSECOND;
  }
  return fb::TimeUnit::MILLISECOND;
}

Result<Offset<fb::Field>> WriteField(FlatBufferBuilder& fbb, const Field& field);

Result<std::pair<fb::Type, Offset<void>>> WriteType(FlatBufferBuilder& fbb, const DataType& type) {
  auto typed = [](fb::Type tag, auto offset) {
    return std::pair<fb::Type, Offset<void>>(tag, offset.Union());
  };
  switch (type.id) {
    case TypeId::kNull:
      return typed(fb::Type::Null, fb::CreateNull(fbb));
    case TypeId::kBool:
      return typed(fb::Type::Bool, fb::CreateBool(fbb));
    case TypeId::kInt:
      return typed(fb::Type::Int, fb::CreateInt(fbb, type.bit_width, type.is_signed));
    case TypeId::kFloatingPoint: {
      fb::Precision precision = type.float_precision == FloatPrecision::kHalf ? fb::Precision::HALF
                                : type.float_precision == FloatPrecision::kSingle
                                    ? fb::Precision::SINGLE
                                    : fb::Precision::DOUBLE;
      return typed(fb::Type::FloatingPoint, fb::CreateFloatingPoint(fbb, precision));
    }
    case TypeId::kDecimal:
      return typed(fb::Type::Decimal, fb::CreateDecimal(fbb, type.decimal_precision,
                                                        type.decimal_scale, type.bit_width));
    case TypeId::kDate:
      return typed(fb::Type::Date, fb::CreateDate(fbb, type.date_unit == DateUnit::kDay
                                                           ? fb::DateUnit::DAY
                                                           : fb::DateUnit::MILLISECOND));
    case TypeId::kTime:
      return typed(fb::Type::Time, fb::CreateTime(fbb, ToFb(type.time_unit), type.bit_width));
    case TypeId::kTimestamp: {
      auto timezone = type.timezone.empty() ? 0 : fbb.CreateString(type.timezone);
      return typed(fb::Type::Timestamp, fb::CreateTimestamp(fbb, ToFb(type.time_unit), timezone));
    }
    case TypeId::kDuration:
      return typed(fb::Type::Duration, fb::CreateDuration(fbb, ToFb(type.time_unit)));
    case TypeId::kInterval: {
      fb::IntervalUnit unit =
          type.interval_unit == IntervalUnit::kYearMonth ? fb::IntervalUnit::YEAR_MONTH
          : type.interval_unit == IntervalUnit::kDayTime ? fb::IntervalUnit::DAY_TIME
                                                         : fb::IntervalUnit::MONTH_DAY_NANO;
      return typed(fb::Type::Interval, fb::CreateInterval(fbb, unit));
    }
    case TypeId::kFixedSizeBinary:
      return typed(fb::Type::FixedSizeBinary, fb::CreateFixedSizeBinary(fbb, type.byte_width));
    case TypeId::kBinary:
      return typed(fb::Type::Binary, fb::CreateBinary(fbb));
    case TypeId::kLargeBinary:
      return typed(fb::Type::LargeBinary, fb::CreateLargeBinary(fbb));
    case TypeId::kUtf8:
      return typed(fb::Type::Utf8, fb::CreateUtf8(fbb));
    case TypeId::kLargeUtf8:
      return typed(fb::Type::LargeUtf8, fb::CreateLargeUtf8(fbb));
    case TypeId::kList:
      return typed(fb::Type::List, fb::CreateList(fbb));
    case TypeId::kLargeList:
      return typed(fb::Type::LargeList, fb::CreateLargeList(fbb));
    case TypeId::kFixedSizeList:
      return typed(fb::Type::FixedSizeList, fb::CreateFixedSizeList(fbb, type.list_size));
    case TypeId::kStruct:
      return typed(fb::Type::Struct_, fb::CreateStruct_(fbb));
    case TypeId::kMap:
      return typed(fb::Type::Map, fb::CreateMap(fbb, type.keys_sorted));
    case TypeId::kBinaryView:
      return typed(fb::Type::BinaryView, fb::CreateBinaryView(fbb));
    case TypeId::kUtf8View:
      return typed(fb::Type::Utf8View, fb::CreateUtf8View(fbb));
    case TypeId::kListView:
      return typed(fb::Type::ListView, fb::CreateListView(fbb));
    case TypeId::kLargeListView:
      return typed(fb::Type::LargeListView, fb::CreateLargeListView(fbb));
    case TypeId::kRunEndEncoded:
      return typed(fb::Type::RunEndEncoded, fb::CreateRunEndEncoded(fbb));
    case TypeId::kUnion: {
      auto type_ids = type.union_type_ids.empty() ? 0 : fbb.CreateVector(type.union_type_ids);
      return typed(fb::Type::Union,
                   fb::CreateUnion(fbb,
                                   type.union_mode == UnionMode::kDense ? fb::UnionMode::Dense
                                                                        : fb::UnionMode::Sparse,
                                   type_ids));
    }
  }
  return Status::InvalidArgument("cannot write unknown type id " +
                                 std::to_string(static_cast<int>(type.id)));
}

Result<Offset<fb::Field>> WriteField(FlatBufferBuilder& fbb, const Field& field) {
  std::vector<Offset<fb::Field>> children;
  for (const Field& child : field.type.children) {
    ZKA_ASSIGN_OR_RETURN(auto offset, WriteField(fbb, child));
    children.push_back(offset);
  }
  Offset<fb::DictionaryEncoding> dictionary = 0;
  if (field.dictionary) {
    const DataType& index = field.dictionary->index_type;
    if (index.id != TypeId::kInt) {
      return Status::InvalidArgument("field '" + field.name +
                                     "': dictionary index type must be an integer, got " +
                                     TypeToString(index));
    }
    auto index_type = fb::CreateInt(fbb, index.bit_width, index.is_signed);
    dictionary = fb::CreateDictionaryEncoding(fbb, field.dictionary->id, index_type,
                                              field.dictionary->ordered);
  }
  ZKA_ASSIGN_OR_RETURN(auto type, WriteType(fbb, field.type));
  auto name = fbb.CreateString(field.name);
  auto children_offset = fbb.CreateVector(children);
  auto metadata = WriteMetadata(fbb, field.metadata);
  return fb::CreateField(fbb, name, field.nullable, type.first, type.second, dictionary,
                         children_offset, metadata);
}

// ---- Reading ----

Result<TimeUnit> ReadTimeUnit(fb::TimeUnit unit) {
  switch (unit) {
    case fb::TimeUnit::SECOND:
      return TimeUnit::kSecond;
    case fb::TimeUnit::MILLISECOND:
      return TimeUnit::kMillisecond;
    case fb::TimeUnit::MICROSECOND:
      return TimeUnit::kMicrosecond;
    case fb::TimeUnit::NANOSECOND:
      return TimeUnit::kNanosecond;
  }
  return Status::InvalidData("unknown time unit " + std::to_string(static_cast<int>(unit)));
}

Result<DataType> ReadIntParams(const fb::Int* int_type) {
  if (int_type == nullptr) return Status::InvalidData("Int type without parameters");
  int32_t width = int_type->bitWidth();
  if (width != 8 && width != 16 && width != 32 && width != 64) {
    return Status::InvalidData("Int bit width " + std::to_string(width) +
                               " is not one of 8, 16, 32, 64");
  }
  return IntType(width, int_type->is_signed());
}

// The parameter table of `field`'s type, or an error naming the missing table.
template <typename T>
Result<const T*> Params(const T* params, const char* name) {
  if (params == nullptr) return Status::InvalidData(std::string(name) + " type without parameters");
  return params;
}

Status ExpectChildren(const fb::Field& field, size_t expected, const char* type_name) {
  size_t actual = field.children() == nullptr ? 0 : field.children()->size();
  if (actual != expected) {
    return Status::InvalidData(std::string(type_name) + " type needs " + std::to_string(expected) +
                               " child field(s), found " + std::to_string(actual));
  }
  return Status::Ok();
}

// Fills the parameters of `type` from the type union (children are read by the caller).
Status ReadTypeParams(const fb::Field& field, DataType& type) {
  switch (field.type_type()) {
    case fb::Type::NONE:
      return Status::InvalidData("field has no type");
    case fb::Type::Null:
      type.id = TypeId::kNull;
      return Status::Ok();
    case fb::Type::Bool:
      type.id = TypeId::kBool;
      return Status::Ok();
    case fb::Type::Int: {
      ZKA_ASSIGN_OR_RETURN(type, ReadIntParams(field.type_as_Int()));
      return Status::Ok();
    }
    case fb::Type::FloatingPoint: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_FloatingPoint(), "FloatingPoint"));
      type.id = TypeId::kFloatingPoint;
      switch (params->precision()) {
        case fb::Precision::HALF:
          type.float_precision = FloatPrecision::kHalf;
          break;
        case fb::Precision::SINGLE:
          type.float_precision = FloatPrecision::kSingle;
          break;
        case fb::Precision::DOUBLE:
          type.float_precision = FloatPrecision::kDouble;
          break;
        default:
          return Status::InvalidData("unknown floating point precision " +
                                     std::to_string(static_cast<int>(params->precision())));
      }
      return Status::Ok();
    }
    case fb::Type::Decimal: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_Decimal(), "Decimal"));
      type.id = TypeId::kDecimal;
      type.bit_width = params->bitWidth();
      type.decimal_precision = params->precision();
      type.decimal_scale = params->scale();
      // The most decimal digits each width holds.
      int max_precision = type.bit_width == 32    ? 9
                          : type.bit_width == 64  ? 18
                          : type.bit_width == 128 ? 38
                          : type.bit_width == 256 ? 76
                                                  : 0;
      if (max_precision == 0) {
        return Status::InvalidData("Decimal bit width " + std::to_string(type.bit_width) +
                                   " is not 32, 64, 128 or 256");
      }
      if (type.decimal_precision < 1 || type.decimal_precision > max_precision) {
        return Status::InvalidData("decimal" + std::to_string(type.bit_width) + " precision " +
                                   std::to_string(type.decimal_precision) + " is out of range");
      }
      return Status::Ok();
    }
    case fb::Type::Date: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_Date(), "Date"));
      type.id = TypeId::kDate;
      if (params->unit() == fb::DateUnit::DAY) {
        type.date_unit = DateUnit::kDay;
      } else if (params->unit() == fb::DateUnit::MILLISECOND) {
        type.date_unit = DateUnit::kMillisecond;
      } else {
        return Status::InvalidData("unknown date unit " +
                                   std::to_string(static_cast<int>(params->unit())));
      }
      return Status::Ok();
    }
    case fb::Type::Time: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_Time(), "Time"));
      type.id = TypeId::kTime;
      ZKA_ASSIGN_OR_RETURN(type.time_unit, ReadTimeUnit(params->unit()));
      type.bit_width = params->bitWidth();
      bool wide =
          type.time_unit == TimeUnit::kMicrosecond || type.time_unit == TimeUnit::kNanosecond;
      if (type.bit_width != (wide ? 64 : 32)) {
        return Status::InvalidData(
            "Time with unit " + std::to_string(static_cast<int>(type.time_unit)) + " must be " +
            (wide ? "64" : "32") + " bits wide, not " + std::to_string(type.bit_width));
      }
      return Status::Ok();
    }
    case fb::Type::Timestamp: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_Timestamp(), "Timestamp"));
      type.id = TypeId::kTimestamp;
      ZKA_ASSIGN_OR_RETURN(type.time_unit, ReadTimeUnit(params->unit()));
      if (params->timezone() != nullptr) type.timezone = params->timezone()->str();
      return Status::Ok();
    }
    case fb::Type::Duration: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_Duration(), "Duration"));
      type.id = TypeId::kDuration;
      ZKA_ASSIGN_OR_RETURN(type.time_unit, ReadTimeUnit(params->unit()));
      return Status::Ok();
    }
    case fb::Type::Interval: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_Interval(), "Interval"));
      type.id = TypeId::kInterval;
      switch (params->unit()) {
        case fb::IntervalUnit::YEAR_MONTH:
          type.interval_unit = IntervalUnit::kYearMonth;
          break;
        case fb::IntervalUnit::DAY_TIME:
          type.interval_unit = IntervalUnit::kDayTime;
          break;
        case fb::IntervalUnit::MONTH_DAY_NANO:
          type.interval_unit = IntervalUnit::kMonthDayNano;
          break;
        default:
          return Status::InvalidData("unknown interval unit " +
                                     std::to_string(static_cast<int>(params->unit())));
      }
      return Status::Ok();
    }
    case fb::Type::FixedSizeBinary: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_FixedSizeBinary(), "FixedSizeBinary"));
      type.id = TypeId::kFixedSizeBinary;
      type.byte_width = params->byteWidth();
      if (type.byte_width < 0) {
        return Status::InvalidData("negative fixed-size binary width " +
                                   std::to_string(type.byte_width));
      }
      return Status::Ok();
    }
    case fb::Type::Binary:
      type.id = TypeId::kBinary;
      return Status::Ok();
    case fb::Type::LargeBinary:
      type.id = TypeId::kLargeBinary;
      return Status::Ok();
    case fb::Type::Utf8:
      type.id = TypeId::kUtf8;
      return Status::Ok();
    case fb::Type::LargeUtf8:
      type.id = TypeId::kLargeUtf8;
      return Status::Ok();
    case fb::Type::List:
      type.id = TypeId::kList;
      return ExpectChildren(field, 1, "List");
    case fb::Type::LargeList:
      type.id = TypeId::kLargeList;
      return ExpectChildren(field, 1, "LargeList");
    case fb::Type::FixedSizeList: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_FixedSizeList(), "FixedSizeList"));
      type.id = TypeId::kFixedSizeList;
      type.list_size = params->listSize();
      if (type.list_size < 0) {
        return Status::InvalidData("negative fixed-size list size " +
                                   std::to_string(type.list_size));
      }
      return ExpectChildren(field, 1, "FixedSizeList");
    }
    case fb::Type::Struct_:
      type.id = TypeId::kStruct;
      return Status::Ok();
    case fb::Type::Map: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_Map(), "Map"));
      type.id = TypeId::kMap;
      type.keys_sorted = params->keysSorted();
      ZKA_RETURN_IF_ERROR(ExpectChildren(field, 1, "Map"));
      const fb::Field* entries = field.children()->Get(0);
      if (entries->type_type() != fb::Type::Struct_ || entries->children() == nullptr ||
          entries->children()->size() != 2) {
        return Status::InvalidData("Map type needs a struct child with two fields (key, value)");
      }
      return Status::Ok();
    }
    case fb::Type::Union: {
      ZKA_ASSIGN_OR_RETURN(auto params, Params(field.type_as_Union(), "Union"));
      type.id = TypeId::kUnion;
      if (params->mode() == fb::UnionMode::Sparse) {
        type.union_mode = UnionMode::kSparse;
      } else if (params->mode() == fb::UnionMode::Dense) {
        type.union_mode = UnionMode::kDense;
      } else {
        return Status::InvalidData("unknown union mode " +
                                   std::to_string(static_cast<int>(params->mode())));
      }
      size_t num_children = field.children() == nullptr ? 0 : field.children()->size();
      if (params->typeIds() != nullptr) {
        if (params->typeIds()->size() != num_children) {
          return Status::InvalidData("union declares " + std::to_string(params->typeIds()->size()) +
                                     " type ids for " + std::to_string(num_children) + " children");
        }
        std::vector<bool> seen(128, false);
        for (int32_t id : *params->typeIds()) {
          if (id < 0 || id > 127 || seen[static_cast<size_t>(id)]) {
            return Status::InvalidData("union type id " + std::to_string(id) +
                                       " is out of range 0..127 or repeated");
          }
          seen[static_cast<size_t>(id)] = true;
          type.union_type_ids.push_back(id);
        }
      } else if (num_children > 128) {
        return Status::InvalidData("union has more than 128 children");
      }
      return Status::Ok();
    }
    case fb::Type::BinaryView:
      type.id = TypeId::kBinaryView;
      return Status::Ok();
    case fb::Type::Utf8View:
      type.id = TypeId::kUtf8View;
      return Status::Ok();
    case fb::Type::ListView:
      type.id = TypeId::kListView;
      return ExpectChildren(field, 1, "ListView");
    case fb::Type::LargeListView:
      type.id = TypeId::kLargeListView;
      return ExpectChildren(field, 1, "LargeListView");
    case fb::Type::RunEndEncoded: {
      type.id = TypeId::kRunEndEncoded;
      ZKA_RETURN_IF_ERROR(ExpectChildren(field, 2, "RunEndEncoded"));
      const fb::Field* run_ends = field.children()->Get(0);
      const fb::Int* width = run_ends->type_as_Int();
      if (width == nullptr || !width->is_signed() ||
          (width->bitWidth() != 16 && width->bitWidth() != 32 && width->bitWidth() != 64) ||
          run_ends->dictionary() != nullptr) {
        return Status::InvalidData(
            "RunEndEncoded run_ends must be int16, int32 or int64 (not dictionary-encoded)");
      }
      return Status::Ok();
    }
  }
  return Status::NotImplemented("unknown type tag " +
                                std::to_string(static_cast<int>(field.type_type())) +
                                " (newer than this zkarrow?)");
}

Result<Field> ReadField(const fb::Field& fb_field, int depth_left) {
  Field field;
  if (fb_field.name() != nullptr) field.name = fb_field.name()->str();
  auto context = [&](const Status& status) {
    return status.WithContext("field '" + EscapeText(field.name) + "'");
  };
  if (depth_left <= 0) return context(Status::OutOfRange("type nesting is too deep"));
  field.nullable = fb_field.nullable();
  Status status = ReadTypeParams(fb_field, field.type);
  if (!status.ok()) return context(status);
  bool nested = field.type.id == TypeId::kList || field.type.id == TypeId::kLargeList ||
                field.type.id == TypeId::kFixedSizeList || field.type.id == TypeId::kStruct ||
                field.type.id == TypeId::kMap || field.type.id == TypeId::kUnion ||
                field.type.id == TypeId::kListView || field.type.id == TypeId::kLargeListView ||
                field.type.id == TypeId::kRunEndEncoded;
  if (fb_field.children() != nullptr) {
    if (!nested && fb_field.children()->size() != 0) {
      return context(
          Status::InvalidData("type " + TypeToString(field.type) + " cannot have child fields"));
    }
    for (const fb::Field* child : *fb_field.children()) {
      if (child == nullptr) return context(Status::InvalidData("null child field"));
      auto read = ReadField(*child, depth_left - 1);
      if (!read.ok()) return context(read.status());
      field.type.children.push_back(std::move(read).value());
    }
  }
  if (const fb::DictionaryEncoding* encoding = fb_field.dictionary()) {
    DictionaryEncoding dictionary;
    dictionary.id = encoding->id();
    dictionary.ordered = encoding->isOrdered();
    if (encoding->dictionaryKind() != fb::DictionaryKind::DenseArray) {
      return context(Status::NotImplemented("unknown dictionary kind"));
    }
    if (encoding->indexType() == nullptr) {
      dictionary.index_type = Int32();  // the format's default
    } else {
      auto index_type = ReadIntParams(encoding->indexType());
      if (!index_type.ok()) return context(index_type.status().WithContext("dictionary index"));
      dictionary.index_type = *index_type;
    }
    field.dictionary = std::move(dictionary);
  }
  field.metadata = ReadMetadata(fb_field.custom_metadata());
  return field;
}

}  // namespace

Result<flatbuffers::Offset<fb::Schema>> WriteSchema(FlatBufferBuilder& fbb, const Schema& schema) {
  std::vector<Offset<fb::Field>> fields;
  for (const Field& field : schema.fields) {
    ZKA_ASSIGN_OR_RETURN(auto offset, WriteField(fbb, field));
    fields.push_back(offset);
  }
  auto fields_offset = fbb.CreateVector(fields);
  auto metadata = WriteMetadata(fbb, schema.metadata);
  return fb::CreateSchema(fbb, fb::Endianness::Little, fields_offset, metadata);
}

flatbuffers::Offset<FbKeyValues> WriteMetadata(FlatBufferBuilder& fbb,
                                               const KeyValueMetadata& metadata) {
  if (metadata.empty()) return 0;
  std::vector<Offset<fb::KeyValue>> entries;
  for (const auto& [key, value] : metadata) {
    auto key_offset = fbb.CreateString(key);
    auto value_offset = fbb.CreateString(value);
    entries.push_back(fb::CreateKeyValue(fbb, key_offset, value_offset));
  }
  return fbb.CreateVector(entries);
}

Result<Schema> ReadSchema(const fb::Schema& fb_schema, int max_nesting_depth) {
  if (fb_schema.endianness() != fb::Endianness::Little) {
    return Status::NotImplemented(
        "the schema declares big-endian data; zkarrow reads little-endian Arrow data only");
  }
  Schema schema;
  if (fb_schema.fields() != nullptr) {
    for (const fb::Field* field : *fb_schema.fields()) {
      if (field == nullptr) return Status::InvalidData("schema has a null field");
      ZKA_ASSIGN_OR_RETURN(Field read, ReadField(*field, max_nesting_depth));
      schema.fields.push_back(std::move(read));
    }
  }
  schema.metadata = ReadMetadata(fb_schema.custom_metadata());
  return schema;
}

KeyValueMetadata ReadMetadata(const FbKeyValues* key_values) {
  KeyValueMetadata metadata;
  if (key_values == nullptr) return metadata;
  for (const fb::KeyValue* entry : *key_values) {
    if (entry == nullptr) continue;
    metadata.emplace_back(entry->key() ? entry->key()->str() : std::string(),
                          entry->value() ? entry->value()->str() : std::string());
  }
  return metadata;
}

}  // namespace zkarrow::arrow::ipc

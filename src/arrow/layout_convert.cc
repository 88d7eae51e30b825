#include "arrow/layout_convert.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "arrow/array_access.h"
#include "arrow/bitmap_builder.h"
#include "arrow/builder.h"
#include "arrow/ipc/array_concat.h"

namespace zkarrow::arrow {
namespace {

bool NeedsConversion(const DataType& type) {
  if (IsNewerThanFormat1(type)) return true;
  return std::any_of(type.children.begin(), type.children.end(),
                     [](const Field& child) { return NeedsConversion(child.type); });
}

// The validity of `array` from its offset, as a buffer starting at bit 0
// (null when there are no nulls), and the null count.
std::pair<std::shared_ptr<const Buffer>, int64_t> RebasedValidity(const ArrayData& array) {
  ValidityBuilder validity;
  validity.Reserve(array.length);
  for (int64_t i = 0; i < array.length; ++i) {
    if (IsValidAt(array, i)) {
      validity.AppendValid();
    } else {
      validity.AppendNulls(1);
    }
  }
  const int64_t nulls = validity.null_count();
  return {validity.Finish(), nulls};
}

// Converted arrays are charged to nothing: the process converts what it
// writes, batch by batch.
ipc::ByteBudget Unlimited() { return {0, std::numeric_limits<int64_t>::max()}; }

Result<std::shared_ptr<const ArrayData>> ViewsToBinary(const ArrayData& array) {
  BinaryBuilder builder;
  builder.Reserve(array.length);
  for (int64_t i = 0; i < array.length; ++i) {
    if (IsValidAt(array, i)) {
      ZKA_RETURN_IF_ERROR(builder.Append(ViewValue(array, i)));
    } else {
      builder.AppendNull();
    }
  }
  return builder.Finish();
}

std::shared_ptr<const ArrayData> WidenDecimal(const DataType& type, const ArrayData& array) {
  auto out = std::make_shared<ArrayData>();
  out->length = array.length;
  std::tie(out->buffers.emplace_back(), out->null_count) = RebasedValidity(array);
  BufferBuilder values;
  values.Reserve(array.length * 16);
  for (int64_t i = 0; i < array.length; ++i) {
    const int64_t low = ReadInt(FixedWidthValue(array, i, type.bit_width / 8), true);
    values.UnsafeAppendValue(low);
    values.UnsafeAppendValue<int64_t>(low < 0 ? -1 : 0);  // sign extension
  }
  out->buffers.push_back(values.Finish());
  return out;
}

}  // namespace

Field Format1Field(const Field& field) {
  Field out = field;
  DataType& type = out.type;
  switch (type.id) {
    case TypeId::kBinaryView:
      type = BinaryType();
      break;
    case TypeId::kUtf8View:
      type = Utf8Type();
      break;
    case TypeId::kListView:
    case TypeId::kLargeListView:
      type.id = type.id == TypeId::kListView ? TypeId::kList : TypeId::kLargeList;
      type.children[0] = Format1Field(type.children[0]);
      break;
    case TypeId::kRunEndEncoded: {
      Field values = Format1Field(type.children[1]);
      values.name = field.name;
      values.nullable = field.nullable;
      values.metadata = field.metadata;
      return values;
    }
    default:
      if (type.id == TypeId::kDecimal) type.bit_width = std::max(type.bit_width, 128);
      for (Field& child : type.children) child = Format1Field(child);
      break;
  }
  return out;
}

Schema Format1Schema(const Schema& schema) {
  Schema out = schema;
  for (Field& field : out.fields) field = Format1Field(field);
  return out;
}

Format1Converter::Format1Converter(std::shared_ptr<const Schema> source)
    : source_(std::move(source)),
      target_(std::make_shared<const Schema>(Format1Schema(*source_))) {}

Result<RecordBatch> Format1Converter::Convert(const RecordBatch& batch) {
  RecordBatch out{target_, batch.length, {}};
  for (size_t i = 0; i < batch.columns.size(); ++i) {
    auto column = Array(source_->fields[i], batch.columns[i]);
    if (!column.ok())
      return column.status().WithContext("column '" + source_->fields[i].name + "'");
    out.columns.push_back(std::move(column).value());
  }
  return out;
}

Result<std::shared_ptr<const ArrayData>> Format1Converter::Array(
    const Field& field, const std::shared_ptr<const ArrayData>& array) {
  const DataType& type = field.type;
  if (!NeedsConversion(type)) return array;
  if (field.dictionary) {
    Field values = field;
    values.dictionary.reset();
    auto copy = std::make_shared<ArrayData>(*array);
    ZKA_ASSIGN_OR_RETURN(copy->dictionary, Dictionary(values, array->dictionary));
    return std::shared_ptr<const ArrayData>(std::move(copy));
  }
  switch (type.id) {
    case TypeId::kBinaryView:
    case TypeId::kUtf8View:
      return ViewsToBinary(*array);
    case TypeId::kListView:
    case TypeId::kLargeListView:
      return ListViews(type, *array);
    case TypeId::kRunEndEncoded:
      return Runs(type, *array);
    default: {
      if (IsNewerThanFormat1(type)) return WidenDecimal(type, *array);
      auto copy = std::make_shared<ArrayData>(*array);
      for (size_t i = 0; i < type.children.size(); ++i) {
        ZKA_ASSIGN_OR_RETURN(copy->children[i], Array(type.children[i], array->children[i]));
      }
      return std::shared_ptr<const ArrayData>(std::move(copy));
    }
  }
}

Result<Format1Converter::Gather> Format1Converter::StartGather(
    const Field& field, const std::shared_ptr<const ArrayData>& array, ipc::ByteBudget& budget) {
  Gather gather;
  ZKA_ASSIGN_OR_RETURN(gather.source, Array(field, array));
  ArrayData empty = *gather.source;
  empty.length = 0;
  empty.null_count = 0;
  ZKA_ASSIGN_OR_RETURN(gather.target, ipc::GrowingArray::Make(Format1Field(field), empty, budget));
  return gather;
}

Result<std::shared_ptr<const ArrayData>> Format1Converter::Dictionary(
    const Field& value_field, const std::shared_ptr<const ArrayData>& dictionary) {
  auto known = dictionaries_.find(dictionary.get());
  if (known != dictionaries_.end()) return known->second.second;
  ZKA_ASSIGN_OR_RETURN(auto converted, Array(value_field, dictionary));
  dictionaries_[dictionary.get()] = {dictionary, converted};
  return converted;
}

// Each list's elements are copied in list order, so the child is in the
// order the offsets of a list need, whatever order the views had.
Result<std::shared_ptr<const ArrayData>> Format1Converter::ListViews(const DataType& type,
                                                                     const ArrayData& array) {
  ipc::ByteBudget budget = Unlimited();
  ZKA_ASSIGN_OR_RETURN(Gather items, StartGather(type.children[0], array.children[0], budget));
  const bool large = type.id == TypeId::kLargeListView;
  BufferBuilder offsets;
  offsets.Reserve((array.length + 1) * (large ? 8 : 4));
  int64_t end = 0;
  auto append_offset = [&] {
    if (large) {
      offsets.UnsafeAppendValue(end);
    } else {
      offsets.UnsafeAppendValue(static_cast<int32_t>(end));
    }
  };
  append_offset();
  for (int64_t i = 0; i < array.length; ++i) {
    if (IsValidAt(array, i)) {
      const ChildRange range = ListChildRange(type.id, array, i);
      ZKA_RETURN_IF_ERROR(
          items.target->AppendRange(*items.source, range.start, range.size, budget));
      end += range.size;
      if (!large && end > std::numeric_limits<int32_t>::max()) {
        return Status::OutOfRange("the list views hold " + std::to_string(end) +
                                  " elements in all, more than a list's int32 offsets reach");
      }
    }
    append_offset();
  }
  auto out = std::make_shared<ArrayData>();
  out->length = array.length;
  std::tie(out->buffers.emplace_back(), out->null_count) = RebasedValidity(array);
  out->buffers.push_back(offsets.Finish());
  out->children.push_back(items.target->View());
  return std::shared_ptr<const ArrayData>(std::move(out));
}

// Every run's value, repeated as often as the run is long.
Result<std::shared_ptr<const ArrayData>> Format1Converter::Runs(const DataType& type,
                                                                const ArrayData& array) {
  ipc::ByteBudget budget = Unlimited();
  ZKA_ASSIGN_OR_RETURN(Gather values, StartGather(type.children[1], array.children[1], budget));
  const DataType& run_end_type = type.children[0].type;
  const int64_t end = array.offset + array.length;
  int64_t position = array.offset;
  for (int64_t run = array.length > 0 ? RunIndex(type, array, 0) : 0; position < end; ++run) {
    const int64_t run_end = std::min(ReadRunEnd(run_end_type, *array.children[0], run), end);
    for (; position < run_end; ++position) {
      ZKA_RETURN_IF_ERROR(values.target->AppendRange(*values.source, run, 1, budget));
    }
  }
  return values.target->View();
}

Schema WithStringViews(const Schema& schema, const std::vector<std::string>& names) {
  Schema out = schema;
  for (Field& field : out.fields) {
    const bool named = std::find(names.begin(), names.end(), field.name) != names.end();
    if (named && field.type.id == TypeId::kUtf8 && !field.dictionary) {
      field.type = DataType{};
      field.type.id = TypeId::kUtf8View;
    }
  }
  return out;
}

Result<RecordBatch> ToStringViews(const std::shared_ptr<const Schema>& target,
                                  const RecordBatch& batch) {
  RecordBatch out{target, batch.length, {}};
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    const ArrayData& column = *batch.columns[c];
    if (target->fields[c].type.id != TypeId::kUtf8View ||
        batch.schema->fields[c].type.id != TypeId::kUtf8) {
      out.columns.push_back(batch.columns[c]);
      continue;
    }
    BinaryViewBuilder views;
    views.Reserve(column.length);
    for (int64_t i = 0; i < column.length; ++i) {
      if (IsValidAt(column, i)) {
        ZKA_RETURN_IF_ERROR(views.Append(BinaryValue(column, i, false)));
      } else {
        views.AppendNull();
      }
    }
    out.columns.push_back(views.Finish());
  }
  return out;
}

}  // namespace zkarrow::arrow

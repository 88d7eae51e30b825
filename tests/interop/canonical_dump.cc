#include "interop/canonical_dump.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "arrow/array_access.h"
#include "arrow/io.h"
#include "arrow/ipc/reader.h"

namespace zkarrow::interop {
namespace {

using arrow::ArrayData;
using arrow::DataType;
using arrow::TypeId;
using nlohmann::json;

template <typename T>
T At(const ArrayData& data, int64_t i) {
  return data.buffers[1]->data_as<T>()[data.offset + i];
}

template <typename Offset>
std::string_view BytesAt(const ArrayData& data, int64_t i) {
  const Offset* offsets = data.buffers[1]->data_as<Offset>() + data.offset;
  const char* bytes = data.buffers[2]->data_as<char>();
  return {bytes + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i])};
}

std::string Hex(std::string_view bytes) {
  std::string hex;
  char digits[3];
  for (char c : bytes) {
    std::snprintf(digits, sizeof(digits), "%02x", static_cast<unsigned char>(c));
    hex += digits;
  }
  return hex;
}

json Float(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

// Integers; 64-bit ones as decimal strings.
json Int(const DataType& type, const ArrayData& data, int64_t i) {
  switch (type.bit_width) {
    case 8:
      return type.is_signed ? json(At<int8_t>(data, i)) : json(At<uint8_t>(data, i));
    case 16:
      return type.is_signed ? json(At<int16_t>(data, i)) : json(At<uint16_t>(data, i));
    case 32:
      return type.is_signed ? json(At<int32_t>(data, i)) : json(At<uint32_t>(data, i));
    default:
      return type.is_signed ? std::to_string(At<int64_t>(data, i))
                            : std::to_string(At<uint64_t>(data, i));
  }
}

int64_t Index(const DataType& type, const ArrayData& data, int64_t i) {
  json index = Int(type, data, i);
  return index.is_string() ? std::stoll(index.get<std::string>()) : index.get<int64_t>();
}

Result<json> ValueAt(const arrow::Field& field, const DataType& type, const ArrayData& data,
                     int64_t i);

Result<json> ListAt(const DataType& type, const ArrayData& data, int64_t begin, int64_t end) {
  json list = json::array();
  const arrow::Field& item = type.children[0];
  for (int64_t j = begin; j < end; ++j) {
    ZKA_ASSIGN_OR_RETURN(json value, ValueAt(item, item.type, *data.children[0], j));
    list.push_back(std::move(value));
  }
  return list;
}

Result<json> ValueAt(const arrow::Field& field, const DataType& type, const ArrayData& data,
                     int64_t i) {
  if (type.id == TypeId::kNull || !data.IsValid(i)) return json(nullptr);
  if (field.dictionary) {
    // The values: a field of the same type, without the encoding.
    arrow::Field values{.name = field.name, .type = field.type};
    return ValueAt(values, values.type, *data.dictionary,
                   Index(field.dictionary->index_type, data, i));
  }
  switch (type.id) {
    case TypeId::kBool: {
      int64_t bit = data.offset + i;
      return json(arrow::GetBit(data.buffers[1]->data(), bit));
    }
    case TypeId::kInt:
      return Int(type, data, i);
    case TypeId::kFloatingPoint:
      if (type.float_precision == arrow::FloatPrecision::kSingle) return Float(At<float>(data, i));
      if (type.float_precision == arrow::FloatPrecision::kDouble) return Float(At<double>(data, i));
      break;
    case TypeId::kUtf8:
      return json(std::string(BytesAt<int32_t>(data, i)));
    case TypeId::kLargeUtf8:
      return json(std::string(BytesAt<int64_t>(data, i)));
    case TypeId::kBinary:
      return json(Hex(BytesAt<int32_t>(data, i)));
    case TypeId::kLargeBinary:
      return json(Hex(BytesAt<int64_t>(data, i)));
    case TypeId::kUtf8View: {
      std::span<const uint8_t> bytes = arrow::ViewValue(data, i);
      return json(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
    case TypeId::kBinaryView: {
      std::span<const uint8_t> bytes = arrow::ViewValue(data, i);
      return json(Hex({reinterpret_cast<const char*>(bytes.data()), bytes.size()}));
    }
    case TypeId::kListView:
    case TypeId::kLargeListView: {
      const arrow::ChildRange range = arrow::ListChildRange(type.id, data, i);
      return ListAt(type, data, range.start, range.start + range.size);
    }
    case TypeId::kRunEndEncoded: {
      const arrow::Field& values = type.children[1];
      return ValueAt(values, values.type, *data.children[1], arrow::RunIndex(type, data, i));
    }
    case TypeId::kDecimal:
      // The unscaled integer, as a string; the narrow widths only.
      if (type.bit_width == 32) return json(std::to_string(At<int32_t>(data, i)));
      if (type.bit_width == 64) return json(std::to_string(At<int64_t>(data, i)));
      break;
    case TypeId::kDate:
      if (type.date_unit == arrow::DateUnit::kDay) return json(At<int32_t>(data, i));
      return json(std::to_string(At<int64_t>(data, i)));
    case TypeId::kTimestamp:
      return json(std::to_string(At<int64_t>(data, i)));
    case TypeId::kList: {
      const int32_t* offsets = data.buffers[1]->data_as<int32_t>() + data.offset;
      return ListAt(type, data, offsets[i], offsets[i + 1]);
    }
    case TypeId::kLargeList: {
      const int64_t* offsets = data.buffers[1]->data_as<int64_t>() + data.offset;
      return ListAt(type, data, offsets[i], offsets[i + 1]);
    }
    case TypeId::kStruct: {
      json object = json::object();
      for (size_t k = 0; k < type.children.size(); ++k) {
        const arrow::Field& child = type.children[k];
        ZKA_ASSIGN_OR_RETURN(object[child.name],
                             ValueAt(child, child.type, *data.children[k], data.offset + i));
      }
      return object;
    }
    default:
      break;
  }
  return Status::NotImplemented("canonical dump: type of field '" + field.name + "'");
}

Status AppendRows(const arrow::RecordBatch& batch, std::vector<json>& lines) {
  const auto& fields = batch.schema->fields;
  for (int64_t i = 0; i < batch.length; ++i) {
    json row = json::array();
    for (size_t c = 0; c < fields.size(); ++c) {
      ZKA_ASSIGN_OR_RETURN(json value, ValueAt(fields[c], fields[c].type, *batch.columns[c], i));
      row.push_back(std::move(value));
    }
    lines.push_back(std::move(row));
  }
  return Status::Ok();
}

json FieldsLine(const arrow::Schema& schema) {
  json fields = json::array();
  for (const arrow::Field& field : schema.fields) fields.push_back({{"name", field.name}});
  return {{"fields", fields}};
}

}  // namespace

Result<std::vector<json>> CanonicalDump(const std::filesystem::path& ipc_file) {
  std::vector<json> lines;
  uint8_t magic[6] = {};
  std::FILE* file = std::fopen(ipc_file.c_str(), "rb");
  if (file == nullptr) return Status::IoError("cannot open " + ipc_file.string());
  size_t got = std::fread(magic, 1, sizeof(magic), file);
  std::fclose(file);
  if (got == sizeof(magic) && std::string_view(reinterpret_cast<char*>(magic), 6) == "ARROW1") {
    ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::FileReader::OpenPath(ipc_file));
    lines.push_back(FieldsLine(reader->schema()));
    for (int b = 0; b < reader->num_batches(); ++b) {
      ZKA_ASSIGN_OR_RETURN(arrow::RecordBatch batch, reader->ReadBatch(b));
      ZKA_RETURN_IF_ERROR(AppendRows(batch, lines));
    }
    return lines;
  }
  ZKA_ASSIGN_OR_RETURN(auto input, arrow::FileInputStream::Open(ipc_file));
  ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::StreamReader::Open(std::move(input)));
  lines.push_back(FieldsLine(reader->schema()));
  while (true) {
    ZKA_ASSIGN_OR_RETURN(std::optional<arrow::RecordBatch> batch, reader->Next());
    if (!batch) break;
    ZKA_RETURN_IF_ERROR(AppendRows(*batch, lines));
  }
  return lines;
}

std::string DiffCanonicalDumps(const std::vector<nlohmann::json>& expected,
                               const std::vector<nlohmann::json>& actual) {
  if (expected.empty() || actual.empty()) return "a dump is empty";
  auto names = [](const nlohmann::json& fields_line) {
    std::vector<std::string> out;
    for (const nlohmann::json& field : fields_line["fields"]) out.push_back(field["name"]);
    return out;
  };
  if (names(expected[0]) != names(actual[0])) {
    return "fields differ: " + expected[0].dump() + " vs " + actual[0].dump();
  }
  if (expected.size() != actual.size()) {
    return "row counts differ: " + std::to_string(expected.size() - 1) + " vs " +
           std::to_string(actual.size() - 1);
  }
  for (size_t i = 1; i < expected.size(); ++i) {
    if (expected[i] != actual[i]) {
      return "row " + std::to_string(i - 1) + ": " + expected[i].dump() + " vs " + actual[i].dump();
    }
  }
  return "";
}

}  // namespace zkarrow::interop

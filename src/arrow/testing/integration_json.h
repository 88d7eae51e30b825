// Reads Apache Arrow's integration-test JSON format (the ".json" of the gold
// files in apache/arrow-testing): a schema, dictionaries and record batches
// written out value by value, the independent reference our IPC reader and
// writer are checked against. For tests only.
//
// Covers every type of the Arrow 1.0 format and the layouts added since:
// views, list views, run-end encoding, 32/64-bit decimals.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "arrow/array.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::testing {

struct IntegrationJson {
  std::shared_ptr<const Schema> schema;
  // Dictionary-encoded columns hold their dictionary in ArrayData::dictionary.
  std::vector<RecordBatch> batches;
  std::map<int64_t, std::shared_ptr<const ArrayData>> dictionaries;  // by id
};

Result<IntegrationJson> ParseIntegrationJson(std::string_view text);

// Reads a .json file, or a .json.gz one (decompressed with zlib).
Result<IntegrationJson> ReadIntegrationJsonFile(const std::filesystem::path& path);

}  // namespace zkarrow::arrow::testing

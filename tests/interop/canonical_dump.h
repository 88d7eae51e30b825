// zkarrow's own reading of an Arrow IPC file or stream, in the canonical
// form of tests/interop/canonical.mjs, so that it compares with what the
// JavaScript readers print. Covers the types of the znode table and of
// write_with.mjs's table (not decimals, times, durations, unions, maps).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace zkarrow::interop {

// First element: {"fields": [{"name": ...}, ...]}; then one array per row.
Result<std::vector<nlohmann::json>> CanonicalDump(const std::filesystem::path& ipc_file);

// "" when two canonical dumps hold the same field names and rows; else the
// first difference. zkarrow's dump names fields without types, so only the
// names are compared.
std::string DiffCanonicalDumps(const std::vector<nlohmann::json>& expected,
                               const std::vector<nlohmann::json>& actual);

}  // namespace zkarrow::interop

// zkarrow's own reading of an Arrow IPC file or stream, in the canonical
// form of tests/interop/canonical.mjs, so that it compares with what the
// JavaScript readers print. Covers the types of the znode table and of
// write_with.mjs's table (not decimals, times, durations, unions, maps).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/status.h"

namespace zkarrow::interop {

// First element: {"fields": [{"name": ...}, ...]}; then one array per row.
Result<std::vector<nlohmann::json>> CanonicalDump(const std::filesystem::path& ipc_file);

}  // namespace zkarrow::interop

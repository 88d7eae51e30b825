// The change table `zkarrow watch` writes: every column of the znode table
// (znodes/znode_schema.h, in its order, typed columns included) followed by
// `event`, `zxid` and `observed_at`. Rows replay into the tree: initial,
// created and changed put the row at its path, deleted removes the path,
// resync only marks that the stream re-read the tree.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "arrow/type.h"

namespace zkarrow::watch {

enum class ChangeEvent : uint8_t { kInitial, kCreated, kChanged, kDeleted, kResync };

// Names by ChangeEvent value; also the event column's dictionary, in this order.
inline constexpr std::array<std::string_view, 5> kChangeEventNames = {
    "initial", "created", "changed", "deleted", "resync"};
static_assert(kChangeEventNames.size() == static_cast<size_t>(ChangeEvent::kResync) + 1);

inline std::string_view ChangeEventName(ChangeEvent event) {
  return kChangeEventNames[static_cast<size_t>(event)];
}

// The event column's dictionary id (the znode table uses 0 and 1).
inline constexpr int64_t kEventDictionaryId = 2;

// Schema metadata key: the zxid the server had applied when the watch was
// registered; every later transaction in the subtree reaches the stream.
inline constexpr const char* kMetaStartZxid = "zkarrow.start_zxid";

// The znode table's columns plus event, zxid, observed_at.
arrow::Schema ChangeTableSchema(bool typed_values);

}  // namespace zkarrow::watch

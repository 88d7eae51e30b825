// Dictionary-encoded enum columns whose whole value set is known up front
// (a node's kind, a change's event, a diff's change): the dictionary is
// made once from the names and attached to every batch's indices, so it
// never grows (an IPC file holds one dictionary per id) and a stream
// carries it once (the writer sends a dictionary again only when its
// object changes).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "arrow/array.h"

namespace zkarrow::arrow {

// A utf8 array of `names`, in order: index i encodes names[i].
std::shared_ptr<const ArrayData> MakeEnumDictionary(std::span<const std::string_view> names);

// `indices` (int32) as a dictionary-encoded array over `dictionary`.
std::shared_ptr<const ArrayData> WithDictionary(std::shared_ptr<const ArrayData> indices,
                                                const std::shared_ptr<const ArrayData>& dictionary);

}  // namespace zkarrow::arrow

// The generated flatbuffers API for the Arrow IPC metadata (see
// src/arrow/format/*.fbs), under a short alias. Internal to src/arrow/ipc.
#pragma once

#include "arrow_format/File_generated.h"
#include "arrow_format/Message_generated.h"
#include "arrow_format/Schema_generated.h"

#include <cstdint>

namespace zkarrow::arrow::ipc {
namespace fb = org::apache::arrow::flatbuf;

// True when a (verified) vector of structs is absent, empty, or its elements
// sit at their natural alignment, so that reading them is defined behaviour.
// (Writers need not align the data of an empty vector.)
template <typename T>
bool IsStructVectorAligned(const flatbuffers::Vector<const T*>* vector) {
  return vector == nullptr || vector->size() == 0 ||
         reinterpret_cast<uintptr_t>(vector->Data()) % alignof(T) == 0;
}
}  // namespace zkarrow::arrow::ipc

// The generated flatbuffers API for the Arrow IPC metadata (see
// src/arrow/format/*.fbs), under a short alias. Internal to src/arrow/ipc.
#pragma once

#include "arrow_format/File_generated.h"
#include "arrow_format/Message_generated.h"
#include "arrow_format/Schema_generated.h"

namespace zkarrow::arrow::ipc {
namespace fb = org::apache::arrow::flatbuf;
}  // namespace zkarrow::arrow::ipc

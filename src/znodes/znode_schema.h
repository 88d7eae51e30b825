// The znode table: one row per znode. Its column names and types are a
// contract that other tools depend on, so they are defined here once and
// used by every producer (the live walker and the data-directory reader).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "arrow/builder.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::znodes {

// Column positions, in table order.
enum ZnodeColumn : int {
  kPathColumn,
  kNameColumn,
  kParentColumn,
  kDepthColumn,
  kKindColumn,
  kDataColumn,
  kDataLengthColumn,
  kNumChildrenColumn,
  kVersionColumn,
  kCversionColumn,
  kAversionColumn,
  kCzxidColumn,
  kMzxidColumn,
  kPzxidColumn,
  kEphemeralOwnerColumn,
  kCtimeColumn,
  kMtimeColumn,
  kTtlMsColumn,
  kAclColumn,
  kErrorColumn,
  // Only with typed values (--typed):
  kValueTypeColumn,
  kValueIntColumn,
  kValueFloatColumn,
  kValueTextColumn,
};

inline constexpr int kBaseColumnCount = kValueTypeColumn;
inline constexpr int kTypedColumnCount = kValueTextColumn + 1;

// Dictionary ids of the dictionary-encoded columns.
inline constexpr int64_t kKindDictionaryId = 0;
inline constexpr int64_t kValueTypeDictionaryId = 1;

// Keys of the schema's custom metadata.
inline constexpr const char* kMetaSource = "zkarrow.source";
inline constexpr const char* kMetaRoot = "zkarrow.root";
inline constexpr const char* kMetaMinZxid = "zkarrow.min_zxid";
inline constexpr const char* kMetaMaxZxid = "zkarrow.max_zxid";
inline constexpr const char* kMetaStartTime = "zkarrow.start_time";
inline constexpr const char* kMetaEndTime = "zkarrow.end_time";
inline constexpr const char* kMetaVersion = "zkarrow.version";
inline constexpr const char* kMetaZnodes = "zkarrow.znodes";
// Whether the data column was read. kMetaDataRead: a null `data` whose
// `error` is null is a node holding ZooKeeper's null data (a create or
// setData without data, which getData returns as null), apart from empty
// bytes. kMetaDataNotRead (--no-data, data=false): every `data` is null.
// Tables written before this key never held null data, so without it a null
// `data` means not read.
inline constexpr const char* kMetaData = "zkarrow.data";
inline constexpr const char* kMetaDataRead = "read";
inline constexpr const char* kMetaDataNotRead = "none";

arrow::Schema ZnodeTableSchema(bool typed_values);

// Whether `schema` is that of a znode table zkarrow wrote (snapshot, serve):
// its source in the metadata, the columns of ZnodeTableSchema(false or true).
bool IsZnodeTable(const arrow::Schema& schema);

// Whether the custom metadata of a znode table's last record batch holds
// the end-of-run summary (kMetaZnodes) that the writer attaches once its run
// finished. Without it the table stops where the run that wrote it did: a
// complete Arrow file or stream, but not the whole tree.
bool HasEndOfRunMetadata(const arrow::KeyValueMetadata& last_batch_metadata);

// Whether `metadata` (a znode table's) says its data column was read
// (kMetaData is kMetaDataRead).
bool DataColumnWasRead(const arrow::KeyValueMetadata& metadata);

// The positions in ZnodeTableSchema(typed_values) of the columns named in
// `names` (comma-separated, in the order given), for a table of only those.
// An unknown or repeated name is an error listing the valid ones.
Result<std::vector<int>> ZnodeColumnsNamed(std::string_view names, bool typed_values);

// `schema` with only the fields at `columns`, in that order.
arrow::Schema SelectFields(const arrow::Schema& schema, const std::vector<int>& columns);

// The ACL list's element: struct{perms int32, scheme utf8, id utf8}.
arrow::DataType AclEntryType();

// A builder of AclEntryType values, for the values of an acl column's
// ListBuilder: children 0, 1, 2 are an Int32Builder and two StringBuilders.
std::unique_ptr<arrow::ArrayBuilder> MakeAclEntryBuilder();

}  // namespace zkarrow::znodes

#include "znodes/datadir/txnlog_table.h"

#include <string_view>
#include <vector>

#include "zk/error_code.h"
#include "znodes/datadir/data_dir_files.h"
#include "znodes/datadir/file_format.h"
#include "znodes/datadir/txn_log_pipeline.h"
#include "znodes/znode_schema.h"

namespace zkarrow::znodes::datadir {
namespace {

using arrow::MakeField;

enum Column : int {
  kZxid,
  kTime,
  kSession,
  kCxid,
  kType,
  kMultiIndex,
  kPath,
  kData,
  kVersion,
  kAcl,
  kEphemeral,
  kTtlMs,
  kParentCversion,
  kSessionTimeoutMs,
  kError,
};

constexpr int64_t kTypeDictionaryId = 0;

bool IsCreate(int32_t type) {
  return type == kOpCreate || type == kOpCreate2 || type == kOpCreateContainer ||
         type == kOpCreateTtl;
}
bool HasPath(int32_t type) {
  return IsCreate(type) || type == kOpDelete || type == kOpDeleteContainer || type == kOpSetData ||
         type == kOpSetAcl || type == kOpCheck || type == kOpReconfig;
}
bool HasData(int32_t type) { return IsCreate(type) || type == kOpSetData || type == kOpReconfig; }

template <typename T, typename Builder>
void AppendOptional(Builder& builder, const std::optional<T>& value) {
  if (value) {
    builder.Append(*value);
  } else {
    builder.AppendNull();
  }
}

}  // namespace

arrow::Schema TxnLogSchema() {
  arrow::Field type = MakeField("type", arrow::Utf8Type(), false);
  type.dictionary =
      arrow::DictionaryEncoding{.id = kTypeDictionaryId, .index_type = arrow::Int32()};
  arrow::Schema schema;
  schema.fields = {
      MakeField("zxid", arrow::Int64(), false),
      MakeField("time", arrow::TimestampType(arrow::TimeUnit::kMillisecond, "UTC"), false),
      MakeField("session", arrow::Int64(), false),
      MakeField("cxid", arrow::Int32(), false),
      type,
      MakeField("multi_index", arrow::Int32()),
      MakeField("path", arrow::Utf8Type()),
      MakeField("data", arrow::BinaryType()),
      MakeField("version", arrow::Int32()),
      MakeField("acl", arrow::ListType(MakeField("item", AclEntryType(), false))),
      MakeField("ephemeral", arrow::BoolType()),
      MakeField("ttl_ms", arrow::Int64()),
      MakeField("parent_cversion", arrow::Int32()),
      MakeField("session_timeout_ms", arrow::Int32()),
      MakeField("error", arrow::Utf8Type()),
  };
  return schema;
}

Result<TxnLogBatchBuilder> TxnLogBatchBuilder::Make() {
  ZKA_ASSIGN_OR_RETURN(auto columns, arrow::RecordBatchBuilder::Make(
                                         std::make_shared<const arrow::Schema>(TxnLogSchema())));
  // The type dictionary is declared whole before the first batch: an IPC
  // file holds one dictionary per id, so one that grew when a type first
  // appeared in a later batch could not be written (a stream would need a
  // replacement or delta that some readers refuse).
  std::vector<std::string_view> names;
  for (const OpCodeInfo& op : kLogOpCodes) names.push_back(op.name);
  const int32_t index_bits = columns.schema()->fields[kType].dictionary->index_type.bit_width;
  ZKA_ASSIGN_OR_RETURN(auto type_builder,
                       arrow::StringDictionaryBuilder::MakeFixed(index_bits, names));
  columns.ReplaceColumn(kType, std::move(type_builder));
  return TxnLogBatchBuilder(std::move(columns));
}

// The builders live on the heap (owned by columns_), so the pointers stay
// valid when this object moves.
TxnLogBatchBuilder::TxnLogBatchBuilder(arrow::RecordBatchBuilder columns)
    : columns_(std::move(columns)) {
  auto& acl = columns_.column_as<arrow::ListBuilder>(kAcl);
  auto& entry = acl.values_as<arrow::StructBuilder>();
  b_ = {
      .zxid = &columns_.column_as<arrow::Int64Builder>(kZxid),
      .time = &columns_.column_as<arrow::TimestampBuilder>(kTime),
      .session = &columns_.column_as<arrow::Int64Builder>(kSession),
      .cxid = &columns_.column_as<arrow::Int32Builder>(kCxid),
      .type = &columns_.column_as<arrow::StringDictionaryBuilder>(kType),
      .multi_index = &columns_.column_as<arrow::Int32Builder>(kMultiIndex),
      .path = &columns_.column_as<arrow::BinaryBuilder>(kPath),
      .data = &columns_.column_as<arrow::BinaryBuilder>(kData),
      .version = &columns_.column_as<arrow::Int32Builder>(kVersion),
      .acl = &acl,
      .acl_entry = &entry,
      .acl_perms = &entry.child_as<arrow::Int32Builder>(0),
      .acl_scheme = &entry.child_as<arrow::BinaryBuilder>(1),
      .acl_id = &entry.child_as<arrow::BinaryBuilder>(2),
      .ephemeral = &columns_.column_as<arrow::BooleanBuilder>(kEphemeral),
      .ttl_ms = &columns_.column_as<arrow::Int64Builder>(kTtlMs),
      .parent_cversion = &columns_.column_as<arrow::Int32Builder>(kParentCversion),
      .session_timeout_ms = &columns_.column_as<arrow::Int32Builder>(kSessionTimeoutMs),
      .error = &columns_.column_as<arrow::BinaryBuilder>(kError),
  };
}

std::array<arrow::BinaryBuilder*, 5> TxnLogBatchBuilder::VariableLengthBuilders() const {
  return {b_.path, b_.data, b_.acl_scheme, b_.acl_id, b_.error};
}

Result<arrow::RecordBatch> TxnLogBatchBuilder::Finish() {
  const auto builders = VariableLengthBuilders();
  for (size_t i = 0; i < builders.size(); ++i) {
    last_value_bytes_[i] = builders[i]->value_data_length();
  }
  return columns_.Finish();
}

void TxnLogBatchBuilder::Reserve(int64_t rows) {
  columns_.Reserve(rows);
  const auto builders = VariableLengthBuilders();
  for (size_t i = 0; i < builders.size(); ++i) builders[i]->ReserveData(last_value_bytes_[i]);
}

int64_t TxnLogBatchBuilder::value_bytes() {
  return b_.path->value_data_length() + b_.data->value_data_length();
}

Status TxnLogBatchBuilder::Append(const Transaction& txn) {
  if (txn.header.type != kOpMulti) {
    return AppendRow(txn.header, txn.ops.empty() ? nullptr : &txn.ops.front(), txn.header.type,
                     std::nullopt);
  }
  if (txn.ops.empty()) return AppendRow(txn.header, nullptr, kOpMulti, std::nullopt);
  for (size_t i = 0; i < txn.ops.size(); ++i) {
    ZKA_RETURN_IF_ERROR(
        AppendRow(txn.header, &txn.ops[i], txn.ops[i].type, static_cast<int32_t>(i)));
  }
  return Status::Ok();
}

Status TxnLogBatchBuilder::AppendRow(const TxnHeader& header, const TxnOp* op, int32_t type,
                                     std::optional<int32_t> multi_index) {
  b_.zxid->Append(header.zxid);
  b_.time->Append(header.time_ms);
  b_.session->Append(header.session);
  b_.cxid->Append(header.cxid);
  // DecodeTransaction refuses types outside kLogOpCodes, so the fixed
  // dictionary (kLogOpCodes' names in order) holds every type at its index
  // there: no string lookup per row; a miss fails here, not in the writer.
  ZKA_RETURN_IF_ERROR(b_.type->AppendIndex(OpCodeIndex(type)));
  AppendOptional(*b_.multi_index, multi_index);

  const bool known = op != nullptr;
  if (known && HasPath(type)) {
    ZKA_RETURN_IF_ERROR(b_.path->Append(op->path));
  } else {
    b_.path->AppendNull();
  }
  if (known && HasData(type) && !op->null_data) {
    ZKA_RETURN_IF_ERROR(b_.data->Append(op->data));
  } else {
    b_.data->AppendNull();
  }
  AppendOptional(*b_.version, known ? op->version : std::nullopt);
  if (known && (IsCreate(type) || type == kOpSetAcl)) {
    ZKA_RETURN_IF_ERROR(b_.acl->Append());
    for (const TxnAcl& a : op->acl) {
      b_.acl_entry->Append();
      b_.acl_perms->Append(a.perms);
      ZKA_RETURN_IF_ERROR(b_.acl_scheme->Append(a.scheme));
      ZKA_RETURN_IF_ERROR(b_.acl_id->Append(a.id));
    }
  } else {
    b_.acl->AppendNull();
  }
  if (known && (type == kOpCreate || type == kOpCreate2)) {
    b_.ephemeral->Append(op->ephemeral);
  } else {
    b_.ephemeral->AppendNull();
  }
  AppendOptional(*b_.ttl_ms, known ? op->ttl_ms : std::nullopt);
  AppendOptional(*b_.parent_cversion, known && IsCreate(type)
                                          ? std::optional<int32_t>(op->parent_cversion)
                                          : std::nullopt);
  AppendOptional(*b_.session_timeout_ms, known ? op->session_timeout_ms : std::nullopt);
  if (known && type == kOpError) {
    ZKA_RETURN_IF_ERROR(b_.error->Append(zk::ErrorCodeName(static_cast<zk::ErrorCode>(op->error))));
  } else {
    b_.error->AppendNull();
  }
  return Status::Ok();
}

Status WriteTxnLogTable(const TxnLogOptions& options, arrow::ipc::IpcWriter& writer,
                        TxnLogSummary* summary) {
  ZKA_ASSIGN_OR_RETURN(auto listing, ListDataDir(options.dir));
  ZKA_ASSIGN_OR_RETURN(auto builder, TxnLogBatchBuilder::Make());
  builder.Reserve(options.rows_per_batch);
  auto flush = [&]() -> Status {
    if (builder.num_rows() == 0) return Status::Ok();
    summary->rows += static_cast<size_t>(builder.num_rows());
    {
      ZKA_ASSIGN_OR_RETURN(auto batch, builder.Finish());
      ZKA_RETURN_IF_ERROR(writer.WriteBatch(batch));
    }
    // Once the batch is gone: its freed buffers are what the next one takes.
    builder.Reserve(options.rows_per_batch);
    return Status::Ok();
  };
  bool any = false;
  int64_t last_zxid = 0;
  TxnLogPipeline pipeline(listing.logs);
  size_t log = listing.logs.size();  // the log being read
  while (const TxnLogPipeline::Block* block = pipeline.Next()) {
    if (block->load_failed) return block->status;
    const DataFile& file = listing.logs[block->log];
    if (block->log != log) {
      log = block->log;
      ++summary->logs;
    }
    const std::string name = file.path.filename().string();
    for (size_t k = 0; k < block->count; ++k) {
      const Transaction& txn = block->txns[k];
      const int64_t zxid = txn.header.zxid;
      if (any && zxid <= last_zxid) continue;  // logs may overlap
      if (any && (zxid >> 32) == (last_zxid >> 32) && zxid != last_zxid + 1) {
        summary->warnings.push_back(name + ": transactions " + ZxidToHex(last_zxid + 1) + " to " +
                                    ZxidToHex(zxid - 1) + " are missing before offset " +
                                    std::to_string(block->offsets[k]));
      }
      if (!any) summary->first_zxid = zxid;
      any = true;
      last_zxid = zxid;
      ++summary->transactions;
      ZKA_RETURN_IF_ERROR(builder.Append(txn));
      if (builder.num_rows() >= options.rows_per_batch ||
          builder.value_bytes() >= options.value_bytes_per_batch) {
        ZKA_RETURN_IF_ERROR(flush());
      }
    }
    if (!block->status.ok()) return block->status.WithContext(file.path.string());
    if (block->log_end && !block->partial_tail.empty()) {
      summary->warnings.push_back(name + ": " + block->partial_tail + "; read up to there");
    }
  }
  summary->last_zxid = last_zxid;
  return flush();
}

}  // namespace zkarrow::znodes::datadir

// Fuzzes the offline reader's decoders with untrusted bytes: the input is
// decoded both as a snapshot (into a DataTree, then walked and digested) and
// as a transaction log (every entry decoded and applied to that tree).
#include <cstddef>
#include <cstdint>
#include <span>

#include "znodes/datadir/data_tree.h"
#include "znodes/datadir/snapshot.h"
#include "znodes/datadir/txn_log.h"

using zkarrow::Status;
using zkarrow::znodes::ZnodeRecord;
namespace datadir = zkarrow::znodes::datadir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  datadir::DataTree tree;
  (void)datadir::DecodeSnapshot(bytes, &tree);

  auto log = datadir::TxnLogReader::Open(bytes);
  if (log.ok()) {
    datadir::Transaction txn;
    while (true) {
      auto more = log->Next(&txn);
      if (!more.ok() || !*more) break;
      tree.Apply(txn);
    }
  }
  (void)tree.Digest();
  (void)tree.ForEach([](const ZnodeRecord&) { return Status::Ok(); });
  return 0;
}

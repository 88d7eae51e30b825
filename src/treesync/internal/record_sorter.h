// External sort of Records by path: records are kept in memory up to a
// budget, then sorted and spilled as a run to an unnamed temporary file
// (tmpfile(3): gone when closed or when the process dies); Finish() returns
// a stream that merges the runs and what is still in memory.
#pragma once

#include <cstdio>
#include <memory>
#include <vector>

#include "base/status.h"
#include "treesync/source.h"

namespace zkarrow::treesync::internal {

class RecordSorter {
 public:
  explicit RecordSorter(size_t memory_budget) : memory_budget_(memory_budget) {}

  Status Add(Record record);
  int64_t spilled_runs() const { return static_cast<int64_t>(runs_.size()); }

  // The records in path order. Two records with the same path are an error
  // (kInvalidData): a tree has one node per path.
  Result<std::unique_ptr<RecordStream>> Finish() &&;

  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  using File = std::unique_ptr<std::FILE, FileCloser>;

 private:
  Status Spill();

  size_t memory_budget_;
  size_t memory_used_ = 0;
  std::vector<Record> records_;
  std::vector<File> runs_;
};

// A run file's record codec (exposed for tests). Read returns false at a
// clean end of the file.
Status WriteRecord(const Record& record, std::FILE* file);
Result<bool> ReadRecord(std::FILE* file, Record* record);

}  // namespace zkarrow::treesync::internal

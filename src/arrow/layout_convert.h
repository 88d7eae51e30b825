// Conversions between the layouts added to the Arrow format after 1.0 and
// their 1.0 equivalents: `convert --compat 1.0` writes for readers that lag
// (views -> binary/utf8, list views -> lists, run-end encoded -> the plain
// values, decimal32/64 -> decimal128), and `--string-view` writes chosen utf8
// columns as utf8_view. Values are the same before and after; converted
// arrays are new (offset 0), untouched ones are shared.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arrow/array.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow {
namespace ipc {
class GrowingArray;
struct ByteBudget;
}  // namespace ipc

// The 1.0 equivalent of `field` (itself when it has no newer layout inside).
// A run-end encoded field becomes its values field, under its own name.
Field Format1Field(const Field& field);
Schema Format1Schema(const Schema& schema);

// Converts batches of one schema to Format1Schema's. A dictionary is
// converted once per source object, so that batches sharing a dictionary
// still share one (an IPC file cannot replace a dictionary).
class Format1Converter {
 public:
  explicit Format1Converter(std::shared_ptr<const Schema> source);

  const std::shared_ptr<const Schema>& schema() const { return target_; }
  Result<RecordBatch> Convert(const RecordBatch& batch);

 private:
  Result<std::shared_ptr<const ArrayData>> Array(const Field& field,
                                                 const std::shared_ptr<const ArrayData>& array);
  Result<std::shared_ptr<const ArrayData>> Dictionary(
      const Field& value_field, const std::shared_ptr<const ArrayData>& dictionary);
  Result<std::shared_ptr<const ArrayData>> ListViews(const DataType& type, const ArrayData& array);
  Result<std::shared_ptr<const ArrayData>> Runs(const DataType& type, const ArrayData& array);

  // The conversion of `array` (of `field`: a list view's child, a run-end
  // encoded array's values) and an empty array of its 1.0 type, into which
  // element ranges of it are copied.
  struct Gather {
    std::shared_ptr<const ArrayData> source;
    std::unique_ptr<ipc::GrowingArray> target;
  };
  Result<Gather> StartGather(const Field& field, const std::shared_ptr<const ArrayData>& array,
                             ipc::ByteBudget& budget);

  std::shared_ptr<const Schema> source_;
  std::shared_ptr<const Schema> target_;
  // By source dictionary: the source (kept alive, so the key stays unique)
  // and its conversion.
  std::map<const ArrayData*,
           std::pair<std::shared_ptr<const ArrayData>, std::shared_ptr<const ArrayData>>>
      dictionaries_;
};

// `schema` with the top-level utf8 columns named in `names` as utf8_view.
Schema WithStringViews(const Schema& schema, const std::vector<std::string>& names);
// `batch` (of the schema WithStringViews was given) as a batch of `target`
// (what it returned): the columns whose type changed are re-encoded.
Result<RecordBatch> ToStringViews(const std::shared_ptr<const Schema>& target,
                                  const RecordBatch& batch);

}  // namespace zkarrow::arrow

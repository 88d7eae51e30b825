#include "arrow/enum_dictionary.h"

#include "arrow/builder.h"

namespace zkarrow::arrow {

std::shared_ptr<const ArrayData> MakeEnumDictionary(std::span<const std::string_view> names) {
  StringBuilder builder;
  // Appending short names cannot pass utf8's 2 GiB offset limit.
  for (std::string_view name : names) (void)builder.Append(name);
  return builder.Finish();
}

std::shared_ptr<const ArrayData> WithDictionary(
    std::shared_ptr<const ArrayData> indices, const std::shared_ptr<const ArrayData>& dictionary) {
  auto encoded = std::make_shared<ArrayData>(*indices);
  encoded->dictionary = dictionary;
  return encoded;
}

}  // namespace zkarrow::arrow

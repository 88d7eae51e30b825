// Builders append values column by column into 64-byte aligned buffers laid
// out exactly as array.h describes, then Finish() hands the buffers over as an
// ArrayData without copying and leaves the builder empty for the next batch.
//
// Nothing is allocated per value: buffers grow geometrically, and Reserve()
// sizes them once for bulk appends. The validity bitmap appears only when the
// first null is appended. Appends that cannot fail return void; appends that
// can overflow a 32-bit offset or index return a Status, so that a caller can
// finish the batch early and start a new one.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "arrow/array.h"
#include "arrow/bitmap_builder.h"
#include "arrow/buffer.h"
#include "base/status.h"

namespace zkarrow::arrow {

class ArrayBuilder {
 public:
  virtual ~ArrayBuilder() = default;
  ArrayBuilder(const ArrayBuilder&) = delete;
  ArrayBuilder& operator=(const ArrayBuilder&) = delete;

  int64_t length() const { return validity_.length(); }
  int64_t null_count() const { return validity_.null_count(); }

  // Makes room for `additional` more elements (nested builders: of this level only).
  virtual void Reserve(int64_t additional) = 0;
  virtual void AppendNull() = 0;
  void AppendNulls(int64_t n) {
    for (int64_t i = 0; i < n; ++i) AppendNull();
  }

  // The array built so far; the builder is empty afterwards.
  virtual std::shared_ptr<const ArrayData> Finish() = 0;

 protected:
  ArrayBuilder() = default;

  // Moves length, null count and validity into a fresh ArrayData.
  std::shared_ptr<ArrayData> FinishValidity();

  ValidityBuilder validity_;
};

// Downcasts a builder whose concrete type the caller knows (it made it, or
// made the schema it came from). A wrong guess is a bug in the caller, so it
// aborts rather than returning an error.
[[noreturn]] void AbortWrongBuilderType();

template <typename B>
B& BuilderAs(ArrayBuilder& builder) {
  auto* typed = dynamic_cast<B*>(&builder);
  if (typed == nullptr) AbortWrongBuilderType();
  return *typed;
}

// int8..uint64, float, double, and the temporal types stored as one of them
// (timestamp and duration: int64; date32: int32...).
template <typename T>
class NumericBuilder final : public ArrayBuilder {
  static_assert(std::is_arithmetic_v<T>);

 public:
  using value_type = T;
  NumericBuilder() = default;

  void Reserve(int64_t additional) override {
    validity_.Reserve(additional);
    values_.Reserve(additional * static_cast<int64_t>(sizeof(T)));
  }
  void Append(T value) {
    validity_.AppendValid();
    values_.AppendValue(value);
  }
  void AppendValues(std::span<const T> values) {
    validity_.AppendValid(static_cast<int64_t>(values.size()));
    values_.Append(values.data(), static_cast<int64_t>(values.size_bytes()));
  }
  void AppendNull() override {
    validity_.AppendNulls(1);
    values_.AppendValue(T{});
  }
  std::shared_ptr<const ArrayData> Finish() override {
    auto data = FinishValidity();
    data->buffers.push_back(values_.Finish());
    return data;
  }

 private:
  BufferBuilder values_;
};

using Int8Builder = NumericBuilder<int8_t>;
using Int16Builder = NumericBuilder<int16_t>;
using Int32Builder = NumericBuilder<int32_t>;
using Int64Builder = NumericBuilder<int64_t>;
using UInt8Builder = NumericBuilder<uint8_t>;
using UInt16Builder = NumericBuilder<uint16_t>;
using UInt32Builder = NumericBuilder<uint32_t>;
using UInt64Builder = NumericBuilder<uint64_t>;
using FloatBuilder = NumericBuilder<float>;
using DoubleBuilder = NumericBuilder<double>;
// Values are counts of the field's time unit since the Unix epoch.
using TimestampBuilder = NumericBuilder<int64_t>;

class BooleanBuilder final : public ArrayBuilder {
 public:
  void Reserve(int64_t additional) override {
    validity_.Reserve(additional);
    values_.Reserve(additional);
  }
  void Append(bool value) {
    validity_.AppendValid();
    values_.Append(value);
  }
  void AppendNull() override {
    validity_.AppendNulls(1);
    values_.Append(false);
  }
  std::shared_ptr<const ArrayData> Finish() override;

 private:
  BitmapBuilder values_;
};

// binary and utf8 (the builder does not check UTF-8; the caller's values are).
class BinaryBuilder final : public ArrayBuilder {
 public:
  BinaryBuilder();

  void Reserve(int64_t additional) override {
    validity_.Reserve(additional);
    offsets_.Reserve(additional * static_cast<int64_t>(sizeof(int32_t)));
  }
  // Room for `bytes` more bytes of value data.
  void ReserveData(int64_t bytes) { data_.Reserve(bytes); }

  // Fails with kOutOfRange, appending nothing, when the batch's value data
  // would pass 2 GiB (the limit of int32 offsets).
  Status Append(std::string_view value) {
    return Append(std::span(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  }
  Status Append(std::span<const uint8_t> value);
  void AppendNull() override {
    validity_.AppendNulls(1);
    offsets_.AppendValue(static_cast<int32_t>(data_.size()));
  }

  // Bytes of value data so far: callers cut batches before the 2 GiB limit.
  int64_t value_data_length() const { return data_.size(); }

  std::shared_ptr<const ArrayData> Finish() override;

 private:
  BufferBuilder offsets_;  // holds length() + 1 offsets, starting with 0
  BufferBuilder data_;
};

using StringBuilder = BinaryBuilder;

// binary_view and utf8_view: values of up to 12 bytes inline in their view,
// longer ones appended to a data buffer (a new one whenever the current
// would pass the int32 offsets of a view). Does not check UTF-8 either.
class BinaryViewBuilder final : public ArrayBuilder {
 public:
  void Reserve(int64_t additional) override {
    validity_.Reserve(additional);
    views_.Reserve(additional * 16);
  }
  // Fails with kOutOfRange, appending nothing, for a value over 2 GiB.
  Status Append(std::span<const uint8_t> value);
  Status Append(std::string_view value) {
    return Append(std::span(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  }
  void AppendNull() override {
    validity_.AppendNulls(1);
    views_.AppendZeros(16);
  }

  // The array: validity, views, then the data buffers.
  std::shared_ptr<const ArrayData> Finish() override;

 private:
  BufferBuilder views_;
  BufferBuilder data_;  // the data buffer being filled
  std::vector<std::shared_ptr<const Buffer>> full_data_;
};

// list<item>: Append() opens the next list; the values that follow go to
// values() until the next Append(), AppendNull() or Finish().
class ListBuilder final : public ArrayBuilder {
 public:
  explicit ListBuilder(std::unique_ptr<ArrayBuilder> values);

  void Reserve(int64_t additional) override {
    validity_.Reserve(additional);
    offsets_.Reserve(additional * static_cast<int64_t>(sizeof(int32_t)));
  }
  // Fails with kOutOfRange when the child holds more than INT32_MAX values.
  Status Append();
  void AppendNull() override;

  ArrayBuilder& values() { return *values_; }
  // The child builder as its concrete type, e.g. values_as<StructBuilder>().
  template <typename B>
  B& values_as() {
    return BuilderAs<B>(*values_);
  }

  std::shared_ptr<const ArrayData> Finish() override;

 private:
  std::unique_ptr<ArrayBuilder> values_;
  BufferBuilder offsets_;  // the start of every list so far; the end is added by Finish()
};

// struct<...>: for every Append(), append exactly one value (or null) to each
// child. AppendNull() appends a null to every child itself.
class StructBuilder final : public ArrayBuilder {
 public:
  explicit StructBuilder(std::vector<std::unique_ptr<ArrayBuilder>> children);

  void Reserve(int64_t additional) override { validity_.Reserve(additional); }
  void Append() { validity_.AppendValid(); }
  void AppendNull() override;

  int num_children() const { return static_cast<int>(children_.size()); }
  ArrayBuilder& child(int i) { return *children_[static_cast<size_t>(i)]; }
  template <typename B>
  B& child_as(int i) {
    return BuilderAs<B>(child(i));
  }

  std::shared_ptr<const ArrayData> Finish() override;

 private:
  std::vector<std::unique_ptr<ArrayBuilder>> children_;
};

}  // namespace zkarrow::arrow

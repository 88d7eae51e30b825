// One array element as text, for `zkarrow cat`. Two renderings:
//
// Text (table and CSV cells): numbers, booleans and ISO-8601 times as usual;
// utf8 as is; binary with printable ASCII as is and every other byte (and the
// backslash) as \xNN; nested values (list, struct, map, union) as their JSON.
//
// JSON: 64-bit integers as numbers (exact, even beyond 2^53); floats as the
// shortest round-tripping number, NaN and infinities as the strings "NaN",
// "Infinity", "-Infinity"; decimals as strings ("-12.30"); binary as base64
// strings (RFC 4648, padded); dates, times and timestamps as ISO-8601
// strings; durations as integers of their unit; intervals as objects
// ({"months":..,"days":..,"nanoseconds":..}); lists as arrays; structs as
// objects; maps as arrays of {"key":..,"value":..}; dictionary-encoded values
// as the value they stand for. Invalid UTF-8 in utf8 values becomes U+FFFD.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "arrow/array.h"
#include "arrow/type.h"

namespace zkarrow::arrow::print {

// True when element i is null (for a union: when its selected child value is).
bool IsNullAt(const Field& field, const ArrayData& data, int64_t i);

// Appends the text of element i, which is not null.
void AppendText(const Field& field, const ArrayData& data, int64_t i, std::string* out);

// Appends element i as a JSON value ("null" when null).
void AppendJson(const Field& field, const ArrayData& data, int64_t i, std::string* out);

// Appends `text` as a quoted JSON string.
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace zkarrow::arrow::print

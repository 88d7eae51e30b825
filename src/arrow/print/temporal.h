// ISO-8601 text for Arrow's temporal values. zkarrow carries no time zone
// database, so a timestamp with a zone is shown as its UTC instant ("Z"); a
// naive timestamp (no zone) is wall-clock time and gets no suffix.
#pragma once

#include <cstdint>
#include <string>

#include "arrow/type.h"

namespace zkarrow::arrow::print {

// "2024-02-29"; years outside 0000..9999 get a sign: "-0001-01-01", "+10000-01-01".
void AppendDate(int64_t days_since_epoch, std::string* out);

// "13:45:07.250" with as many fraction digits as the unit has (none for seconds).
void AppendTimeOfDay(int64_t value, TimeUnit unit, std::string* out);

// "2024-02-29T13:45:07.250Z" (with a zone) or "2024-02-29T13:45:07.250" (naive).
void AppendTimestamp(int64_t value, TimeUnit unit, bool utc, std::string* out);

// Units per second: 1, 1000, 1000000, 1000000000.
int64_t UnitsPerSecond(TimeUnit unit);
const char* TimeUnitSymbol(TimeUnit unit);  // "s", "ms", "us", "ns"

}  // namespace zkarrow::arrow::print

#include "arrow/print/temporal.h"

#include <chrono>
#include <cstdio>

namespace zkarrow::arrow::print {
namespace {

int FractionDigits(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSecond:
      return 0;
    case TimeUnit::kMillisecond:
      return 3;
    case TimeUnit::kMicrosecond:
      return 6;
    case TimeUnit::kNanosecond:
      return 9;
  }
  return 0;
}

// Division rounding towards negative infinity, so that times before the
// epoch land on the right day.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

void AppendFraction(int64_t fraction, TimeUnit unit, std::string* out) {
  const int digits = FractionDigits(unit);
  if (digits == 0) return;
  char text[48];
  std::snprintf(text, sizeof text, ".%0*lld", digits, static_cast<long long>(fraction));
  *out += text;
}

void AppendClock(int64_t second_of_day, std::string* out) {
  char text[48];
  std::snprintf(
      text, sizeof text, "%02lld:%02lld:%02lld", static_cast<long long>(second_of_day / 3600),
      static_cast<long long>(second_of_day / 60 % 60), static_cast<long long>(second_of_day % 60));
  *out += text;
}

}  // namespace

int64_t UnitsPerSecond(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSecond:
      return 1;
    case TimeUnit::kMillisecond:
      return 1000;
    case TimeUnit::kMicrosecond:
      return 1000000;
    case TimeUnit::kNanosecond:
      return 1000000000;
  }
  return 1;
}

const char* TimeUnitSymbol(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSecond:
      return "s";
    case TimeUnit::kMillisecond:
      return "ms";
    case TimeUnit::kMicrosecond:
      return "us";
    case TimeUnit::kNanosecond:
      return "ns";
  }
  return "?";
}

void AppendDate(int64_t days_since_epoch, std::string* out) {
  using namespace std::chrono;
  const year_month_day date{sys_days{days{days_since_epoch}}};
  const int year = static_cast<int>(date.year());
  char text[32];
  const char* format = year < 0      ? "-%04d-%02u-%02u"
                       : year > 9999 ? "+%04d-%02u-%02u"
                                     : "%04d-%02u-%02u";
  std::snprintf(text, sizeof text, format, year < 0 ? -year : year,
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  *out += text;
}

void AppendTimeOfDay(int64_t value, TimeUnit unit, std::string* out) {
  const int64_t per_second = UnitsPerSecond(unit);
  AppendClock(FloorDiv(value, per_second), out);
  AppendFraction(value - FloorDiv(value, per_second) * per_second, unit, out);
}

void AppendTimestamp(int64_t value, TimeUnit unit, bool utc, std::string* out) {
  const int64_t per_second = UnitsPerSecond(unit);
  const int64_t seconds = FloorDiv(value, per_second);
  const int64_t days = FloorDiv(seconds, 86400);
  AppendDate(days, out);
  *out += 'T';
  AppendClock(seconds - days * 86400, out);
  AppendFraction(value - seconds * per_second, unit, out);
  if (utc) *out += 'Z';
}

}  // namespace zkarrow::arrow::print

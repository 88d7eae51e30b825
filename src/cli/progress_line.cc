#include "cli/progress_line.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace zkarrow::cli {

ProgressLine::ProgressLine(std::string unit)
    : unit_(std::move(unit)), enabled_(::isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}

ProgressLine::~ProgressLine() { Clear(); }

void ProgressLine::Clear() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

void ProgressLine::Update(int64_t items, int64_t bytes) {
  if (!enabled_) return;
  Clock::time_point now = Clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  drawn_ = true;
  double seconds = std::chrono::duration<double>(now - start_).count();
  auto rate = static_cast<int64_t>(seconds > 0 ? static_cast<double>(items) / seconds : 0);
  std::fprintf(stderr, "\r\033[K%s %s  %s  %s/s", FormatCount(items).c_str(), unit_.c_str(),
               FormatBytes(bytes).c_str(), FormatCount(rate).c_str());
  std::fflush(stderr);
}

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  auto value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string FormatCount(int64_t count) {
  std::string digits = std::to_string(count < 0 ? -count : count);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return count < 0 ? "-" + grouped : grouped;
}

std::string IsoTimeNow() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace zkarrow::cli

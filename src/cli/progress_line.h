// A one-line progress report on stderr ("123,456 znodes  12.3 MB  45,678/s"),
// redrawn at most a few times a second, and only when stderr is a terminal so
// that logs and pipes stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace zkarrow::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string unit);
  ~ProgressLine();  // clears the line if one was drawn

  void Update(int64_t items, int64_t bytes);
  // Erases the line, so that a message can follow on a clean line.
  void Clear();

 private:
  using Clock = std::chrono::steady_clock;
  std::string unit_;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

// "1.2 MB", "3.4 GB": decimal units, as network rates are usually quoted.
std::string FormatBytes(int64_t bytes);
// "1,234,567"
std::string FormatCount(int64_t count);
// "2026-12-02T05:00:02Z": the time stamps of the tables' run metadata.
std::string IsoTimeNow();

}  // namespace zkarrow::cli

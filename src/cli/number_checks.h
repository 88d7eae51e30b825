// Numeric options that must be positive or not negative, refused in words:
// "--for: expected a number > 0, found '0'". CLI11's PositiveNumber and
// NonNegativeNumber print their range with a 309-digit upper bound ("Value
// 0 not in range 0.000000 to 1797693134862315708145274237317043567980...")
// and say 0 is outside [0, max].
#pragma once

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>

namespace zkarrow::cli {
namespace internal {

// Numbers above 0, or from 0 on when `zero_allowed`; `name` shows in --help.
inline CLI::Validator SignCheck(bool zero_allowed, const std::string& name) {
  return CLI::Validator(
      [zero_allowed](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        const bool number = end != text.c_str() && *end == '\0';
        // NaN fails both comparisons.
        if (number && (zero_allowed ? value >= 0 : value > 0)) return "";
        return std::string("expected a number ") + (zero_allowed ? ">= 0" : "> 0") + ", found '" +
               text + "'";
      },
      name);
}

}  // namespace internal

// A count (--in-flight) or a duration (--for).
inline const CLI::Validator kPositive = internal::SignCheck(/*zero_allowed=*/false, "POSITIVE");
// A bound that may be 0 (--limit, --max-depth, --if-version).
inline const CLI::Validator kNonNegative =
    internal::SignCheck(/*zero_allowed=*/true, "NONNEGATIVE");

}  // namespace zkarrow::cli

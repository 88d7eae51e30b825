// An option whose value is one of a few names (--compression zstd), mapped to
// a value of any type. CLI11's CheckedTransformer prints the mapped values in
// --help and in its errors, which for enums comes out as garbage; this shows
// the names only: "--compression none|lz4|zstd (default: none)".
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <type_traits>

namespace zkarrow::cli {
namespace internal {

inline std::string Lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace internal

// Adds `name` to `command`, storing choices.at(given name) into `value`
// (names compare case-insensitively). The current `value` is shown as the
// default when one of the choices maps to it.
// REQUIRES: `choices` outlives the parse (a static table).
template <typename T>
CLI::Option* AddChoiceOption(CLI::App& command, const std::string& name, T& value,
                             const std::map<std::string, T>& choices,
                             const std::string& description) {
  std::string names;
  std::string default_name;
  for (const auto& [choice, mapped] : choices) {
    names += (names.empty() ? "" : "|") + choice;
    if (mapped == value) default_name = choice;
  }
  std::string text = names;
  if (!default_name.empty()) text += " (default: " + default_name + ")";
  return command
      .add_option_function<std::string>(
          name,
          [&value, &choices](const std::string& given) {
            value = choices.at(internal::Lowered(given));
          },
          description)
      ->check(CLI::Validator(
          [&choices, names](std::string& given) -> std::string {
            if (choices.count(internal::Lowered(given)) != 0) return {};
            return "expected one of " + names + ", found '" + given + "'";
          },
          ""))
      ->option_text(text);
}

}  // namespace zkarrow::cli

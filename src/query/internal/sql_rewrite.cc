#include "query/internal/sql_rewrite.h"

#include <cctype>
#include <string_view>

namespace zkarrow::query::internal {
namespace {

// The table-valued calls rewritten: read_arrow('FILE') and dataset('NAME').
constexpr std::string_view kFunctions[] = {"read_arrow", "dataset"};

// The function `word` names (case-insensitive), or empty.
std::string_view CallNamed(std::string_view word) {
  for (std::string_view function : kFunctions) {
    bool same = word.size() == function.size();
    for (size_t k = 0; same && k < word.size(); ++k) {
      same = std::tolower(static_cast<unsigned char>(word[k])) == function[k];
    }
    if (same) return function;
  }
  return {};
}

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

size_t SkipSpaceAndComments(const std::string& sql, size_t i) {
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i]))) {
      ++i;
    } else if (sql.compare(i, 2, "--") == 0) {
      const size_t eol = sql.find('\n', i);
      i = eol == std::string::npos ? sql.size() : eol + 1;
    } else if (sql.compare(i, 2, "/*") == 0) {
      const size_t close = sql.find("*/", i + 2);
      i = close == std::string::npos ? sql.size() : close + 2;
    } else {
      break;
    }
  }
  return i;
}

// The end of a quoted token starting at i (quote doubled inside it escapes it).
size_t SkipQuoted(const std::string& sql, size_t i, char close) {
  ++i;
  while (i < sql.size()) {
    if (sql[i] == close) {
      if (close != ']' && i + 1 < sql.size() && sql[i + 1] == close) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  return sql.size();
}

}  // namespace

Result<std::vector<ArrowCall>> FindArrowCalls(const std::string& sql) {
  std::vector<ArrowCall> calls;
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {
      i = SkipQuoted(sql, i, c);
      continue;
    }
    if (c == '[') {
      i = SkipQuoted(sql, i, ']');
      continue;
    }
    if (sql.compare(i, 2, "--") == 0 || sql.compare(i, 2, "/*") == 0) {
      i = SkipSpaceAndComments(sql, i);
      continue;
    }
    if (!IsIdentifierChar(c)) {
      ++i;
      continue;
    }
    size_t word_end = i;
    while (word_end < sql.size() && IsIdentifierChar(sql[word_end])) ++word_end;
    const std::string_view word(sql.data() + i, word_end - i);
    const std::string_view function = CallNamed(word);
    size_t open = SkipSpaceAndComments(sql, word_end);
    if (function.empty() || open >= sql.size() || sql[open] != '(') {
      i = word_end;
      continue;
    }
    const size_t literal = SkipSpaceAndComments(sql, open + 1);
    const std::string usage = std::string(function) +
                              " takes one argument, a string literal: " + std::string(function) +
                              (function == "dataset" ? "('NAME')" : "('FILE')");
    if (literal >= sql.size() || sql[literal] != '\'') {
      return Status::InvalidArgument(usage + " (at character " + std::to_string(i + 1) + ")");
    }
    const size_t literal_end = SkipQuoted(sql, literal, '\'');
    const size_t close = SkipSpaceAndComments(sql, literal_end);
    if (literal_end > sql.size() || sql[literal_end - 1] != '\'' || close >= sql.size() ||
        sql[close] != ')') {
      return Status::InvalidArgument(usage + " (at character " + std::to_string(i + 1) + ")");
    }
    std::string path;
    for (size_t k = literal + 1; k + 1 < literal_end; ++k) {
      path += sql[k];
      if (sql[k] == '\'') ++k;  // '' stands for one quote
    }
    calls.push_back(
        {.begin = i, .end = close + 1, .function = std::string(function), .path = std::move(path)});
    i = close + 1;
  }
  return calls;
}

bool HasCompoundSelect(const std::string& sql) {
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"' || c == '`' || c == '[') {
      i = SkipQuoted(sql, i, c == '[' ? ']' : c);
    } else if (sql.compare(i, 2, "--") == 0 || sql.compare(i, 2, "/*") == 0) {
      i = SkipSpaceAndComments(sql, i);
    } else if (!IsIdentifierChar(c)) {
      ++i;
    } else {
      size_t end = i;
      while (end < sql.size() && IsIdentifierChar(sql[end])) ++end;
      std::string word(sql, i, end - i);
      for (char& w : word) w = static_cast<char>(std::toupper(static_cast<unsigned char>(w)));
      if (word == "UNION" || word == "INTERSECT" || word == "EXCEPT") return true;
      i = end;
    }
  }
  return false;
}

std::string ReplaceArrowCalls(const std::string& sql, const std::vector<ArrowCall>& calls,
                              const std::vector<std::string>& names) {
  std::string out;
  size_t at = 0;
  for (size_t k = 0; k < calls.size(); ++k) {
    out.append(sql, at, calls[k].begin - at);
    out += names[k];
    at = calls[k].end;
  }
  out.append(sql, at, std::string::npos);
  return out;
}

size_t OriginalOffset(size_t offset, const std::vector<ArrowCall>& calls,
                      const std::vector<std::string>& names) {
  // Walk the replacements in order, shifting by what each changed in length.
  size_t original = offset;
  size_t replaced_at = 0;  // where, in the replaced text, the current call starts
  size_t shift = 0;        // replaced minus original length so far
  for (size_t k = 0; k < calls.size(); ++k) {
    replaced_at = calls[k].begin + shift;
    if (offset < replaced_at) break;
    if (offset < replaced_at + names[k].size()) return calls[k].begin;
    shift += names[k].size() - (calls[k].end - calls[k].begin);
    original = offset - shift;
  }
  return original;
}

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    quoted += c;
    if (c == '"') quoted += '"';
  }
  return quoted + "\"";
}

}  // namespace zkarrow::query::internal

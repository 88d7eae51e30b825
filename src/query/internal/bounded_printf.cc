#include "query/internal/bounded_printf.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace zkarrow::query::internal {
namespace {

// A width or precision's magnitude, saturated (SQLite takes its absolute
// value: a negative width left-justifies).
int64_t Magnitude(int64_t value) {
  if (value == INT64_MIN) return INT64_MAX;
  return std::llabs(value);
}

}  // namespace

Result<std::unique_ptr<BoundedPrintf>> BoundedPrintf::Register(sqlite3* db, int max_width) {
  auto printf = std::unique_ptr<BoundedPrintf>(new BoundedPrintf());
  printf->max_width_ = max_width;
  sqlite3* builtin = nullptr;
  const int opened =
      sqlite3_open_v2(":memory:", &builtin, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr);
  printf->builtin_.reset(builtin);
  if (opened != SQLITE_OK) {
    return Status::Internal(std::string("opening SQLite for printf: ") + sqlite3_errstr(opened));
  }
  sqlite3_limit(builtin, SQLITE_LIMIT_LENGTH, sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1));
  printf->statements_.resize(static_cast<size_t>(sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, -1)) +
                             1);
  for (const char* name : {"printf", "format"}) {
    const int rc =
        sqlite3_create_function_v2(db, name, -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, printf.get(),
                                   &BoundedPrintf::Call, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return Status::Internal(std::string("replacing ") + name + "(): " + sqlite3_errstr(rc));
    }
  }
  return printf;
}

// SQLite's format grammar: %[flags][width][.precision][l|ll]conversion,
// where width and precision are digits or '*' (the next argument); every
// conversion but %% and %n takes an argument.
int64_t BoundedPrintf::FirstTooWide(const unsigned char* format, int argc,
                                    sqlite3_value** argv) const {
  int next_arg = 1;
  // A number of the format (digits, saturated) or '*': its magnitude.
  auto width = [&](const unsigned char*& at) -> int64_t {
    if (*at == '*') {
      ++at;
      return next_arg < argc ? Magnitude(sqlite3_value_int64(argv[next_arg++])) : 0;
    }
    int64_t value = 0;
    for (; *at >= '0' && *at <= '9'; ++at) {
      value = value > (INT64_MAX - 9) / 10 ? INT64_MAX : value * 10 + (*at - '0');
    }
    return value;
  };
  for (const unsigned char* at = format; *at != 0; ++at) {
    if (*at != '%') continue;
    ++at;
    while (*at != 0 &&
           std::string_view("-+ #!0,").find(static_cast<char>(*at)) != std::string_view::npos) {
      ++at;
    }
    if (int64_t w = width(at); w > max_width_) return w;
    if (*at == '.') {
      ++at;
      if (int64_t p = width(at); p > max_width_) return p;
    }
    while (*at == 'l') ++at;
    if (*at == 0) break;
    if (*at != '%' && *at != 'n') ++next_arg;
  }
  return 0;
}

void BoundedPrintf::Call(sqlite3_context* context, int argc, sqlite3_value** argv) {
  auto* self = static_cast<BoundedPrintf*>(sqlite3_user_data(context));
  const unsigned char* format = argc > 0 ? sqlite3_value_text(argv[0]) : nullptr;
  if (format != nullptr) {
    if (int64_t too_wide = self->FirstTooWide(format, argc, argv); too_wide != 0) {
      const std::string message = "printf(): expected widths and precisions of at most " +
                                  std::to_string(self->max_width_) + ", found " +
                                  std::to_string(too_wide);
      sqlite3_result_error(context, message.c_str(), -1);
      sqlite3_result_error_code(context, SQLITE_TOOBIG);
      return;
    }
  }
  Statement& statement = self->statements_[static_cast<size_t>(argc)];
  if (!statement) {
    std::string sql = "SELECT printf(";
    for (int i = 1; i <= argc; ++i) sql += (i > 1 ? ", ?" : "?") + std::to_string(i);
    sql += ")";
    sqlite3_stmt* prepared = nullptr;
    if (sqlite3_prepare_v2(self->builtin_.get(), sql.c_str(), -1, &prepared, nullptr) !=
        SQLITE_OK) {
      sqlite3_result_error(context, sqlite3_errmsg(self->builtin_.get()), -1);
      return;
    }
    statement.reset(prepared);
  }
  sqlite3_stmt* stmt = statement.get();
  for (int i = 0; i < argc; ++i) sqlite3_bind_value(stmt, i + 1, argv[i]);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    sqlite3_result_value(context, sqlite3_column_value(stmt, 0));
  } else {
    sqlite3_result_error(context, sqlite3_errmsg(self->builtin_.get()), -1);
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
}

}  // namespace zkarrow::query::internal

// Errors as values. A Status is either OK or carries a category, a message
// that says what went wrong and where, and an optional subsystem code (the
// zk module stores ZooKeeper's numeric error code there). Result<T> holds a
// value or a non-OK Status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace zkarrow {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something malformed
  kInvalidData,      // bytes from outside (file, socket) are malformed
  kNotImplemented,   // valid request the code deliberately does not support
  kIoError,          // operating system call failed
  kOutOfRange,       // a limit was exceeded
  kRemote,           // a server answered with an error (see detail())
  kTimeout,
  kCancelled,
  kInternal,          // a broken invariant: a bug in zkarrow
  kNotFound,          // the named thing (a dataset, a resource) does not exist
  kConflict,          // a concurrent change won (compare-and-set lost)
  kUnavailable,       // not ready yet or going away; retrying may succeed
  kUnauthenticated,   // credentials missing or wrong
  kPermissionDenied,  // known caller, but the operation is not allowed (off, or by ACL)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, int32_t detail = 0)
      : code_(code), detail_(detail), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status InvalidData(std::string m) { return {StatusCode::kInvalidData, std::move(m)}; }
  static Status NotImplemented(std::string m) {
    return {StatusCode::kNotImplemented, std::move(m)};
  }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  // An IoError whose message ends with strerror(errnum).
  static Status FromErrno(int errnum, std::string_view what);
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  int32_t detail() const { return detail_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with where the error happened, e.g.
  // status.WithContext("reading batch 3") -> "reading batch 3: <message>".
  Status WithContext(std::string_view context) const;

  // "<code name>: <message>", or "OK".
  std::string ToString() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  int32_t detail_ = 0;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : storage_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(storage_).ok()) {
      storage_ = Status::Internal("Result constructed from an OK status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(storage_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(storage_); }

  const T& value() const& { return std::get<T>(storage_); }
  T& value() & { return std::get<T>(storage_); }
  T&& value() && { return std::get<T>(std::move(storage_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  T ValueOr(T fallback) && { return ok() ? std::move(*this).value() : std::move(fallback); }

 private:
  std::variant<T, Status> storage_;
};

}  // namespace zkarrow

#define ZKA_CONCAT_INNER(a, b) a##b
#define ZKA_CONCAT(a, b) ZKA_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define ZKA_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::zkarrow::Status zka_status_ = (expr);    \
    if (!zka_status_.ok()) return zka_status_; \
  } while (false)

// Evaluates a Result<T> expression; on error returns its Status, otherwise
// moves the value into `lhs` (which may be a declaration: `auto x`).
#define ZKA_ASSIGN_OR_RETURN(lhs, expr) \
  ZKA_ASSIGN_OR_RETURN_IMPL(ZKA_CONCAT(zka_result_, __LINE__), lhs, expr)
#define ZKA_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                              \
  if (!result.ok()) return result.status();          \
  lhs = std::move(result).value()

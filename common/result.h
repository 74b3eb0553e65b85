#pragma once
// Result<T>: a value or an Error. The project's one error type (see STYLE.md §3).
// Debian 12 ships neither tl::expected nor a <expected> that clang 14 accepts, so this is a
// small subset of std::expected's interface; swap in std::expected once we reach C++23.

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace common {

enum class ErrorCode { Network, Timeout, HttpStatus, TooLarge, Parse, Robots, Storage, BadInput, Io };

// Short stable name, used in messages and stored in the database's error columns.
const char* error_code_name(ErrorCode code) noexcept;

struct Error {
  ErrorCode code;
  std::string context;  // what failed, plus the library's message
};

template <class E>
struct Unexpected {
  E error;
};

inline Unexpected<Error> make_error(ErrorCode code, std::string context) {
  return Unexpected<Error>{Error{code, std::move(context)}};
}

template <class T>
class Result;

// Forwards the error of a failed Result of any type: `if (!r) return common::error_of(r);`
template <class T>
Unexpected<Error> error_of(const Result<T>& result) {
  return Unexpected<Error>{result.error()};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Unexpected<Error> error)                                        // NOLINT: implicit
      : data_(std::in_place_index<1>, std::move(error.error)) {}

  bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(data_); }
  const T& value() const& { assert(has_value()); return std::get<0>(data_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(data_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(data_)); }

 private:
  std::variant<T, Error> data_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected<Error> error) : error_(std::move(error.error)), ok_(false) {}  // NOLINT

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_{ErrorCode::Io, {}};
  bool ok_ = true;
};

}  // namespace common

#pragma once
// Releaser<F>: a unique_ptr deleter that calls a C library's release function.
//   using SqliteDb = std::unique_ptr<sqlite3, common::Releaser<sqlite3_close_v2>>;

namespace common {

template <auto Release>
struct Releaser {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Release(p);
  }
};

}  // namespace common

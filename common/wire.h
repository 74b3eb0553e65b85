#pragma once
// Binary encoding for messages between our own processes (see docs/ARCHITECTURE.md).
//
// Fixed-width integers in host byte order (both ends are the same binary on one machine) and u32-length-prefixed strings. The peer is our own
// binary, but a crashed or confused peer can still send garbage, so Reader is bounds-checked:
// every get_* returns false (and poisons the reader) on underflow instead of reading past
// the end.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace common {

class Writer {
 public:
  void put_u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void put_u32(std::uint32_t v) { put_raw(&v, sizeof v); }
  void put_i32(std::int32_t v) { put_raw(&v, sizeof v); }
  void put_i64(std::int64_t v) { put_raw(&v, sizeof v); }
  void put_f64(double v) { put_raw(&v, sizeof v); }
  void put_string(std::string_view s) {
    put_u32(static_cast<std::uint32_t>(s.size()));
    buf_.append(s.data(), s.size());
  }
  const std::string& data() const& { return buf_; }
  std::string take() && { return std::move(buf_); }
  void clear() { buf_.clear(); }

 private:
  void put_raw(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
  std::string buf_;
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool get_u8(std::uint8_t& v) { return get_raw(&v, sizeof v); }
  bool get_u32(std::uint32_t& v) { return get_raw(&v, sizeof v); }
  bool get_i32(std::int32_t& v) { return get_raw(&v, sizeof v); }
  bool get_i64(std::int64_t& v) { return get_raw(&v, sizeof v); }
  bool get_f64(double& v) { return get_raw(&v, sizeof v); }
  bool get_string(std::string& s) {
    std::uint32_t n = 0;
    if (!get_u32(n) || n > data_.size() - pos_) return fail();
    s.assign(data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  bool get_raw(void* p, std::size_t n) {
    if (!ok_ || n > data_.size() - pos_) return fail();
    std::memcpy(p, data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool fail() {
    ok_ = false;
    return false;
  }
  std::string_view data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace common

#pragma once
// BloomFilter: a set of 64-bit keys that answers "maybe" or "certainly not", in a fixed
// number of bits (UrlKeys uses one to skip lookups of new URLs in its older levels).
//
// The bits are a power of two; each key sets kProbes of them, chosen by double hashing
// (bit_i = h1 + i * h2 mod bits) from a mix of the whole key. Both h1 and h2 depend on every
// bit of the key: if they came from the key's low bits only (as before 2026-12-03), keys that
// agree in the low log2(bits) bits would set the same bits, and the false-positive rate would
// grow to about keys / bits whatever the number of bits per key (7% at 10 M keys in 2^27 bits,
// instead of 0.2%).
//
// Not thread-safe; copyable and movable like the vector it holds.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace storage {

class BloomFilter {
 public:
  static constexpr int kProbes = 7;  // about 1% false positives at 10 bits per key

  // An empty filter: holds no bits, add() does nothing, may_contain() says false.
  BloomFilter() = default;
  // A filter of `words` 64-bit words, rounded up to a power of two (at least one).
  explicit BloomFilter(std::size_t words);

  void add(std::uint64_t key);
  // False only if `key` was never added.
  bool may_contain(std::uint64_t key) const;

  bool empty() const { return words_.empty(); }
  std::size_t bit_count() const { return words_.size() * 64; }
  std::size_t byte_count() const { return words_.size() * sizeof(std::uint64_t); }
  void swap(BloomFilter& other) noexcept { words_.swap(other.words_); }

 private:
  std::vector<std::uint64_t> words_;
};

}  // namespace storage

#pragma once
// BloomFilter: a set of 64-bit hashes that answers "maybe" or "certainly not", in a fixed
// number of bits (UrlKeys uses one to skip lookups of new URLs in its older levels).
//
// Blocked (Putze, Sanders and Singler, "Cache-, Hash- and Space-Efficient Bloom Filters"): the
// bits are a power of two, split into blocks of one 64-byte cache line, and all kProbes bits
// of a key lie in one block. A lookup then reads one cache line instead of up to kProbes, at
// a slightly higher false-positive rate for the same bits per key (0.96% against 0.82% at 10
// bits per key). Measured in scenario 3 (docs/PERFORMANCE.md, (e)): UrlKeys' filter grows to
// 16 MiB, and the unblocked filter's checks and adds grew from 15 to 44 us of the writer's
// time per page as it did.
//
// Keys must be hashes, spread evenly over all 64 bits. A key's block is its top bits, so keys
// added or looked up in ascending order walk the filter from left to right (UrlKeys does both
// in hash order); its bits in the block come from a mix of the whole key. Keys that share
// their top bits (small integers, say) share a block: there is never a false negative, but
// the block fills up and lets most of them through.
//
// Not thread-safe; movable, not copyable.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace storage {

class BloomFilter {
 public:
  static constexpr int kProbes = 7;              // about 1% false positives at 10 bits per key
  static constexpr std::size_t kBlockWords = 8;  // 512 bits: one cache line

  // An empty filter: holds no bits, add() does nothing, may_contain() says false.
  BloomFilter() = default;
  // A filter of `words` 64-bit words, rounded up to a power of two (at least one). Below
  // kBlockWords the whole filter is one block. std::bad_alloc if that is too many to hold.
  explicit BloomFilter(std::size_t words);

  // Moves leave `other` empty (no bits, as if default-constructed).
  BloomFilter(BloomFilter&& other) noexcept { swap(other); }
  BloomFilter& operator=(BloomFilter&& other) noexcept {
    BloomFilter taken(std::move(other));
    swap(taken);
    return *this;
  }

  // A 63-bit hash (0 .. 2^63 - 1, as common::url_id gives) as a key: spread over all 64 bits,
  // in the same order.
  static std::uint64_t key_of_hash63(std::int64_t hash) {
    return static_cast<std::uint64_t>(hash) << 1;
  }

  void add(std::uint64_t key);
  // False only if `key` was never added.
  bool may_contain(std::uint64_t key) const;

  bool empty() const { return words_ == 0; }
  std::size_t bit_count() const { return words_ * 64; }
  std::size_t byte_count() const { return words_ * sizeof(std::uint64_t); }
  void swap(BloomFilter& other) noexcept {
    bits_.swap(other.bits_);
    std::swap(words_, other.words_);
    std::swap(block_words_, other.block_words_);
    std::swap(block_shift_, other.block_shift_);
  }

 private:
  struct AlignedDelete {
    void operator()(std::uint64_t* p) const;
  };
  // The index of the first word of `key`'s block.
  std::size_t block_start(std::uint64_t key) const {
    return static_cast<std::size_t>((key >> 1) >> block_shift_) * block_words_;
  }

  std::unique_ptr<std::uint64_t[], AlignedDelete> bits_;  // 64-byte aligned
  std::size_t words_ = 0;
  std::size_t block_words_ = 0;  // kBlockWords, or words_ if fewer
  unsigned block_shift_ = 63;    // (key >> 1) >> block_shift_ is the block: 63 - log2(blocks)
};

}  // namespace storage

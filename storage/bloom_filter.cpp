#include "storage/bloom_filter.h"

#include <algorithm>
#include <cstdint>
#include <new>

namespace storage {

namespace {

constexpr std::align_val_t kAlignment{64};  // a block starts a cache line

// SplitMix64's finalizer: every output bit depends on every input bit.
constexpr std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// The i-th of a key's kProbes bits in its block: 9 bits each of the key's mix (kProbes x 9 =
// 63 bits), masked to the block. Independent probes: double hashing inside a 512-bit block
// (bit_i = h1 + i * h2) repeats patterns enough to double the false-positive rate at 16 bits
// per key. The mix, not the key's own low bits, so that keys in one block that agree in
// those bits still set different bits.
constexpr std::uint32_t probe_bit(std::uint64_t mixed, int i, std::uint32_t block_mask) {
  return static_cast<std::uint32_t>(mixed >> (9 * i)) & block_mask;
}
static_assert(BloomFilter::kProbes * 9 <= 64 && BloomFilter::kBlockWords * 64 == 512);

}  // namespace

void BloomFilter::AlignedDelete::operator()(std::uint64_t* p) const {
  ::operator delete[](p, kAlignment);
}

BloomFilter::BloomFilter(std::size_t words) {
  std::size_t rounded = 1;
  while (rounded < words) {
    if (rounded > SIZE_MAX / 128) throw std::bad_alloc();  // bit_count() would overflow
    rounded *= 2;
  }
  bits_.reset(
      static_cast<std::uint64_t*>(::operator new[](rounded * sizeof(std::uint64_t), kAlignment)));
  std::fill_n(bits_.get(), rounded, std::uint64_t{0});
  words_ = rounded;
  block_words_ = std::min(rounded, kBlockWords);
  block_shift_ = 63;
  for (std::size_t blocks = rounded / block_words_; blocks > 1; blocks /= 2) --block_shift_;
}

void BloomFilter::add(std::uint64_t key) {
  if (words_ == 0) return;
  std::uint64_t* block = bits_.get() + block_start(key);
  const std::uint64_t mixed = mix(key);
  const auto block_mask = static_cast<std::uint32_t>(block_words_ * 64 - 1);
  for (int i = 0; i < kProbes; ++i) {
    const std::uint32_t bit = probe_bit(mixed, i, block_mask);
    block[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
}

bool BloomFilter::may_contain(std::uint64_t key) const {
  if (words_ == 0) return false;
  const std::uint64_t* block = bits_.get() + block_start(key);
  const std::uint64_t mixed = mix(key);
  const auto block_mask = static_cast<std::uint32_t>(block_words_ * 64 - 1);
  for (int i = 0; i < kProbes; ++i) {
    const std::uint32_t bit = probe_bit(mixed, i, block_mask);
    if ((block[bit / 64] & (std::uint64_t{1} << (bit % 64))) == 0) return false;
  }
  return true;
}

}  // namespace storage

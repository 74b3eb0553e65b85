#include "storage/bloom_filter.h"

#include <cstdint>

namespace storage {

namespace {

// SplitMix64's finalizer: every output bit depends on every input bit.
constexpr std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

struct Probes {
  std::uint64_t first, step;
  // The i-th of a key's bits in a filter of mask + 1 bits.
  std::uint64_t bit(int i, std::uint64_t mask) const {
    return (first + static_cast<std::uint64_t>(i) * step) & mask;
  }
};

// h1 from the mix's low half, h2 (odd, so the probes of one key differ) from its high half:
// independent of each other up to 2^32 bits (512 MiB); past that the masked h1 and h2 share
// bits of the mix, and the filter is only as good as a smaller one.
constexpr Probes probes_of(std::uint64_t key) {
  const std::uint64_t m = mix(key);
  return {m, ((m >> 32) | (m << 32)) | 1};
}

}  // namespace

BloomFilter::BloomFilter(std::size_t words) {
  std::size_t rounded = 1;
  while (rounded < words && rounded <= SIZE_MAX / 2) rounded *= 2;  // the vector's limit ends it
  words_.assign(rounded, 0);
}

void BloomFilter::add(std::uint64_t key) {
  if (words_.empty()) return;
  const std::uint64_t mask = bit_count() - 1;
  const Probes p = probes_of(key);
  for (int i = 0; i < kProbes; ++i) {
    const std::uint64_t bit = p.bit(i, mask);
    words_[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
}

bool BloomFilter::may_contain(std::uint64_t key) const {
  if (words_.empty()) return false;
  const std::uint64_t mask = bit_count() - 1;
  const Probes p = probes_of(key);
  for (int i = 0; i < kProbes; ++i) {
    const std::uint64_t bit = p.bit(i, mask);
    if ((words_[bit / 64] & (std::uint64_t{1} << (bit % 64))) == 0) return false;
  }
  return true;
}

}  // namespace storage

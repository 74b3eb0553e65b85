#pragma once
// url_id(): the 63-bit hash by which a normalized URL is looked up (url_keys.hash, which gives
// its urls.id; in a database created before schema 4 the id is this hash too).
//
// A fixed, portable hash (FNV-1a 64 with a murmur3 finalizer) rather than std::hash, whose
// value may change between library versions and would break resumed crawls. With 10 million
// URLs the chance of any collision is about 5e-6; a collision makes the later URL look
// already seen (documented in docs/ARCHITECTURE.md).

#include <cstdint>
#include <string_view>

namespace common {

constexpr std::int64_t url_id(std::string_view url) noexcept {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : url) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return static_cast<std::int64_t>(h & 0x7fffffffffffffffULL);
}

}  // namespace common

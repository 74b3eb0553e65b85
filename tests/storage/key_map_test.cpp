// Tests storage/key_map.h: KeyMap, the in-memory hash -> id map of UrlKeys' newest level.

#include "storage/key_map.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

TEST_CASE("key_map: finds what was inserted, 0 for the rest", "[storage][key_map]") {
  storage::KeyMap map;
  CHECK(map.find(42) == 0);  // empty: no slots yet
  CHECK(map.size() == 0);
  struct Case {
    std::int64_t hash, id;
  };
  // Real hashes are 63-bit; small, negative-looking and clustered keys must work as well.
  const Case cases[] = {{1, 10},    {2, 20},    {0, 30}, {INT64_MAX, 40},
                        {1024, 50}, {2048, 60}, {-5, 70}};
  for (const auto& c : cases) map.insert(c.hash, c.id);
  CHECK(map.size() == 7);
  for (const auto& c : cases) {
    INFO("hash " << c.hash);
    CHECK(map.find(c.hash) == c.id);
  }
  CHECK(map.find(3) == 0);
  CHECK(map.find(INT64_MAX - 1) == 0);
}

TEST_CASE("key_map: a second insert of a hash replaces its id, and id 0 is not stored",
          "[storage][key_map]") {
  storage::KeyMap map;
  map.insert(7, 1);
  map.insert(7, 2);
  CHECK(map.size() == 1);
  CHECK(map.find(7) == 2);
  map.insert(8, 0);
  CHECK(map.size() == 1);
  CHECK(map.find(8) == 0);
}

TEST_CASE("key_map: agrees with std::unordered_map through growth and clear",
          "[storage][key_map]") {
  storage::KeyMap map;
  std::unordered_map<std::int64_t, std::int64_t> model;
  std::mt19937_64 rng(11);
  for (int round = 0; round < 3; ++round) {
    for (std::int64_t i = 1; i <= 20'000; ++i) {
      // Half real-looking hashes, half small ones that share their low bits.
      const auto hash = (i % 2 == 0) ? static_cast<std::int64_t>(rng() >> 1) : i * 4096;
      map.insert(hash, i);
      model[hash] = i;
    }
    REQUIRE(map.size() == model.size());
    for (const auto& [hash, id] : model) REQUIRE(map.find(hash) == id);
    for (int i = 0; i < 20'000; ++i) {
      const auto hash = static_cast<std::int64_t>(rng() >> 1);
      if (model.count(hash) == 0) REQUIRE(map.find(hash) == 0);
    }
    // At most 5/8 of the slots are used, and never fewer than a quarter after growing.
    CHECK(map.byte_count() >= map.size() * 16 * 8 / 5);
    CHECK(map.byte_count() <= map.size() * 16 * 4);
    const std::size_t bytes = map.byte_count();
    map.clear();
    model.clear();
    CHECK(map.size() == 0);
    CHECK(map.find(4096) == 0);
    CHECK(map.byte_count() == bytes);  // the slots are kept for the next keys
  }
}

TEST_CASE("key_map: drain_sorted gives every key in hash order and leaves the map empty",
          "[storage][key_map]") {
  storage::KeyMap map;
  std::map<std::int64_t, std::int64_t> model;
  std::mt19937_64 rng(5);
  for (std::int64_t i = 1; i <= 5'000; ++i) {
    const auto hash = static_cast<std::int64_t>(rng() >> 1);
    map.insert(hash, i);
    model[hash] = i;
  }
  const std::size_t bytes = map.byte_count();
  std::vector<std::pair<std::int64_t, std::int64_t>> drained;
  CHECK(map.drain_sorted([&](std::int64_t hash, std::int64_t id) {
    drained.emplace_back(hash, id);
    return true;
  }) == model.size());
  CHECK(drained == std::vector<std::pair<std::int64_t, std::int64_t>>(model.begin(), model.end()));
  CHECK(map.size() == 0);
  CHECK(map.find(model.begin()->first) == 0);
  CHECK(map.byte_count() == bytes);
  // Stopped early: the calls so far, and the map is empty all the same.
  map.insert(3, 30);
  map.insert(1, 10);
  map.insert(2, 20);
  std::vector<std::int64_t> seen;
  CHECK(map.drain_sorted([&](std::int64_t hash, std::int64_t) {
    seen.push_back(hash);
    return hash < 2;
  }) == 2);
  CHECK(seen == std::vector<std::int64_t>{1, 2});
  CHECK(map.size() == 0);
  CHECK(map.find(3) == 0);
  map.insert(3, 31);  // and usable again
  CHECK(map.find(3) == 31);
}

}  // namespace

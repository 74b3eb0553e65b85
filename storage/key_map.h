#pragma once
// KeyMap: URL hash -> urls.id in memory, for the newest level of UrlKeys (url_keys_new),
// which is looked up for every link a crawl stores and which the table keeps only in the
// order its keys came (storage/url_keys.h).
//
// Open addressing with linear probing in one array of (hash, id) pairs: 16 bytes per slot, at
// most 5/8 of the slots used, so at most 32 bytes per key just after it grows (8 MiB for the
// up to ~300,000 keys UrlKeys holds before a merge), where std::unordered_map takes about 56
// and a pointer chase per lookup.
// Ids are never 0 (0 means "no such URL" throughout the store), so id 0 marks an empty slot.
// There is no erase: UrlKeys empties the map whole when the level is merged.
//
// Not thread-safe; movable, not copyable.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace storage {

class KeyMap {
 public:
  KeyMap() = default;
  KeyMap(const KeyMap&) = delete;
  KeyMap& operator=(const KeyMap&) = delete;
  KeyMap(KeyMap&&) noexcept = default;
  KeyMap& operator=(KeyMap&&) noexcept = default;

  // The id stored for `hash`, or 0.
  std::int64_t find(std::int64_t hash) const {
    if (size_ == 0) return 0;
    for (std::size_t i = slot_of(hash);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id == 0) return 0;
      if (slot.hash == hash) return slot.id;
    }
  }

  // Stores hash -> id (`id` != 0; a call with 0 is ignored); replaces the id of a hash that is
  // already there. May throw std::bad_alloc when it grows.
  void insert(std::int64_t hash, std::int64_t id) {
    if (id == 0) return;
    if ((size_ + 1) * 8 > slots_.size() * 5) grow();  // at most 5/8 of the slots used
    place(hash, id);
  }

  // Forgets every key; keeps the slots for the next keys.
  void clear() {
    if (size_ == 0) return;
    std::fill(slots_.begin(), slots_.end(), Slot{});
    size_ = 0;
  }

  // Empties the map, calling f(hash, id) for its keys in ascending hash order until f returns
  // false. Sorts inside its own slots: allocates nothing. The map is empty afterwards (with its
  // slots kept), whether or not f stopped early. Returns the number of calls.
  template <typename F>
  std::size_t drain_sorted(F&& f) {
    std::size_t used = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].id != 0) slots_[used++] = slots_[i];
    }
    std::sort(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(used),
              [](const Slot& a, const Slot& b) { return a.hash < b.hash; });
    std::size_t calls = 0;
    while (calls < used) {
      const Slot& slot = slots_[calls++];
      if (!f(slot.hash, slot.id)) break;
    }
    std::fill(slots_.begin(), slots_.end(), Slot{});
    size_ = 0;
    return calls;
  }

  std::size_t size() const { return size_; }
  std::size_t byte_count() const { return slots_.size() * sizeof(Slot); }

 private:
  struct Slot {
    std::int64_t hash = 0;
    std::int64_t id = 0;  // 0: empty
  };

  // Fibonacci hashing: the top bits of hash * 2^64/phi, so small or clustered keys (tests,
  // a database with hash ids) spread over the slots as well as real hashes do.
  std::size_t slot_of(std::int64_t hash) const {
    const std::uint64_t mixed = static_cast<std::uint64_t>(hash) * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(mixed >> shift_);
  }

  void place(std::int64_t hash, std::int64_t id) {
    for (std::size_t i = slot_of(hash);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.id == 0) {
        slot = {hash, id};
        ++size_;
        return;
      }
      if (slot.hash == hash) {
        slot.id = id;
        return;
      }
    }
  }

  void grow() {
    const std::size_t capacity = slots_.empty() ? 1024 : slots_.size() * 2;
    std::vector<Slot> old(capacity);  // may throw: the map is unchanged then
    old.swap(slots_);
    mask_ = capacity - 1;
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
    size_ = 0;
    for (const Slot& slot : old) {
      if (slot.id != 0) place(slot.hash, slot.id);
    }
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace storage

#include "parser/gumbo_arena.h"

#include <cstdint>
#include <cstdlib>

#ifdef CRAWLER_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace parser {
namespace {

constexpr std::size_t kAlignment = alignof(std::max_align_t);

// Under AddressSanitizer the arena tells ASan what is in use: a chunk is poisoned when the
// arena takes it and when it goes back to the pool, a block is unpoisoned when handed out and
// poisoned again when Gumbo frees it. Otherwise a use after free of arena memory reads memory
// that is still mapped and ASan reports nothing. The arena then keeps the size of each live
// block (GumboArena::sizes_) for deallocate. Other builds do none of this.
#ifdef CRAWLER_ARENA_ASAN
constexpr bool kPoison = true;
void poison(const void* p, std::size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
void unpoison(const void* p, std::size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
constexpr bool kPoison = false;
void poison(const void*, std::size_t) {}
void unpoison(const void*, std::size_t) {}
#endif

// Chunks a finished parse gave back, for the next parse on this thread.
struct ChunkPool {
  std::vector<std::byte*> chunks;
  ChunkPool() = default;
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;
  ~ChunkPool() {
    for (std::byte* chunk : chunks) {
      unpoison(chunk, GumboArena::kChunkBytes);
      std::free(chunk);
    }
  }
};

ChunkPool& pool() noexcept {
  thread_local ChunkPool instance;
  return instance;
}

void* allocate_callback(void* arena, std::size_t bytes) {
  return static_cast<GumboArena*>(arena)->allocate(bytes);
}

void deallocate_callback(void* arena, void* block) {
  static_cast<GumboArena*>(arena)->deallocate(block);
}

}  // namespace

GumboArena::~GumboArena() {
  for (void* block : malloc_blocks_) std::free(block);
  auto& pooled = pool().chunks;
  for (std::byte* chunk : chunks_) {
    poison(chunk, kChunkBytes);
    if (pooled.size() < kMaxPooledChunks) {
      try {
        pooled.push_back(chunk);
        continue;
      } catch (...) {  // std::bad_alloc: free it instead
      }
    }
    unpoison(chunk, kChunkBytes);
    std::free(chunk);
  }
}

GumboOptions GumboArena::options(const GumboOptions& base) noexcept {
  GumboOptions options = base;
  options.allocator = allocate_callback;
  options.deallocator = deallocate_callback;
  options.userdata = this;
  return options;
}

std::size_t GumboArena::pooled_chunk_count() noexcept { return pool().chunks.size(); }

void* GumboArena::allocate(std::size_t bytes) noexcept {
  const std::size_t rounded = (bytes + kAlignment - 1) & ~(kAlignment - 1);
  if (rounded == 0 || rounded > kMaxSmallBlockBytes) return allocate_from_malloc(bytes);
  if (static_cast<std::size_t>(end_ - next_) < rounded) {
    if (chunks_.size() * kChunkBytes >= kMaxChunkBytes) return allocate_from_malloc(bytes);
    std::byte* chunk = nullptr;
    auto& pooled = pool().chunks;
    if (!pooled.empty()) {
      chunk = pooled.back();
      pooled.pop_back();
    } else {
      chunk = static_cast<std::byte*>(std::malloc(kChunkBytes));
      if (chunk == nullptr) return nullptr;
      poison(chunk, kChunkBytes);
    }
    try {
      chunks_.push_back(chunk);
    } catch (...) {  // std::bad_alloc
      unpoison(chunk, kChunkBytes);
      std::free(chunk);
      return nullptr;
    }
    next_ = chunk;
    end_ = chunk + kChunkBytes;
  }
  std::byte* block = next_;
  if (kPoison) {
    try {
      sizes_[block] = bytes;
    } catch (...) {  // std::bad_alloc
      return nullptr;
    }
    unpoison(block, bytes);
  }
  next_ += rounded;
  return block;
}

void* GumboArena::allocate_from_malloc(std::size_t bytes) noexcept {
  void* block = std::malloc(bytes == 0 ? 1 : bytes);
  if (block == nullptr) return nullptr;
  try {
    malloc_blocks_.insert(block);
  } catch (...) {  // std::bad_alloc
    std::free(block);
    return nullptr;
  }
  return block;
}

void GumboArena::deallocate(void* block) noexcept {
  // A block from a chunk is released with its chunk; only malloc's blocks are freed one by one.
  if (block == nullptr) return;
  if (!malloc_blocks_.empty() && malloc_blocks_.erase(block) != 0) {
    std::free(block);
    return;
  }
  if (kPoison) {  // the block may not be used any more
    if (auto it = sizes_.find(block); it != sizes_.end()) {
      poison(block, it->second);
      sizes_.erase(it);
    } else {
      // Not a live block: freed before (poisoned, or malloc's and freed), or never ours. A
      // read makes ASan report the first two as it reports a double free.
      (void)*static_cast<volatile const char*>(block);
    }
  }
}

}  // namespace parser

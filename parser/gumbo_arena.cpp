#include "parser/gumbo_arena.h"

#include <cstdint>
#include <cstdlib>

namespace parser {
namespace {

constexpr std::size_t kAlignment = alignof(std::max_align_t);

// Chunks a finished parse gave back, for the next parse on this thread.
struct ChunkPool {
  std::vector<std::byte*> chunks;
  ChunkPool() = default;
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;
  ~ChunkPool() {
    for (std::byte* chunk : chunks) std::free(chunk);
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
    if (pooled.size() < kMaxPooledChunks) {
      try {
        pooled.push_back(chunk);
        continue;
      } catch (...) {  // std::bad_alloc: free it instead
      }
    }
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
    }
    try {
      chunks_.push_back(chunk);
    } catch (...) {  // std::bad_alloc
      std::free(chunk);
      return nullptr;
    }
    next_ = chunk;
    end_ = chunk + kChunkBytes;
  }
  void* block = next_;
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
  if (block == nullptr || malloc_blocks_.empty()) return;
  if (malloc_blocks_.erase(block) != 0) std::free(block);
}

}  // namespace parser

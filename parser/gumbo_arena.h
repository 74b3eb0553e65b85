#pragma once
// GumboArena: the memory of one Gumbo parse.
//
// Gumbo allocates one block per node, attribute, vector and string buffer, frees many of them
// again while it parses, and frees the rest one by one in gumbo_destroy_output. Through
// malloc that was about a sixth of the parser process's CPU (perf, docs/PERFORMANCE.md), plus
// page faults whenever glibc handed big blocks back to the kernel. The arena hands out small
// blocks from 256 KiB chunks by bumping a pointer, ignores their frees, and releases
// everything at once when it dies; its chunks go to a small per-thread pool, so the next
// document reuses memory that is already mapped.
//
// Memory stays bounded on hostile input: blocks over 64 KiB, and every block once the arena
// holds 32 MiB of chunks, come from malloc and are freed when Gumbo frees them, as without the
// arena. The per-thread pool keeps at most 8 MiB of chunks.
//
// Under AddressSanitizer (CRAWLER_ARENA_ASAN), chunk memory not handed out, a block Gumbo has
// freed, and every block once its arena is gone are poisoned, so ASan reports a use after
// free of arena memory by instrumented code (ours, and libc calls it intercepts such as
// memcpy) as it would one of malloc's, and a block freed twice. Gumbo itself is Debian's
// uninstrumented build: its own loads and stores are not checked, in or out of the arena.

#include <cstddef>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <gumbo.h>

#if defined(__SANITIZE_ADDRESS__)
#define CRAWLER_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRAWLER_ARENA_ASAN 1
#endif
#endif

namespace parser {

class GumboArena {
 public:
  static constexpr std::size_t kChunkBytes = 256 * 1024;
  static constexpr std::size_t kMaxSmallBlockBytes = kChunkBytes / 4;
  static constexpr std::size_t kMaxChunkBytes = 32 * 1024 * 1024;  // then plain malloc/free
  static constexpr std::size_t kMaxPooledChunks = 32;               // 8 MiB per thread

  GumboArena() = default;
  ~GumboArena();
  GumboArena(const GumboArena&) = delete;
  GumboArena& operator=(const GumboArena&) = delete;

  // `base` (e.g. kGumboDefaultOptions) with this arena as its allocator. The arena must
  // outlive every parse made with the result, and the parse output must not be passed to
  // gumbo_destroy_output: the arena's destructor releases it.
  GumboOptions options(const GumboOptions& base) noexcept;

  // Gumbo's allocator interface. allocate() returns nullptr only when malloc does.
  void* allocate(std::size_t bytes) noexcept;
  void deallocate(void* block) noexcept;

  // For tests and diagnostics.
  std::size_t chunk_count() const noexcept { return chunks_.size(); }
  std::size_t malloc_block_count() const noexcept { return malloc_blocks_.size(); }
  static std::size_t pooled_chunk_count() noexcept;

 private:
  void* allocate_from_malloc(std::size_t bytes) noexcept;

  std::vector<std::byte*> chunks_;  // owned; returned to the pool or freed by the destructor
  std::byte* next_ = nullptr;       // free space in the newest chunk: [next_, end_)
  std::byte* end_ = nullptr;
  std::unordered_set<void*> malloc_blocks_;  // owned: big blocks and those past the chunk cap
  // AddressSanitizer builds only: the size of each block handed out from a chunk and not
  // freed yet, so that deallocate can poison it (gumbo_arena.cpp). Empty in other builds.
  std::unordered_map<void*, std::size_t> sizes_;
};

}  // namespace parser

#include "parser/gumbo_arena.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "gumbo_dump.h"
#include "parser/html_document.h"

namespace {

using parser::testing::dump;

std::string dump_with_malloc(const std::string& html) {
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 0;
  GumboOutput* output = gumbo_parse_with_options(&options, html.data(), html.size());
  std::string out;
  dump(output->document, out);
  gumbo_destroy_output(&options, output);
  return out;
}

std::string dump_with_arena(const std::string& html, parser::GumboArena& arena) {
  GumboOptions base = kGumboDefaultOptions;
  base.max_errors = 0;
  const GumboOptions options = arena.options(base);
  GumboOutput* output = gumbo_parse_with_options(&options, html.data(), html.size());
  std::string out;
  dump(output->document, out);
  return out;  // no gumbo_destroy_output: the arena owns the tree
}

std::string repeat(const std::string& piece, int times) {
  std::string out;
  out.reserve(piece.size() * static_cast<std::size_t>(times));
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

}  // namespace

TEST_CASE("an arena parse builds the same tree as a malloc parse", "[gumbo_arena]") {
  const std::string cases[] = {
      "",
      "plain text, no tags",
      "<!doctype html><html><head><title>T</title></head><body><p>x</p></body></html>",
      "<a href=/a>one</a><a href='/b' rel=nofollow>two</a><!-- note -->",
      "<table><tr><td>misnested<p>para</td></tr></table><b><i>bold</b>italic</i>",
      "<svg><a xlink:href=#x>svg link</a></svg><math><mi>x</mi></math>",
      "<template><a href=/in-template>t</a></template><select><option>o</select>",
      "<div>" + repeat("<div>", 3000) + "deep" + "</div>",           // deep open-element stack
      "<p>" + std::string(300 * 1024, 'x') + "</p>",                 // one text node > 64 KiB
      repeat("<a href=\"/page?id=1&amp;b=2\" title=t>link</a>\n", 5000),  // many small blocks
  };
  for (const auto& html : cases) {
    CAPTURE(html.substr(0, 80));
    parser::GumboArena arena;
    CHECK(dump_with_arena(html, arena) == dump_with_malloc(html));
  }
}

TEST_CASE("blocks are aligned and distinct, zero-byte ones included", "[gumbo_arena]") {
  parser::GumboArena arena;
  void* previous = nullptr;
  for (std::size_t bytes : {0, 1, 7, 16, 17, 100, 4096, 65536, 65537, 300000}) {
    CAPTURE(bytes);
    void* block = arena.allocate(bytes);
    REQUIRE(block != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(block) % alignof(std::max_align_t) == 0);
    CHECK(block != previous);
    std::memset(block, 0xab, bytes);  // writable over its whole size (ASan checks the bounds)
    previous = block;
  }
  // 0, 65537 and 300000 bytes are malloc's; the rest share one chunk.
  CHECK(arena.malloc_block_count() == 3);
  CHECK(arena.chunk_count() == 1);
}

TEST_CASE("big blocks are freed when Gumbo frees them, small ones with the arena",
          "[gumbo_arena]") {
  parser::GumboArena arena;
  void* big = arena.allocate(parser::GumboArena::kMaxSmallBlockBytes + 1);
  void* small = arena.allocate(64);
  REQUIRE(arena.malloc_block_count() == 1);
  arena.deallocate(small);  // a no-op: released with its chunk
  CHECK(arena.malloc_block_count() == 1);
  arena.deallocate(big);
  CHECK(arena.malloc_block_count() == 0);
  arena.deallocate(nullptr);
}

TEST_CASE("past its chunk cap the arena falls back to malloc and free", "[gumbo_arena]") {
  parser::GumboArena arena;
  const std::size_t max_chunks =
      parser::GumboArena::kMaxChunkBytes / parser::GumboArena::kChunkBytes;
  const std::size_t block = parser::GumboArena::kMaxSmallBlockBytes;
  const std::size_t blocks_to_fill = max_chunks * (parser::GumboArena::kChunkBytes / block);
  for (std::size_t i = 0; i < blocks_to_fill; ++i) REQUIRE(arena.allocate(block) != nullptr);
  CHECK(arena.chunk_count() == max_chunks);
  CHECK(arena.malloc_block_count() == 0);
  void* extra = arena.allocate(64);
  CHECK(arena.chunk_count() == max_chunks);
  CHECK(arena.malloc_block_count() == 1);
  arena.deallocate(extra);
  CHECK(arena.malloc_block_count() == 0);
}

TEST_CASE("chunks are reused across documents and the pool stays bounded", "[gumbo_arena]") {
  {
    auto arena = std::make_unique<parser::GumboArena>();
    for (int i = 0; i < 100; ++i) {  // 100 chunks' worth
      for (std::size_t b = 0; b < 4; ++b) {
        REQUIRE(arena->allocate(parser::GumboArena::kMaxSmallBlockBytes) != nullptr);
      }
    }
    REQUIRE(arena->chunk_count() == 100);
  }
  CHECK(parser::GumboArena::pooled_chunk_count() == parser::GumboArena::kMaxPooledChunks);
  {
    parser::GumboArena arena;
    REQUIRE(arena.allocate(64) != nullptr);
    CHECK(parser::GumboArena::pooled_chunk_count() == parser::GumboArena::kMaxPooledChunks - 1);
  }
  CHECK(parser::GumboArena::pooled_chunk_count() == parser::GumboArena::kMaxPooledChunks);
}

TEST_CASE("HtmlDocument parses into its arena", "[gumbo_arena]") {
  const parser::HtmlDocument document("<html><body><a href=/x>x</a></body></html>");
  REQUIRE(document.root() != nullptr);
  CHECK(document.root()->type == GUMBO_NODE_ELEMENT);
  CHECK(document.root()->v.element.tag == GUMBO_TAG_HTML);
}

#ifdef CRAWLER_ARENA_ASAN  // gumbo_arena.h
#include <sanitizer/asan_interface.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

// Only AddressSanitizer builds poison (gumbo_arena.cpp); the test exists only there.
TEST_CASE("under ASan, arena memory is addressable only while handed out", "[gumbo_arena]") {
  auto* first = static_cast<char*>(nullptr);
  {
    parser::GumboArena arena;
    first = static_cast<char*>(arena.allocate(24));
    auto* second = static_cast<char*>(arena.allocate(100));
    REQUIRE(first != nullptr);
    REQUIRE(second != nullptr);
    CHECK(__asan_region_is_poisoned(first, 24) == nullptr);
    CHECK(__asan_region_is_poisoned(second, 100) == nullptr);
    CHECK(__asan_address_is_poisoned(first + 24));           // past the block
    CHECK(__asan_address_is_poisoned(second + 100 + 64));    // not handed out yet
    arena.deallocate(second);                                // Gumbo frees it
    CHECK(__asan_address_is_poisoned(second));
    CHECK(__asan_address_is_poisoned(second + 99));
    CHECK(__asan_region_is_poisoned(first, 24) == nullptr);  // the others stay usable
  }
  // The arena is gone; its chunk waits in the pool, poisoned.
  REQUIRE(parser::GumboArena::pooled_chunk_count() > 0);
  CHECK(__asan_address_is_poisoned(first));
  {
    parser::GumboArena arena;  // reuses the pooled chunk
    auto* again = static_cast<char*>(arena.allocate(8));
    CHECK(again == first);
    CHECK(__asan_region_is_poisoned(again, 8) == nullptr);
    CHECK(__asan_address_is_poisoned(again + 8 + 16));
  }
}

// Runs `body` in a child process; its exit status (ASan exits 1 after a report).
template <typename Body>
int exit_status_of(Body body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(2);  // the expected report would only clutter the test's output
    body();
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_CASE("under ASan, a block freed twice or read after its free is reported",
          "[gumbo_arena]") {
  CHECK(exit_status_of([] {  // the control: one free, no report
          parser::GumboArena arena;
          arena.deallocate(arena.allocate(32));
        }) == 0);
  CHECK(exit_status_of([] {
          parser::GumboArena arena;
          void* block = arena.allocate(32);
          arena.deallocate(block);
          arena.deallocate(block);
        }) != 0);
  CHECK(exit_status_of([] {
          parser::GumboArena arena;
          auto* block = static_cast<char*>(arena.allocate(32));
          arena.deallocate(block);
          std::string copy(block, 8);  // through memcpy, which ASan intercepts
          (void)copy;
        }) != 0);
}

TEST_CASE("under ASan, a parse leaves no poisoned byte in the tree it returns",
          "[gumbo_arena]") {
  // Every node of a parse is readable while its document lives (dump touches them all).
  const parser::HtmlDocument document(
      "<html><head><title>t</title></head><body><p>a<b>b</b><a href=/x>x</a><!-- c --><table>"
      "<tr><td>1<td>2</table></body></html>");
  std::string out;
  dump(document.root()->parent, out);
  CHECK(out.find("<a href=\"/x\">([x])") != std::string::npos);
}
#endif

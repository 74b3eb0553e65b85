// libFuzzer target for parser/links.h: extract_page_info on arbitrary bytes as HTML.
//
// Each input is extracted twice from a fixed page URL with small limits: once without and
// once with visible-text extraction. Invariants (links.h's contract), checked with a message
// and __builtin_trap():
//   - at most max_links links, pairwise distinct, each an http(s) URL whose text parse_url
//     gives back unchanged (so it is normalized and has no fragment); the same for canonical;
//   - the title is at most 1024 bytes (links.cpp's kMaxTitleBytes), the text at most
//     max_text_bytes, and both are valid UTF-8 with whitespace collapsed and trimmed;
//   - without text extraction the text is empty, and turning it on changes nothing else.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include "parser/links.h"
#include "parser/url.h"

namespace {

constexpr std::size_t kMaxTitleBytes = 1024;  // links.cpp's kMaxTitleBytes.
constexpr std::string_view kPageUrl = "https://example.com/dir/page.html?q=1";

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_links invariant broken: %s\n  [%.*s]\n", what,
               static_cast<int>(detail.size()), detail.data());
  __builtin_trap();
}

bool is_html_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

// Strict: decodes each character and rejects overlongs, surrogates and values past U+10FFFF.
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    std::uint32_t min_code_point = 0;
    if (c < 0x80) {
      length = 1, code_point = c;
    } else if ((c >> 5) == 0x6) {
      length = 2, code_point = c & 0x1F, min_code_point = 0x80;
    } else if ((c >> 4) == 0xE) {
      length = 3, code_point = c & 0x0F, min_code_point = 0x800;
    } else if ((c >> 3) == 0x1E) {
      length = 4, code_point = c & 0x07, min_code_point = 0x10000;
    } else {
      return false;
    }
    if (i + length > s.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<unsigned char>(s[i + k]);
      if ((continuation & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (continuation & 0x3F);
    }
    if (code_point < min_code_point || code_point > 0x10FFFF) return false;
    if (code_point >= 0xD800 && code_point <= 0xDFFF) return false;
    i += length;
  }
  return true;
}

// Whitespace collapsed to single spaces, none at either end, and nothing cut mid-character.
void check_collapsed(const char* what, std::string_view s, std::size_t max_bytes) {
  if (s.size() > max_bytes) fail(what, "over its cap");
  if (!is_valid_utf8(s)) fail(what, "not valid UTF-8");
  if (!s.empty() && (s.front() == ' ' || s.back() == ' ')) fail(what, s);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != ' ' && is_html_space(s[i])) fail(what, s);
    if (s[i] == ' ' && i + 1 < s.size() && s[i + 1] == ' ') fail(what, s);
  }
}

void check_url_text(const char* what, const std::string& text) {
  const auto url = parser::parse_url(text);
  if (!url) fail(what, text + " does not parse: " + url.error().context);
  if (url->scheme != "http" && url->scheme != "https") fail(what, text);
  if (url->spec() != text) fail(what, text + " parses to " + url->spec());
}

void check_info(const parser::PageInfo& info, const parser::ExtractOptions& options) {
  if (info.links.size() > options.max_links) fail("more links than max_links", "");
  std::set<std::string_view> seen;
  for (const parser::Link& link : info.links) {
    check_url_text("link is not a normalized http(s) URL", link.url);
    if (!seen.insert(link.url).second) fail("duplicate link", link.url);
  }
  if (!info.canonical.empty()) {
    check_url_text("canonical is not a normalized http(s) URL", info.canonical);
  }
  check_collapsed("title", info.title, kMaxTitleBytes);
  check_collapsed("text", info.text, options.max_text_bytes);
}

bool same_except_text(const parser::PageInfo& a, const parser::PageInfo& b) {
  if (a.links.size() != b.links.size()) return false;
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    if (a.links[i].url != b.links[i].url || a.links[i].nofollow != b.links[i].nofollow) {
      return false;
    }
  }
  return a.title == b.title && a.canonical == b.canonical && a.meta_nofollow == b.meta_nofollow &&
         a.meta_noindex == b.meta_noindex && a.links_skipped == b.links_skipped;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view html(reinterpret_cast<const char*>(data), size);
  static const parser::Url page_url = [] {
    auto url = parser::parse_url(kPageUrl);
    if (!url) fail("the page URL does not parse", url.error().context);
    return *url;
  }();

  parser::ExtractOptions options;
  options.max_links = 16;  // Small, so the cap and links_skipped are exercised.
  options.agent_token = "crawlerbot";
  options.max_text_bytes = 0;
  const parser::PageInfo links_only = parser::extract_page_info(html, page_url, options);
  check_info(links_only, options);
  if (!links_only.text.empty()) fail("text extracted with max_text_bytes 0", links_only.text);

  options.max_text_bytes = 256;  // Small, so the UTF-8-safe cut is exercised.
  const parser::PageInfo with_text = parser::extract_page_info(html, page_url, options);
  check_info(with_text, options);
  if (!same_except_text(links_only, with_text)) fail("text extraction changed other fields", "");
  return 0;
}

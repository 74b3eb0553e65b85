#pragma once
// Link and metadata extraction from one HTML page, with Gumbo.
//
// Total: any bytes (broken, truncated, binary, huge) give a best-effort PageInfo; never a
// crash. Thread-safe: no shared state.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "parser/url.h"

namespace parser {

struct Link {
  std::string url;        // absolute, normalized (Url::spec()), fragment dropped
  bool nofollow = false;  // rel="nofollow" on the element (rel is a space-separated token list)
};

struct PageInfo {
  std::string title;        // text of the first <title>, whitespace collapsed and trimmed
  std::vector<Link> links;  // distinct by url, in document order, http(s) only
  std::string canonical;    // <link rel="canonical" href>, resolved; "" if none/invalid
  bool meta_nofollow = false;  // <meta name="robots"|agent content="...nofollow..."> or "none"
  bool meta_noindex = false;   // same with "noindex" or "none"
  std::string text;         // visible text (see ExtractOptions::max_text_bytes); "" if disabled
  std::size_t links_skipped = 0;  // hrefs dropped: non-http(s) scheme, unparsable, over cap
};

struct ExtractOptions {
  std::size_t max_links = 10000;   // links kept per page; the rest count in links_skipped
  std::string agent_token;         // lowercase product token; <meta name=TOKEN> counts like robots
  std::size_t max_text_bytes = 0;  // 0: do not extract visible text
};

// Extracts from `html` (the page fetched from `page_url`, after redirects):
//  - links from a[href], area[href], link[href], iframe[src], frame[src], and the URL of a
//    <meta http-equiv="refresh" content="N; url=...">;
//  - resolved against the first <base href> if present and valid, else page_url;
//  - fragments dropped; mailto:, javascript:, data:, tel: and other non-http(s) skipped;
//  - the title, the canonical link, meta robots directives, and optionally visible text
//    (script, style, noscript, template contents dropped; whitespace collapsed; capped).
// Without visible text (max_text_bytes 0), Gumbo parses a copy with the text runs cut
// (collapse_text_runs), which builds the same elements at about half the cost.
[[nodiscard]] PageInfo extract_page_info(std::string_view html, const Url& page_url,
                                         const ExtractOptions& options);

}  // namespace parser

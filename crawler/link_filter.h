#pragma once
// LinkFilter: the user's link rules beyond Scope (--deny-domain, --include, --exclude, length and
// crawler-trap limits). It says why a discovered link must not be followed; Scope still decides
// which hosts are in the crawl at all.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace crawler {

struct LinkFilterOptions {
  // --deny-domain D: D and its subdomains are never followed. Suffix match on a label boundary,
  // case-insensitive, leading and trailing dots ignored; wins over --allow-domain.
  std::vector<std::string> deny_domains;
  // --include REGEX (RE2 syntax), searched anywhere in the full URL (RE2::PartialMatch; anchor
  // with ^ or $ as needed). If any is given, a URL must match at least one.
  std::vector<std::string> include;
  // --exclude REGEX: a URL matching any is rejected. Exclude wins over include.
  std::vector<std::string> exclude;
  // URLs longer than this many bytes are rejected.
  std::size_t max_url_length = 2048;
  // Trap guard: a path in which one segment occurs more than this many times
  // ("/a/b/a/b/a/b/a/b" at 3) is rejected. 0 = off.
  int max_segment_repeats = 3;
  // Trap guard: paths with more segments than this are rejected. 0 = off.
  int max_path_segments = 64;
};

// Immutable after create(); reject_reason() is const and safe to call from several threads.
// Movable, not copyable. A moved-from LinkFilter is valid but its rules are unspecified.
class LinkFilter {
 public:
  // Compiles the regexes (RE2, Latin-1, bounded memory). On a bad pattern the error is
  // ErrorCode::BadInput naming the flag, the pattern and RE2's message:
  // "--exclude '(abc': missing ): (abc".
  [[nodiscard]] static common::Result<LinkFilter> create(LinkFilterOptions options);

  LinkFilter(LinkFilter&&) noexcept;
  LinkFilter& operator=(LinkFilter&&) noexcept;
  LinkFilter(const LinkFilter&) = delete;
  LinkFilter& operator=(const LinkFilter&) = delete;
  ~LinkFilter();

  // "" if the link may be followed, else the first failing check, in this order:
  // "url_too_long", "denied_domain", "path_trap", "excluded", "not_included".
  // `url` is a normalized absolute URL (scheme://host[:port]/path?query) and `host` its
  // lowercase host (see host_of() in crawler/scope.h); deny matching also tolerates upper case
  // and a trailing dot in `host`. The returned view is a static string.
  std::string_view reject_reason(std::string_view url, std::string_view host) const;

 private:
  LinkFilter();

  bool denies_host(std::string_view host) const;
  bool is_path_trap(std::string_view url) const;

  std::vector<std::string> deny_domains_;  // lowercase, no leading or trailing dots, not empty
  std::vector<std::unique_ptr<re2::RE2>> include_;
  std::vector<std::unique_ptr<re2::RE2>> exclude_;
  std::size_t max_url_length_ = 0;
  int max_segment_repeats_ = 0;
  int max_path_segments_ = 0;
};

}  // namespace crawler

#include "crawler/link_filter.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace crawler {

namespace {

// RE2's default is 8 MiB as well; spelled out so a user's pattern can never make a filter that
// costs more per compiled regex. Past it, compiling fails ("pattern too large") and matching
// falls back from the DFA to the slower but still linear NFA.
constexpr std::int64_t kMaxRegexMemBytes = 8 << 20;

// Segments gathered on the stack before the repeat check needs the heap. The default
// max_path_segments is 64, so with default options the trap guard never allocates.
constexpr std::size_t kInlineSegments = 64;

char to_lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `lower` must already be lowercase.
bool equals_ignore_case(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (to_lower_ascii(text[i]) != lower[i]) return false;
  }
  return true;
}

// The path of "scheme://host[:port]/path?query#fragment": from the first '/' after the
// authority up to '?' or '#'. Empty if there is none.
std::string_view path_of(std::string_view url) {
  std::size_t authority_begin = 0;
  if (auto scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
    authority_begin = scheme_end + 3;
  }
  auto path_begin = url.find_first_of("/?#", authority_begin);
  if (path_begin == std::string_view::npos || url[path_begin] != '/') return {};
  auto path_end = url.find_first_of("?#", path_begin);
  return url.substr(path_begin, path_end == std::string_view::npos ? std::string_view::npos
                                                                   : path_end - path_begin);
}

// Calls `visit` with each non-empty '/'-separated segment of `path`, in order.
template <class Visit>
void for_each_segment(std::string_view path, Visit&& visit) {
  while (!path.empty()) {
    auto slash = path.find('/');
    if (slash != 0) visit(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
}

common::Result<std::unique_ptr<re2::RE2>> compile(std::string_view flag,
                                                  const std::string& pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);  // the error goes back to the caller, not to stderr
  options.set_max_mem(kMaxRegexMemBytes);
  // Normalized URLs are ASCII (non-ASCII is percent-encoded), so bytes are characters.
  options.set_encoding(re2::RE2::Options::EncodingLatin1);
  auto regex = std::make_unique<re2::RE2>(pattern, options);
  if (!regex->ok()) {
    return common::make_error(common::ErrorCode::BadInput,
                              "--" + std::string(flag) + " '" + pattern + "': " + regex->error());
  }
  return regex;
}

bool matches_any(const std::vector<std::unique_ptr<re2::RE2>>& regexes, std::string_view url) {
  const re2::StringPiece text(url.data(), url.size());
  return std::any_of(regexes.begin(), regexes.end(),
                     [&](const auto& regex) { return re2::RE2::PartialMatch(text, *regex); });
}

}  // namespace

LinkFilter::LinkFilter() = default;
LinkFilter::LinkFilter(LinkFilter&&) noexcept = default;
LinkFilter& LinkFilter::operator=(LinkFilter&&) noexcept = default;
LinkFilter::~LinkFilter() = default;

common::Result<LinkFilter> LinkFilter::create(LinkFilterOptions options) {
  LinkFilter filter;
  for (std::string& domain : options.deny_domains) {
    std::transform(domain.begin(), domain.end(), domain.begin(), to_lower_ascii);
    auto first = domain.find_first_not_of('.');
    if (first == std::string::npos) continue;  // empty after trimming: denies nothing
    domain.erase(domain.find_last_not_of('.') + 1);
    domain.erase(0, first);
    filter.deny_domains_.push_back(std::move(domain));
  }
  for (const std::string& pattern : options.include) {
    auto regex = compile("include", pattern);
    if (!regex) return common::error_of(regex);
    filter.include_.push_back(std::move(regex).value());
  }
  for (const std::string& pattern : options.exclude) {
    auto regex = compile("exclude", pattern);
    if (!regex) return common::error_of(regex);
    filter.exclude_.push_back(std::move(regex).value());
  }
  filter.max_url_length_ = options.max_url_length;
  filter.max_segment_repeats_ = options.max_segment_repeats;
  filter.max_path_segments_ = options.max_path_segments;
  return filter;
}

std::string_view LinkFilter::reject_reason(std::string_view url, std::string_view host) const {
  if (url.size() > max_url_length_) return "url_too_long";
  if (denies_host(host)) return "denied_domain";
  if (is_path_trap(url)) return "path_trap";
  if (matches_any(exclude_, url)) return "excluded";
  if (!include_.empty() && !matches_any(include_, url)) return "not_included";
  return {};
}

bool LinkFilter::denies_host(std::string_view host) const {
  // "example.com." is the same DNS name as "example.com"; denying errs on the safe side.
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  for (const std::string& domain : deny_domains_) {
    if (host.size() < domain.size()) continue;
    const std::size_t prefix = host.size() - domain.size();
    if (!equals_ignore_case(host.substr(prefix), domain)) continue;
    if (prefix == 0 || host[prefix - 1] == '.') return true;  // a whole label, not "badexample"
  }
  return false;
}

bool LinkFilter::is_path_trap(std::string_view url) const {
  if (max_segment_repeats_ <= 0 && max_path_segments_ <= 0) return false;
  const std::string_view path = path_of(url);
  std::size_t count = 0;
  for_each_segment(path, [&count](std::string_view) { ++count; });
  if (max_path_segments_ > 0 && count > static_cast<std::size_t>(max_path_segments_)) return true;

  const auto max_repeats = static_cast<std::size_t>(std::max(max_segment_repeats_, 0));
  if (max_repeats == 0 || count <= max_repeats) return false;
  // Sort views of the segments so equal ones sit together, then look for a long enough run.
  // O(n log n) and no allocation up to kInlineSegments segments.
  std::array<std::string_view, kInlineSegments> inline_segments;
  std::vector<std::string_view> heap_segments;
  std::string_view* segments = inline_segments.data();
  if (count > kInlineSegments) {
    heap_segments.resize(count);
    segments = heap_segments.data();
  }
  std::size_t filled = 0;
  for_each_segment(path, [&](std::string_view segment) { segments[filled++] = segment; });
  std::sort(segments, segments + count);
  std::size_t run = 1;
  for (std::size_t i = 1; i < count; ++i) {
    run = segments[i] == segments[i - 1] ? run + 1 : 1;
    if (run > max_repeats) return true;
  }
  return false;
}

}  // namespace crawler

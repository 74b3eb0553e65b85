#pragma once
// URL parsing, resolution (RFC 3986 section 5) and normalization for http(s) crawling.
//
// Every Url this module hands out is absolute, http or https, and normalized, so two Urls
// name the same resource exactly when their spec() strings are equal; the crawler dedups on
// spec(). Normalization (RFC 3986 section 6.2.2 plus common crawler practice):
//   - scheme and host lowercased; default ports (http 80, https 443) dropped;
//   - dot segments removed (section 5.2.4); an empty path becomes "/";
//   - percent-encoding: hex digits uppercased, encoded unreserved characters
//     (ALPHA DIGIT - . _ ~) decoded, bytes that may not appear raw (space, controls,
//     non-ASCII, '"', '<', '>', '\', '^', '`', '{', '|', '}') percent-encoded;
//   - the fragment is dropped; an empty query ("?") is kept distinct from no query.
// Parsers here are total: hostile input yields an Error, never a crash or an exception.
// Thread-safe: all functions are pure.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace parser {

struct Url {
  std::string scheme;    // "http" or "https"
  std::string userinfo;  // without the trailing '@'; usually empty
  std::string host;      // lowercased; an IPv6 literal keeps its brackets: "[::1]"
  int port = -1;         // -1 when the scheme's default port applies
  std::string path;      // normalized, always starts with '/'
  std::string query;     // without the leading '?'
  bool has_query = false;

  // The normalized serialization: scheme "://" [userinfo "@"] host [":" port] path ["?" query].
  std::string spec() const;
  // scheme "://" host [":" port]: the unit of robots.txt and per-host politeness.
  std::string origin() const;
  // The port in use: port, or 80 / 443 by scheme.
  int effective_port() const;
};

// Parses an absolute http(s) URL and normalizes it. Leading and trailing ASCII whitespace is
// trimmed; tabs and newlines inside are removed (as browsers do).
// Errors (ErrorCode::BadInput, context says why): not absolute, a scheme other than http(s)
// ("unsupported scheme 'mailto'"), empty or invalid host, invalid port, longer than 64 KiB.
[[nodiscard]] common::Result<Url> parse_url(std::string_view text);

// Resolves `reference` (as found in an href) against `base` per RFC 3986 section 5.2, then
// normalizes. The same errors as parse_url for a result that is not a valid http(s) URL
// (e.g. "mailto:x@y", "javascript:...", "data:...").
[[nodiscard]] common::Result<Url> resolve_url(const Url& base, std::string_view reference);

}  // namespace parser

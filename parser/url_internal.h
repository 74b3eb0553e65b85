#pragma once
// Internals of url.cpp that tests exercise directly. Not part of the API.

#include <string>
#include <string_view>

namespace parser::internal {

// RFC 3986 section 5.2.4 remove_dot_segments, on a path only.
std::string remove_dot_segments(std::string_view path);

// Strict RFC 3986 section 5.2 resolution of `reference` against an absolute `base`, any
// scheme, with no normalization beyond what 5.2 itself does (dot-segment removal). Used to
// check the section 5.4 examples verbatim. Returns "" if base is not absolute.
std::string resolve_reference(std::string_view base, std::string_view reference);

// Percent-encoding normalization of one component: uppercase hex, decode unreserved,
// encode bytes that may not appear raw. Malformed escapes ("%G1", "%4") are encoded as "%25".
std::string normalize_percent_encoding(std::string_view component);

}  // namespace parser::internal

// libFuzzer target for parser/url.h: parse_url, resolve_url, Url::spec/origin.
//
// Input: "<base>\n<reference>" (split at the first newline; the reference may hold more
// newlines). Without a newline the whole input is both the text to parse and the reference,
// resolved against the RFC 3986 section 5.4 base. A base that does not parse is replaced by
// that same RFC base, so every input exercises resolve_url.
//
// Invariants (url.h's contract), checked with a message and __builtin_trap():
//   - every Url handed out is http(s), has a host, a path starting with '/', and a spec no
//     longer than 64 KiB;
//   - normalization is idempotent: parse_url(u.spec()).spec() == u.spec();
//   - origin() parses back to itself plus "/";
//   - resolving "" against a Url gives the same Url.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "parser/url.h"
#include "parser/url_internal.h"

namespace {

constexpr std::size_t kMaxUrlBytes = 64 * 1024;  // url.cpp's kMaxUrlBytes.
constexpr std::string_view kRfcBase = "http://a/b/c/d;p?q";

[[noreturn]] void fail(const char* what, std::string_view a, std::string_view b) {
  std::fprintf(stderr, "fuzz_url invariant broken: %s\n  [%.*s]\n  [%.*s]\n", what,
               static_cast<int>(a.size()), a.data(), static_cast<int>(b.size()), b.data());
  __builtin_trap();
}

void check_url(const parser::Url& url, std::string_view input) {
  const std::string spec = url.spec();
  if (url.scheme != "http" && url.scheme != "https") fail("scheme is not http(s)", spec, input);
  if (url.host.empty()) fail("empty host", spec, input);
  if (url.path.empty() || url.path.front() != '/') fail("path without leading '/'", spec, input);
  if (!url.has_query && !url.query.empty()) fail("query without has_query", spec, input);
  if (spec.size() > kMaxUrlBytes) fail("spec longer than 64 KiB", spec, input);
  if (spec.find('#') != std::string::npos) fail("fragment in spec", spec, input);
  const int port = url.effective_port();
  if (port < 0 || port > 65535) fail("effective port out of range", spec, input);

  const auto again = parser::parse_url(spec);
  if (!again) fail("spec does not parse again", spec, again.error().context);
  if (again->spec() != spec) fail("normalization is not idempotent", spec, again->spec());

  const std::string origin = url.origin();
  const auto origin_url = parser::parse_url(origin);
  if (!origin_url) fail("origin does not parse", origin, origin_url.error().context);
  if (origin_url->spec() != origin + "/") fail("origin changes on parse", origin, spec);

  const auto self = parser::resolve_url(url, "");
  if (!self) fail("resolving \"\" fails", spec, self.error().context);
  if (self->spec() != spec) fail("resolving \"\" changes the URL", spec, self->spec());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const parser::Url rfc_base = [] {
    auto url = parser::parse_url(kRfcBase);
    if (!url) fail("the RFC 3986 base does not parse", kRfcBase, url.error().context);
    return *url;
  }();

  const std::size_t newline = input.find('\n');
  const std::string_view base_text = input.substr(0, newline);
  const std::string_view reference =
      newline == std::string_view::npos ? input : input.substr(newline + 1);

  const auto base = parser::parse_url(base_text);
  if (base) check_url(*base, base_text);
  if (newline != std::string_view::npos) {
    if (const auto url = parser::parse_url(reference)) check_url(*url, reference);
  }

  const parser::Url& effective_base = base ? *base : rfc_base;
  if (const auto resolved = parser::resolve_url(effective_base, reference)) {
    check_url(*resolved, reference);
  }

  // Internals that the tests call directly: only crashes and sanitizer reports count here.
  (void)parser::internal::resolve_reference(base_text, reference);
  (void)parser::internal::remove_dot_segments(reference);
  return 0;
}

#include "parser/url.h"

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "parser/url_internal.h"

namespace {

struct Row {
  const char* name;
  std::string input;
  std::string expected;
};

constexpr const char* kRfcBase = "http://a/b/c/d;p?q";

// Fails with the error's context, so a table row says why it did not parse.
std::string spec_or_error(const common::Result<parser::Url>& url) {
  return url ? url->spec() : "error: " + url.error().context;
}

// The URL with its fragment dropped, as resolve_url returns it.
std::string without_fragment(const std::string& url) { return url.substr(0, url.find('#')); }

// RFC 3986 section 5.4.1, verbatim.
const std::vector<Row> kNormalExamples = {
    {"g:h", "g:h", "g:h"},
    {"g", "g", "http://a/b/c/g"},
    {"./g", "./g", "http://a/b/c/g"},
    {"g/", "g/", "http://a/b/c/g/"},
    {"/g", "/g", "http://a/g"},
    {"//g", "//g", "http://g"},
    {"?y", "?y", "http://a/b/c/d;p?y"},
    {"g?y", "g?y", "http://a/b/c/g?y"},
    {"#s", "#s", "http://a/b/c/d;p?q#s"},
    {"g#s", "g#s", "http://a/b/c/g#s"},
    {"g?y#s", "g?y#s", "http://a/b/c/g?y#s"},
    {";x", ";x", "http://a/b/c/;x"},
    {"g;x", "g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "g;x?y#s", "http://a/b/c/g;x?y#s"},
    {"empty", "", "http://a/b/c/d;p?q"},
    {".", ".", "http://a/b/c/"},
    {"./", "./", "http://a/b/c/"},
    {"..", "..", "http://a/b/"},
    {"../", "../", "http://a/b/"},
    {"../g", "../g", "http://a/b/g"},
    {"../..", "../..", "http://a/"},
    {"../../", "../../", "http://a/"},
    {"../../g", "../../g", "http://a/g"},
};

// RFC 3986 section 5.4.2, verbatim ("http:g" with the strict parser).
const std::vector<Row> kAbnormalExamples = {
    {"../../../g", "../../../g", "http://a/g"},
    {"../../../../g", "../../../../g", "http://a/g"},
    {"/./g", "/./g", "http://a/g"},
    {"/../g", "/../g", "http://a/g"},
    {"g.", "g.", "http://a/b/c/g."},
    {".g", ".g", "http://a/b/c/.g"},
    {"g..", "g..", "http://a/b/c/g.."},
    {"..g", "..g", "http://a/b/c/..g"},
    {"./../g", "./../g", "http://a/b/g"},
    {"./g/.", "./g/.", "http://a/b/c/g/"},
    {"g/./h", "g/./h", "http://a/b/c/g/h"},
    {"g/../h", "g/../h", "http://a/b/c/h"},
    {"g;x=1/./y", "g;x=1/./y", "http://a/b/c/g;x=1/y"},
    {"g;x=1/../y", "g;x=1/../y", "http://a/b/c/y"},
    {"g?y/./x", "g?y/./x", "http://a/b/c/g?y/./x"},
    {"g?y/../x", "g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "g#s/./x", "http://a/b/c/g#s/./x"},
    {"g#s/../x", "g#s/../x", "http://a/b/c/g#s/../x"},
    {"http:g", "http:g", "http:g"},
};

}  // namespace

TEST_CASE("url: the RFC 3986 normal examples resolve verbatim", "[parser][url][rfc3986]") {
  for (const auto& row : kNormalExamples) {
    DYNAMIC_SECTION(row.name) {
      CHECK(parser::internal::resolve_reference(kRfcBase, row.input) == row.expected);
    }
  }
}

TEST_CASE("url: the RFC 3986 abnormal examples resolve verbatim", "[parser][url][rfc3986]") {
  for (const auto& row : kAbnormalExamples) {
    DYNAMIC_SECTION(row.name) {
      CHECK(parser::internal::resolve_reference(kRfcBase, row.input) == row.expected);
    }
  }
}

TEST_CASE("url: strict resolution needs an absolute base", "[parser][url][rfc3986]") {
  CHECK(parser::internal::resolve_reference("/relative/base", "g").empty());
  CHECK(parser::internal::resolve_reference("", "g").empty());
  CHECK(parser::internal::resolve_reference("urn:x", "g") == "urn:g");
  CHECK(parser::internal::resolve_reference("http://a", "g") == "http://a/g");
}

TEST_CASE("url: resolve_url agrees with the RFC 3986 examples minus fragments",
          "[parser][url][rfc3986]") {
  auto base = parser::parse_url(kRfcBase);
  REQUIRE(base);
  for (const auto* table : {&kNormalExamples, &kAbnormalExamples}) {
    for (const auto& row : *table) {
      if (row.input == "g:h" || row.input == "http:g") continue;
      DYNAMIC_SECTION(row.name) {
        CHECK(spec_or_error(parser::resolve_url(*base, row.input)) ==
              without_fragment(row.expected) + (row.expected == "http://g" ? "/" : ""));
      }
    }
  }
}

TEST_CASE("url: resolve_url reads a same-scheme 'http:g' as relative", "[parser][url][rfc3986]") {
  // RFC 3986 section 5.2.2 allows this for backward compatibility; browsers do it.
  auto base = parser::parse_url(kRfcBase);
  REQUIRE(base);
  CHECK(spec_or_error(parser::resolve_url(*base, "http:g")) == "http://a/b/c/g");
  CHECK(spec_or_error(parser::resolve_url(*base, "HTTP:/g")) == "http://a/g");
  CHECK_FALSE(parser::resolve_url(*base, "https:g"));
}

TEST_CASE("url: remove_dot_segments follows RFC 3986 section 5.2.4", "[parser][url][rfc3986]") {
  const std::vector<Row> rows = {
      {"RFC example 1", "/a/b/c/./../../g", "/a/g"},
      {"RFC example 2", "mid/content=5/../6", "mid/6"},
      {"empty", "", ""},
      {"root", "/", "/"},
      {"lone dot after slash", "/.", "/"},
      {"lone dot-dot after slash", "/..", "/"},
      {"dot-dots above root", "/../..", "/"},
      {"single dot", ".", ""},
      {"double dot", "..", ""},
      {"leading ../", "../a", "a"},
      {"leading ./", "./a", "a"},
      {"trailing dot keeps the slash", "/a/.", "/a/"},
      {"trailing dot-dot keeps the slash", "/a/b/..", "/a/"},
      {"dot-dot to root", "/a/..", "/"},
      {"empty segment then dot-dot", "/a//../b", "/a/b"},
      {"three dots are a name", "/a/.../b", "/a/.../b"},
      {"dots inside names", "/a/.b/..c/d.", "/a/.b/..c/d."},
      {"more dot-dots than segments", "/a/b/../../../c", "/c"},
      {"mixed", "/a/./b/./../c/", "/a/c/"},
      {"double slashes kept", "//a//b", "//a//b"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      CHECK(parser::internal::remove_dot_segments(row.input) == row.expected);
    }
  }
}

TEST_CASE("url: percent-encoding is normalized per component", "[parser][url][rfc3986]") {
  const std::vector<Row> rows = {
      {"lowercase unreserved escape decoded", "%7e", "~"},
      {"uppercase unreserved escape decoded", "%7E%41%2D%2e%5F", "~A-._"},
      {"reserved slash stays encoded, uppercased", "%2f", "%2F"},
      {"reserved ? & = stay encoded", "%3f%26%3d", "%3F%26%3D"},
      {"encoded percent stays", "%25", "%25"},
      {"UTF-8 escapes uppercased", "%e2%82%ac", "%E2%82%AC"},
      {"raw UTF-8 encoded", "\xE2\x82\xAC", "%E2%82%AC"},
      {"space encoded", "a b", "a%20b"},
      {"unsafe ASCII encoded", "<>\"`{|}^\\", "%3C%3E%22%60%7B%7C%7D%5E%5C"},
      {"control bytes encoded", std::string("\x01\x7F\0z", 4), "%01%7F%00z"},
      {"malformed escape: bad digit", "%G1", "%25G1"},
      {"malformed escape: one digit at end", "%4", "%254"},
      {"malformed escape: lone percent", "%", "%25"},
      {"sub-delims and reserved kept", "a+b=c&d;e,f:g@h!$'()*/?[]", "a+b=c&d;e,f:g@h!$'()*/?[]"},
      {"empty", "", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      CHECK(parser::internal::normalize_percent_encoding(row.input) == row.expected);
    }
  }
}

TEST_CASE("url: parse_url normalizes absolute URLs", "[parser][url][rfc3986]") {
  const std::vector<Row> rows = {
      {"scheme and host lowercased", "HTTP://Example.COM/a", "http://example.com/a"},
      {"mixed-case https", "hTtPs://EXAMPLE.com", "https://example.com/"},
      {"http default port dropped", "http://example.com:80/a", "http://example.com/a"},
      {"https default port dropped", "https://example.com:443/", "https://example.com/"},
      {"http on 443 kept", "http://example.com:443/", "http://example.com:443/"},
      {"https on 80 kept", "https://example.com:80/", "https://example.com:80/"},
      {"other port kept", "http://example.com:8080", "http://example.com:8080/"},
      {"leading zeros in port", "http://example.com:0080/", "http://example.com/"},
      {"port zero kept", "http://example.com:0/", "http://example.com:0/"},
      {"empty port", "http://EXAMPLE.com:/a", "http://example.com/a"},
      {"empty path", "http://example.com", "http://example.com/"},
      {"empty path with query", "http://example.com?q", "http://example.com/?q"},
      {"path case kept", "http://a/Path/FILE.html", "http://a/Path/FILE.html"},
      {"unreserved escape decoded", "http://a/%7euser", "http://a/~user"},
      {"encoded slash kept", "http://a/a%2fb", "http://a/a%2Fb"},
      {"UTF-8 escapes uppercased", "http://a/%e2%82%ac", "http://a/%E2%82%AC"},
      {"raw UTF-8 encoded", "http://a/\xE2\x82\xAC", "http://a/%E2%82%AC"},
      {"space in path", "http://a/b c", "http://a/b%20c"},
      {"space in query", "http://a/?q=a b", "http://a/?q=a%20b"},
      {"malformed escape", "http://a/%zz", "http://a/%25zz"},
      {"fragment dropped", "http://a/p#frag", "http://a/p"},
      {"query kept, fragment dropped", "http://a/p?x=1&y=%2f#f", "http://a/p?x=1&y=%2F"},
      {"reserved query escapes kept", "http://a/?%3f%26%3d", "http://a/?%3F%26%3D"},
      {"empty query kept", "http://a/p?", "http://a/p?"},
      {"empty query then fragment", "http://a/p?#f", "http://a/p?"},
      {"question mark in fragment", "http://a/p?q#f?g", "http://a/p?q"},
      {"dot segments removed", "http://a/b/../c/./d", "http://a/c/d"},
      {"encoded dot segments removed", "http://a/b/%2e%2E/x", "http://a/x"},
      {"dot-dot above root", "http://a/../../x", "http://a/x"},
      {"dots in query kept", "http://a/?p=../x", "http://a/?p=../x"},
      {"outer whitespace trimmed", "  http://a/x \n", "http://a/x"},
      {"outer controls trimmed", "\x01\x1F http://a/x\x00", "http://a/x"},
      {"tabs and newlines removed", "ht\ttp://a/\nx\r", "http://a/x"},
      {"backslashes before the query", "http:\\\\a\\b\\c?d\\e", "http://a/b/c?d%5Ce"},
      {"userinfo kept", "http://User:Pass@Host/", "http://User:Pass@host/"},
      {"last @ starts the host", "http://a@b@c/", "http://a%40b@c/"},
      {"empty userinfo dropped", "http://@a/", "http://a/"},
      {"IPv6 with port", "http://[::1]:8080/", "http://[::1]:8080/"},
      {"IPv6 compressed", "http://[0:0:0:0:0:0:0:1]/", "http://[::1]/"},
      {"IPv6 lowercased", "http://[2001:DB8::1]/", "http://[2001:db8::1]/"},
      {"IPv6 leading zeros", "http://[2001:0db8:0:0:1:0:0:01]/", "http://[2001:db8::1:0:0:1]/"},
      {"IPv6 embedded IPv4", "http://[::ffff:192.0.2.1]/", "http://[::ffff:c000:201]/"},
      {"IPv4 host", "http://192.0.2.1:8080/", "http://192.0.2.1:8080/"},
      {"host escapes decoded", "http://ex%61mple.com/", "http://example.com/"},
      {"trailing dot in host kept", "http://example.com./", "http://example.com./"},
      {"underscore in host", "http://my_host.example/", "http://my_host.example/"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      CHECK(spec_or_error(parser::parse_url(row.input)) == row.expected);
    }
  }
}

TEST_CASE("url: parse_url fills the components", "[parser][url]") {
  auto url = parser::parse_url("HTTPS://u:p@Example.com:8443/a/b?c=d#e");
  REQUIRE(url);
  CHECK(url->scheme == "https");
  CHECK(url->userinfo == "u:p");
  CHECK(url->host == "example.com");
  CHECK(url->port == 8443);
  CHECK(url->path == "/a/b");
  CHECK(url->query == "c=d");
  CHECK(url->has_query);

  auto plain = parser::parse_url("http://example.com");
  REQUIRE(plain);
  CHECK(plain->port == -1);
  CHECK(plain->path == "/");
  CHECK_FALSE(plain->has_query);
  CHECK(plain->userinfo.empty());
}

TEST_CASE("url: parse_url rejects what is not an absolute http(s) URL", "[parser][url][policy]") {
  // expected: a substring of the error's context.
  const std::vector<Row> rows = {
      {"mailto", "mailto:someone@example.com", "unsupported scheme 'mailto'"},
      {"javascript", "javascript:alert(1)", "unsupported scheme 'javascript'"},
      {"data", "data:text/html,<b>x</b>", "unsupported scheme 'data'"},
      {"ftp", "ftp://example.com/file", "unsupported scheme 'ftp'"},
      {"scheme name lowercased", "FTP://example.com/", "unsupported scheme 'ftp'"},
      {"empty", "", "not an absolute URL"},
      {"only spaces", "   ", "not an absolute URL"},
      {"relative path", "/foo", "not an absolute URL"},
      {"network-path reference", "//example.com/", "not an absolute URL"},
      {"bare host", "example.com", "not an absolute URL"},
      {"no host", "http://", "empty host"},
      {"empty host with path", "http:///x", "empty host"},
      {"empty host with userinfo", "http://user@/x", "empty host"},
      {"empty host with port", "http://:80/", "empty host"},
      {"no slashes", "http:example.com", "missing host"},
      {"port out of range", "http://a:99999/", "invalid port"},
      {"port just out of range", "http://a:65536/", "invalid port"},
      {"port not digits", "http://a:b/", "invalid port"},
      {"negative port", "http://a:-1/", "invalid port"},
      {"two ports", "http://a:1:2/", "invalid port"},
      {"space in host", "http://a b/", "invalid character in host"},
      {"angle bracket in host", "http://a<b/", "invalid character in host"},
      {"caret in host", "http://a^b/", "invalid character in host"},
      {"pipe in host", "http://a|b/", "invalid character in host"},
      {"lone percent in host", "http://a%/", "invalid percent-escape in host"},
      {"bad escape in host", "http://%zz.com/", "invalid percent-escape in host"},
      {"escape decoding to a slash", "http://a%2Fb/", "invalid character in host"},
      {"raw non-ASCII host", "http://ex\xC3\xA4mple.com/", "non-ASCII host"},
      {"escaped non-ASCII host", "http://ex%C3%A4mple.com/", "non-ASCII host"},
      {"unclosed IPv6", "http://[::1/", "invalid IPv6 host"},
      {"junk after IPv6", "http://[::1]x/", "invalid character in host"},
      {"bad IPv6", "http://[1:2:3]/", "invalid IPv6 host"},
      {"IPv6 zone id", "http://[fe80::1%25eth0]/", "invalid IPv6 host"},
      {"IPvFuture", "http://[v1.x]/", "invalid IPv6 host"},
      {"too long", "http://a/" + std::string(70 * 1024, 'a'), "longer than 64 KiB"},
      {"too long once encoded", "http://a/" + std::string(30 * 1024, ' ') + "x",
       "longer than 64 KiB"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      auto url = parser::parse_url(row.input);
      REQUIRE_FALSE(url);
      CHECK(url.error().code == common::ErrorCode::BadInput);
      CHECK_THAT(url.error().context, Catch::Contains(row.expected));
    }
  }
}

TEST_CASE("url: an input of exactly 64 KiB is accepted", "[parser][url][policy]") {
  std::string text = "http://a/";
  text.resize(64 * 1024, 'a');
  auto url = parser::parse_url(text);
  REQUIRE(url);
  CHECK(url->spec() == text);
}

TEST_CASE("url: resolve_url resolves hrefs against a page", "[parser][url][rfc3986]") {
  auto base = parser::parse_url("http://example.com/dir/page.html?x=1#top");
  REQUIRE(base);
  const std::vector<Row> rows = {
      {"network-path", "//other.host/x", "http://other.host/x"},
      {"network-path with default port", "//user@Other.Host:80", "http://user@other.host/"},
      {"query only", "?q", "http://example.com/dir/page.html?q"},
      {"empty query", "?", "http://example.com/dir/page.html?"},
      {"fragment only: same page", "#frag", "http://example.com/dir/page.html?x=1"},
      {"empty: same page", "", "http://example.com/dir/page.html?x=1"},
      {"whitespace only: same page", " \t\n", "http://example.com/dir/page.html?x=1"},
      {"beyond root", "../../../x", "http://example.com/x"},
      {"sibling", "other.html", "http://example.com/dir/other.html"},
      {"directory", "./", "http://example.com/dir/"},
      {"parent", "..", "http://example.com/"},
      {"absolute path", "/a/./b/../c", "http://example.com/a/c"},
      {"absolute http URL", "https://Secure.Example.com:443/a#x", "https://secure.example.com/a"},
      {"trimmed and encoded", "  /a b  ", "http://example.com/a%20b"},
      {"newlines inside", "sub/\tpage\n.html", "http://example.com/dir/sub/page.html"},
      {"backslashes", "\\\\other.host\\x", "http://other.host/x"},
      {"same scheme without slashes", "http:other.html", "http://example.com/dir/other.html"},
      {"non-ASCII path", "caf\xC3\xA9", "http://example.com/dir/caf%C3%A9"},
      {"encoded dot-dot", "%2E%2E/x", "http://example.com/x"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      CHECK(spec_or_error(parser::resolve_url(*base, row.input)) == row.expected);
    }
  }
}

TEST_CASE("url: resolve_url keeps the base scheme and authority", "[parser][url][rfc3986]") {
  auto base = parser::parse_url("https://u@s.example:8443/a/b");
  REQUIRE(base);
  CHECK(spec_or_error(parser::resolve_url(*base, "//cdn.example/x.js")) ==
        "https://cdn.example/x.js");
  CHECK(spec_or_error(parser::resolve_url(*base, "c?d")) == "https://u@s.example:8443/a/c?d");
  CHECK(spec_or_error(parser::resolve_url(*base, "/")) == "https://u@s.example:8443/");
}

TEST_CASE("url: resolve_url rejects non-http(s) results", "[parser][url][policy]") {
  auto base = parser::parse_url("http://example.com/dir/page.html");
  REQUIRE(base);
  const std::vector<Row> rows = {
      {"javascript", "javascript:void(0)", "unsupported scheme 'javascript'"},
      {"mailto", "mailto:a@example.com", "unsupported scheme 'mailto'"},
      {"data", "data:text/plain,hi", "unsupported scheme 'data'"},
      {"tel", " tel:+123 ", "unsupported scheme 'tel'"},
      {"ftp", "ftp://example.com/", "unsupported scheme 'ftp'"},
      {"other scheme without slashes", "https:foo", "missing host"},
      {"empty network-path host", "///x", "empty host"},
      {"bad port", "//a:bad/", "invalid port"},
      {"bad host", "//a<b/", "invalid character in host"},
      {"too long", std::string(65 * 1024, 'a'), "longer than 64 KiB"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      auto url = parser::resolve_url(*base, row.input);
      REQUIRE_FALSE(url);
      CHECK(url.error().code == common::ErrorCode::BadInput);
      CHECK_THAT(url.error().context, Catch::Contains(row.expected));
    }
  }
  CHECK_FALSE(parser::resolve_url(parser::Url{}, "page.html"));
  CHECK(spec_or_error(parser::resolve_url(parser::Url{}, "http://a/")) == "http://a/");
}

TEST_CASE("url: origin is scheme, host and non-default port", "[parser][url][policy]") {
  const std::vector<Row> rows = {
      {"http", "http://Example.com/a?b", "http://example.com"},
      {"https default port", "https://example.com:443/", "https://example.com"},
      {"explicit port", "https://u@example.com:8443/a", "https://example.com:8443"},
      {"IPv6", "http://[::1]:81/", "http://[::1]:81"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      auto url = parser::parse_url(row.input);
      REQUIRE(url);
      CHECK(url->origin() == row.expected);
    }
  }
}

TEST_CASE("url: effective_port falls back to the scheme's default", "[parser][url][policy]") {
  auto port_of = [](std::string_view text) {
    auto url = parser::parse_url(text);
    return url ? url->effective_port() : -2;
  };
  CHECK(port_of("http://a/") == 80);
  CHECK(port_of("https://a/") == 443);
  CHECK(port_of("http://a:443/") == 443);
  CHECK(port_of("https://a:80/") == 80);
  CHECK(port_of("http://a:8080/") == 8080);
  CHECK(parser::Url{}.effective_port() == -1);
}

namespace {

// URL-ish pieces that exercise every branch of the parser when glued together.
const std::vector<std::string> kFragments = {
    "http:",
    "https:",
    "HTTP:",
    "ftp:",
    "javascript:",
    "//",
    "/",
    "\\",
    "?",
    "#",
    "@",
    ":",
    "[",
    "]",
    "::",
    "::1",
    "[::1]",
    "[::ffff:1.2.3.4]",
    "1.2.3.4",
    "%",
    "%2e",
    "%2E%2e",
    "%41",
    "%zz",
    "%25",
    "%00",
    "%2F",
    "%C3%A4",
    ".",
    "..",
    "./",
    "../",
    "a",
    "B",
    "example.com",
    "80",
    "443",
    "65535",
    "65536",
    "0",
    " ",
    "\t",
    "\n",
    "\r",
    std::string(1, '\0'),
    "\x01",
    "\x7F",
    "\xFF",
    "\xE2\x82\xAC",
    "user:pass",
    ";",
    "=",
    "&",
    "~",
    "+",
    "<",
    ">",
    "\"",
    "^",
    "|",
    "{",
    "}",
    "`",
    "'",
};

std::string random_input(std::mt19937& rng) {
  std::string out;
  switch (rng() % 4) {
    case 0: {  // Raw bytes.
      std::size_t length = rng() % 48;
      for (std::size_t i = 0; i < length; ++i) out.push_back(static_cast<char>(rng() % 256));
      break;
    }
    case 1: {  // A valid-looking start, then raw bytes.
      out = (rng() % 2) ? "http://" : "https://";
      std::size_t length = rng() % 32;
      for (std::size_t i = 0; i < length; ++i) out.push_back(static_cast<char>(rng() % 256));
      break;
    }
    case 2:  // A valid-looking start, then fragments.
      out = (rng() % 2) ? "http://" : "HTTPS://";
      [[fallthrough]];
    default: {  // Fragments only.
      std::size_t count = 1 + rng() % 12;
      for (std::size_t i = 0; i < count; ++i) out += kFragments[rng() % kFragments.size()];
      break;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("url: hostile input never crashes and results are fixed points",
          "[parser][url][policy]") {
  constexpr int kInputs = 20000;
  std::mt19937 rng(20240611);  // The engine's output is fixed by the standard.
  std::vector<parser::Url> bases;
  for (const char* text : {"http://a/b/c/d;p?q", "https://u@h.example:8443/x/?", "http://[::1]/"}) {
    auto base = parser::parse_url(text);
    REQUIRE(base);
    bases.push_back(*base);
  }
  std::vector<std::string> failures;
  int parsed = 0;
  int resolved = 0;
  auto check_fixed_point = [&failures](const std::string& input, const parser::Url& url) {
    std::string spec = url.spec();
    auto again = parser::parse_url(spec);
    if (!again || again->spec() != spec) {
      failures.push_back("input '" + input + "' gave '" + spec + "' then " + spec_or_error(again));
    }
  };
  for (int i = 0; i < kInputs; ++i) {
    std::string input = random_input(rng);
    if (auto url = parser::parse_url(input)) {
      ++parsed;
      check_fixed_point(input, *url);
      if (bases.size() < 64) bases.push_back(*url);
    }
    const parser::Url& base = bases[rng() % bases.size()];
    if (auto url = parser::resolve_url(base, input)) {
      ++resolved;
      check_fixed_point(base.spec() + " + " + input, *url);
    }
    (void)parser::internal::resolve_reference(input, input);
    (void)parser::internal::remove_dot_segments(input);
  }
  INFO("parsed " << parsed << ", resolved " << resolved);
  CHECK(parsed > kInputs / 40);
  CHECK(resolved > kInputs / 5);
  for (std::size_t i = 0; i < failures.size() && i < 5; ++i) UNSCOPED_INFO(failures[i]);
  CHECK(failures.size() == 0);
}

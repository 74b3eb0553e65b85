#include "parser/url.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "parser/url_internal.h"

namespace parser {
namespace {

// Both the input and every spec() we hand out stay under this, so any Url we return parses
// again (normalization can triple a component's size by percent-encoding it).
constexpr std::size_t kMaxUrlBytes = 64 * 1024;
constexpr std::size_t kMaxSchemeInMessage = 32;
constexpr int kMaxPort = 65535;
constexpr int kHttpPort = 80;
constexpr int kHttpsPort = 443;
constexpr char kUpperHex[] = "0123456789ABCDEF";
constexpr char kLowerHex[] = "0123456789abcdef";

constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Byte classes, one table lookup each: this runs for every byte of every link.
constexpr std::uint8_t kUnreserved = 1;  // RFC 3986 section 2.3.
constexpr std::uint8_t kMustEncode = 2;  // May not appear raw in a normalized component.
constexpr std::uint8_t kHostChar = 4;    // RFC 3986 reg-name: unreserved / sub-delims.
constexpr std::array<std::uint8_t, 256> kByteClasses = [] {
  std::array<std::uint8_t, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    if (c <= 0x20 || c >= 0x7F) classes[c] = kMustEncode;
  }
  for (char c : std::string_view("\"<>\\^`{|}"))
    classes[static_cast<unsigned char>(c)] = kMustEncode;
  for (char c : std::string_view("!$&'()*+,;=")) classes[static_cast<unsigned char>(c)] = kHostChar;
  for (int c = 0; c < 256; ++c) {
    if (is_alpha(static_cast<char>(c)) || is_digit(static_cast<char>(c)) || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      classes[c] = kUnreserved | kHostChar;
    }
  }
  return classes;
}();

bool is_unreserved(unsigned char c) { return (kByteClasses[c] & kUnreserved) != 0; }
bool must_encode(unsigned char c) { return (kByteClasses[c] & kMustEncode) != 0; }
bool is_host_char(unsigned char c) { return (kByteClasses[c] & kHostChar) != 0; }

void append_escape(std::string& out, unsigned char c) {
  out.push_back('%');
  out.push_back(kUpperHex[c >> 4]);
  out.push_back(kUpperHex[c & 0xF]);
}

common::Unexpected<common::Error> bad_input(std::string why) {
  return common::make_error(common::ErrorCode::BadInput, std::move(why));
}

// RFC 3986 section 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool is_valid_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return false;
  for (char c : s) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

// The five components of RFC 3986 Appendix B, views into the split string.
struct Components {
  std::optional<std::string_view> scheme;
  std::optional<std::string_view> authority;
  std::string_view path;
  std::optional<std::string_view> query;
  std::optional<std::string_view> fragment;
};

Components split(std::string_view s) {
  Components parts;
  if (std::size_t colon = s.find_first_of(":/?#");
      colon != std::string_view::npos && s[colon] == ':' && is_valid_scheme(s.substr(0, colon))) {
    parts.scheme = s.substr(0, colon);
    s.remove_prefix(colon + 1);
  }
  if (s.starts_with("//")) {
    s.remove_prefix(2);
    std::size_t end = std::min(s.find_first_of("/?#"), s.size());
    parts.authority = s.substr(0, end);
    s.remove_prefix(end);
  }
  std::size_t path_end = std::min(s.find_first_of("?#"), s.size());
  parts.path = s.substr(0, path_end);
  s.remove_prefix(path_end);
  if (!s.empty() && s[0] == '?') {
    std::size_t end = std::min(s.find('#'), s.size());
    parts.query = s.substr(1, end - 1);
    s.remove_prefix(end);
  }
  if (!s.empty() && s[0] == '#') parts.fragment = s.substr(1);
  return parts;
}

// WHATWG-like cleanup of an href: trim C0 controls and spaces at both ends, drop tabs and
// newlines anywhere, and read '\' as '/' before the query, as browsers do for http(s).
std::string clean_input(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && static_cast<unsigned char>(text[begin]) <= 0x20) ++begin;
  while (end > begin && static_cast<unsigned char>(text[end - 1]) <= 0x20) --end;
  std::string out;
  out.reserve(end - begin);
  bool in_query_or_fragment = false;
  for (std::size_t i = begin; i < end; ++i) {
    char c = text[i];
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (!in_query_or_fragment) {
      if (c == '?' || c == '#') in_query_or_fragment = true;
      if (c == '\\') c = '/';
    }
    out.push_back(c);
  }
  return out;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

int default_port(std::string_view scheme) {
  if (scheme == "http") return kHttpPort;
  if (scheme == "https") return kHttpsPort;
  return -1;
}

// WHATWG URL Standard "IPv6 parser", on the text between the brackets. No zone ids.
std::optional<std::array<std::uint16_t, 8>> parse_ipv6(std::string_view s) {
  std::array<std::uint16_t, 8> pieces{};
  std::size_t n = s.size();
  std::size_t i = 0;
  int piece = 0;
  int compress = -1;
  if (i < n && s[i] == ':') {
    if (i + 1 >= n || s[i + 1] != ':') return std::nullopt;
    i += 2;
    compress = ++piece;
  }
  while (i < n) {
    if (piece == 8) return std::nullopt;
    if (s[i] == ':') {
      if (compress != -1) return std::nullopt;
      ++i;
      compress = ++piece;
      continue;
    }
    unsigned value = 0;
    std::size_t length = 0;
    while (length < 4 && i < n && hex_value(s[i]) >= 0) {
      value = value * 16 + static_cast<unsigned>(hex_value(s[i]));
      ++i;
      ++length;
    }
    if (i < n && s[i] == '.') {  // Embedded IPv4: the last two pieces.
      if (length == 0 || piece > 6) return std::nullopt;
      i -= length;
      int numbers_seen = 0;
      while (i < n) {
        if (numbers_seen > 0) {
          if (s[i] != '.' || numbers_seen >= 4) return std::nullopt;
          ++i;
        }
        if (i >= n || !is_digit(s[i])) return std::nullopt;
        int octet = -1;
        while (i < n && is_digit(s[i])) {
          if (octet == 0) return std::nullopt;  // No leading zeros.
          octet = (octet < 0 ? 0 : octet * 10) + (s[i] - '0');
          if (octet > 255) return std::nullopt;
          ++i;
        }
        pieces[piece] = static_cast<std::uint16_t>(pieces[piece] * 0x100 + octet);
        ++numbers_seen;
        if (numbers_seen == 2 || numbers_seen == 4) ++piece;
      }
      if (numbers_seen != 4) return std::nullopt;
      break;
    }
    if (i < n && s[i] == ':') {
      if (++i >= n) return std::nullopt;
    } else if (i < n) {
      return std::nullopt;
    }
    pieces[piece++] = static_cast<std::uint16_t>(value);
  }
  if (compress != -1) {
    int swaps = piece - compress;
    for (int p = 7; p != 0 && swaps > 0; --p, --swaps) {
      std::swap(pieces[p], pieces[compress + swaps - 1]);
    }
  } else if (piece != 8) {
    return std::nullopt;
  }
  return pieces;
}

// RFC 5952 section 4: lowercase, no leading zeros, the first longest run of two or more zero
// pieces compressed; so equal addresses get equal specs.
std::string serialize_ipv6(const std::array<std::uint16_t, 8>& pieces) {
  int best_start = -1;
  int best_length = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && pieces[j] == 0) ++j;
    if (j - i > best_length) best_start = i, best_length = j - i;
    i = (j == i) ? i + 1 : j;
  }
  std::string out = "[";
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += (i == 0) ? "::" : ":";
      i += best_length - 1;
      continue;
    }
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned digit = (pieces[i] >> shift) & 0xF;
      if (digit != 0 || started || shift == 0) out.push_back(kLowerHex[digit]), started = true;
    }
    if (i != 7) out.push_back(':');
  }
  out.push_back(']');
  return out;
}

common::Result<std::string> parse_host(std::string_view text) {
  if (text.empty()) return bad_input("empty host");
  if (text.front() == '[') {
    if (text.size() < 2 || text.back() != ']') return bad_input("invalid IPv6 host");
    auto pieces = parse_ipv6(text.substr(1, text.size() - 2));
    if (!pieces) return bad_input("invalid IPv6 host");
    return serialize_ipv6(*pieces);
  }
  std::string host;
  host.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0) {
        return bad_input("invalid percent-escape in host");
      }
      c = static_cast<unsigned char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    }
    // IDNA is out of scope: hosts must already be ASCII (punycode).
    if (c >= 0x80) return bad_input("non-ASCII host");
    c = static_cast<unsigned char>(to_lower(static_cast<char>(c)));
    if (!is_host_char(c)) return bad_input("invalid character in host");
    host.push_back(static_cast<char>(c));
  }
  return host;
}

// Digits only, 0-65535; "" means the default port.
common::Result<int> parse_port(std::string_view text) {
  if (text.empty()) return -1;
  int port = 0;
  for (char c : text) {
    if (!is_digit(c)) return bad_input("invalid port");
    port = port * 10 + (c - '0');
    if (port > kMaxPort) return bad_input("invalid port");
  }
  return port;
}

// Fills userinfo, host and port. The host starts after the last '@', as browsers read it.
common::Result<void> parse_authority(std::string_view authority, Url& url) {
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = internal::normalize_percent_encoding(authority.substr(0, at));
    // A raw '@' left in the userinfo would move the host on the next parse.
    for (std::size_t i = 0; (i = url.userinfo.find('@', i)) != std::string::npos;) {
      url.userinfo.replace(i, 1, "%40");
    }
    authority.remove_prefix(at + 1);
  }
  std::size_t host_end = 0;
  if (!authority.empty() && authority.front() == '[') {
    host_end = authority.find(']');
    if (host_end == std::string_view::npos) return bad_input("invalid IPv6 host");
    ++host_end;
    if (host_end < authority.size() && authority[host_end] != ':') {
      return bad_input("invalid character in host");
    }
  } else {
    host_end = std::min(authority.find(':'), authority.size());
  }
  auto host = parse_host(authority.substr(0, host_end));
  if (!host) return common::Unexpected<common::Error>{std::move(host).error()};
  std::string_view port_text = authority.substr(host_end);
  if (!port_text.empty()) port_text.remove_prefix(1);  // The ':'.
  auto port = parse_port(port_text);
  if (!port) return common::Unexpected<common::Error>{std::move(port).error()};
  url.host = std::move(*host);
  url.port = (*port == default_port(url.scheme)) ? -1 : *port;
  return {};
}

// Normalizes and stores path and query; checks the length of the result.
common::Result<Url> finish(Url url, std::string_view path, std::optional<std::string_view> query) {
  // Decode first, so that "%2E%2E" segments are removed too (RFC 3986 section 6.2.2.3).
  url.path = internal::remove_dot_segments(internal::normalize_percent_encoding(path));
  if (url.path.empty() || url.path.front() != '/') url.path.insert(0, "/");
  url.has_query = query.has_value();
  if (query) url.query = internal::normalize_percent_encoding(*query);
  std::size_t length = url.scheme.size() + 3 + url.host.size() + url.path.size();
  if (!url.userinfo.empty()) length += url.userinfo.size() + 1;
  if (url.port != -1) length += 1 + std::to_string(url.port).size();
  if (url.has_query) length += 1 + url.query.size();
  if (length > kMaxUrlBytes) return bad_input("URL longer than 64 KiB");
  return url;
}

// An absolute reference: scheme present and already lowercased.
common::Result<Url> from_absolute(std::string scheme, const Components& parts) {
  if (scheme != "http" && scheme != "https") {
    if (scheme.size() > kMaxSchemeInMessage) scheme.resize(kMaxSchemeInMessage);
    return bad_input("unsupported scheme '" + scheme + "'");
  }
  if (!parts.authority) return bad_input("missing host");
  Url url;
  url.scheme = std::move(scheme);
  if (auto ok = parse_authority(*parts.authority, url); !ok) {
    return common::Unexpected<common::Error>{std::move(ok).error()};
  }
  return finish(std::move(url), parts.path, parts.query);
}

void append_component(std::string& out, std::string_view prefix, std::string_view value) {
  out += prefix;
  out += value;
}

}  // namespace

std::string Url::spec() const {
  std::string out;
  out.reserve(scheme.size() + 3 + userinfo.size() + 1 + host.size() + 6 + path.size() + 1 +
              query.size());
  out += scheme;
  out += "://";
  if (!userinfo.empty()) {
    out += userinfo;
    out.push_back('@');
  }
  out += host;
  if (port != -1) append_component(out, ":", std::to_string(port));
  out += path;
  if (has_query) append_component(out, "?", query);
  return out;
}

std::string Url::origin() const {
  std::string out = scheme;
  append_component(out, "://", host);
  if (port != -1) append_component(out, ":", std::to_string(port));
  return out;
}

int Url::effective_port() const { return port != -1 ? port : default_port(scheme); }

common::Result<Url> parse_url(std::string_view text) {
  if (text.size() > kMaxUrlBytes) return bad_input("URL longer than 64 KiB");
  std::string cleaned = clean_input(text);
  Components parts = split(cleaned);
  if (!parts.scheme) return bad_input("not an absolute URL");
  return from_absolute(lowercase(*parts.scheme), parts);
}

common::Result<Url> resolve_url(const Url& base, std::string_view reference) {
  if (reference.size() > kMaxUrlBytes) return bad_input("URL longer than 64 KiB");
  std::string cleaned = clean_input(reference);
  Components parts = split(cleaned);
  if (parts.scheme) {
    std::string scheme = lowercase(*parts.scheme);
    // RFC 3986 section 5.2.2, non-strict: "http:g" against an http base is relative.
    if (scheme != base.scheme || parts.authority) return from_absolute(std::move(scheme), parts);
  }
  if (default_port(base.scheme) == -1 || base.host.empty()) {
    return bad_input("base URL is not an absolute http(s) URL");
  }
  Url url;
  url.scheme = base.scheme;
  if (parts.authority) {
    if (auto ok = parse_authority(*parts.authority, url); !ok) {
      return common::Unexpected<common::Error>{std::move(ok).error()};
    }
    return finish(std::move(url), parts.path, parts.query);
  }
  url.userinfo = base.userinfo;
  url.host = base.host;
  url.port = base.port;
  if (parts.path.empty()) {
    std::optional<std::string_view> query = parts.query;
    if (!query && base.has_query) query = base.query;
    return finish(std::move(url), base.path, query);
  }
  if (parts.path.front() == '/') return finish(std::move(url), parts.path, parts.query);
  // RFC 3986 section 5.2.3 merge: the base path up to its last '/', then the reference.
  std::size_t slash = base.path.rfind('/');
  std::string merged = (slash == std::string::npos) ? "/" : base.path.substr(0, slash + 1);
  merged += parts.path;
  return finish(std::move(url), merged, parts.query);
}

namespace internal {

std::string remove_dot_segments(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  // Drops the output's last segment and its preceding '/', if any (rules 2C and 2D).
  auto pop_segment = [&out] {
    std::size_t slash = out.rfind('/');
    out.resize(slash == std::string::npos ? 0 : slash);
  };
  std::string_view in = path;
  while (!in.empty()) {
    if (in.starts_with("../")) {  // 2A
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {  // 2B
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {  // 2C
      in.remove_prefix(3);
      pop_segment();
    } else if (in == "/..") {
      in = "/";
      pop_segment();
    } else if (in == "." || in == "..") {  // 2D
      in = {};
    } else {  // 2E: move the first segment, with its leading '/', to the output.
      std::size_t end = std::min(in.find('/', 1), in.size());
      out += in.substr(0, end);
      in.remove_prefix(end);
    }
  }
  return out;
}

std::string resolve_reference(std::string_view base, std::string_view reference) {
  Components b = split(base);
  if (!b.scheme) return "";
  Components r = split(reference);
  std::string_view scheme = b.scheme.value();
  std::optional<std::string_view> authority;
  std::string path;
  std::optional<std::string_view> query;
  if (r.scheme) {  // Section 5.2.2, strict.
    scheme = *r.scheme;
    authority = r.authority;
    path = remove_dot_segments(r.path);
    query = r.query;
  } else if (r.authority) {
    authority = r.authority;
    path = remove_dot_segments(r.path);
    query = r.query;
  } else {
    authority = b.authority;
    if (r.path.empty()) {
      path = b.path;
      query = r.query ? r.query : b.query;
    } else {
      if (r.path.front() == '/') {
        path = r.path;
      } else if (b.authority && b.path.empty()) {  // Section 5.2.3 merge.
        path = "/";
        path += r.path;
      } else {
        std::size_t slash = b.path.rfind('/');
        path = (slash == std::string_view::npos) ? std::string_view{} : b.path.substr(0, slash + 1);
        path += r.path;
      }
      path = remove_dot_segments(path);
      query = r.query;
    }
  }
  std::string out(scheme);  // Section 5.3 recomposition.
  out.push_back(':');
  if (authority) append_component(out, "//", *authority);
  out += path;
  if (query) append_component(out, "?", *query);
  if (r.fragment) append_component(out, "#", *r.fragment);
  return out;
}

std::string normalize_percent_encoding(std::string_view component) {
  std::string out;
  out.reserve(component.size());
  for (std::size_t i = 0; i < component.size(); ++i) {
    auto c = static_cast<unsigned char>(component[i]);
    if (c == '%') {
      if (i + 2 < component.size() && hex_value(component[i + 1]) >= 0 &&
          hex_value(component[i + 2]) >= 0) {
        auto decoded = static_cast<unsigned char>(hex_value(component[i + 1]) * 16 +
                                                  hex_value(component[i + 2]));
        if (is_unreserved(decoded)) {
          out.push_back(static_cast<char>(decoded));
        } else {
          append_escape(out, decoded);
        }
        i += 2;
      } else {
        out += "%25";  // A malformed escape: the '%' itself is data.
      }
    } else if (must_encode(c)) {
      append_escape(out, c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace internal
}  // namespace parser

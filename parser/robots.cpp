#include "parser/robots.h"

#include <algorithm>
#include <charconv>
#include <system_error>
#include <utility>

#include "parser/url_internal.h"

namespace parser {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

enum class Key { UserAgent, Allow, Disallow, CrawlDelay, Sitemap, Unknown };

struct Spelling {
  std::string_view text;
  Key key;
};

// Lowercase. The misspellings are the ones Google's parser accepts (it is the de facto
// reference for what sites expect); "crawldelay" and "crawl delay" by analogy.
constexpr Spelling kSpellings[] = {
    {"user-agent", Key::UserAgent},   {"useragent", Key::UserAgent},
    {"user agent", Key::UserAgent},   {"allow", Key::Allow},
    {"disallow", Key::Disallow},      {"dissallow", Key::Disallow},
    {"dissalow", Key::Disallow},      {"disalow", Key::Disallow},
    {"diasllow", Key::Disallow},      {"disallaw", Key::Disallow},
    {"crawl-delay", Key::CrawlDelay}, {"crawldelay", Key::CrawlDelay},
    {"crawl delay", Key::CrawlDelay}, {"sitemap", Key::Sitemap},
    {"site-map", Key::Sitemap},
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 9309 section 2.2.1: product-token = identifier / "*"; identifier = 1*(%x2D / %x41-5A /
// %x5F / %x61-7A).
bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

Key parse_key(std::string_view key) {
  for (const auto& spelling : kSpellings) {
    if (iequals(key, spelling.text)) return spelling.key;
  }
  return Key::Unknown;
}

// The [A-Za-z_-]* prefix of `value` (already trimmed).
std::string_view product_token(std::string_view value) {
  std::size_t n = 0;
  while (n < value.size() && is_token_char(value[n])) ++n;
  return value.substr(0, n);
}

// "*", or "*" followed by blanks and anything (Google reads "* foo" as "*" too).
bool is_wildcard_agent(std::string_view value) {
  return !value.empty() && value.front() == '*' && (value.size() == 1 || is_blank(value[1]));
}

// A non-negative decimal number of seconds: digits with at most one '.', at least one digit.
// No sign, exponent, "inf", "nan" or unit; out of double's range is invalid too.
std::optional<double> parse_seconds(std::string_view value) {
  bool seen_dot = false;
  bool seen_digit = false;
  for (char c : value) {
    if (is_digit(c)) {
      seen_digit = true;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      return std::nullopt;
    }
  }
  if (!seen_digit) return std::nullopt;
  double seconds = 0;
  const char* end = value.data() + value.size();
  auto [next, ec] = std::from_chars(value.data(), end, seconds, std::chars_format::fixed);
  if (ec != std::errc{} || next != end) return std::nullopt;
  return seconds;
}

// Only lines that end inside the limit are parsed (see robots.h): past the limit, everything
// after the last line end before it is dropped.
std::string_view parsed_part(std::string_view body, bool& truncated) {
  truncated = body.size() > kRobotsMaxBytes;
  if (truncated) {
    body = body.substr(0, kRobotsMaxBytes);
    const std::size_t last_end = body.find_last_of("\r\n");
    body = (last_end == std::string_view::npos) ? std::string_view{} : body.substr(0, last_end + 1);
  }
  if (body.substr(0, kUtf8Bom.size()) == kUtf8Bom) body.remove_prefix(kUtf8Bom.size());
  return body;
}

// Greedy matching of `pattern` (no '$'; '*' is the only wildcard, runs of it collapsed) against
// `path`. The first literal run must be a prefix; each later run is taken at its leftmost
// occurrence after the previous one, which leaves the most room for the rest, so no choice is
// ever revisited. This is what the positions-set algorithm (RFC 9309 implementations, Google's
// Matches()) computes when only the smallest position is kept after a '*', and it costs at most
// one substring search per '*'. With `anchored`, the last run must end the path.
bool pattern_matches(std::string_view path, std::string_view pattern, bool anchored) {
  std::size_t star = pattern.find('*');
  if (star == std::string_view::npos) {
    return anchored ? path == pattern : path.substr(0, pattern.size()) == pattern;
  }
  if (path.substr(0, star) != pattern.substr(0, star)) return false;
  std::size_t position = star;
  pattern.remove_prefix(star + 1);
  while ((star = pattern.find('*')) != std::string_view::npos) {
    const std::string_view run = pattern.substr(0, star);
    const std::size_t found = path.find(run, position);
    if (found == std::string_view::npos) return false;
    position = found + run.size();
    pattern.remove_prefix(star + 1);
  }
  if (anchored) {
    return path.size() - position >= pattern.size() &&
           path.substr(path.size() - pattern.size()) == pattern;
  }
  return path.find(pattern, position) != std::string_view::npos;
}

// RFC 9309 2.2.3: a '*' or '$' in a path is matched by the escapes "%2A" and "%24" in a
// pattern, so both sides spell them escaped; in a pattern, a raw '*' stays the wildcard and a
// raw '$' that is not the final anchor is a literal '$'.
std::string escape_special(std::string_view text, char special) {
  const std::string_view escape = (special == '*') ? "%2A" : "%24";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == special) {
      out += escape;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct RawRule {
  bool allow = false;
  std::string_view pattern;
  int line = 0;
};

// What the groups naming one kind of agent ("*", or the agent itself) contribute.
struct GroupMembers {
  bool seen = false;  // at least one group names this kind of agent
  std::vector<RawRule> rules;
  std::optional<double> crawl_delay_s;
};

// Walks the lines of a robots.txt and sorts their content into the two GroupMembers.
class RobotsParser {
 public:
  explicit RobotsParser(std::string_view agent_token) : agent_token_(agent_token) {}

  void parse_line(std::string_view line, int line_number) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) return;  // blank or comment only
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      ++ignored_lines_;
      return;
    }
    const Key key = parse_key(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    switch (key) {
      case Key::UserAgent:
        user_agent(value);
        return;
      case Key::Allow:
      case Key::Disallow:
        rule(key == Key::Allow, value, line_number);
        return;
      case Key::CrawlDelay:
        crawl_delay(value);
        return;
      case Key::Sitemap:
        if (!value.empty()) sitemaps_.emplace_back(value);
        return;
      case Key::Unknown:
        ++ignored_lines_;
        return;
    }
  }

  GroupMembers& agent() { return agent_; }
  GroupMembers& wildcard() { return wildcard_; }
  std::vector<std::string>& sitemaps() { return sitemaps_; }
  std::size_t ignored_lines() const { return ignored_lines_; }

 private:
  void user_agent(std::string_view value) {
    if (!in_agent_lines_) {  // RFC 9309 2.1: a user-agent line after a member opens a group
      names_agent_ = false;
      names_wildcard_ = false;
    }
    in_agent_lines_ = true;
    in_group_ = true;
    if (is_wildcard_agent(value)) {
      names_wildcard_ = true;
      wildcard_.seen = true;
    } else if (!agent_token_.empty() && iequals(product_token(value), agent_token_)) {
      names_agent_ = true;
      agent_.seen = true;
    }
  }

  // Allow and Disallow. Even an empty or ignored one is a member: it ends the user-agent lines.
  void rule(bool allow, std::string_view pattern, int line_number) {
    in_agent_lines_ = false;
    if (pattern.size() > kRobotsMaxPatternBytes) {
      ++ignored_lines_;
      return;
    }
    if (pattern.empty()) return;  // RFC 9309 2.2.2: an empty value is no rule
    const RawRule raw{allow, pattern, line_number};
    if (in_group_ && names_agent_) agent_.rules.push_back(raw);
    if (in_group_ && names_wildcard_) wildcard_.rules.push_back(raw);
  }

  // A group member too, not in RFC 9309 but widely used; the first valid one counts.
  void crawl_delay(std::string_view value) {
    in_agent_lines_ = false;
    const auto seconds = parse_seconds(value);
    if (!seconds) {
      ++ignored_lines_;
      return;
    }
    if (in_group_ && names_agent_ && !agent_.crawl_delay_s) agent_.crawl_delay_s = seconds;
    if (in_group_ && names_wildcard_ && !wildcard_.crawl_delay_s) wildcard_.crawl_delay_s = seconds;
  }

  std::string_view agent_token_;
  bool in_group_ = false;        // a user-agent line has been seen
  bool in_agent_lines_ = false;  // the last group line was a user-agent line
  bool names_agent_ = false;     // the current group names the agent
  bool names_wildcard_ = false;  // the current group names "*"
  GroupMembers agent_;
  GroupMembers wildcard_;
  std::vector<std::string> sitemaps_;
  std::size_t ignored_lines_ = 0;
};

}  // namespace

RobotsRules RobotsRules::disallow_all() {
  RobotsRules rules;
  rules.rules_.push_back(CompiledRule{RobotsRule{false, "/", 0}, "/", false, 1});
  return rules;
}

RobotsRules RobotsRules::parse(std::string_view body, std::string_view agent_token) {
  RobotsRules result;
  const std::string token = robots_agent_token(agent_token);
  RobotsParser parser(token);
  const std::string_view text = parsed_part(body, result.truncated_);
  int line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    parser.parse_line(text.substr(start, end - start), ++line_number);
    start = end;
    if (start < text.size()) {  // CRLF is one line end; a lone CR or LF is one too
      start += (text[start] == '\r' && start + 1 < text.size() && text[start + 1] == '\n') ? 2 : 1;
    }
  }

  GroupMembers* members = nullptr;
  if (parser.agent().seen) {
    result.group_ = RobotsGroup::Agent;
    members = &parser.agent();
  } else if (parser.wildcard().seen) {
    result.group_ = RobotsGroup::Wildcard;
    members = &parser.wildcard();
  }
  if (members != nullptr) {
    result.crawl_delay_s_ = members->crawl_delay_s;
    result.rules_.reserve(members->rules.size());
    for (const auto& raw : members->rules) {
      CompiledRule compiled;
      compiled.rule = RobotsRule{raw.allow, std::string(raw.pattern), raw.line};
      std::string normalized = internal::normalize_percent_encoding(raw.pattern);
      compiled.specificity = normalized.size();
      if (!normalized.empty() && normalized.back() == '$') {
        compiled.anchored = true;
        normalized.pop_back();
      }
      // "a**b" matches what "a*b" matches; collapsing keeps the matcher's work proportional to
      // the literal bytes.
      normalized.erase(std::unique(normalized.begin(), normalized.end(),
                                   [](char a, char b) { return a == '*' && b == '*'; }),
                       normalized.end());
      compiled.match_pattern = escape_special(normalized, '$');
      result.rules_.push_back(std::move(compiled));
    }
    // RFC 9309 2.2.2: the most specific (longest) match wins; on a tie Allow wins. check()
    // takes the first match in this order; stable, so equal rules keep file order.
    std::stable_sort(result.rules_.begin(), result.rules_.end(),
                     [](const CompiledRule& a, const CompiledRule& b) {
                       if (a.specificity != b.specificity) return a.specificity > b.specificity;
                       return a.rule.allow && !b.rule.allow;
                     });
  }
  result.sitemaps_ = std::move(parser.sitemaps());
  result.ignored_lines_ = parser.ignored_lines();
  return result;
}

RobotsVerdict RobotsRules::check(std::string_view path_and_query) const {
  std::string path =
      internal::normalize_percent_encoding(path_and_query.empty() ? "/" : path_and_query);
  if (path == "/robots.txt") return {};  // RFC 9309 2.2.2: implicitly allowed
  path = escape_special(escape_special(path, '*'), '$');
  for (const auto& compiled : rules_) {
    if (pattern_matches(path, compiled.match_pattern, compiled.anchored)) {
      return RobotsVerdict{compiled.rule.allow, &compiled.rule};
    }
  }
  return {};
}

std::vector<RobotsRule> RobotsRules::rules() const {
  std::vector<RobotsRule> out;
  out.reserve(rules_.size());
  for (const auto& compiled : rules_) out.push_back(compiled.rule);
  return out;
}

std::string robots_agent_token(std::string_view user_agent) {
  while (!user_agent.empty() && is_blank(user_agent.front())) user_agent.remove_prefix(1);
  return std::string(product_token(user_agent));
}

}  // namespace parser

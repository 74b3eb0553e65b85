#pragma once
// robots.txt (RFC 9309) parsing and matching for one crawler.
//
// RobotsRules::parse keeps, from one robots.txt, the rules of the group(s) that apply to one
// agent token; check() then decides a URL path. The parser is total: any bytes (binary junk,
// HTML served as robots.txt, a multi-megabyte file) give a best-effort result, never a crash;
// what it did not understand is counted in ignored_lines().
//
// Parsing (RFC 9309 section 2):
//   - Only the first kRobotsMaxBytes bytes are parsed (section 2.5). If the file is longer, the
//     line cut by the limit is dropped: only lines whose end (LF, CR, CRLF) lies inside the
//     limit count, so a half "Disallow: /private" never turns into "Disallow: /pri".
//   - A UTF-8 byte order mark at the start is skipped. '#' starts a comment. "key: value", key
//     and value trimmed of spaces and tabs, the key case-insensitive. Keys: user-agent, allow,
//     disallow, crawl-delay, sitemap, plus the misspellings Google's parser accepts
//     ("useragent", "user agent", "dissallow", "dissalow", "disalow", "diasllow", "disallaw",
//     "site-map") and "crawldelay"/"crawl delay". A line without ':' and a line with any other
//     key is ignored and counted.
//   - Groups (2.1, 2.2.1): consecutive user-agent lines open a group; the allow, disallow and
//     crawl-delay lines after them are its members; a user-agent line after a member opens a
//     new group. Members before the first user-agent line belong to no group and are ignored.
//     Sitemap lines (and ignored lines) are outside groups and never end one.
//   - A user-agent value names the agent when its product-token prefix ([A-Za-z_-]*: the "x"
//     of "x/2.1 (compat)") equals the agent token, ASCII case-insensitively. "*" names every
//     agent. The rules of all groups naming the agent are merged; if none does, those of all
//     "*" groups; if neither exists, there are no rules and everything is allowed. A group that
//     names the agent but has no rules still wins over "*" (and allows everything).
//
// Matching (2.2.2):
//   - The longest matching pattern decides; on equal lengths an Allow wins over a Disallow. An
//     empty Allow or Disallow value is no rule. "/robots.txt" is always allowed.
//   - '*' matches any run of bytes, including none; a '$' as the last byte anchors the end of
//     the path; any other '$' is literal. Otherwise a pattern matches a prefix of the path.
//   - Patterns and paths are percent-normalized the way parse_url normalizes a path (hex digits
//     uppercased, escapes of unreserved characters decoded; bytes >= 0x80, controls, space and
//     "<>\"\\^`{|}" encoded), so "/\xC3\xA4" and "/%c3%a4" match each other. A pattern's length
//     is counted in bytes after this normalization. In a pattern "%2A" and "%24" are a literal
//     '*' and '$' (section 2.2.3) and match a raw or escaped '*' or '$' in the path.
//   - A check costs O(rules * path length) in practice: matching is greedy over the literal
//     runs between '*', never backtracking, so hostile patterns cannot blow up.
//
// Thread-safe: a RobotsRules is immutable after parse(); all functions are pure.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parser {

// Bytes of a robots.txt that are parsed; the rest is ignored (RFC 9309 section 2.5).
inline constexpr std::size_t kRobotsMaxBytes = 500 * 1024;
// Longest Allow/Disallow value kept, as written; longer ones are ignored and counted. Far
// above any real pattern; the input cap already bounds the total size of all rules.
inline constexpr std::size_t kRobotsMaxPatternBytes = 32 * 1024;

struct RobotsRule {
  bool allow = false;
  std::string pattern;  // as written (trimmed), for messages
  int line = 0;         // 1-based line number in the file; 0 for disallow_all()'s rule
};

struct RobotsVerdict {
  bool allowed = true;
  // The deciding rule, nullptr when no rule matched (allowed). Points into the RobotsRules
  // that returned the verdict: valid while that object lives and is not assigned to.
  const RobotsRule* rule = nullptr;
};

// Which groups of the file apply to the agent.
enum class RobotsGroup {
  None,      // no group names the agent or "*": no rules
  Wildcard,  // the "*" group(s)
  Agent,     // the group(s) naming the agent token
};

// The rules that apply to one crawler (agent token), parsed from one robots.txt.
class RobotsRules {
 public:
  RobotsRules() = default;  // no rules: everything allowed
  // Everything but /robots.txt disallowed, by one rule "Disallow: /" on line 0. For a
  // robots.txt that could not be fetched (RFC 9309 section 2.3.1.4: 5xx, network error).
  static RobotsRules disallow_all();
  // Parses the first kRobotsMaxBytes of `body`, keeping the group(s) for `agent_token`. Only
  // the product-token part of `agent_token` is used ("MyBot/1.0" means "MyBot"); an agent
  // with no token is named by no group, so only "*" groups can apply.
  static RobotsRules parse(std::string_view body, std::string_view agent_token);

  // `path_and_query` is a URL's path plus "?query" if any (starts with '/'; "" means "/"),
  // as parse_url gives it; it is percent-normalized again here, so a raw path works too.
  RobotsVerdict check(std::string_view path_and_query) const;
  bool allowed(std::string_view path_and_query) const { return check(path_and_query).allowed; }

  // The first valid Crawl-delay (a non-negative decimal number of seconds: "5", "0.5") of the
  // applying group(s), in file order. Invalid values are ignored (and counted).
  std::optional<double> crawl_delay_s() const { return crawl_delay_s_; }
  // Every non-empty Sitemap value in the file, in file order, inside or outside groups.
  const std::vector<std::string>& sitemaps() const { return sitemaps_; }
  RobotsGroup group() const { return group_; }
  // A group named the agent itself (not only "*").
  bool named_group() const { return group_ == RobotsGroup::Agent; }
  // The applying rules, most specific first (the order check() tries them in).
  std::vector<RobotsRule> rules() const;
  // Lines of the whole file (every group) that were not understood: no ':', an unknown key,
  // an invalid Crawl-delay, a pattern over kRobotsMaxPatternBytes. For diagnostics.
  std::size_t ignored_lines() const { return ignored_lines_; }
  // The file was longer than kRobotsMaxBytes; the rest was not parsed.
  bool truncated() const { return truncated_; }

 private:
  struct CompiledRule {
    RobotsRule rule;
    std::string match_pattern;    // normalized, runs of '*' collapsed, without a final '$'
    bool anchored = false;        // the pattern ended in '$'
    std::size_t specificity = 0;  // bytes of the normalized pattern, '*' and '$' included
  };

  std::vector<CompiledRule> rules_;  // most specific first; Allow before Disallow on a tie
  std::optional<double> crawl_delay_s_;
  std::vector<std::string> sitemaps_;
  RobotsGroup group_ = RobotsGroup::None;
  std::size_t ignored_lines_ = 0;
  bool truncated_ = false;
};

// The product token of a User-Agent header: "MyBot/1.2 (+https://x)" -> "MyBot". Only
// [A-Za-z_-] characters, as RFC 9309 2.2.1 allows, after leading spaces and tabs; "" if none.
std::string robots_agent_token(std::string_view user_agent);

}  // namespace parser

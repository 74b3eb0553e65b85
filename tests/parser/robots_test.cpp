#include "parser/robots.h"

#include <catch2/catch.hpp>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kAgent = "MyBot";

// "allowed", "allowed by line N" or "disallowed by line N": the verdict and its deciding rule.
std::string verdict_of(const parser::RobotsRules& rules, std::string_view path) {
  const auto verdict = rules.check(path);
  std::string out = verdict.allowed ? "allowed" : "disallowed";
  if (verdict.rule != nullptr) out += " by line " + std::to_string(verdict.rule->line);
  return out;
}

struct Row {
  const char* name;
  std::string robots;
  std::string path;
  std::string expected;  // as verdict_of() spells it
};

void check_rows(const std::vector<Row>& rows, std::string_view agent = kAgent) {
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto rules = parser::RobotsRules::parse(row.robots, agent);
      CHECK(verdict_of(rules, row.path) == row.expected);
    }
  }
}

// A "*" group with one rule per line of `rules`, starting on line 2.
std::string star_group(const std::string& rules) { return "User-agent: *\n" + rules; }

}  // namespace

TEST_CASE("robots: the groups naming the agent apply, matched by product token",
          "[parser][robots][rfc9309-2.2.1]") {
  check_rows({
      {"exact name", "User-agent: MyBot\nDisallow: /a\n", "/a", "disallowed by line 2"},
      {"lowercase name", "User-agent: mybot\nDisallow: /a\n", "/a", "disallowed by line 2"},
      {"uppercase name", "User-agent: MYBOT\nDisallow: /a\n", "/a", "disallowed by line 2"},
      {"name with version", "User-agent: MyBot/2.1\nDisallow: /a\n", "/a", "disallowed by line 2"},
      {"name with comment", "User-agent: mybot (compatible, +http://x)\nDisallow: /a\n", "/a",
       "disallowed by line 2"},
      {"other agent only", "User-agent: OtherBot\nDisallow: /a\n", "/a", "allowed"},
      {"longer token is another agent", "User-agent: MyBot-News\nDisallow: /a\n", "/a", "allowed"},
      {"shorter token is another agent", "User-agent: My\nDisallow: /a\n", "/a", "allowed"},
      {"star-prefixed name is no wildcard", "User-agent: *bot\nDisallow: /a\n", "/a", "allowed"},
      {"named group beats star: star rule unused",
       "User-agent: *\nDisallow: /a\n\nUser-agent: mybot\nDisallow: /b\n", "/a", "allowed"},
      {"named group beats star: named rule used",
       "User-agent: *\nDisallow: /a\n\nUser-agent: mybot\nDisallow: /b\n", "/b",
       "disallowed by line 5"},
      {"star fallback", "User-agent: other\nDisallow: /b\n\nUser-agent: *\nDisallow: /a\n", "/a",
       "disallowed by line 5"},
      {"star fallback ignores other groups",
       "User-agent: other\nDisallow: /b\n\nUser-agent: *\nDisallow: /a\n", "/b", "allowed"},
      {"no user-agent line at all", "Disallow: /a\n", "/a", "allowed"},
      {"empty file", "", "/a", "allowed"},
      {"rules before any user-agent ignored", "Disallow: /a\nUser-agent: *\nDisallow: /b\n", "/a",
       "allowed"},
      {"rules after the first user-agent kept", "Disallow: /a\nUser-agent: *\nDisallow: /b\n", "/b",
       "disallowed by line 3"},
      {"consecutive user-agent lines share the group",
       "User-agent: other\nUser-agent: mybot\nDisallow: /a\n", "/a", "disallowed by line 3"},
      {"user-agent after a rule opens a new group",
       "User-agent: mybot\nDisallow: /a\nUser-agent: other\nDisallow: /b\n", "/b", "allowed"},
      {"user-agent after an empty disallow opens a new group",
       "User-agent: mybot\nDisallow:\nUser-agent: other\nDisallow: /b\n", "/b", "allowed"},
      {"user-agent after a crawl-delay opens a new group",
       "User-agent: mybot\nCrawl-delay: 1\nUser-agent: other\nDisallow: /b\n", "/b", "allowed"},
      {"blank lines and comments stay in the group",
       "User-agent: mybot\n\n# note\n\nDisallow: /a\n", "/a", "disallowed by line 5"},
      {"a sitemap line does not end the user-agent lines",
       "User-agent: other\nSitemap: http://x/s.xml\nUser-agent: mybot\nDisallow: /a\n", "/a",
       "disallowed by line 4"},
      {"an unknown line does not end the user-agent lines",
       "User-agent: other\nHost: x\nUser-agent: mybot\nDisallow: /a\n", "/a",
       "disallowed by line 4"},
      {"a group naming the agent and star", "User-agent: *\nUser-agent: mybot\nDisallow: /a\n",
       "/a", "disallowed by line 3"},
      {"empty user-agent value names nobody", "User-agent:\nDisallow: /a\n", "/a", "allowed"},
  });
}

TEST_CASE("robots: all groups naming the agent are merged, and so are all star groups",
          "[parser][robots][rfc9309-2.2.1]") {
  const std::string named =
      "User-agent: mybot\nDisallow: /a\n\n"
      "User-agent: other\nDisallow: /b\n\n"
      "User-agent: MYBOT/3\nDisallow: /c\n";
  check_rows({
      {"first named group", named, "/a", "disallowed by line 2"},
      {"other group not merged", named, "/b", "allowed"},
      {"second named group", named, "/c", "disallowed by line 8"},
  });
  const std::string stars =
      "User-agent: *\nDisallow: /a\n\n"
      "User-agent: other\nDisallow: /b\n\n"
      "User-agent: *\nAllow: /a/ok\nDisallow: /c\n";
  check_rows({
      {"first star group", stars, "/a/x", "disallowed by line 2"},
      {"allow from the second star group", stars, "/a/ok", "allowed by line 8"},
      {"disallow from the second star group", stars, "/c", "disallowed by line 9"},
      {"other group not merged into star", stars, "/b", "allowed"},
  });
}

TEST_CASE("robots: group() says which groups applied", "[parser][robots][rfc9309-2.2.1]") {
  using parser::RobotsGroup;
  struct GroupRow {
    const char* name;
    std::string robots;
    std::string agent;
    RobotsGroup expected;
  };
  const std::vector<GroupRow> rows = {
      {"named", "User-agent: mybot\nDisallow: /\n", "mybot", RobotsGroup::Agent},
      {"star", "User-agent: *\nDisallow: /\n", "mybot", RobotsGroup::Wildcard},
      {"none", "User-agent: other\nDisallow: /\n", "mybot", RobotsGroup::None},
      {"empty file", "", "mybot", RobotsGroup::None},
      {"named group without rules", "User-agent: *\nDisallow: /\n\nUser-agent: mybot\n", "mybot",
       RobotsGroup::Agent},
      {"agent given as a whole user-agent string", "User-agent: mybot\nDisallow: /\n",
       "MyBot/1.0 (+https://example.com/bot)", RobotsGroup::Agent},
      {"agent without a token matches only star", "User-agent: mybot\nUser-agent: *\nAllow: /\n",
       "/1.0", RobotsGroup::Wildcard},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto rules = parser::RobotsRules::parse(row.robots, row.agent);
      CHECK(rules.group() == row.expected);
      CHECK(rules.named_group() == (row.expected == RobotsGroup::Agent));
    }
  }
  // The named group without rules allows everything although "*" disallows it.
  const auto rules =
      parser::RobotsRules::parse("User-agent: *\nDisallow: /\nUser-agent: mybot\n", "mybot");
  CHECK(rules.allowed("/anything"));
  CHECK(rules.rules().empty());
}

TEST_CASE("robots: the longest matching pattern decides", "[parser][robots][rfc9309-2.2.2]") {
  check_rows({
      {"longer disallow beats allow", star_group("Allow: /p\nDisallow: /p/q\n"), "/p/q/r",
       "disallowed by line 3"},
      {"longer allow beats disallow", star_group("Disallow: /p\nAllow: /p/q\n"), "/p/q/r",
       "allowed by line 3"},
      {"file order does not matter", star_group("Allow: /p/q\nDisallow: /p\n"), "/p/q/r",
       "allowed by line 2"},
      {"shorter rule applies where the longer does not match",
       star_group("Disallow: /p\nAllow: /p/q\n"), "/p/x", "disallowed by line 2"},
      {"wildcard rule counts its bytes", star_group("Allow: /page\nDisallow: /*.htm\n"),
       "/page.htm", "disallowed by line 3"},
      {"RFC example: allow wins with more octets",
       star_group("Allow: /example/page/\nDisallow: /example/page/disallowed.gif\n"),
       "/example/page/", "allowed by line 2"},
      {"RFC example: disallow wins with more octets",
       star_group("Allow: /example/page/\nDisallow: /example/page/disallowed.gif\n"),
       "/example/page/disallowed.gif", "disallowed by line 3"},
      {"no rule matches", star_group("Disallow: /private\n"), "/public", "allowed"},
      {"length counted after normalization",  // "/a%62" is "/ab": a tie, so Allow wins
       star_group("Disallow: /a%62\nAllow: /ab\n"), "/abc", "allowed by line 3"},
  });
}

TEST_CASE("robots: on equal lengths Allow wins", "[parser][robots][rfc9309-2.2.2]") {
  check_rows({
      {"allow after disallow", star_group("Disallow: /a\nAllow: /a\n"), "/a", "allowed by line 3"},
      {"allow before disallow", star_group("Allow: /a\nDisallow: /a\n"), "/a", "allowed by line 2"},
      {"equal lengths with wildcards", star_group("Disallow: /*.x\nAllow: /a.x\n"), "/a.x",
       "allowed by line 3"},
      {"allow all and disallow all", star_group("Disallow: /\nAllow: /\n"), "/x",
       "allowed by line 3"},
  });
}

TEST_CASE("robots: an empty Allow or Disallow is no rule", "[parser][robots][rfc9309-2.2.2]") {
  check_rows({
      {"empty disallow allows all", star_group("Disallow:\n"), "/x", "allowed"},
      {"empty disallow with spaces and comment", star_group("Disallow:    # nothing\n"), "/x",
       "allowed"},
      {"empty disallow next to a real one", star_group("Disallow:\nDisallow: /x\n"), "/x",
       "disallowed by line 3"},
      {"empty allow does not override", star_group("Allow:\nDisallow: /\n"), "/x",
       "disallowed by line 3"},
  });
  const auto rules = parser::RobotsRules::parse(star_group("Disallow:\nAllow:\n"), kAgent);
  CHECK(rules.rules().empty());
  CHECK(rules.ignored_lines() == 0);
}

TEST_CASE("robots: a pattern matches a prefix of path and query",
          "[parser][robots][rfc9309-2.2.2]") {
  const std::string fish = star_group("Disallow: /fish\n");
  check_rows({
      {"fish: equal", fish, "/fish", "disallowed by line 2"},
      {"fish: with extension", fish, "/fish.html", "disallowed by line 2"},
      {"fish: below", fish, "/fish/salmon.html", "disallowed by line 2"},
      {"fish: longer name", fish, "/fishheads/yummy.html", "disallowed by line 2"},
      {"fish: with query", fish, "/fish.php?id=anything", "disallowed by line 2"},
      {"fish: case differs", fish, "/Fish.asp", "allowed"},
      {"fish: not at the start", fish, "/catfish", "allowed"},
      {"fish: only in the query", fish, "/?id=fish", "allowed"},
      {"query is part of the path", star_group("Disallow: /*?\n"), "/a?b=c",
       "disallowed by line 2"},
      {"no query, no match", star_group("Disallow: /*?\n"), "/a", "allowed"},
      {"empty path is /", star_group("Disallow: /\n"), "", "disallowed by line 2"},
      {"pattern without leading slash never matches", star_group("Disallow: fish\n"), "/fish",
       "allowed"},
      {"pattern case kept", star_group("Disallow: /Private\n"), "/private", "allowed"},
  });
}

TEST_CASE("robots: '*' matches any run of bytes", "[parser][robots][rfc9309-2.2.3]") {
  const std::string php = star_group("Disallow: /*.php\n");
  const std::string fish_php = star_group("Disallow: /fish*.php\n");
  check_rows({
      {"trailing star is a prefix match", star_group("Disallow: /fish*\n"), "/fish",
       "disallowed by line 2"},
      {"trailing star, longer path", star_group("Disallow: /fish*\n"), "/fishheads",
       "disallowed by line 2"},
      {"php: at the root", php, "/index.php", "disallowed by line 2"},
      {"php: in a folder", php, "/folder/filename.php", "disallowed by line 2"},
      {"php: with query", php, "/folder/filename.php?parameters", "disallowed by line 2"},
      {"php: in the middle", php, "/folder/any.php.file.html", "disallowed by line 2"},
      {"php: before a slash", php, "/filename.php/", "disallowed by line 2"},
      {"php: root only", php, "/", "allowed"},
      {"php: case differs", php, "/windows.PHP", "allowed"},
      {"fish php: empty star", fish_php, "/fish.php", "disallowed by line 2"},
      {"fish php: long star", fish_php, "/fishheads/catfish.php?parameters",
       "disallowed by line 2"},
      {"fish php: case differs", fish_php, "/Fish.PHP", "allowed"},
      {"lone star matches everything", star_group("Disallow: *\n"), "/", "disallowed by line 2"},
      {"double star is one star", star_group("Disallow: /a**b\n"), "/a-x-b",
       "disallowed by line 2"},
      {"star needs the later run", star_group("Disallow: /a*b*c\n"), "/acb", "allowed"},
      {"leftmost later run", star_group("Disallow: /a*b*c\n"), "/abxbc", "disallowed by line 2"},
      {"star matches the empty run", star_group("Disallow: /a*b\n"), "/ab", "disallowed by line 2"},
  });
}

TEST_CASE("robots: a final '$' anchors the end, any other '$' is literal",
          "[parser][robots][rfc9309-2.2.3]") {
  const std::string php_end = star_group("Disallow: /*.php$\n");
  check_rows({
      {"php end: at the root", php_end, "/filename.php", "disallowed by line 2"},
      {"php end: in a folder", php_end, "/folder/filename.php", "disallowed by line 2"},
      {"php end: with query", php_end, "/filename.php?parameters", "allowed"},
      {"php end: before a slash", php_end, "/filename.php/", "allowed"},
      {"php end: longer extension", php_end, "/filename.php5", "allowed"},
      {"php end: case differs", php_end, "/windows.PHP", "allowed"},
      {"slash dollar: root", star_group("Disallow: /$\n"), "/", "disallowed by line 2"},
      {"slash dollar: empty path", star_group("Disallow: /$\n"), "", "disallowed by line 2"},
      {"slash dollar: below root", star_group("Disallow: /$\n"), "/a", "allowed"},
      {"anchored without star: exact", star_group("Disallow: /a$\n"), "/a", "disallowed by line 2"},
      {"anchored without star: longer", star_group("Disallow: /a$\n"), "/ab", "allowed"},
      {"anchored run after a star may not overlap", star_group("Disallow: /ab*b$\n"), "/ab",
       "allowed"},
      {"anchored run after a star", star_group("Disallow: /ab*b$\n"), "/abb",
       "disallowed by line 2"},
      {"star dollar is a star", star_group("Disallow: /a*$\n"), "/a/b", "disallowed by line 2"},
      {"dollar in the middle is literal", star_group("Disallow: /a$b\n"), "/a$b",
       "disallowed by line 2"},
      {"dollar in the middle, prefix match", star_group("Disallow: /a$b\n"), "/a$bc",
       "disallowed by line 2"},
      {"dollar in the middle is no anchor", star_group("Disallow: /a$b\n"), "/ab", "allowed"},
      {"dollar in the middle matches an escaped dollar", star_group("Disallow: /a$b\n"), "/a%24b",
       "disallowed by line 2"},
      {"two dollars: the first is literal", star_group("Disallow: /a$$\n"), "/a$",
       "disallowed by line 2"},
      {"two dollars: the last anchors", star_group("Disallow: /a$$\n"), "/a$x", "allowed"},
      {"escaped dollar is literal", star_group("Disallow: /foo-%24\n"), "/foo-$",
       "disallowed by line 2"},
      {"escaped star is literal: raw star in path", star_group("Disallow: /a-%2A.html\n"),
       "/a-*.html", "disallowed by line 2"},
      {"escaped star is literal: no wildcard", star_group("Disallow: /a-%2A.html\n"), "/a-b.html",
       "allowed"},
      {"escaped star matches lowercase escape", star_group("Disallow: /a-%2a\n"), "/a-%2A",
       "disallowed by line 2"},
  });
}

TEST_CASE("robots: pattern and path are percent-normalized the same way",
          "[parser][robots][rfc9309-2.2.2]") {
  check_rows({
      {"raw UTF-8 pattern, encoded path", star_group("Disallow: /\xC3\xA4\n"), "/%C3%A4",
       "disallowed by line 2"},
      {"raw UTF-8 pattern, lowercase encoded path", star_group("Disallow: /\xC3\xA4\n"), "/%c3%a4",
       "disallowed by line 2"},
      {"encoded pattern, raw UTF-8 path", star_group("Disallow: /%C3%A4\n"), "/\xC3\xA4",
       "disallowed by line 2"},
      {"lowercase encoded pattern", star_group("Disallow: /%c3%a4\n"), "/%C3%A4",
       "disallowed by line 2"},
      {"RFC example: encoded UTF-8", star_group("Disallow: /foo/bar/\xE3\x83\x84\n"),
       "/foo/bar/%E3%83%84", "disallowed by line 2"},
      {"RFC example: unreserved decoded", star_group("Disallow: /foo/bar/%62%61%7A\n"),
       "/foo/bar/baz", "disallowed by line 2"},
      {"unreserved tilde in path decoded", star_group("Disallow: /~user\n"), "/%7euser",
       "disallowed by line 2"},
      {"reserved slash stays encoded", star_group("Disallow: /a%2Fb\n"), "/a/b", "allowed"},
      {"reserved slash matches itself", star_group("Disallow: /a%2fb\n"), "/a%2Fb",
       "disallowed by line 2"},
      {"space in pattern", star_group("Disallow: /a b\n"), "/a%20b", "disallowed by line 2"},
      {"unsafe ASCII encoded", star_group("Disallow: /a|b\n"), "/a%7Cb", "disallowed by line 2"},
      {"query compared after normalization", star_group("Disallow: /foo/bar?baz=%71uz\n"),
       "/foo/bar?baz=quz", "disallowed by line 2"},
      {"different bytes differ", star_group("Disallow: /%C3%A4\n"), "/%C3%A5", "allowed"},
  });
}

TEST_CASE("robots: /robots.txt is always allowed", "[parser][robots][rfc9309-2.2.2]") {
  check_rows({
      {"disallow all", star_group("Disallow: /\n"), "/robots.txt", "allowed"},
      {"disallow robots.txt itself", star_group("Disallow: /robots.txt\n"), "/robots.txt",
       "allowed"},
      {"other paths still disallowed", star_group("Disallow: /robots.txt\n"), "/robots.txt.bak",
       "disallowed by line 2"},
  });
  CHECK(parser::RobotsRules::disallow_all().allowed("/robots.txt"));
}

TEST_CASE("robots: disallow_all disallows everything but /robots.txt",
          "[parser][robots][rfc9309-2.3.1]") {
  const auto rules = parser::RobotsRules::disallow_all();
  for (const char* path : {"", "/", "/a", "/a?b", "/robots.txt.bak"}) {
    DYNAMIC_SECTION("path '" << path << "'") {
      const auto verdict = rules.check(path);
      CHECK_FALSE(verdict.allowed);
      REQUIRE(verdict.rule != nullptr);
      CHECK_FALSE(verdict.rule->allow);
      CHECK(verdict.rule->pattern == "/");
      CHECK(verdict.rule->line == 0);
    }
  }
  CHECK(rules.group() == parser::RobotsGroup::None);
  CHECK_FALSE(rules.crawl_delay_s().has_value());
  CHECK(rules.sitemaps().empty());
}

TEST_CASE("robots: no rules allow everything", "[parser][robots][rfc9309-2.2.1]") {
  const parser::RobotsRules rules;
  for (const char* path : {"", "/", "/private", "/a?b"}) {
    DYNAMIC_SECTION("path '" << path << "'") {
      const auto verdict = rules.check(path);
      CHECK(verdict.allowed);
      CHECK(verdict.rule == nullptr);
    }
  }
  CHECK(rules.group() == parser::RobotsGroup::None);
}

TEST_CASE("robots: the verdict names the deciding rule as written",
          "[parser][robots][rfc9309-2.2.2]") {
  const auto rules = parser::RobotsRules::parse(
      "User-agent: *\n  Disallow:   /Private%7e   # secret\nAllow: /Private~/ok\n", kAgent);
  const auto verdict = rules.check("/Private~/x");
  CHECK_FALSE(verdict.allowed);
  REQUIRE(verdict.rule != nullptr);
  CHECK(verdict.rule->pattern == "/Private%7e");
  CHECK(verdict.rule->line == 2);
  CHECK_FALSE(verdict.rule->allow);
  const auto allowed = rules.check("/Private~/ok");
  CHECK(allowed.allowed);
  REQUIRE(allowed.rule != nullptr);
  CHECK(allowed.rule->allow);
  CHECK(allowed.rule->pattern == "/Private~/ok");
  // rules(): the order check() tries them in, most specific first.
  const auto ordered = rules.rules();
  REQUIRE(ordered.size() == 2);
  CHECK(ordered[0].line == 3);
  CHECK(ordered[1].line == 2);
}

TEST_CASE("robots: lines end in LF, CR or CRLF, and a BOM is skipped",
          "[parser][robots][rfc9309-2.2]") {
  check_rows({
      {"LF", "User-agent: *\nAllow: /x\nDisallow: /\n", "/a", "disallowed by line 3"},
      {"CRLF", "User-agent: *\r\nAllow: /x\r\nDisallow: /\r\n", "/a", "disallowed by line 3"},
      {"CR", "User-agent: *\rAllow: /x\rDisallow: /\r", "/a", "disallowed by line 3"},
      {"mixed", "User-agent: *\r\nAllow: /x\rDisallow: /\n", "/a", "disallowed by line 3"},
      {"CR CR is two lines", "User-agent: *\r\rDisallow: /\r", "/a", "disallowed by line 3"},
      {"LF CR is two lines", "User-agent: *\n\rDisallow: /\n", "/a", "disallowed by line 3"},
      {"no final line end", "User-agent: *\nDisallow: /", "/a", "disallowed by line 2"},
      {"BOM", "\xEF\xBB\xBFUser-agent: *\nDisallow: /\n", "/a", "disallowed by line 2"},
      {"BOM with CRLF", "\xEF\xBB\xBFUser-agent: *\r\nDisallow: /\r\n", "/a",
       "disallowed by line 2"},
      {"BOM later is garbage", "User-agent: *\n\xEF\xBB\xBFUser-agent: mybot\nDisallow: /\n", "/a",
       "disallowed by line 3"},
      {"BOM in a later line is no user-agent",
       "User-agent: other\nDisallow: /x\n\xEF\xBB\xBFUser-agent: mybot\nDisallow: /\n", "/a",
       "allowed"},
  });
}

TEST_CASE("robots: comments, case-insensitive keys and whitespace",
          "[parser][robots][rfc9309-2.2]") {
  check_rows({
      {"comment line", "# Disallow: /a\nUser-agent: *\nDisallow: /b\n", "/a", "allowed"},
      {"comment after a value", "User-agent: * # all\nDisallow: /a # not /b\n", "/a",
       "disallowed by line 2"},
      {"comment cuts the pattern", "User-agent: *\nDisallow: /a#b\n", "/ab",
       "disallowed by line 2"},
      {"comment-only value is empty", "User-agent: *\nDisallow: #/a\n", "/a", "allowed"},
      {"uppercase keys", "USER-AGENT: *\nDISALLOW: /a\n", "/a", "disallowed by line 2"},
      {"mixed-case keys", "uSeR-aGeNt: *\ndIsAlLoW: /a\n", "/a", "disallowed by line 2"},
      {"spaces around key and value", "  User-agent  :   *  \n\tDisallow\t:\t/a\t\n", "/a",
       "disallowed by line 2"},
      {"no space after colon", "User-agent:*\nDisallow:/a\n", "/a", "disallowed by line 2"},
      {"trailing spaces trimmed from pattern", "User-agent: *\nDisallow: /a$   \n", "/ab",
       "allowed"},
      {"colon in the value", "User-agent: *\nDisallow: /a:b\n", "/a:b", "disallowed by line 2"},
  });
}

TEST_CASE("robots: Google's misspellings of the keys are accepted", "[parser][robots][policy]") {
  check_rows({
      {"useragent", "useragent: mybot\nDisallow: /a\n", "/a", "disallowed by line 2"},
      {"user agent", "user agent: mybot\nDisallow: /a\n", "/a", "disallowed by line 2"},
      {"dissallow", "User-agent: *\ndissallow: /a\n", "/a", "disallowed by line 2"},
      {"dissalow", "User-agent: *\ndissalow: /a\n", "/a", "disallowed by line 2"},
      {"disalow", "User-agent: *\ndisalow: /a\n", "/a", "disallowed by line 2"},
      {"diasllow", "User-agent: *\ndiasllow: /a\n", "/a", "disallowed by line 2"},
      {"disallaw", "User-agent: *\ndisallaw: /a\n", "/a", "disallowed by line 2"},
      {"other misspelling ignored", "User-agent: *\ndisalloww: /a\n", "/a", "allowed"},
      {"user_agent ignored", "user_agent: mybot\nDisallow: /a\n", "/a", "allowed"},
  });
  const auto rules = parser::RobotsRules::parse(
      "User-agent: *\ncrawldelay: 2\nsite-map: http://x/a.xml\n", kAgent);
  CHECK(rules.crawl_delay_s() == std::optional<double>(2.0));
  CHECK(rules.sitemaps() == std::vector<std::string>{"http://x/a.xml"});
}

TEST_CASE("robots: Crawl-delay is a non-negative decimal number of seconds",
          "[parser][robots][policy]") {
  struct DelayRow {
    const char* name;
    std::string value;
    std::optional<double> expected;
  };
  const std::vector<DelayRow> rows = {
      {"integer", "5", 5.0},
      {"zero", "0", 0.0},
      {"fraction", "0.5", 0.5},
      {"leading dot", ".5", 0.5},
      {"trailing dot", "5.", 5.0},
      {"large", "86400", 86400.0},
      {"spaces and comment", "  10  # ten", 10.0},
      {"negative", "-1", std::nullopt},
      {"plus sign", "+1", std::nullopt},
      {"word", "abc", std::nullopt},
      {"exponent", "1e3", std::nullopt},
      {"unit", "5s", std::nullopt},
      {"two dots", "1.2.3", std::nullopt},
      {"dot only", ".", std::nullopt},
      {"empty", "", std::nullopt},
      {"inf", "inf", std::nullopt},
      {"nan", "nan", std::nullopt},
      {"comma decimal", "0,5", std::nullopt},
      {"hex", "0x10", std::nullopt},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto rules =
          parser::RobotsRules::parse("User-agent: *\nCrawl-delay: " + row.value + "\n", kAgent);
      CHECK(rules.crawl_delay_s() == row.expected);
      CHECK(rules.ignored_lines() == (row.expected ? 0u : 1u));
    }
  }
}

TEST_CASE("robots: the first valid Crawl-delay of the applying groups counts",
          "[parser][robots][policy]") {
  struct DelayRow {
    const char* name;
    std::string robots;
    std::optional<double> expected;
  };
  const std::vector<DelayRow> rows = {
      {"first valid after an invalid one",
       "User-agent: *\nCrawl-delay: soon\nCrawl-delay: 2\nCrawl-delay: 3\n", 2.0},
      {"named group's delay", "User-agent: *\nCrawl-delay: 9\nUser-agent: mybot\nCrawl-delay: 1\n",
       1.0},
      {"named group without delay: none, not star's",
       "User-agent: *\nCrawl-delay: 9\nUser-agent: mybot\nDisallow: /a\n", std::nullopt},
      {"star fallback's delay",
       "User-agent: other\nCrawl-delay: 9\nUser-agent: *\nCrawl-delay: 4\n", 4.0},
      {"merged groups: first in file order",
       "User-agent: mybot\nDisallow: /a\nUser-agent: other\nCrawl-delay: 7\n"
       "User-agent: mybot\nCrawl-delay: 3\nUser-agent: mybot\nCrawl-delay: 8\n",
       3.0},
      {"before any group: ignored", "Crawl-delay: 5\nUser-agent: *\nDisallow: /a\n", std::nullopt},
      {"no applying group", "User-agent: other\nCrawl-delay: 5\n", std::nullopt},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      CHECK(parser::RobotsRules::parse(row.robots, kAgent).crawl_delay_s() == row.expected);
    }
  }
}

TEST_CASE("robots: every Sitemap line is kept, inside or outside groups",
          "[parser][robots][rfc9309-2.3.5]") {
  const std::string robots =
      "Sitemap: https://example.com/first.xml\n"
      "User-agent: other\n"
      "Sitemap: https://example.com/in-other.xml\n"
      "Disallow: /\n"
      "sitemap:https://example.com/lowercase.xml # comment\n"
      "Sitemap:\n"
      "User-agent: mybot\n"
      "Disallow: /a\n"
      "SITEMAP:   https://example.com/last.xml   \n";
  const std::vector<std::string> expected = {
      "https://example.com/first.xml", "https://example.com/in-other.xml",
      "https://example.com/lowercase.xml", "https://example.com/last.xml"};
  for (const char* agent : {"mybot", "other", "nobody"}) {
    DYNAMIC_SECTION("agent " << agent) {
      const auto rules = parser::RobotsRules::parse(robots, agent);
      CHECK(rules.sitemaps() == expected);
      CHECK(rules.ignored_lines() == 0);
    }
  }
  // Sitemap lines are not members: the mybot group still starts after "User-agent: other".
  CHECK(parser::RobotsRules::parse(robots, "mybot").allowed("/b"));
  CHECK_FALSE(parser::RobotsRules::parse(robots, "mybot").allowed("/a"));
}

TEST_CASE("robots: lines not understood are ignored and counted, never fatal",
          "[parser][robots][rfc9309-2.2]") {
  using namespace std::string_literals;
  struct GarbageRow {
    const char* name;
    std::string robots;
    std::size_t ignored;
  };
  const std::vector<GarbageRow> rows = {
      {"no colon", "User-agent: *\nDisallow /a\nthis is not a rule\nDisallow: /b\n", 2},
      {"unknown keys", "User-agent: *\nHost: example.com\nNoindex: /a\nDisallow: /b\n", 2},
      {"empty key", "User-agent: *\n: /a\nDisallow: /b\n", 1},
      {"NUL bytes", "User-agent: *\n\0\0\0\nDisal\0low: /a\nDisallow: /b\n"s, 2},
      {"control bytes", "User-agent: *\n\x01\x02\x7F:\x1B\nDisallow: /b\n", 1},
      {"blank lines and comments are not garbage", "\n\n# x\n   \nUser-agent: *\nDisallow: /b\n",
       0},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto rules = parser::RobotsRules::parse(row.robots, kAgent);
      CHECK(rules.ignored_lines() == row.ignored);
      CHECK_FALSE(rules.allowed("/b"));
      CHECK(rules.allowed("/a"));
    }
  }
}

TEST_CASE("robots: an HTML page served as robots.txt allows everything",
          "[parser][robots][rfc9309-2.2]") {
  const std::string html =
      "<!DOCTYPE html>\n<html><head><title>404 Not Found</title>\n"
      "<meta http-equiv=\"refresh\" content=\"0; url=https://example.com/\">\n"
      "<style>body { color: red; }</style></head>\n"
      "<body><p>Disallow: this is prose</p><a href=\"https://example.com/\">home</a></body>\n"
      "</html>\n";
  const auto rules = parser::RobotsRules::parse(html, kAgent);
  CHECK(rules.group() == parser::RobotsGroup::None);
  CHECK(rules.allowed("/"));
  CHECK(rules.allowed("/anything"));
  CHECK(rules.ignored_lines() == 6);
  CHECK(rules.sitemaps().empty());
}

TEST_CASE("robots: random bytes never break the parse of the lines after them",
          "[parser][robots][rfc9309-2.2]") {
  std::mt19937 random(9309);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 200; ++round) {
    DYNAMIC_SECTION("round " << round) {
      std::string junk(static_cast<std::size_t>(byte(random)) * 8, '\0');
      for (auto& c : junk) c = static_cast<char>(byte(random));
      const auto rules = parser::RobotsRules::parse(
          junk + "\nUser-agent: *\nDisallow: /private\nAllow: /private/ok\n", kAgent);
      CHECK_FALSE(rules.allowed("/private/x"));
      CHECK(rules.allowed("/private/ok"));
      CHECK(rules.allowed("/public"));
    }
  }
}

TEST_CASE("robots: patterns longer than the cap are ignored and counted",
          "[parser][robots][policy]") {
  const std::string at_cap = "/" + std::string(parser::kRobotsMaxPatternBytes - 1, 'a');
  const std::string over_cap = at_cap + "a";
  const auto rules = parser::RobotsRules::parse(
      star_group("Disallow: " + at_cap + "\nDisallow: " + over_cap + "\nDisallow: /b\n"), kAgent);
  CHECK(rules.ignored_lines() == 1);
  CHECK_FALSE(rules.allowed(at_cap));
  const auto verdict = rules.check(over_cap);
  REQUIRE(verdict.rule != nullptr);
  CHECK(verdict.rule->line == 2);  // matched by the kept, shorter rule
  CHECK_FALSE(rules.allowed("/b"));
  CHECK(rules.rules().size() == 2);
}

TEST_CASE("robots: only the first kRobotsMaxBytes are parsed", "[parser][robots][rfc9309-2.5]") {
  // About 2 MB: a rule at the start, filler, a rule cut by the limit, more filler, a last rule.
  std::string robots = "User-agent: *\nDisallow: /before\n";
  int n = 0;
  auto fill_to = [&](std::size_t size) {
    while (robots.size() < size) robots += "Disallow: /filler-" + std::to_string(n++) + "\n";
  };
  fill_to(parser::kRobotsMaxBytes - 200);
  // Pad with a comment so that the next line starts 12 bytes before the limit: "Disallow: /c"
  // would be inside it, "utoff" and the line end outside.
  robots += "#" + std::string(parser::kRobotsMaxBytes - 12 - robots.size() - 2, 'x') + "\n";
  REQUIRE(robots.size() == parser::kRobotsMaxBytes - 12);
  robots += "Disallow: /cutoff\n";
  fill_to(2 * 1024 * 1024);
  robots += "Disallow: /after\n";
  REQUIRE(robots.size() > 2 * 1024 * 1024);

  const auto rules = parser::RobotsRules::parse(robots, kAgent);
  CHECK(rules.truncated());
  CHECK_FALSE(rules.allowed("/before"));
  CHECK_FALSE(rules.allowed("/filler-0"));
  CHECK(rules.allowed("/after"));
  CHECK(rules.allowed("/cutoff"));  // the line cut by the limit is dropped ...
  CHECK(rules.allowed("/cat"));     // ... not parsed as "Disallow: /c"
  CHECK(rules.ignored_lines() == 0);
}

TEST_CASE("robots: a file of exactly kRobotsMaxBytes is parsed whole",
          "[parser][robots][rfc9309-2.5]") {
  std::string robots = "User-agent: *\n#";
  const std::string last = "\nDisallow: /last";  // no final line end
  robots += std::string(parser::kRobotsMaxBytes - robots.size() - last.size(), 'x') + last;
  REQUIRE(robots.size() == parser::kRobotsMaxBytes);
  const auto rules = parser::RobotsRules::parse(robots, kAgent);
  CHECK_FALSE(rules.truncated());
  CHECK_FALSE(rules.allowed("/last"));
  // One byte more and the unterminated last line is the one cut by the limit.
  const auto longer = parser::RobotsRules::parse(robots + "x", kAgent);
  CHECK(longer.truncated());
  CHECK(longer.allowed("/last"));
}

TEST_CASE("robots: pathological patterns are matched without backtracking",
          "[parser][robots][rfc9309-2.2.3]") {
  std::string many_stars = "/";
  for (int i = 0; i < 10000; ++i) many_stars += "a*";
  const std::string a_path = "/" + std::string(10000, 'a');

  const auto unanchored =
      parser::RobotsRules::parse(star_group("Disallow: " + many_stars + "\n"), kAgent);
  CHECK_FALSE(unanchored.allowed(a_path));
  CHECK(unanchored.allowed("/" + std::string(9999, 'a')));  // one 'a' short

  const auto anchored =
      parser::RobotsRules::parse(star_group("Disallow: " + many_stars + "b$\n"), kAgent);
  CHECK(anchored.allowed(a_path));  // no final 'b'
  CHECK_FALSE(anchored.allowed(a_path + "b"));

  // A long literal run after a star against a path of near-misses.
  const auto near_miss = parser::RobotsRules::parse(
      star_group("Disallow: /*" + std::string(1000, 'a') + "b\n"), kAgent);
  CHECK(near_miss.allowed(a_path));
  CHECK_FALSE(near_miss.allowed(a_path + "b"));

  // Stars only: collapsed to one, so it matches everything at once.
  const auto stars = parser::RobotsRules::parse(
      star_group("Disallow: /" + std::string(30000, '*') + "\n"), kAgent);
  CHECK_FALSE(stars.allowed(a_path));
  CHECK_FALSE(stars.allowed("/"));

  // 100k stars: over the pattern cap, so ignored (and counted) rather than matched.
  const auto too_many = parser::RobotsRules::parse(
      star_group("Disallow: /" + std::string(100000, '*') + "\n"), kAgent);
  CHECK(too_many.allowed(a_path));
  CHECK(too_many.ignored_lines() == 1);
}

TEST_CASE("robots: robots_agent_token keeps the product token of a User-Agent",
          "[parser][robots][rfc9309-2.2.1]") {
  struct TokenRow {
    const char* name;
    std::string user_agent;
    std::string expected;
  };
  const std::vector<TokenRow> rows = {
      {"with version and comment", "MyBot/1.2 (+https://x)", "MyBot"},
      {"bare token", "Googlebot", "Googlebot"},
      {"dash and underscore", "my-bot_x/1", "my-bot_x"},
      {"leading spaces", "  \tMyBot/1", "MyBot"},
      {"browser string", "Mozilla/5.0 (compatible, MyBot/1.0)", "Mozilla"},
      {"digits end the token", "bot2/1", "bot"},
      {"space ends the token", "My Bot", "My"},
      {"empty", "", ""},
      {"starts with a slash", "/1.0", ""},
      {"star", "*", ""},
      {"non-ASCII", "\xC3\xA4-bot", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) { CHECK(parser::robots_agent_token(row.user_agent) == row.expected); }
  }
}

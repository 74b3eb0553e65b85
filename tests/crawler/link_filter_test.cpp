#include "crawler/link_filter.h"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crawler/scope.h"

namespace {

struct Row {
  const char* name;
  std::string url;
  std::string expected;  // the reject reason, "" to follow
};

crawler::LinkFilter make_filter(crawler::LinkFilterOptions options) {
  auto filter = crawler::LinkFilter::create(std::move(options));
  if (!filter) FAIL("create failed: " << filter.error().context);
  return std::move(filter).value();
}

// The host comes from the URL, as the crawler takes it.
void check_rows(const crawler::LinkFilter& filter, const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name << ": " << row.url) {
      CHECK(std::string(filter.reject_reason(row.url, crawler::host_of(row.url))) == row.expected);
    }
  }
}

crawler::LinkFilterOptions no_guards() {
  crawler::LinkFilterOptions options;
  options.max_segment_repeats = 0;
  options.max_path_segments = 0;
  return options;
}

// "/s0/s1/.../s{count-1}".
std::string distinct_segments(int count) {
  std::string path;
  for (int i = 0; i < count; ++i) path += "/s" + std::to_string(i);
  return path;
}

}  // namespace

TEST_CASE("link_filter: default options follow ordinary links", "[crawler][link_filter]") {
  const auto filter = make_filter({});
  check_rows(filter, {
                         {"a root", "http://a.test/", ""},
                         {"no path at all", "http://a.test", ""},
                         {"a path and a query", "https://a.test:8443/a/b/c?x=1&y=2", ""},
                         {"a repeated segment below the limit", "http://a.test/x/y/x/y/x/y", ""},
                         {"an IPv6 host", "http://[::1]:8080/a", ""},
                     });
}

TEST_CASE("link_filter: URLs longer than max_url_length are rejected", "[crawler][link_filter]") {
  SECTION("the default is 2048 bytes") {
    const auto filter = make_filter({});
    const std::string prefix = "http://a.test/";
    const std::string at_limit = prefix + std::string(2048 - prefix.size(), 'q');
    REQUIRE(at_limit.size() == 2048);
    CHECK(filter.reject_reason(at_limit, "a.test").empty());
    CHECK(filter.reject_reason(at_limit + "q", "a.test") == "url_too_long");
  }
  SECTION("a custom limit") {
    crawler::LinkFilterOptions options;
    options.max_url_length = 20;
    const auto filter = make_filter(std::move(options));
    check_rows(filter, {
                           {"shorter", "http://a.test/abc", ""},
                           {"exactly 20", "http://a.test/abcdef", ""},
                           {"21", "http://a.test/abcdefg", "url_too_long"},
                           {"the query counts", "http://a.test/?abcdefg", "url_too_long"},
                       });
  }
}

TEST_CASE("link_filter: a denied domain covers itself and its subdomains on label boundaries",
          "[crawler][link_filter][policy]") {
  crawler::LinkFilterOptions options;
  options.deny_domains = {"example.com", "10.0.0.1"};
  const auto filter = make_filter(std::move(options));
  check_rows(filter, {
                         {"the domain itself", "http://example.com/", "denied_domain"},
                         {"a subdomain", "http://www.example.com/a", "denied_domain"},
                         {"a deep subdomain", "https://a.b.c.example.com/", "denied_domain"},
                         {"with a port", "http://www.example.com:8080/", "denied_domain"},
                         {"with userinfo", "http://u@example.com/", "denied_domain"},
                         {"a name that merely ends the same", "http://badexample.com/", ""},
                         {"a hyphenated look-alike", "http://bad-example.com/", ""},
                         {"the domain inside another", "http://example.com.evil.org/", ""},
                         {"the domain as a prefix", "http://example.community/", ""},
                         {"the parent domain", "http://com/", ""},
                         {"the domain only in the path", "http://a.test/example.com", ""},
                         {"the domain only in the query", "http://a.test/?u=example.com", ""},
                         {"an IPv4 address", "http://10.0.0.1/", "denied_domain"},
                         {"an address ending in the same digits", "http://110.0.0.1/", ""},
                     });
}

TEST_CASE("link_filter: denied domains are case-insensitive and ignore outer dots",
          "[crawler][link_filter][policy]") {
  struct Case {
    const char* name;
    std::string domain;
  };
  const std::vector<Case> cases = {
      {"lower case", "example.com"},           {"upper case", "EXAMPLE.COM"},
      {"mixed case", "Example.Com"},           {"a leading dot", ".example.com"},
      {"leading dots", "..example.com"},       {"a trailing dot", "example.com."},
      {"dots on both sides", ".Example.com."},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name << ": " << c.domain) {
      crawler::LinkFilterOptions options;
      options.deny_domains = {c.domain};
      const auto filter = make_filter(std::move(options));
      CHECK(filter.reject_reason("http://example.com/", "example.com") == "denied_domain");
      CHECK(filter.reject_reason("http://www.example.com/", "www.example.com") == "denied_domain");
      // The host is documented as lowercase; an upper-case one is denied all the same.
      CHECK(filter.reject_reason("http://WWW.Example.COM/", "WWW.Example.COM") == "denied_domain");
      // A trailing dot names the same DNS host.
      CHECK(filter.reject_reason("http://example.com./", "example.com.") == "denied_domain");
      CHECK(filter.reject_reason("http://badexample.com/", "badexample.com").empty());
      CHECK(filter.reject_reason("http://com/", "com").empty());
    }
  }
  SECTION("domains that are empty after trimming deny nothing") {
    crawler::LinkFilterOptions options;
    options.deny_domains = {"", ".", "..."};
    const auto filter = make_filter(std::move(options));
    for (const char* host : {"example.com", "com", "a", ""}) {
      INFO(host);
      CHECK(filter.reject_reason("http://a.test/", host).empty());
    }
  }
}

TEST_CASE("link_filter: with --include a URL must match one", "[crawler][link_filter][policy]") {
  crawler::LinkFilterOptions options;
  options.include = {"/docs/"};
  const auto filter = make_filter(std::move(options));
  check_rows(filter, {
                         {"matches in the path", "http://a.test/docs/intro", ""},
                         {"matches deeper", "http://a.test/v2/docs/api", ""},
                         {"matches in the query", "http://a.test/?next=/docs/x", ""},
                         {"no match", "http://a.test/blog/post", "not_included"},
                         {"case-sensitive", "http://a.test/DOCS/intro", "not_included"},
                         {"without the trailing slash", "http://a.test/docs", "not_included"},
                     });
}

TEST_CASE("link_filter: several --include patterns admit a URL matching any",
          "[crawler][link_filter][policy]") {
  crawler::LinkFilterOptions options;
  options.include = {"/docs/", "\\.html$", "^https://b\\.test/"};
  const auto filter = make_filter(std::move(options));
  check_rows(filter, {
                         {"the first", "http://a.test/docs/x", ""},
                         {"the second", "http://a.test/page.html", ""},
                         {"the third", "https://b.test/anything", ""},
                         {"all three", "https://b.test/docs/x.html", ""},
                         {"none", "http://a.test/page.htm", "not_included"},
                         {"the third's host over http", "http://b.test/x", "not_included"},
                     });
}

TEST_CASE("link_filter: a URL matching any --exclude is rejected",
          "[crawler][link_filter][policy]") {
  crawler::LinkFilterOptions options;
  options.exclude = {"[?&]sessionid=", "\\.(?:zip|tar\\.gz)$"};
  const auto filter = make_filter(std::move(options));
  check_rows(filter,
             {
                 {"an ordinary page", "http://a.test/page", ""},
                 {"the first", "http://a.test/p?sessionid=42", "excluded"},
                 {"the first, later in the query", "http://a.test/p?a=1&sessionid=4", "excluded"},
                 {"the second", "http://a.test/f.zip", "excluded"},
                 {"the second's other branch", "http://a.test/f.tar.gz", "excluded"},
                 {"the second, not at the end", "http://a.test/f.zip/index", ""},
                 {"no '?' or '&' before the name", "http://a.test/sessionid=4", ""},
             });
}

TEST_CASE("link_filter: --exclude wins over --include", "[crawler][link_filter][policy]") {
  crawler::LinkFilterOptions options;
  options.include = {"/docs/"};
  options.exclude = {"/docs/old/"};
  const auto filter = make_filter(std::move(options));
  check_rows(filter, {
                         {"included", "http://a.test/docs/new/x", ""},
                         {"included and excluded", "http://a.test/docs/old/x", "excluded"},
                         {"neither", "http://a.test/blog/", "not_included"},
                     });
}

TEST_CASE("link_filter: patterns match anywhere in the URL unless anchored",
          "[crawler][link_filter][policy]") {
  struct Case {
    const char* name;
    std::string pattern;
    std::string url;
    bool matches;
  };
  const std::vector<Case> cases = {
      {"a substring of the host", "a\\.test", "http://www.a.test/x", true},
      {"a substring of the path", "b/c", "http://a.test/a/b/c/d", true},
      {"a substring of the scheme", "ttp", "http://a.test/", true},
      {"an unescaped dot is any character", "a.test", "http://aXtest/", true},
      {"an escaped dot is a dot", "a\\.test", "http://aXtest/", false},
      {"a start anchor on the start", "^https://a\\.test/", "https://a.test/x", true},
      {"a start anchor on another scheme", "^https://a\\.test/", "http://a.test/x", false},
      {"a start anchor on another host", "^https://a\\.test/", "https://b.a.test/x", false},
      {"a start anchor later in the URL", "^https://a\\.test/", "http://b.test/?u=https://a.test/",
       false},
      {"the same pattern unanchored", "https://a\\.test/", "http://b.test/?u=https://a.test/",
       true},
      {"an end anchor at the end", "\\.pdf$", "http://a.test/f.pdf", true},
      {"an end anchor before a query", "\\.pdf$", "http://a.test/f.pdf?x=1", false},
      {"both anchors, the whole URL", "^http://a\\.test/$", "http://a.test/", true},
      {"both anchors, a longer URL", "^http://a\\.test/$", "http://a.test/x", false},
      {"a case-insensitive flag", "(?i)/DOCS/", "http://a.test/docs/", true},
      {"the empty pattern matches everything", "", "http://a.test/", true},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name << ": " << c.pattern << " on " << c.url) {
      crawler::LinkFilterOptions include = no_guards();
      include.include = {c.pattern};
      crawler::LinkFilterOptions exclude = no_guards();
      exclude.exclude = {c.pattern};
      const auto host = crawler::host_of(c.url);
      CHECK(make_filter(std::move(include)).reject_reason(c.url, host) ==
            (c.matches ? "" : "not_included"));
      CHECK(make_filter(std::move(exclude)).reject_reason(c.url, host) ==
            (c.matches ? "excluded" : ""));
    }
  }
}

TEST_CASE("link_filter: a bad pattern is an error naming the flag, the pattern and RE2's message",
          "[crawler][link_filter]") {
  struct Case {
    const char* name;
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"an unclosed group in --exclude", {}, {"(abc"}, "--exclude '(abc': missing ): (abc"},
      {"an unclosed class in --exclude", {}, {"([a-z"}, "--exclude '([a-z': missing ]: [a-z"},
      {"an unclosed group in --include", {"(abc"}, {}, "--include '(abc': missing ): (abc"},
      {"an unopened group", {"abc)"}, {}, "--include 'abc)': unexpected ): abc)"},
      {"a bare repetition", {"*"}, {}, "--include '*': no argument for repetition operator: *"},
      {"a double repetition", {}, {"a**"}, "--exclude 'a**': bad repetition operator: **"},
      {"a trailing backslash", {}, {"\\"}, "--exclude '\\': trailing \\"},
      {"a repeat count past RE2's limit",
       {},
       {"a{1001}"},
       "--exclude 'a{1001}': invalid repetition size: {1001}"},
      {"the first bad pattern after good ones",
       {"ok", "(x", "(y"},
       {},
       "--include '(x': missing ): (x"},
      {"a bad --exclude with good --include",
       {"ok"},
       {"fine", "[z"},
       "--exclude '[z': missing ]: [z"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name << ": " << c.expected) {
      crawler::LinkFilterOptions options;
      options.include = c.include;
      options.exclude = c.exclude;
      const auto filter = crawler::LinkFilter::create(std::move(options));
      REQUIRE_FALSE(filter.has_value());
      CHECK(filter.error().code == common::ErrorCode::BadInput);
      CHECK(filter.error().context == c.expected);
    }
  }
  SECTION("a pattern past the memory bound is refused, not compiled") {
    std::string huge;
    for (int i = 0; i < 1000; ++i) huge += "a{1000}";  // a million instructions
    crawler::LinkFilterOptions options;
    options.exclude = {huge};
    const auto filter = crawler::LinkFilter::create(std::move(options));
    REQUIRE_FALSE(filter.has_value());
    CHECK(filter.error().code == common::ErrorCode::BadInput);
    CHECK(filter.error().context == "--exclude '" + huge + "': pattern too large - compile failed");
  }
}

TEST_CASE("link_filter: a pathological regex on a long URL completes", "[crawler][link_filter]") {
  // `(a+)+$` backtracks exponentially on "aaa...ab"; RE2 runs in linear time.
  const std::string no_match = "http://a.test/" + std::string(2000, 'a') + "b";
  const std::string match = "http://a.test/" + std::string(2000, 'a');
  REQUIRE(no_match.size() <= 2048);
  crawler::LinkFilterOptions exclude;
  exclude.exclude = {"(a+)+$"};
  crawler::LinkFilterOptions include;
  include.include = {"(a+)+$", "(x+x+)+y"};
  const auto excluding = make_filter(std::move(exclude));
  const auto including = make_filter(std::move(include));
  CHECK(excluding.reject_reason(no_match, "a.test").empty());
  CHECK(excluding.reject_reason(match, "a.test") == "excluded");
  CHECK(including.reject_reason(no_match, "a.test") == "not_included");
  CHECK(including.reject_reason(match, "a.test").empty());
}

TEST_CASE("link_filter: a path repeating one segment too often is a trap",
          "[crawler][link_filter][policy]") {
  SECTION("at the default of 3 repeats") {
    const auto filter = make_filter({});
    check_rows(filter, {
                           {"distinct segments", "http://a.test/a/b/c/d/e", ""},
                           {"a pair four times", "http://a.test/a/b/a/b/a/b/a/b", "path_trap"},
                           {"a pair three times", "http://a.test/a/b/a/b/a/b", ""},
                           {"one segment three times", "http://a.test/x/x/x", ""},
                           {"one segment four times", "http://a.test/x/x/x/x", "path_trap"},
                           {"four times, not adjacent", "http://a.test/x/1/x/2/x/3/x", "path_trap"},
                           {"a trailing slash adds no segment", "http://a.test/x/x/x/", ""},
                           {"empty segments are ignored", "http://a.test//x//x///x//", ""},
                           {"empty segments between four", "http://a.test/x//x//x//x", "path_trap"},
                           {"segments compare exactly", "http://a.test/x/X/x/X/x/X/x%2F", ""},
                           {"a prefix is another segment", "http://a.test/x/xx/x/xx/x/xx", ""},
                           {"the query is not the path", "http://a.test/p?/x/x/x/x", ""},
                           {"the fragment is not the path", "http://a.test/p#/x/x/x/x", ""},
                           {"the path ends at '?'", "http://a.test/x/x/x?/x", ""},
                           {"the host is not a segment", "http://x/x/x/x", ""},
                           {"a port is not a segment", "http://a.test:80/80/80/80", ""},
                       });
  }
  SECTION("at a custom limit") {
    crawler::LinkFilterOptions options;
    options.max_segment_repeats = 1;
    const auto filter = make_filter(std::move(options));
    check_rows(filter, {
                           {"all distinct", "http://a.test/a/b/c", ""},
                           {"one repeat", "http://a.test/a/b/a", "path_trap"},
                       });
  }
  SECTION("on paths too long for the stack buffer") {
    crawler::LinkFilterOptions options;
    options.max_path_segments = 0;
    const auto filter = make_filter(std::move(options));
    const std::string url = "http://a.test" + distinct_segments(200);
    check_rows(filter, {
                           {"200 distinct segments", url, ""},
                           {"and one of them three more times", url + "/s7/s7/s7", "path_trap"},
                           {"and one of them twice more", url + "/s7/s7", ""},
                       });
  }
}

TEST_CASE("link_filter: a path deeper than max_path_segments is a trap",
          "[crawler][link_filter][policy]") {
  SECTION("at the default of 64") {
    const auto filter = make_filter({});
    check_rows(filter,
               {
                   {"64 segments", "http://a.test" + distinct_segments(64), ""},
                   {"65 segments", "http://a.test" + distinct_segments(65), "path_trap"},
                   {"65 with a slash", "http://a.test" + distinct_segments(65) + "/", "path_trap"},
               });
  }
  SECTION("at a custom limit") {
    crawler::LinkFilterOptions options;
    options.max_path_segments = 3;
    const auto filter = make_filter(std::move(options));
    check_rows(filter, {
                           {"three", "http://a.test/a/b/c", ""},
                           {"four", "http://a.test/a/b/c/d", "path_trap"},
                           {"empty segments do not count", "http://a.test//a//b//c//", ""},
                           {"query slashes do not count", "http://a.test/a/b/c?d/e/f", ""},
                       });
  }
}

TEST_CASE("link_filter: 0 turns each trap guard off", "[crawler][link_filter][policy]") {
  const std::string repeated = "http://a.test/x/x/x/x/x/x/x/x";
  const std::string deep = "http://a.test" + distinct_segments(100);
  SECTION("both on") {
    const auto filter = make_filter({});
    CHECK(filter.reject_reason(repeated, "a.test") == "path_trap");
    CHECK(filter.reject_reason(deep, "a.test") == "path_trap");
  }
  SECTION("repeats off") {
    crawler::LinkFilterOptions options;
    options.max_segment_repeats = 0;
    const auto filter = make_filter(std::move(options));
    CHECK(filter.reject_reason(repeated, "a.test").empty());
    CHECK(filter.reject_reason(deep, "a.test") == "path_trap");
  }
  SECTION("depth off") {
    crawler::LinkFilterOptions options;
    options.max_path_segments = 0;
    const auto filter = make_filter(std::move(options));
    CHECK(filter.reject_reason(repeated, "a.test") == "path_trap");
    CHECK(filter.reject_reason(deep, "a.test").empty());
  }
  SECTION("both off") {
    const auto filter = make_filter(no_guards());
    CHECK(filter.reject_reason(repeated, "a.test").empty());
    CHECK(filter.reject_reason(deep, "a.test").empty());
    CHECK(filter.reject_reason(repeated + deep.substr(13), "a.test").empty());
  }
}

TEST_CASE("link_filter: the first failing check gives the reason", "[crawler][link_filter]") {
  crawler::LinkFilterOptions options;
  options.max_url_length = 60;
  options.deny_domains = {"deny.test"};
  options.include = {"/in/"};
  options.exclude = {"/out/"};
  const auto filter = make_filter(std::move(options));
  const std::string trap = "/t/t/t/t";
  const std::string long_path = "/" + std::string(60, 'l');
  check_rows(filter,
             {
                 {"too long and every other reason", "http://deny.test/out" + trap + long_path,
                  "url_too_long"},
                 {"denied, trapped, excluded, not included", "http://deny.test/out" + trap,
                  "denied_domain"},
                 {"trapped, excluded, not included", "http://a.test/out" + trap, "path_trap"},
                 {"excluded and not included", "http://a.test/out/", "excluded"},
                 {"excluded and included", "http://a.test/in/out/", "excluded"},
                 {"not included", "http://a.test/other/", "not_included"},
                 {"included and nothing else", "http://a.test/in/", ""},
                 {"a denied subdomain that is included", "http://w.deny.test/in/", "denied_domain"},
                 {"a trap that is included", "http://a.test/in" + trap, "path_trap"},
             });
}

TEST_CASE("link_filter: a moved filter keeps its rules", "[crawler][link_filter]") {
  crawler::LinkFilterOptions options;
  options.deny_domains = {"deny.test"};
  options.exclude = {"/out/"};
  options.include = {"/in/"};
  auto original = make_filter(std::move(options));
  crawler::LinkFilter moved(std::move(original));
  auto assigned = make_filter({});
  CHECK(assigned.reject_reason("http://a.test/out/", "a.test").empty());
  assigned = std::move(moved);
  CHECK(assigned.reject_reason("http://deny.test/in/", "deny.test") == "denied_domain");
  CHECK(assigned.reject_reason("http://a.test/in/out/", "a.test") == "excluded");
  CHECK(assigned.reject_reason("http://a.test/x/", "a.test") == "not_included");
  CHECK(assigned.reject_reason("http://a.test/in/", "a.test").empty());
}

TEST_CASE("link_filter: patterns see bytes, not UTF-8 characters", "[crawler][link_filter]") {
  // Normalized URLs are ASCII; a stray raw byte must not make a pattern fail to compile or match
  // differently from its byte count.
  crawler::LinkFilterOptions options = no_guards();
  options.exclude = {"^http://a\\.test/.$", "\xff"};
  const auto filter = make_filter(std::move(options));
  CHECK(filter.reject_reason("http://a.test/x", "a.test") == "excluded");
  CHECK(filter.reject_reason("http://a.test/\xc3\xa9", "a.test").empty());  // two bytes, not one
  CHECK(filter.reject_reason("http://a.test/\xff", "a.test") == "excluded");
}

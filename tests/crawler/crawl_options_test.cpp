#include "crawler/crawl_options.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using crawler::CrawlOptions;

void check_same(const CrawlOptions& a, const CrawlOptions& b) {
  CHECK(a.seeds_file == b.seeds_file);
  CHECK(a.db_path == b.db_path);
  CHECK(a.fresh == b.fresh);
  CHECK(a.workers == b.workers);
  CHECK(a.concurrency == b.concurrency);
  CHECK(a.per_host == b.per_host);
  CHECK(a.delay_s == b.delay_s);
  CHECK(a.max_depth == b.max_depth);
  CHECK(a.max_pages == b.max_pages);
  CHECK(a.allow_domains == b.allow_domains);
  CHECK(a.user_agent == b.user_agent);
  CHECK(a.connect_timeout_s == b.connect_timeout_s);
  CHECK(a.timeout_s == b.timeout_s);
  CHECK(a.max_body_bytes == b.max_body_bytes);
  CHECK(a.max_redirects == b.max_redirects);
  CHECK(a.low_speed_bytes_per_s == b.low_speed_bytes_per_s);
  CHECK(a.low_speed_time_s == b.low_speed_time_s);
  CHECK(a.max_links_per_page == b.max_links_per_page);
  CHECK(a.max_url_length == b.max_url_length);
  CHECK(a.quiet == b.quiet);
  CHECK(a.verbose == b.verbose);
  CHECK(a.progress_interval_s == b.progress_interval_s);
}

// Every field away from its default, with values that stress the encoding.
CrawlOptions unusual_options() {
  CrawlOptions o;
  o.seeds_file = "/tmp/dir with spaces/seeds \"quoted\" \\ back.txt";
  o.db_path = "r\xC3\xA9sultats/\xE6\x97\xA5\xE6\x9C\xAC.db";  // UTF-8
  o.fresh = true;
  o.workers = 7;
  o.concurrency = 123;
  o.per_host = 5;
  o.delay_s = 0.1;  // not exact in binary: must still round-trip
  o.max_depth = 0;
  o.max_pages = 9'000'000'000'000LL;  // beyond 32 bits
  o.allow_domains = {"example.com", "EXAMPLE.org", ".lead.dot", ""};
  o.user_agent = "bot/1.0 (+mailto:ops@example.com)\n\t{}[]";
  o.connect_timeout_s = 1.5e-3;
  o.timeout_s = 86400.25;
  o.max_body_bytes = 1;
  o.max_redirects = 0;
  o.low_speed_bytes_per_s = 0;
  o.low_speed_time_s = 1;
  o.max_links_per_page = 1;
  o.max_url_length = 65536;
  o.quiet = true;
  o.verbose = true;
  o.progress_interval_s = 1.0 / 3.0;
  return o;
}

}  // namespace

TEST_CASE("crawl_options: defaults survive a round trip", "[crawler][options]") {
  const CrawlOptions defaults;
  auto back = crawler::options_from_json(crawler::to_json(defaults));
  REQUIRE(back);
  check_same(*back, defaults);
}

TEST_CASE("crawl_options: every field survives a round trip", "[crawler][options]") {
  const CrawlOptions options = unusual_options();
  const std::string json = crawler::to_json(options);
  auto back = crawler::options_from_json(json);
  REQUIRE(back);
  check_same(*back, options);
  // And the encoding is stable: encoding the decoded options gives the same text.
  CHECK(crawler::to_json(*back) == json);
}

TEST_CASE("crawl_options: the JSON is one line, usable as an argv entry", "[crawler][options]") {
  const std::string json = crawler::to_json(unusual_options());
  CHECK(json.find('\n') == std::string::npos);
  CHECK(json.find('\0') == std::string::npos);
  const auto parsed = nlohmann::json::parse(json);
  REQUIRE(parsed.is_object());
  CHECK(parsed.at("workers") == 7);
  CHECK(parsed.at("max_pages") == 9'000'000'000'000LL);
  CHECK(parsed.at("allow_domains").size() == 4);
  CHECK(parsed.at("fresh") == true);
}

TEST_CASE("crawl_options: missing keys take their defaults", "[crawler][options]") {
  const CrawlOptions defaults;
  SECTION("an empty object") {
    auto back = crawler::options_from_json("{}");
    REQUIRE(back);
    check_same(*back, defaults);
  }
  SECTION("some keys") {
    auto back = crawler::options_from_json(
        R"({"workers": 3, "allow_domains": ["a.test"], "delay_s": 2.5, "unknown_key": [1, 2]})");
    REQUIRE(back);
    CHECK(back->workers == 3);
    CHECK(back->allow_domains == std::vector<std::string>{"a.test"});
    CHECK(back->delay_s == 2.5);
    CHECK(back->db_path == defaults.db_path);
    CHECK(back->per_host == defaults.per_host);
    CHECK(back->max_body_bytes == defaults.max_body_bytes);
    CHECK(back->max_depth == defaults.max_depth);
  }
  SECTION("whitespace around the document") {
    auto back = crawler::options_from_json(" \n\t{\"quiet\": true}\r\n ");
    REQUIRE(back);
    CHECK(back->quiet);
  }
}

TEST_CASE("crawl_options: bad JSON is a BadInput error, not an exception", "[crawler][options]") {
  struct Row {
    const char* name;
    std::string json;
  };
  const std::vector<Row> rows = {
      {"empty", ""},
      {"whitespace", "   "},
      {"not JSON", "workers=4"},
      {"truncated object", R"({"workers": 4)"},
      {"trailing garbage", R"({"workers": 4} x)"},
      {"two documents", "{}{}"},
      {"trailing comma", R"({"workers": 4,})"},
      {"single quotes", "{'workers': 4}"},
      {"an array", "[]"},
      {"null", "null"},
      {"a number", "42"},
      {"a string", R"("options")"},
      {"a string for an int", R"({"workers": "four"})"},
      {"a number for a bool", R"({"fresh": 1})"},
      {"a string for a bool", R"({"quiet": "true"})"},
      {"null for a string", R"({"db_path": null})"},
      {"a string for a list", R"({"allow_domains": "example.com"})"},
      {"numbers in a list of strings", R"({"allow_domains": [1, 2]})"},
      {"an object for a double", R"({"delay_s": {}})"},
      {"invalid UTF-8 in a string", std::string("{\"db_path\": \"\xff\xfe\"}")},
      {"a NUL byte", std::string("{\"db_path\": \"a\0b\"}", 18)},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      common::Result<CrawlOptions> result = CrawlOptions{};
      REQUIRE_NOTHROW(result = crawler::options_from_json(row.json));
      REQUIRE_FALSE(result);
      CHECK(result.error().code == common::ErrorCode::BadInput);
      CHECK_THAT(result.error().context, Catch::StartsWith("options: "));
    }
  }
}

TEST_CASE("crawl_options: the user agent falls back to the default", "[crawler][options]") {
  CrawlOptions o;
  CHECK(o.effective_user_agent() == crawler::default_user_agent());
  CHECK_THAT(crawler::default_user_agent(), Catch::StartsWith("crawler/"));
  CHECK_THAT(crawler::default_user_agent(), Catch::Contains(crawler::kVersion));
  o.user_agent = "mybot/2";
  CHECK(o.effective_user_agent() == "mybot/2");
}

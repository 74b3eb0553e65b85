#include "crawler/scope.h"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Row {
  const char* name;
  std::string host;
  bool expected;
};

void check_rows(const crawler::Scope& scope, const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name << ": " << row.host) { CHECK(scope.allows(row.host) == row.expected); }
  }
}

}  // namespace

TEST_CASE("scope: seed hosts match exactly", "[crawler][scope][policy]") {
  const crawler::Scope scope({"example.com", "127.0.0.1", "[::1]"}, {});
  check_rows(scope,
             {
                 {"the seed host", "example.com", true},
                 {"a subdomain of a seed host", "www.example.com", false},
                 {"a parent of a seed host", "com", false},
                 {"a longer name ending the same", "notexample.com", false},
                 {"the seed host as a label of another domain", "example.com.evil.org", false},
                 {"a prefix of the seed host", "example.co", false},
                 {"a trailing dot is another name", "example.com.", false},
                 {"the empty host", "", false},
                 {"an IPv4 seed", "127.0.0.1", true},
                 {"a neighbouring IPv4 address", "127.0.0.2", false},
                 {"an IPv4 address ending in the seed", "10.127.0.0.1", false},
                 {"an IPv6 seed", "[::1]", true},
                 {"another IPv6 address", "[::2]", false},
             });
}

TEST_CASE("scope: --allow-domain admits the domain and its subdomains",
          "[crawler][scope][policy]") {
  const crawler::Scope scope({}, {"example.com"});
  check_rows(scope, {
                        {"the domain itself", "example.com", true},
                        {"a subdomain", "www.example.com", true},
                        {"a deep subdomain", "a.b.c.example.com", true},
                        {"a name that merely ends the same", "notexample.com", false},
                        {"a hyphenated look-alike", "not-example.com", false},
                        {"the domain inside another", "example.com.evil.org", false},
                        {"the domain as a prefix", "example.community", false},
                        {"the parent domain", "com", false},
                        {"an unrelated host", "example.org", false},
                        {"an empty label before the domain", ".example.com", true},
                        {"the empty host", "", false},
                    });
}

TEST_CASE("scope: an allowed domain is normalized, and empty ones admit nothing",
          "[crawler][scope][policy]") {
  struct Case {
    const char* name;
    std::string domain;
  };
  const std::vector<Case> cases = {
      {"upper case", "EXAMPLE.COM"},      {"mixed case", "Example.Com"},
      {"a leading dot", ".example.com"},  {"leading dots", "..example.com"},
      {"a trailing dot", "example.com."}, {"dots on both sides", ".Example.com."},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name << ": " << c.domain) {
      const crawler::Scope scope({}, {c.domain});
      CHECK(scope.allows("example.com"));
      CHECK(scope.allows("www.example.com"));
      CHECK_FALSE(scope.allows("notexample.com"));
      CHECK_FALSE(scope.allows("com"));
    }
  }
  SECTION("domains that are empty after trimming are ignored, not a wildcard") {
    const crawler::Scope scope({}, {"", ".", "..."});
    for (const char* host : {"example.com", "com", "a", ""}) {
      INFO(host);
      CHECK_FALSE(scope.allows(host));
    }
  }
}

TEST_CASE("scope: seeds and allowed domains combine", "[crawler][scope][policy]") {
  const crawler::Scope scope({"seed.org", "www.example.net"}, {"example.com", "test.io"});
  check_rows(scope, {
                        {"a seed host", "seed.org", true},
                        {"a subdomain of a seed host", "a.seed.org", false},
                        {"the other seed host", "www.example.net", true},
                        {"the seed's parent", "example.net", false},
                        {"the seed's sibling", "mail.example.net", false},
                        {"the first domain", "example.com", true},
                        {"under the first domain", "img.example.com", true},
                        {"under the second domain", "api.test.io", true},
                        {"look-alike of the second domain", "contest.io", false},
                    });
}

TEST_CASE("scope: IP addresses as allowed domains match whole labels", "[crawler][scope][policy]") {
  const crawler::Scope scope({}, {"10.0.0.1", "[::1]"});
  check_rows(scope, {
                        {"the address", "10.0.0.1", true},
                        {"an address ending in the same digits", "110.0.0.1", false},
                        {"another address", "10.0.0.2", false},
                        {"the IPv6 literal", "[::1]", true},
                        {"another IPv6 literal", "[::11]", false},
                    });
}

TEST_CASE("scope: no seeds and no domains admit nothing", "[crawler][scope]") {
  const crawler::Scope scope({}, {});
  for (const char* host : {"example.com", "localhost", "127.0.0.1", ""}) {
    INFO(host);
    CHECK_FALSE(scope.allows(host));
  }
}

TEST_CASE("scope: host_of takes the host out of a normalized URL", "[crawler][scope]") {
  struct HostRow {
    const char* name;
    std::string spec;
    std::string expected;
  };
  const std::vector<HostRow> rows = {
      {"plain", "http://example.com/", "example.com"},
      {"https with path", "https://www.example.com/a/b?c=d", "www.example.com"},
      {"no path", "http://example.com", "example.com"},
      {"a port", "http://example.com:8080/x", "example.com"},
      {"userinfo", "http://user@example.com/", "example.com"},
      {"userinfo with password", "http://user:pass@example.com:81/", "example.com"},
      {"userinfo and port", "http://user@host:8080/x", "host"},
      {"'@' in the path is not userinfo", "http://example.com/a@b.org/", "example.com"},
      {"'@' in the query is not userinfo", "http://example.com?mail=a@b.org", "example.com"},
      {"'@' in the fragment is not userinfo", "http://example.com#a@b.org", "example.com"},
      {"':' in the path is not a port", "http://example.com/a:b", "example.com"},
      {"IPv4", "http://127.0.0.1:8000/", "127.0.0.1"},
      {"IPv6 keeps its brackets", "http://[::1]/", "[::1]"},
      {"IPv6 with a port", "http://[2001:db8::1]:8443/x", "[2001:db8::1]"},
      {"IPv6 with userinfo", "http://u@[::1]:80/", "[::1]"},
      {"unclosed IPv6 bracket", "http://[::1/x", "[::1"},
      {"no scheme separator", "example.com/x", ""},
      {"empty", "", ""},
      {"only a scheme", "http://", ""},
      {"empty host with port", "http://:80/", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name << ": " << row.spec) {
      CHECK(std::string(crawler::host_of(row.spec)) == row.expected);
    }
  }
}

TEST_CASE("scope: host_of and Scope agree on URLs in and out of scope",
          "[crawler][scope][policy]") {
  const crawler::Scope scope({"seed.example"}, {"example.com"});
  struct UrlRow {
    std::string url;
    bool expected;
  };
  const std::vector<UrlRow> rows = {
      {"http://seed.example/", true},
      {"https://seed.example:8443/a", true},  // scope is per host, whatever the port
      {"http://user@www.example.com/", true},
      {"http://example.com.evil.org/", false},
      {"http://evil.org/example.com", false},
      {"http://example.com@evil.org/", false},
      {"http://notexample.com/", false},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.url) { CHECK(scope.allows(crawler::host_of(row.url)) == row.expected); }
  }
}

TEST_CASE("scope: origin_of keeps scheme, host and port, drops userinfo, path and query",
          "[crawler][scope]") {
  struct OriginRow {
    const char* spec;
    const char* origin;
  };
  const OriginRow rows[] = {
      {"http://example.com/a/b?c=d", "http://example.com"},
      {"https://example.com:8443/", "https://example.com:8443"},
      {"http://user:pw@example.com:81/x", "http://example.com:81"},
      {"http://127.0.0.2:8080?q", "http://127.0.0.2:8080"},
      {"http://[::1]:9/", "http://[::1]:9"},
      {"http://example.com", "http://example.com"},
      {"no scheme", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.spec) { CHECK(crawler::origin_of(row.spec) == row.origin); }
  }
}

#include "cli/robots_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "parser/robots.h"
#include "tests/e2e/crawler_runner.h"

namespace {

using Strings = std::vector<std::string>;

using e2e::TempDir;  // tests/e2e/crawler_runner.h

Strings lines_of(const std::string& s) {
  Strings out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(s.substr(start, nl - start));
  }
  if (start < s.size()) out.push_back(s.substr(start));
  return out;
}

struct Run {
  int code = -1;
  Strings out;
  std::string err;
};

Run run(const std::string& file, const std::string& agent, const Strings& urls) {
  std::ostringstream out;
  std::ostringstream err;
  Run result;
  result.code = cli::run_robots_check(file, agent, urls, out, err);
  result.out = lines_of(out.str());
  result.err = err.str();
  return result;
}

constexpr const char* kRobots =
    "# example.com\n"
    "User-agent: *\n"
    "Disallow: /\n"
    "\n"
    "User-agent: mybot\n"
    "Disallow: /private\n"
    "Allow: /private/ok\n"
    "Crawl-delay: 2.5\n"
    "\n"
    "Sitemap: https://example.com/sitemap.xml\n";

}  // namespace

TEST_CASE("robots-check: one line per URL with the deciding rule", "[cli][robots]") {
  TempDir dir;
  const auto file = dir.write("robots.txt", kRobots);
  const auto result =
      run(file, "mybot",
          {"https://example.com/", "https://example.com/private/x?y=1",
           "https://example.com/private/ok/page", "https://example.com/robots.txt"});
  CHECK(result.code == cli::kExitDisallowed);
  CHECK(result.out ==
        Strings{
            "group: mybot",
            "crawl-delay: 2.5 s",
            "allowed    https://example.com/",
            "disallowed https://example.com/private/x?y=1  (line 6: Disallow: /private)",
            "allowed    https://example.com/private/ok/page  (line 7: Allow: /private/ok)",
            "allowed    https://example.com/robots.txt",
        });
  CHECK(result.err.empty());
}

TEST_CASE("robots-check: exit 0 when every URL is allowed", "[cli][robots]") {
  TempDir dir;
  const auto file = dir.write("robots.txt", kRobots);
  const auto result = run(file, "MyBot/1.0 (+https://example.com/bot)",
                          {"http://example.com/public", "http://example.com/private/ok"});
  CHECK(result.code == 0);
  CHECK(result.out == Strings{
                          "group: MyBot",
                          "crawl-delay: 2.5 s",
                          "allowed    http://example.com/public",
                          "allowed    http://example.com/private/ok  (line 7: Allow: /private/ok)",
                      });
}

TEST_CASE("robots-check: the star group and no group", "[cli][robots]") {
  TempDir dir;
  const auto file = dir.write("robots.txt", kRobots);
  const auto star = run(file, "otherbot", {"https://example.com/a"});
  CHECK(star.code == cli::kExitDisallowed);
  CHECK(star.out == Strings{"group: *", "disallowed https://example.com/a  (line 3: Disallow: /)"});

  const auto none_file = dir.write("none.txt", "User-agent: mybot\nDisallow: /\n");
  const auto none = run(none_file, "otherbot", {"https://example.com/a"});
  CHECK(none.code == 0);
  CHECK(none.out == Strings{"group: none", "allowed    https://example.com/a"});
}

TEST_CASE("robots-check: a URL that does not parse is invalid, exit 2", "[cli][robots]") {
  TempDir dir;
  const auto file = dir.write("robots.txt", kRobots);
  const auto result =
      run(file, "mybot", {"ftp://example.com/x", "https://example.com/private", "not a url"});
  CHECK(result.code == 2);  // an invalid URL wins over a disallowed one
  REQUIRE(result.out.size() == 5);
  CHECK(result.out[2] == "invalid    ftp://example.com/x  (unsupported scheme 'ftp')");
  CHECK(result.out[3] == "disallowed https://example.com/private  (line 6: Disallow: /private)");
  CHECK(result.out[4].rfind("invalid    not a url  (", 0) == 0);
}

TEST_CASE("robots-check: URLs are normalized before matching", "[cli][robots]") {
  TempDir dir;
  const auto file = dir.write("robots.txt", "User-agent: *\nDisallow: /\xC3\xA4/\nDisallow: /b$\n");
  const auto result = run(
      file, "mybot",
      {"https://example.com/%c3%a4/x", "https://example.com/a/../b", "https://example.com/b?q"});
  CHECK(result.code == cli::kExitDisallowed);
  CHECK(result.out == Strings{
                          "group: *",
                          "disallowed https://example.com/%c3%a4/x  (line 2: Disallow: /\xC3\xA4/)",
                          "disallowed https://example.com/a/../b  (line 3: Disallow: /b$)",
                          "allowed    https://example.com/b?q",
                      });
}

TEST_CASE("robots-check: a file that cannot be read is exit 1", "[cli][robots]") {
  // Section names must not contain the temp directory: it differs on each run of the case.
  TempDir dir;
  for (const char* name : {"missing.txt", ""}) {
    DYNAMIC_SECTION("file '" << name << "'") {
      const auto path = dir.path() + "/" + name;
      const auto result = run(path, "mybot", {"https://example.com/"});
      CHECK(result.code == 1);
      CHECK(result.out.empty());
      CHECK(result.err.rfind("robots-check: cannot read " + path + ": ", 0) == 0);
    }
  }
}

TEST_CASE("robots-check: an agent without a product token is a usage error", "[cli][robots]") {
  TempDir dir;
  const auto file = dir.write("robots.txt", kRobots);
  const auto result = run(file, "/1.0", {"https://example.com/"});
  CHECK(result.code == 2);
  CHECK(result.out.empty());
  CHECK(result.err == "robots-check: agent '/1.0' has no product token (letters, '-', '_')\n");
}

TEST_CASE("robots-check: notes on stderr for ignored lines and a truncated file", "[cli][robots]") {
  TempDir dir;
  const auto garbage = dir.write("garbage.txt", "User-agent: *\nfoo\nHost: x\nDisallow: /a\n");
  const auto result = run(garbage, "mybot", {"https://example.com/a"});
  CHECK(result.code == cli::kExitDisallowed);
  CHECK(result.err == "robots-check: " + garbage + ": 2 lines not understood, ignored\n");

  std::string big = "User-agent: *\nDisallow: /a\n";
  while (big.size() <= parser::kRobotsMaxBytes) big += "# filler filler filler filler\n";
  big += "Disallow: /b\n";
  const auto big_file = dir.write("big.txt", big);
  const auto truncated = run(big_file, "mybot", {"https://example.com/a", "https://example.com/b"});
  CHECK(truncated.code == cli::kExitDisallowed);
  CHECK(truncated.out == Strings{"group: *",
                                 "disallowed https://example.com/a  (line 2: Disallow: /a)",
                                 "allowed    https://example.com/b"});
  CHECK(truncated.err == "robots-check: " + big_file + ": only the first " +
                             std::to_string(parser::kRobotsMaxBytes) + " bytes were parsed\n");
}

TEST_CASE("robots-check: '-' reads the robots.txt from stdin", "[cli][robots]") {
  TempDir dir;
  const auto file = dir.write("robots.txt", "User-agent: *\nDisallow: /x\nCrawl-delay: 10\n");
  const int saved_stdin = ::dup(STDIN_FILENO);
  REQUIRE(saved_stdin >= 0);
  const int fd = ::open(file.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::dup2(fd, STDIN_FILENO) == STDIN_FILENO);
  ::close(fd);
  const auto result = run("-", "mybot", {"https://example.com/x"});
  ::dup2(saved_stdin, STDIN_FILENO);
  ::close(saved_stdin);
  CHECK(result.code == cli::kExitDisallowed);
  CHECK(result.out == Strings{"group: *", "crawl-delay: 10 s",
                              "disallowed https://example.com/x  (line 2: Disallow: /x)"});
}

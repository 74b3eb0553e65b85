#include "crawler/seeds.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kMaxUrl = 2048;

// A mkdtemp directory, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "seeds_test.XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) FAIL("mkdtemp: " << std::strerror(errno));
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }

  // Writes `content` byte for byte to a file in the directory; returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::string file = (path_ / name).string();
    std::ofstream out(file, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    REQUIRE(out.good());
    return file;
  }

 private:
  std::filesystem::path path_;
};

std::vector<std::string> urls_of(const crawler::SeedsFile& file) {
  std::vector<std::string> out;
  for (const auto& seed : file.seeds) out.push_back(seed.url);
  return out;
}

// The "FILE:LINE: " prefixes of the problems, in order.
std::vector<std::string> problem_lines(const crawler::SeedsFile& file, const std::string& path) {
  std::vector<std::string> out;
  for (const auto& problem : file.problems) {
    REQUIRE(problem.rfind(path + ":", 0) == 0);
    const std::size_t colon = problem.find(": ", path.size() + 1);
    REQUIRE(colon != std::string::npos);
    out.push_back(problem.substr(path.size() + 1, colon - path.size() - 1));
  }
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("seeds: the file is read line by line into normalized seeds", "[crawler][seeds]") {
  struct Row {
    const char* name;
    std::string content;
    Strings expected_urls;
    Strings expected_problem_lines;
  };
  const std::vector<Row> rows = {
      {"empty file", "", {}, {}},
      {"one URL", "http://example.com/\n", {"http://example.com/"}, {}},
      {"no newline at the end", "http://example.com/a", {"http://example.com/a"}, {}},
      {"normalization", "HTTP://Example.COM:80/a/../b\n", {"http://example.com/b"}, {}},
      {"https and ports",
       "https://example.com:443/\nhttps://example.com:8443/\n",
       {"https://example.com/", "https://example.com:8443/"},
       {}},
      {"blank and whitespace-only lines",
       "\n\n   \n\t\nhttp://a.test/\n \t \n",
       {"http://a.test/"},
       {}},
      {"comments",
       "# seeds\nhttp://a.test/\n#http://commented.test/\n   # indented comment\n",
       {"http://a.test/"},
       {}},
      {"a '#' after the URL is a fragment, not a comment",
       "http://a.test/page#frag\n",
       {"http://a.test/page"},
       {}},
      {"surrounding whitespace is trimmed",
       "  http://a.test/x  \n\thttp://b.test/y\t\n",
       {"http://a.test/x", "http://b.test/y"},
       {}},
      {"CRLF line ends",
       "http://a.test/\r\nhttp://b.test/\r\n\r\n",
       {"http://a.test/", "http://b.test/"},
       {}},
      // Only LF ends a line; a CR inside one is removed like other whitespace in a URL.
      {"a lone CR is not a line end",
       "http://a.test/\rhttp://b.test/\n",
       {"http://a.test/http://b.test/"},
       {}},
      {"duplicates after normalization are dropped, first kept",
       "http://b.test/\nhttp://a.test\nHTTP://A.TEST/\nhttp://a.test:80/\nhttp://b.test/#x\n",
       {"http://b.test/", "http://a.test/"},
       {}},
      {"unsupported schemes are reported with their line",
       "http://a.test/\nftp://files.test/\nmailto:x@y.test\nhttps://b.test/\n",
       {"http://a.test/", "https://b.test/"},
       {"2", "3"}},
      {"relative and host-less lines are reported",
       "www.example.com\n/path\nhttp://\nhttp://a.test/\n",
       {"http://a.test/"},
       {"1", "2", "3"}},
      {"line numbers count blank and comment lines",
       "# header\n\nbad line\n\n# more\njavascript:alert(1)\n",
       {},
       {"3", "6"}},
      {"binary junk is just an invalid line",
       std::string("\x01\x02\xff\xfe\n", 5) + std::string("ht\0tp://a.test/\n", 16) +
           "http://ok.test/\n",
       {"http://ok.test/"},
       {"1", "2"}},
  };
  TempDir dir;
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const std::string path = dir.write("seeds.txt", row.content);
      auto file = crawler::read_seeds(path, kMaxUrl);
      REQUIRE(file);
      CHECK(urls_of(*file) == row.expected_urls);
      CHECK(problem_lines(*file, path) == row.expected_problem_lines);
    }
  }
}

TEST_CASE("seeds: each seed carries its normalized host", "[crawler][seeds]") {
  TempDir dir;
  const std::string path = dir.write(
      "seeds.txt", "http://WWW.Example.com:8080/x\nhttps://[::1]/\nhttp://user@127.0.0.1/\n");
  auto file = crawler::read_seeds(path, kMaxUrl);
  REQUIRE(file);
  REQUIRE(file->seeds.size() == 3);
  CHECK(file->seeds[0].url == "http://www.example.com:8080/x");
  CHECK(file->seeds[0].host == "www.example.com");
  CHECK(file->seeds[1].url == "https://[::1]/");
  CHECK(file->seeds[1].host == "[::1]");
  CHECK(file->seeds[2].host == "127.0.0.1");
  CHECK(file->problems.empty());
}

TEST_CASE("seeds: a problem names the file, the line and why", "[crawler][seeds]") {
  TempDir dir;
  const std::string path = dir.write("list.txt", "http://ok.test/\nftp://files.test/\n");
  auto file = crawler::read_seeds(path, kMaxUrl);
  REQUIRE(file);
  REQUIRE(file->problems.size() == 1);
  const std::string& problem = file->problems[0];
  CHECK(problem.rfind(path + ":2: ", 0) == 0);
  CHECK_THAT(problem, Catch::Contains("ftp"));
  CHECK_THAT(problem, Catch::EndsWith("; skipped"));
}

TEST_CASE("seeds: URLs longer than the limit are reported and skipped",
          "[crawler][seeds][policy]") {
  const std::string prefix = "http://a.test/";
  auto url_of_length = [&](std::size_t n) { return prefix + std::string(n - prefix.size(), 'x'); };
  struct Row {
    const char* name;
    std::string line;
    bool expected_ok;
  };
  const std::size_t max = 100;
  const std::vector<Row> rows = {
      {"one under the limit", url_of_length(max - 1), true},
      {"exactly the limit", url_of_length(max), true},
      {"the limit with whitespace around", "   " + url_of_length(max) + "  \r", true},
      {"one over the limit", url_of_length(max + 1), false},
      {"far over the limit", url_of_length(max + 5000), false},
      {"a megabyte", url_of_length(1 << 20), false},
      // The reader caps the bytes it keeps per line; a cut line must never pass as a shorter
      // (and wrong) URL, however much whitespace comes first.
      {"long line after a short indent", std::string(10, ' ') + url_of_length(max + 200), false},
      {"long line after a long indent", std::string(100, ' ') + url_of_length(max), true},
      {"over the limit after a long indent", std::string(100, ' ') + url_of_length(max + 1), false},
      {"over the limit after a huge indent", std::string(5000, '\t') + url_of_length(max + 40),
       false},
  };
  TempDir dir;
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const std::string path =
          dir.write("seeds.txt", "http://first.test/\n" + row.line + "\nhttp://last.test/\n");
      auto file = crawler::read_seeds(path, max);
      REQUIRE(file);
      if (row.expected_ok) {
        REQUIRE(file->seeds.size() == 3);
        CHECK(file->seeds[1].url.size() <= max);
        CHECK(file->seeds[1].url.rfind(prefix, 0) == 0);
        CHECK(file->problems.empty());
      } else {
        // The neighbours survive; the long line is reported, never truncated into a seed.
        CHECK(urls_of(*file) == Strings{"http://first.test/", "http://last.test/"});
        REQUIRE(file->problems.size() == 1);
        CHECK(file->problems[0].rfind(path + ":2: ", 0) == 0);
        CHECK_THAT(file->problems[0], Catch::Contains("longer than 100 bytes"));
      }
    }
  }
}

TEST_CASE("seeds: a very long comment or blank line is skipped quietly", "[crawler][seeds]") {
  TempDir dir;
  const std::string path =
      dir.write("seeds.txt", "# " + std::string(1 << 20, 'c') + "\n" + std::string(1 << 20, ' ') +
                                 "\nhttp://a.test/\n");
  auto file = crawler::read_seeds(path, kMaxUrl);
  REQUIRE(file);
  CHECK(urls_of(*file) == Strings{"http://a.test/"});
  CHECK(file->problems.empty());
}

TEST_CASE("seeds: a UTF-8 byte order mark at the start is ignored", "[crawler][seeds]") {
  const std::string bom = "\xEF\xBB\xBF";
  struct Row {
    const char* name;
    std::string content;
    Strings expected_urls;
    std::size_t expected_problems;
  };
  const std::vector<Row> rows = {
      {"before a URL",
       bom + "http://a.test/\nhttp://b.test/\n",
       {"http://a.test/", "http://b.test/"},
       0},
      {"before a comment", bom + "# seeds\r\nhttp://a.test/\r\n", {"http://a.test/"}, 0},
      {"alone", bom, {}, 0},
      // Only the first three bytes of the file can be a BOM.
      {"on a later line", "http://a.test/\n" + bom + "http://b.test/\n", {"http://a.test/"}, 1},
  };
  TempDir dir;
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const std::string path = dir.write("seeds.txt", row.content);
      auto file = crawler::read_seeds(path, kMaxUrl);
      REQUIRE(file);
      CHECK(urls_of(*file) == row.expected_urls);
      CHECK(file->problems.size() == row.expected_problems);
    }
  }
}

TEST_CASE("seeds: a file that cannot be read is an error naming it", "[crawler][seeds]") {
  TempDir dir;
  SECTION("missing file") {
    const std::string path = dir.path() + "/does-not-exist.txt";
    auto file = crawler::read_seeds(path, kMaxUrl);
    REQUIRE_FALSE(file);
    CHECK(file.error().code == common::ErrorCode::BadInput);
    CHECK_THAT(file.error().context, Catch::Contains(path));
    CHECK_THAT(file.error().context, Catch::Contains(std::strerror(ENOENT)));
  }
  SECTION("missing directory") {
    const std::string path = dir.path() + "/no/such/dir/seeds.txt";
    auto file = crawler::read_seeds(path, kMaxUrl);
    REQUIRE_FALSE(file);
    CHECK_THAT(file.error().context, Catch::Contains(path));
  }
  SECTION("empty path") {
    auto file = crawler::read_seeds("", kMaxUrl);
    REQUIRE_FALSE(file);
    CHECK(file.error().code == common::ErrorCode::BadInput);
  }
  SECTION("a directory") {
    auto file = crawler::read_seeds(dir.path(), kMaxUrl);
    REQUIRE_FALSE(file);
    CHECK(file.error().code == common::ErrorCode::BadInput);
    CHECK_THAT(file.error().context, Catch::Contains(dir.path()));
  }
  SECTION("no read permission") {
    const std::string path = dir.write("secret.txt", "http://a.test/\n");
    REQUIRE(chmod(path.c_str(), 0) == 0);
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
      std::fclose(f);
      // Root reads anything; then the file must simply be read.
      WARN("running with privileges that ignore file modes");
      auto file = crawler::read_seeds(path, kMaxUrl);
      REQUIRE(file);
      CHECK(urls_of(*file) == Strings{"http://a.test/"});
    } else {
      auto file = crawler::read_seeds(path, kMaxUrl);
      REQUIRE_FALSE(file);
      CHECK(file.error().code == common::ErrorCode::BadInput);
      CHECK_THAT(file.error().context, Catch::Contains(path));
      CHECK_THAT(file.error().context, Catch::Contains(std::strerror(EACCES)));
    }
  }
}

TEST_CASE("seeds: many lines keep their order and numbering", "[crawler][seeds]") {
  std::string content;
  Strings expected;
  Strings expected_lines;
  for (int i = 1; i <= 5000; ++i) {
    if (i % 7 == 0) {
      content += "gopher://bad.test/" + std::to_string(i) + "\n";
      expected_lines.push_back(std::to_string(i));
    } else if (i % 5 == 0) {
      content += "# " + std::to_string(i) + "\n";
    } else {
      content += "http://h" + std::to_string(i % 13) + ".test/" + std::to_string(i) + "\n";
      expected.push_back("http://h" + std::to_string(i % 13) + ".test/" + std::to_string(i));
    }
  }
  TempDir dir;
  const std::string path = dir.write("seeds.txt", content);
  auto file = crawler::read_seeds(path, kMaxUrl);
  REQUIRE(file);
  CHECK(urls_of(*file) == expected);
  CHECK(problem_lines(*file, path) == expected_lines);
}

#include "parser/links.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr const char* kPage = "https://example.com/dir/page.html";

parser::Url url_of(const std::string& text) {
  auto url = parser::parse_url(text);
  REQUIRE(url.has_value());
  return *url;
}

parser::PageInfo extract(const std::string& html, const std::string& page = kPage,
                         const parser::ExtractOptions& options = {}) {
  return parser::extract_page_info(html, url_of(page), options);
}

std::vector<std::string> urls_of(const parser::PageInfo& info) {
  std::vector<std::string> urls;
  for (const auto& link : info.links) urls.push_back(link.url);
  return urls;
}

struct LinkRow {
  const char* name;
  std::string html;
  std::string page_url;
  std::vector<std::string> expected;  // link urls, in order
};

void check_links(const std::vector<LinkRow>& rows) {
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto info = extract(row.html, row.page_url);
      CHECK(urls_of(info) == row.expected);
    }
  }
}

bool is_valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80         ? 1
                            : (c >> 5) == 6  ? 2
                            : (c >> 4) == 14 ? 3
                            : (c >> 3) == 30 ? 4
                                             : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

TEST_CASE("links: each linking element and attribute yields a link", "[parser][links]") {
  check_links({
      {"a href", R"(<a href="/a">x</a>)", kPage, {"https://example.com/a"}},
      {"area href", R"(<map><area href="/area"></map>)", kPage, {"https://example.com/area"}},
      {"link href",
       R"(<head><link rel="stylesheet" href="/s.css"></head>)",
       kPage,
       {"https://example.com/s.css"}},
      {"iframe src",
       R"(<iframe src="/frame.html"></iframe>)",
       kPage,
       {"https://example.com/frame.html"}},
      {"frame src",
       R"(<frameset><frame src="/left.html"><frame src="/right.html"></frameset>)",
       kPage,
       {"https://example.com/left.html", "https://example.com/right.html"}},
      {"meta refresh",
       R"(<meta http-equiv="refresh" content="5; url=/next">)",
       kPage,
       {"https://example.com/next"}},
      {"a without href", R"(<a name="top">x</a>)", kPage, {}},
      {"img src is not a link", R"(<img src="/i.png">)", kPage, {}},
      {"iframe href is not a link", R"(<iframe href="/no"></iframe>)", kPage, {}},
      {"document order, head first",
       R"(<html><head><link href="/h"></head><body><a href="/b1"></a><iframe src="/b2"></iframe>)"
       R"(<a href="/b3"></a></body></html>)",
       kPage,
       {"https://example.com/h", "https://example.com/b1", "https://example.com/b2",
        "https://example.com/b3"}},
  });
}

TEST_CASE("links: relative hrefs resolve against the page URL", "[parser][links][rfc3986]") {
  check_links({
      {"same directory", R"(<a href="x.html">)", kPage, {"https://example.com/dir/x.html"}},
      {"parent directory", R"(<a href="../up.html">)", kPage, {"https://example.com/up.html"}},
      {"absolute path", R"(<a href="/abs">)", kPage, {"https://example.com/abs"}},
      {"network path", R"(<a href="//other.org/p">)", kPage, {"https://other.org/p"}},
      {"query only", R"(<a href="?q=1">)", kPage, {"https://example.com/dir/page.html?q=1"}},
      {"absolute, normalized",
       R"(<a href="HTTP://Example.ORG:80/a">)",
       kPage,
       {"http://example.org/a"}},
      {"http page", R"(<a href="b">)", "http://example.net/a/", {"http://example.net/a/b"}},
  });
}

TEST_CASE("links: the first <base href> is the base URL", "[parser][links]") {
  check_links({
      {"absolute base",
       R"(<base href="https://cdn.example.org/x/"><a href="y">)",
       kPage,
       {"https://cdn.example.org/x/y"}},
      {"relative base resolved against the page",
       R"(<base href="/other/"><a href="y">)",
       kPage,
       {"https://example.com/other/y"}},
      {"base after the link still applies",
       R"(<a href="y"></a><base href="/late/">)",
       kPage,
       {"https://example.com/late/y"}},
      {"only the first base counts",
       R"(<base href="/first/"><base href="/second/"><a href="y">)",
       kPage,
       {"https://example.com/first/y"}},
      {"base without href is not the base",
       R"(<base target="_top"><base href="/b/"><a href="y">)",
       kPage,
       {"https://example.com/b/y"}},
      {"non-http base ignored",
       R"(<base href="ftp://files.example.org/"><a href="y">)",
       kPage,
       {"https://example.com/dir/y"}},
      {"javascript base ignored",
       R"x(<base href="javascript:void(0)"><a href="y">)x",
       kPage,
       {"https://example.com/dir/y"}},
      {"invalid base ignored",
       R"(<base href="http://"><a href="y">)",
       kPage,
       {"https://example.com/dir/y"}},
  });
}

TEST_CASE("links: fragments are dropped and fragment-only or empty hrefs are no links",
          "[parser][links]") {
  check_links({
      {"fragment dropped", R"(<a href="/a#section">)", kPage, {"https://example.com/a"}},
      {"fragment-only href", R"(<a href="#top">)", kPage, {}},
      {"bare hash", R"(<a href="#">)", kPage, {}},
      {"empty href", R"(<a href="">)", kPage, {}},
      {"blank href", "<a href=\"  \n \">", kPage, {}},
      {"padded fragment-only href", R"(<a href="  #x ">)", kPage, {}},
  });
  const auto info = extract(R"(<a href="#top"></a><a href=""></a><a href="/a#b"></a>)");
  CHECK(info.links_skipped == 0);
}

TEST_CASE("links: non-http(s) and unparsable hrefs are skipped and counted", "[parser][links]") {
  const auto info = extract(R"(<a href="mailto:me@example.com">m</a>)"
                            R"x(<a href="javascript:void(0)">j</a>)x"
                            R"x(<a href="JavaScript:alert(1)">J</a>)x"
                            R"(<a href="data:text/html,hi">d</a>)"
                            R"(<a href="tel:+15551234">t</a>)"
                            R"(<a href="ftp://files.example.com/f">f</a>)"
                            R"(<a href="http://">empty host</a>)"
                            R"(<a href="/kept">k</a>)"
                            R"(<a href="mailto:me@example.com">repeated</a>)");
  CHECK(urls_of(info) == std::vector<std::string>{"https://example.com/kept"});
  CHECK(info.links_skipped == 8);
}

TEST_CASE("links: duplicate URLs collapse to their first occurrence", "[parser][links]") {
  const auto info = extract(
      R"(<a href="/a"></a><a href="/b"></a><a href="/a#x"></a>)"
      R"(<a href="https://EXAMPLE.com:443/a"></a><a href="/b"></a><link href="../dir/../a">)");
  CHECK(urls_of(info) ==
        std::vector<std::string>{"https://example.com/a", "https://example.com/b"});
  CHECK(info.links_skipped == 0);
}

TEST_CASE("links: rel nofollow is a case-insensitive token", "[parser][links]") {
  struct Row {
    const char* name;
    std::string html;
    bool nofollow;
  };
  const std::vector<Row> rows = {
      {"mixed case among others", R"(<a rel="NoFollow noopener" href="/x">)", true},
      {"tab separated", "<a rel=\"noopener\tnofollow\" href=\"/x\">", true},
      {"no rel", R"(<a href="/x">)", false},
      {"not a whole token", R"(<a rel="nofollowing" href="/x">)", false},
      {"comma is not a separator", R"(<a rel="noopener,nofollow" href="/x">)", false},
      {"area", R"(<map><area rel="nofollow" href="/x"></map>)", true},
      {"link", R"(<link rel="nofollow" href="/x">)", true},
      {"nofollow then followable", R"(<a rel="nofollow" href="/x"></a><a href="/x#y"></a>)", false},
      {"followable then nofollow", R"(<a href="/x"></a><a rel="nofollow" href="/x"></a>)", false},
      {"nofollow twice", R"(<a rel="nofollow" href="/x"></a><a rel="nofollow" href="x/../x">)",
       true},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto info = extract(row.html, "https://example.com/");
      REQUIRE(info.links.size() == 1);
      CHECK(info.links[0].url == "https://example.com/x");
      CHECK(info.links[0].nofollow == row.nofollow);
    }
  }
}

TEST_CASE("links: link rel=canonical is resolved into canonical", "[parser][links]") {
  struct Row {
    const char* name;
    std::string html;
    std::string canonical;
  };
  const std::vector<Row> rows = {
      {"relative, fragment dropped", R"(<link rel="canonical" href="/canon#x">)",
       "https://example.com/canon"},
      {"case-insensitive rel token", R"(<link rel="Canonical alternate" href="/c">)",
       "https://example.com/c"},
      {"against the base", R"(<base href="https://b.example.org/d/"><link rel=canonical href=c>)",
       "https://b.example.org/d/c"},
      {"first one wins", R"(<link rel="canonical" href="/one"><link rel="canonical" href="/two">)",
       "https://example.com/one"},
      {"non-http canonical", R"(<link rel="canonical" href="mailto:x@y">)", ""},
      {"empty canonical", R"(<link rel="canonical" href="">)", ""},
      {"none", R"(<link rel="stylesheet" href="/s.css">)", ""},
      {"a rel=canonical does not count", R"(<a rel="canonical" href="/a">)", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) { CHECK(extract(row.html).canonical == row.canonical); }
  }
  SECTION("the canonical link is also a link") {
    const auto info = extract(R"(<link rel="canonical" href="/canon">)");
    CHECK(urls_of(info) == std::vector<std::string>{"https://example.com/canon"});
  }
}

TEST_CASE("links: meta refresh content is parsed leniently", "[parser][links]") {
  struct Row {
    const char* name;
    std::string content;
    std::vector<std::string> expected;
  };
  const std::vector<Row> rows = {
      {"delay; url=", "5; url=/next", {"https://example.com/next"}},
      {"uppercase URL, single quotes", "0;URL='/q'", {"https://example.com/q"}},
      {"double quotes (as &quot;)", "0; url=&quot;/dq&quot;", {"https://example.com/dq"}},
      {"quote left open", "0; url='/open", {"https://example.com/open"}},
      {"comma separator", "3,url=/comma", {"https://example.com/comma"}},
      {"no delay", "url=/nodelay", {"https://example.com/nodelay"}},
      {"no url= prefix", "0; /bare", {"https://example.com/bare"}},
      {"spaces everywhere", "  10 ;  URL = /spaced  ", {"https://example.com/spaced"}},
      {"fractional delay", "1.5; url=/frac", {"https://example.com/frac"}},
      {"absolute", "0; url=https://other.org/x", {"https://other.org/x"}},
      {"delay only", "5", {}},
      {"empty", "", {}},
      {"garbage after delay", "5x; url=/bad", {}},
      {"non-http target", "0; url=javascript:alert(1)", {}},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const auto info = extract(R"(<meta http-equiv="refresh" content=")" + row.content + R"(">)");
      CHECK(urls_of(info) == row.expected);
    }
  }
  SECTION("http-equiv is case-insensitive") {
    CHECK(extract(R"(<META HTTP-EQUIV="Refresh" CONTENT="0; url=/r">)").links.size() == 1);
  }
  SECTION("a meta without http-equiv=refresh is no link") {
    CHECK(extract(R"(<meta name="refresh" content="0; url=/r">)").links.empty());
    CHECK(extract(R"(<meta http-equiv="content-type" content="0; url=/r">)").links.empty());
  }
}

TEST_CASE("links: meta robots directives set noindex and nofollow", "[parser][links]") {
  struct Row {
    const char* name;
    std::string html;
    std::string agent_token;
    bool noindex;
    bool nofollow;
  };
  const std::vector<Row> rows = {
      {"both", R"(<meta name="robots" content="noindex, nofollow">)", "", true, true},
      {"noindex uppercase", R"(<meta name="robots" content="NOINDEX">)", "", true, false},
      {"nofollow", R"(<meta name="robots" content="nofollow">)", "", false, true},
      {"none", R"(<meta name="robots" content="None">)", "", true, true},
      {"all", R"(<meta name="robots" content="all">)", "", false, false},
      {"index, follow", R"(<meta name="robots" content="index, follow">)", "", false, false},
      {"name case-insensitive", R"(<meta name="ROBOTS" content="noindex">)", "", true, false},
      {"space separated", R"(<meta name="robots" content="noindex nofollow">)", "", true, true},
      {"not a whole token", R"(<meta name="robots" content="max-image-preview:none">)", "", false,
       false},
      {"two metas add up",
       R"(<meta name="robots" content="noindex"><meta name="robots" content="nofollow">)", "", true,
       true},
      {"our agent token", R"(<meta name="mybot" content="nofollow">)", "mybot", false, true},
      {"our agent token, any case", R"(<meta name="MyBot" content="none">)", "mybot", true, true},
      {"another agent", R"(<meta name="otherbot" content="noindex">)", "mybot", false, false},
      {"agent token unset", R"(<meta name="mybot" content="noindex">)", "", false, false},
      {"other meta", R"(<meta name="description" content="noindex">)", "", false, false},
      {"no content", R"(<meta name="robots">)", "", false, false},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      parser::ExtractOptions options;
      options.agent_token = row.agent_token;
      const auto info = extract(row.html, kPage, options);
      CHECK(info.meta_noindex == row.noindex);
      CHECK(info.meta_nofollow == row.nofollow);
    }
  }
}

TEST_CASE("links: the title is the first <title>, whitespace collapsed", "[parser][links]") {
  struct Row {
    const char* name;
    std::string html;
    std::string title;
  };
  const std::vector<Row> rows = {
      {"collapsed and trimmed", "<title>  Hello \n\t  World  </title>", "Hello World"},
      {"entities decoded", "<title>Fish &amp; Chips</title>", "Fish & Chips"},
      {"tags inside are text", "<title>a <b>bold</b> move</title>", "a <b>bold</b> move"},
      {"missing", "<p>no title here</p>", ""},
      {"empty", "<title>   </title>", ""},
      {"first wins", "<title>One</title><title>Two</title>", "One"},
      {"svg title ignored", "<body><svg><title>Tip</title></svg><title>Page</title>", "Page"},
      {"unclosed", "<title>Cut off", "Cut off"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) { CHECK(extract(row.html).title == row.title); }
  }
  SECTION("capped at 1024 bytes on a UTF-8 boundary") {
    // 1023 ASCII bytes, then a two-byte character that would straddle the cap.
    const auto info = extract("<title>" + std::string(1023, 'a') + "\xC3\xA9 tail</title>");
    CHECK(info.title == std::string(1023, 'a'));
    const auto huge = extract("<title>" + std::string(1 << 20, 'x') + "</title>");
    CHECK(huge.title.size() == 1024);
    const auto wide = extract("<title>" + std::string(3000, 'a') + "</title>");
    CHECK(wide.title.size() == 1024);
    std::string euros;
    for (int i = 0; i < 1000; ++i) euros += "\xE2\x82\xAC";  // U+20AC, three bytes
    const auto three = extract("<title>" + euros + "</title>");
    CHECK(three.title.size() == 1023);
    CHECK(is_valid_utf8(three.title));
  }
}

TEST_CASE("links: malformed HTML still yields its links", "[parser][links]") {
  check_links({
      {"unclosed tags",
       R"(<html><body><div><a href="/a">a<div><p><a href="/b">b<table><tr><td><a href="/c">)",
       kPage,
       {"https://example.com/a", "https://example.com/b", "https://example.com/c"}},
      {"unquoted attribute", R"(<a href=/x>x</a>)", kPage, {"https://example.com/x"}},
      {"single quotes", R"(<a href='/sq'>x</a>)", kPage, {"https://example.com/sq"}},
      {"uppercase tag and attribute",
       R"(<A HREF="/upper">x</A>)",
       kPage,
       {"https://example.com/upper"}},
      {"whitespace around the URL",
       "<a href=\" \t\n /spaced \n\">x</a>",
       kPage,
       {"https://example.com/spaced"}},
      {"newline and tab inside",
       "<a href=\"/new\nli\tne\">x</a>",
       kPage,
       {"https://example.com/newline"}},
      {"entity in href",
       R"(<a href="/p?a=1&amp;b=2">x</a>)",
       kPage,
       {"https://example.com/p?a=1&b=2"}},
      {"nested anchors",
       R"(<a href="/x"><a href="/y">)",
       kPage,
       {"https://example.com/x", "https://example.com/y"}},
      // The HTML tokenizer drops a tag cut off by EOF.
      {"quoted value truncated at EOF",
       R"(<a href="/ok"></a><a href="/y)",
       kPage,
       {"https://example.com/ok"}},
      {"tag truncated at EOF",
       R"(<a href="/ok"></a><a href="/y" )",
       kPage,
       {"https://example.com/ok"}},
      {"stray end tags and comments",
       R"(</p></div><!-- <a href="/no"> --><a href="/yes">)",
       kPage,
       {"https://example.com/yes"}},
      {"duplicate attribute: first wins",
       R"(<a href="/first" href="/second">)",
       kPage,
       {"https://example.com/first"}},
  });
}

TEST_CASE("links: max_links caps the links kept and counts the rest", "[parser][links]") {
  const std::string html =
      R"(<a href="/1"></a><a href="/2"></a><a href="mailto:x@y"></a><a href="/3"></a>)"
      R"(<a href="/4"></a><a rel="nofollow" href="/1"></a><a href="/5"></a><a href="/4"></a>)";
  parser::ExtractOptions options;
  options.max_links = 2;
  auto info = extract(html, kPage, options);
  CHECK(urls_of(info) ==
        std::vector<std::string>{"https://example.com/1", "https://example.com/2"});
  CHECK_FALSE(info.links[0].nofollow);
  // mailto, /3, /4, /5 and /4 again; the repeated /1 is a duplicate, not a skip.
  CHECK(info.links_skipped == 5);

  options.max_links = 0;
  info = extract(html, kPage, options);
  CHECK(info.links.empty());
  CHECK(info.links_skipped == 8);
}

TEST_CASE("links: visible text skips hidden elements and collapses whitespace", "[parser][links]") {
  struct Row {
    const char* name;
    std::string html;
    std::string text;
  };
  const std::vector<Row> rows = {
      {"blocks separate words", "<p>a</p><p>b</p>", "a b"},
      {"inline elements do not", "<p><b>w</b>ord <i>x</i></p>", "word x"},
      {"line breaks separate", "one<br>two", "one two"},
      {"whitespace collapsed", "<p>  a \n\n\t b  </p>\n\n<div> c</div>", "a b c"},
      {"title excluded", "<title>T</title><p>body</p>", "body"},
      {"script and style excluded",
       "<p>a</p><script>var x = '<p>no</p>';</script><style>p{}</style><p>b</p>", "a b"},
      {"noscript and template excluded",
       "<p>a<noscript>no js</noscript></p><template><p>t</p></template><p>b</p>", "a b"},
      {"entities decoded", "<p>1 &lt; 2 &amp;&nbsp;3</p>",
       "1 < 2 &\xC2\xA0"
       "3"},
      {"table cells", "<table><tr><td>x</td><td>y</td></tr></table>", "x y"},
      {"empty body", "", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      parser::ExtractOptions options;
      options.max_text_bytes = 1000;
      CHECK(extract(row.html, kPage, options).text == row.text);
    }
  }
  SECTION("off unless max_text_bytes > 0") { CHECK(extract("<p>a</p>").text.empty()); }
  SECTION("capped on a UTF-8 boundary") {
    parser::ExtractOptions options;
    options.max_text_bytes = 6;
    CHECK(extract("<p>abc</p><p>def</p>", kPage, options).text == "abc de");
    options.max_text_bytes = 4;
    CHECK(extract("<p>abc</p><p>def</p>", kPage, options).text == "abc");
    options.max_text_bytes = 5;
    CHECK(extract("<p>abcd\xC3\xA9</p>", kPage, options).text == "abcd");
  }
}

TEST_CASE("links: deeply nested documents do not overflow the stack", "[parser][links]") {
  // Gumbo's own parse is quadratic in <div> depth (a scope check per start tag), so the
  // 100000-div case is in the [.slow] test below; <span> does not trigger that check.
  std::string html;
  for (int i = 0; i < 100000; ++i) html += "<span>";
  html += R"(<a href="/deep">deep text</a>)";
  parser::ExtractOptions options;
  options.max_text_bytes = 100;
  const auto info = extract(html, kPage, options);
  CHECK(urls_of(info) == std::vector<std::string>{"https://example.com/deep"});
  CHECK(info.text == "deep text");

  std::string divs;
  for (int i = 0; i < 10000; ++i) divs += "<div>";
  divs += R"(<a href="/d">x</a>)";
  CHECK(extract(divs, kPage, options).links.size() == 1);
}

TEST_CASE("links: 100000 nested divs do not crash", "[parser][links][.slow]") {
  std::string html;
  for (int i = 0; i < 100000; ++i) html += "<div>";
  html += R"(<a href="/deep">x</a>)";
  parser::ExtractOptions options;
  options.max_text_bytes = 100;
  const auto info = extract(html, kPage, options);
  CHECK(urls_of(info) == std::vector<std::string>{"https://example.com/deep"});
  CHECK(info.text == "x");
}

TEST_CASE("links: hostile bytes give a best-effort result, never a crash", "[parser][links]") {
  SECTION("2 MB of random bytes") {
    std::mt19937 rng(42);
    std::string garbage(2 << 20, '\0');
    for (char& c : garbage) c = static_cast<char>(rng() & 0xFF);
    parser::ExtractOptions options;
    options.max_text_bytes = 4096;
    const auto info = extract(garbage, kPage, options);
    CHECK(info.text.size() <= 4096);
    CHECK(is_valid_utf8(info.text));
  }
  SECTION("2 MB of random markup characters") {
    std::mt19937 rng(7);
    const std::string alphabet = "<>/=\"' \n\0abhrefsrcdivtitlemeta#:&;!-";
    std::string markup(2 << 20, ' ');
    for (char& c : markup) c = alphabet[rng() % alphabet.size()];
    parser::ExtractOptions options;
    options.max_text_bytes = 4096;
    const auto info = extract(markup, kPage, options);
    CHECK(info.text.size() <= 4096);
    CHECK(info.title.size() <= 1024);
  }
  SECTION("NUL bytes") {
    using namespace std::string_literals;
    const std::string html = "<a href=\"/a\0b\">x\0y</a><title>t\0t</title>"s;
    const auto info = extract(html);
    CHECK(info.links.size() + info.links_skipped == 1);
  }
  SECTION("a 1 MB attribute value") {
    const auto info = extract(R"(<a href="/)" + std::string(1 << 20, 'a') + R"(">x</a>)");
    CHECK(info.links.size() + info.links_skipped == 1);
  }
  SECTION("a 1 MB meta refresh and rel") {
    const std::string big(1 << 20, 'u');
    const auto info = extract(R"(<meta http-equiv="refresh" content="0; url=)" + big +
                              R"("><a rel=")" + big + R"(" href="/a">)");
    CHECK(info.links.size() + info.links_skipped == 2);
  }
}

TEST_CASE("links: ill-formed UTF-8 from Gumbo becomes U+FFFD in title and text",
          "[parser][links]") {
  // Found by fuzz_links: Gumbo 0.10.1 parses a numeric character reference past INT_MAX into
  // an overflowed int and emits its low byte alone ("&#xF00CCCCC" gives the lone byte 0xCC).
  struct Row {
    const char* name;
    std::string html;
    std::size_t max_text_bytes;
    std::string title;
    std::string text;
  };
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<Row> rows = {
      {"fuzz_links crash input", "&#xF00CCCCC", 256, "", fffd},
      {"in the title", "<title>a &#xF00CCCCC b</title>", 256, "a " + fffd + " b", ""},
      {"an encoded surrogate, one U+FFFD per byte", "<p>&#xF00000ED;&#xF00000A0;&#xF0000080;</p>",
       256, "", fffd + fffd + fffd},
      {"bytes that form a character are kept", "<p>&#xF00000C3;&#xF00000A9;</p>", 256, "",
       "\xC3\xA9"},
      {"the cap does not split the replacement", "<p>ab&#xF00CCCCC</p>", 4, "", "ab"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      parser::ExtractOptions options;
      options.max_text_bytes = row.max_text_bytes;
      const auto info = extract(row.html, kPage, options);
      CHECK(info.title == row.title);
      CHECK(info.text == row.text);
    }
  }
}

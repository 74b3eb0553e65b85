#include "parser/text_runs.h"

#include <catch2/catch.hpp>
#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gumbo_dump.h"
#include "parser/html_document.h"

namespace {

using parser::collapse_text_runs;

// Gumbo's tree of `html`, text nodes as their kinds only (see TextDump::kKinds).
std::string skeleton(const std::string& html) {
  const parser::HtmlDocument document(html);
  std::string out;
  // root() is <html>; its parent is the document, whose other children are comments/doctype.
  parser::testing::dump(document.root()->parent, out, parser::testing::TextDump::kKinds);
  return out;
}

struct Case {
  const char* name;
  std::string html;
  std::string collapsed;
};

}  // namespace

TEST_CASE("collapse_text_runs: what it keeps and what it cuts", "[text_runs]") {
  using namespace std::string_literals;
  const std::vector<Case> cases = {
      {"a text run keeps its first character", "<p>Hello world</p>", "<p>H</p>"},
      {"leading whitespace kept, the rest cut", "<p>\n  Hello world \n</p>", "<p>\n  H</p>"},
      {"whitespace-only runs kept whole", "<table>\n  <tr>", "<table>\n  <tr>"},
      {"a run of one character is kept", "<b>x</b>", "<b>x</b>"},
      {"text before the first tag", "Intro text<p>", "I<p>"},
      {"text at the end", "<p>tail text", "<p>t"},
      {"a multi-byte first character kept whole", "<p>\xc3\xa9t\xc3\xa9 here", "<p>\xc3\xa9"},
      {"a run with a character reference kept whole", "<p>a &amp; b</p>", "<p>a &amp; b</p>"},
      {"a reference that may be whitespace kept", "<table>&#32;<tr>", "<table>&#32;<tr>"},
      {"a run with NUL kept whole", "<p>a\0b c</p>"s, "<p>a\0b c</p>"s},
      {"a '<' that opens nothing is text", "<p>1 < 2 and 3</p>", "<p>1< 2</p>"},
      {"a '<' before a digit is text", "<p>x<3 yz</p>", "<p>x<3</p>"},
      {"attributes copied, a quoted '>' does not end the tag",
       "<a href=\"x>y\" title='p>q'>link text</a>", "<a href=\"x>y\" title='p>q'>l</a>"},
      {"an unquoted value ends at whitespace", "<a href=x>y z>text here</a>", "<a href=x>y</a>"},
      {"a quote not after '=' is part of a name", "<a \"b>text here</a>", "<a \"b>t</a>"},
      {"comments copied", "<!-- a > b -- c -->text here", "<!-- a > b -- c -->t"},
      {"an empty comment ends at '>'", "<!-->text here", "<!-->t"},
      {"a comment ending with --!>", "<!-- x --!>text here", "<!-- x --!>t"},
      {"an unterminated comment runs to the end", "<!-- x <p>text here", "<!-- x <p>text here"},
      {"doctype, processing instruction, bogus comments", "<!DOCTYPE html><?x y?></3 a>text here",
       "<!DOCTYPE html><?x y?></3 a>t"},
      {"an empty end tag is ignored", "</>text here", "</>t"},
      {"an end tag with a quoted '>'", "</p a=\">\">text here", "</p a=\">\">t"},
      {"title contents copied", "<title>My  Title here</title>body text",
       "<title>My  Title here</title>b"},
      {"title is RCDATA: tags in it are text", "<title>a <p>b</p> c</title>d e",
       "<title>a <p>b</p> c</title>d"},
      {"RCDATA ends at its end tag in any case", "<TEXTAREA>x y</textArea >after it",
       "<TEXTAREA>x y</textArea >a"},
      {"a longer end tag name does not end it", "<style>a</stylex>b c</style>d e",
       "<style>a</stylex>b c</style>d"},
      {"script contents copied", "<script>if (a<b) x = '</p>';</script>after it",
       "<script>if (a<b) x = '</p>';</script>a"},
      {"an unterminated script runs to the end", "<script>x y", "<script>x y"},
      {"a self-closing raw element is still raw", "<title/>a b</title>c d", "<title/>a b</title>c"},
      {"noscript holds markup (Gumbo parses with scripting disabled)",
       "<noscript>Enable <a href=/x>it</a> please</noscript>",
       "<noscript>E<a href=/x>i</a> p</noscript>"},
      {"svg copied whole, text after it cut",
       "<p>a b<svg viewBox='0 0 1 1'><path d='M0 0'/><g><circle r=1></circle></G></svg>c d",
       "<p>a<svg viewBox='0 0 1 1'><path d='M0 0'/><g><circle r=1></circle></G></svg>c"},
      {"text inside svg kept", "<svg><text>a b</text></SVG>c d", "<svg><text>a b</text></SVG>c"},
      {"a self-closing svg has no content", "<svg/>x y<b>z w", "<svg/>x<b>z"},
      {"\"</>\" before a self-closing svg is harmless", "</><svg/>x y", "</><svg/>x"},
      {"\"</>\" apart from the svg is harmless", "</> <svg></svg>x y", "</> <svg></svg>x"},
      {"a start tag cut by the end of input", "<p>one two<a href=\"x", "<p>o<a href=\"x"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      std::string out;
      REQUIRE(collapse_text_runs(c.html, out));
      CHECK(out == c.collapsed);
      CHECK(skeleton(out) == skeleton(c.html));
    }
  }
}

TEST_CASE("collapse_text_runs: gives up where tree-building context decides", "[text_runs]") {
  const std::vector<std::string> pages = {
      "<svg><style><!-- </style> --></svg>",
      "<p>x<MATH><mi>a</mi></math>",
      "<div><svg><g></div><style>a</svg>bcd</style>",
      "<svg><p>x</p></svg>",
      "<svg><foreignObject><style>x</style></foreignObject></svg>",
      "<svg><title>t</title></svg>",
      "<svg><svg></svg></svg>",
      "<svg><font color=red>x</font></svg>",
      "<svg><![CDATA[ </svg> ]]></svg>a b",
      "<svg></svg >a b",                 // Gumbo 0.10.1: closes nothing
      "<svg></></svg>a b<![CDATA[x]]>",  // "</>" glues onto the next tag's text in Gumbo
      "</><svg></svg>a b<![CDATA[x]]>",
      "</></><svg></svg>a b",

      "<select><style>x</style><a href=y>z</a></select>",
      "<frameset><style>x</style></frameset>",
      "<template><col><style>x</style></template>",
      "<plaintext>a</plaintext><a href=x>",
      "<script>a <!-- <script> </script> b</script>",
      "<p>x y<select>",
  };
  for (const std::string& html : pages) {
    std::string out;
    CAPTURE(html);
    CHECK_FALSE(collapse_text_runs(html, out));
  }
  // Inside raw text, those names are text, not tags.
  std::string out;
  CHECK(collapse_text_runs("<title><svg> here</title>", out));
  CHECK(collapse_text_runs("<script>'<!-' + '-'</script><p>x y", out));
  CHECK(out == "<script>'<!-' + '-'</script><p>x");
}

namespace {

// Random pages from the pieces that steer the HTML5 tokenizer and tree builder: tags of
// every insertion mode, attributes with quotes and '>', comments of every shape, raw text
// elements with their end tags in odd forms, references, NUL, CR, '<' as text.
class PageGenerator {
 public:
  explicit PageGenerator(std::uint32_t seed) : random_(seed) {}

  std::string page() {
    std::string html;
    const int pieces = pick(1, 40);
    for (int i = 0; i < pieces; ++i) append_piece(html);
    return html;
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  template <typename T>
  const T& one_of(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(pick(0, static_cast<int>(items.size()) - 1))];
  }

  std::string text() {
    static const std::vector<std::string> texts = {
        "hello world",
        "  lead and more",
        "x",
        " \n\t ",
        "a b c",
        "&amp; x",
        "&#32;",
        "&#x20;y",
        "&notin z",
        "caf\xc3\xa9 au lait",
        "\xe2\x80\x83 em space",
        "\r\n text",
        std::string("n\0ul l", 6),
        "1 < 2",
        "a<",
        "<3 b",
        "<< c",
        "< b",
        "trail ",
        "\n",
        "  ",
        "\xef\xbb\xbf"
        "bom text",
        "\x80\xff bytes",
        "= quoted \" 'text'",
        "- -- -->",
    };
    return one_of(texts);
  }

  std::string name() {
    static const std::vector<std::string> names = {
        "a",        "b",        "i",      "p",       "div",      "table",   "tr",        "td",
        "th",       "tbody",    "thead",  "caption", "colgroup", "col",     "form",      "li",
        "ul",       "dd",       "dt",     "h1",      "pre",      "listing", "button",    "nobr",
        "head",     "body",     "html",   "frame",   "br",       "img",     "base",      "meta",
        "link",     "area",     "iframe", "em",      "span",     "hr",      "input",     "option",
        "optgroup", "object",   "applet", "marquee", "isindex",  "image",   "custom-el", "A",
        "TaBle",    "P",        "Td",     "title",   "textarea", "style",   "script",    "xmp",
        "noembed",  "noframes",
    };
    return one_of(names);
  }

  std::string attributes() {
    static const std::vector<std::string> attributes = {
        " href=\"/x\"",
        " href='/y?a>b'",
        " href=/z",
        " rel=nofollow",
        " href=\"a\"b",
        " a=",
        " =\"x\"",
        " \"q",
        "/",
        " / ",
        " title=\"</title>\"",
        " x='>' y",
        " c = \"d\"",
        " href=\"/u v\"",
        " name=robots content=noindex",
        " http-equiv=refresh content=\"0;url=/r\"",
        " src=/f",
        " type=hidden",
        " x=\"a&amp;b\"",
        "\rhref=/cr",
        "\fz",
        " k=v>",
    };
    std::string out;
    const int count = pick(0, 3);
    for (int i = 0; i < count; ++i) out += one_of(attributes);
    return out;
  }

  std::string raw_element() {
    static const std::vector<std::string> names = {"title", "textarea", "style",   "script",
                                                   "xmp",   "iframe",   "noembed", "noframes"};
    static const std::vector<std::string> bodies = {
        "plain words", "a <p>b</p> c", "if (a<b) c;", "x </notit> y", "&amp; z", "",
        "<!- a -!>",   "'</' + 'x'",   "a\r\nb",
    };
    static const std::vector<std::string> ends = {"</%>",  "</%  >", "</%/>", "</% a=\">\">",
                                                  "</%x>", "",       "</%"};
    const std::string& n = one_of(names);
    return "<" + n + attributes() + ">" + one_of(bodies) + end_tag(ends, n, /*vary_case=*/true);
  }

  // One of `patterns` with '%' replaced by `name` (its first letter capitalized at random if
  // `vary_case`).
  std::string end_tag(const std::vector<std::string>& patterns, const std::string& name,
                      bool vary_case) {
    std::string end = one_of(patterns);
    for (std::size_t at = end.find('%'); at != std::string::npos; at = end.find('%')) {
      std::string cased = name;
      if (vary_case && pick(0, 1) == 1) cased[0] = static_cast<char>(cased[0] - ('a' - 'A'));
      end.replace(at, 1, cased);
    }
    return end;
  }

  // An element in which collapse_text_runs gives up, holding pieces it would cut otherwise.
  std::string give_up_element() {
    static const std::vector<std::string> names = {"select", "frameset", "template", "plaintext"};
    const std::string& n = one_of(names);
    std::string inner = pick(0, 1) == 0 ? "<col>" : "";
    for (int i = pick(1, 4); i > 0; --i) inner += pick(0, 1) == 0 ? raw_element() : text();
    return "<" + n + ">" + inner + "<!-- c </style> -->" + text() + "</" + n + ">";
  }

  // An svg or math element holding what svg icons hold, and what leaves foreign content.
  std::string foreign_element() {
    // clang-format off
    static const std::vector<std::string> inner = {
        "<path d=\"M0 0\"/>", "<g>", "</g>", "<circle r=1>", "</circle>", "<use href=\"#a\"/>",
        "<a href=/s>", "</a>", "<text>", "</text>", "<![CDATA[ x < y </svg> ]]>", "<![CDATA[ z",
        "<!-- c </svg> -->", "<style>.a{} <b></style>", "<script>x<y</script>", "<title>t</title>",
        "<desc>d</desc>", "<foreignObject><p>x y</p></foreignObject>", "<p>", "<b>",
        "<font color=red>", "<font>", "</div>", "</p>", "</br>", "<math>", "<mi>", "</mi>",
        "<svg>", "<linearGradient id=g>", "</lineargradient>", "<g/>", "<G>", "</G>", "<mrow>",
        "</mrow>", "<annotation-xml encoding=\"text/html\">", "<image href=/i>", "</x>", "<",
        "</", "<?pi?>", "<!x>", "<table>", "<select>", "</>", "</g >", "</g x=1>", "<g\vx>",
        "</g\v>",
    };
    // clang-format on
    const std::string root = pick(0, 4) == 0 ? "math" : "svg";
    std::string html = pick(0, 9) == 0 ? "</>" : "";
    html += "<" + root + attributes() + (pick(0, 9) == 0 ? "/>" : ">");
    for (int i = pick(0, 6); i > 0; --i) {
      html += pick(0, 3) == 0 ? text() : pick(0, 9) == 0 ? raw_element() : one_of(inner);
    }
    static const std::vector<std::string> ends = {"</%>", "</%>", "</% >", "", "</%x>"};
    return html + end_tag(ends, root, /*vary_case=*/false);
  }

  void append_piece(std::string& html) {
    if (pick(0, 399) == 0) {
      html += give_up_element();
      return;
    }
    if (pick(0, 19) == 0) {
      html += foreign_element();
      return;
    }
    static const std::vector<std::string> other = {
        "<!---->",
        "<!-->",
        "<!--->",
        "<!-- a -- b -->",
        "<!-- x --!> y",
        "<!--<a href=z>-->",
        "<!-- unterminated",
        "<!DOCTYPE html>",
        "<!doctype html public \"a>b\">",
        "<?xml x?>",
        "<!x>",
        "<![CDATA[ <a href=q> ]]>",
        "</>",
        "</3>",
        "</ p>",
        "<",
        "</",
        "<!",
    };
    switch (pick(0, 9)) {
      case 0:
      case 1:
      case 2:
        html += text();
        break;
      case 3:
      case 4:
        html += "<" + name() + attributes() + (pick(0, 4) == 0 ? "/>" : ">");
        break;
      case 5:
      case 6:
        html += "</" + name() + (pick(0, 5) == 0 ? attributes() : "") + ">";
        break;
      case 7:
        html += raw_element();
        break;
      default:
        html += one_of(other);
    }
  }

  std::mt19937 random_;
};

}  // namespace

TEST_CASE("collapse_text_runs: Gumbo builds the same elements from random pages", "[text_runs]") {
  PageGenerator generator(20261204);
  constexpr int kPages = 20000;
  int collapsed = 0;
  int shorter = 0;
  int foreign_shorter = 0;  // pages with svg or math, cut
  std::string out;
  for (int i = 0; i < kPages; ++i) {
    const std::string html = generator.page();
    if (!collapse_text_runs(html, out)) continue;
    ++collapsed;
    if (out.size() < html.size()) {
      ++shorter;
      if (html.find("<svg") != std::string::npos || html.find("<math") != std::string::npos) {
        ++foreign_shorter;
      }
    }
    const std::string expected = skeleton(html);
    const std::string actual = skeleton(out);
    if (actual != expected) {
      CAPTURE(html, out, expected, actual);
      FAIL("Gumbo's tree differs");
    }
  }
  // The comparison must have covered pages: most are collapsed, most of those cut.
  CHECK(collapsed > kPages / 2);
  CHECK(shorter > collapsed / 2);
  CHECK(foreign_shorter > kPages / 20);
}

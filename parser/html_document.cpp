#include "parser/html_document.h"


namespace parser {
namespace {

// Gumbo's defaults, except that no parse errors are recorded. We never read them, and Gumbo
// 0.10.1 copies the whole stack of open elements into each error: 20000 nested <div>s cost
// 3 GB with the defaults (quadratic), about 7 MB without errors.
const GumboOptions& parse_options() noexcept {
  static const GumboOptions options = [] {
    GumboOptions o = kGumboDefaultOptions;
    o.max_errors = 0;
    return o;
  }();
  return options;
}

}  // namespace

HtmlDocument::HtmlDocument(std::string_view html) {
  const GumboOptions options = arena_.options(parse_options());
  output_ = gumbo_parse_with_options(&options, html.data(), html.size());
}

// No gumbo_destroy_output: every block of the tree is the arena's, released with it.
HtmlDocument::~HtmlDocument() = default;

}  // namespace parser

#include "parser/html_document.h"

#include <utility>

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

HtmlDocument::HtmlDocument(std::string html)
    : html_(std::move(html)),
      output_(gumbo_parse_with_options(&parse_options(), html_.data(), html_.size())) {}

HtmlDocument::~HtmlDocument() { gumbo_destroy_output(&parse_options(), output_); }

}  // namespace parser

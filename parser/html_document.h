#pragma once
// HtmlDocument: owns a Gumbo parse tree and the bytes its nodes point into.

#include <string>

#include <gumbo.h>

#include "parser/gumbo_arena.h"

namespace parser {

class HtmlDocument {
 public:
  // Parses `html` with Gumbo's default options, except that parse errors are not recorded,
  // into a GumboArena. Never fails: Gumbo is total.
  explicit HtmlDocument(std::string html);
  ~HtmlDocument();
  HtmlDocument(const HtmlDocument&) = delete;
  HtmlDocument& operator=(const HtmlDocument&) = delete;

  // The document's root node (<html>); valid as long as this object lives.
  const GumboNode* root() const noexcept { return output_->root; }

 private:
  std::string html_;  // declared first: must outlive output_, whose nodes point into it
  GumboArena arena_;  // owns every block of the parse, output_ included
  GumboOutput* output_ = nullptr;  // the arena's
};

}  // namespace parser

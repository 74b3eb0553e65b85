#pragma once
// HtmlDocument: owns a Gumbo parse tree, whose nodes point into the caller's bytes.

#include <string_view>

#include <gumbo.h>

#include "parser/gumbo_arena.h"

namespace parser {

class HtmlDocument {
 public:
  // Parses `html` with Gumbo's default options, except that parse errors are not recorded,
  // into a GumboArena. Never fails: Gumbo is total. The tree points into `html`, which must
  // outlive this object (not copied: a page is parsed where it lies).
  explicit HtmlDocument(std::string_view html);
  ~HtmlDocument();
  HtmlDocument(const HtmlDocument&) = delete;
  HtmlDocument& operator=(const HtmlDocument&) = delete;

  // The document's root node (<html>); valid as long as this object lives.
  const GumboNode* root() const noexcept { return output_->root; }

 private:
  GumboArena arena_;  // owns every block of the parse, output_ included
  GumboOutput* output_ = nullptr;  // the arena's
};

}  // namespace parser

#pragma once
// HtmlDocument: owns a Gumbo parse tree and the bytes its nodes point into.

#include <string>

#include <gumbo.h>

namespace parser {

class HtmlDocument {
 public:
  // Parses `html` with Gumbo's default options. Never fails: Gumbo is total.
  explicit HtmlDocument(std::string html);
  ~HtmlDocument();
  HtmlDocument(const HtmlDocument&) = delete;
  HtmlDocument& operator=(const HtmlDocument&) = delete;

  // The document's root node (<html>); valid as long as this object lives.
  const GumboNode* root() const noexcept { return output_->root; }

 private:
  std::string html_;  // declared first: must outlive output_, whose nodes point into it
  GumboOutput* output_;
};

}  // namespace parser

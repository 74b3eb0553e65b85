// bench_libxml2_floor: bench_parse_floor with libxml2's HTML parser in place of Gumbo, for the
// choice (c) turns on (docs/PERFORMANCE.md): the same files, the same loop, one thread. libxml2
// is what Scrapy's lxml parses with; its HTML parser follows HTML 4 error recovery, not the
// HTML5 tree-building rules Gumbo implements, so on broken markup the two can find different
// links (bench/fixtures/two.html). Not a part of the crawler, and not run by bench/run unless
// it was built (libxml2-dev; bench/run installs it for scenario 1).
//
//   bench_libxml2_floor DIR [--sax] [--print-links]
//
// Default: build each document's tree (htmlReadMemory) and walk it for a[href]. --sax: no tree;
// a start-element callback picks a[href] as the parser meets it (a tokenizer's cost).
// Prints one JSON line (bench/floor_harness.h).

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/floor_harness.h"

namespace {

// As lxml.html parses: recover from errors, no network, no error output.
constexpr int kOptions = HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                         HTML_PARSE_NOWARNING | HTML_PARSE_COMPACT;

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
struct CtxtFree {
  void operator()(htmlParserCtxt* ctxt) const { htmlFreeParserCtxt(ctxt); }
};
struct XmlFree {  // xmlFree is a function pointer libxml2 sets, not a function
  void operator()(xmlChar* p) const { xmlFree(p); }
};

bool is_a(const xmlChar* name) { return (name[0] == 'a' || name[0] == 'A') && name[1] == 0; }

// Every a[href] of the tree in document order; iterative, as bench_parse_floor's walk.
void collect_hrefs(xmlNode* root, std::vector<std::string>& out) {
  std::vector<xmlNode*> stack;
  if (root != nullptr) stack.push_back(root);
  while (!stack.empty()) {
    xmlNode* node = stack.back();
    stack.pop_back();
    if (node->type != XML_ELEMENT_NODE) continue;
    if (is_a(node->name)) {
      for (xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next) {
        if (std::strcmp(reinterpret_cast<const char*>(attr->name), "href") != 0) continue;
        const std::unique_ptr<xmlChar, XmlFree> value(
            xmlNodeListGetString(node->doc, attr->children, 1));
        out.emplace_back(value ? reinterpret_cast<const char*>(value.get()) : "");
        break;
      }
    }
    for (xmlNode* child = node->last; child != nullptr; child = child->prev) stack.push_back(child);
  }
}

void parse_tree(std::string_view html, std::vector<std::string>& hrefs) {
  const std::unique_ptr<xmlDoc, DocFree> doc(
      htmlReadMemory(html.data(), static_cast<int>(html.size()), nullptr, nullptr, kOptions));
  if (doc) collect_hrefs(xmlDocGetRootElement(doc.get()), hrefs);
}

void on_start(void* user, const xmlChar* name, const xmlChar** attributes) {
  if (!is_a(name) || attributes == nullptr) return;
  for (int i = 0; attributes[i] != nullptr; i += 2) {
    if (std::strcmp(reinterpret_cast<const char*>(attributes[i]), "href") != 0) continue;
    const xmlChar* value = attributes[i + 1];
    static_cast<std::vector<std::string>*>(user)->emplace_back(
        value != nullptr ? reinterpret_cast<const char*>(value) : "");
    return;
  }
}

void parse_sax(std::string_view html, std::vector<std::string>& hrefs) {
  htmlSAXHandler handler{};  // every other callback unset: no tree is built
  handler.startElement = on_start;
  const std::unique_ptr<htmlParserCtxt, CtxtFree> ctxt(
      htmlCreateMemoryParserCtxt(html.data(), static_cast<int>(html.size())));
  if (!ctxt) return;
  *ctxt->sax = handler;
  ctxt->userData = &hrefs;
  htmlCtxtUseOptions(ctxt.get(), kOptions);
  htmlParseDocument(ctxt.get());
}

}  // namespace

int main(int argc, char** argv) {
  xmlInitParser();
  bool sax = false;
  return bench::run_floor(
      argc, argv, "bench_libxml2_floor DIR [--sax] [--print-links]",
      [&sax](const std::string& flag) { return flag == "--sax" && (sax = true); },
      [&sax](std::string_view html, std::vector<std::string>& hrefs) {
        if (sax)
          parse_sax(html, hrefs);
        else
          parse_tree(html, hrefs);
      });
}

// bench_parse_floor: the "parse floor" of a crawl. Reads every .html file under DIR from disk
// and parses each once with Gumbo, through the crawler's own parser::HtmlDocument (same
// options, same allocator), collecting a[href] values, in one thread. Nothing else: no URL
// resolution, no storage, no IPC. Its CPU per page is the cost our choice of HTML parser sets;
// the crawler cannot go below it without parsing in parallel.
//
// --collapse-text: Gumbo parses each page with its text runs cut (parser/text_runs.h), as the
// crawler does when it stores no text (--no-text). Not the floor: what that cut saves.
//
//   bench_parse_floor DIR [--collapse-text] [--print-links]
//
// Prints one JSON line (bench/floor_harness.h).

#include <gumbo.h>

#include <string>
#include <vector>

#include "bench/floor_harness.h"
#include "parser/html_document.h"
#include "parser/text_runs.h"

namespace {

// Every a[href] value in document order; iterative, so deep documents cannot overflow the stack.
void collect_hrefs(const GumboNode* root, std::vector<std::string>& out) {
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* node = stack.back();
    stack.pop_back();
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) continue;
    const GumboElement& element = node->v.element;
    if (element.tag == GUMBO_TAG_A) {
      if (const GumboAttribute* href = gumbo_get_attribute(&element.attributes, "href")) {
        out.emplace_back(href->value);
      }
    }
    for (unsigned i = element.children.length; i > 0; --i) {
      stack.push_back(static_cast<const GumboNode*>(element.children.data[i - 1]));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool collapse = false;
  std::string collapsed;
  return bench::run_floor(
      argc, argv, "bench_parse_floor DIR [--collapse-text] [--print-links]",
      [&collapse](const std::string& flag) {
        return flag == "--collapse-text" && (collapse = true);
      },
      [&](std::string_view html, std::vector<std::string>& hrefs) {
        if (collapse && parser::collapse_text_runs(html, collapsed)) html = collapsed;
        const parser::HtmlDocument document(html);  // html outlives it
        collect_hrefs(document.root(), hrefs);
      });
}

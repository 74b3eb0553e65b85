// bench_parse_floor: the "parse floor" of a crawl. Reads every .html file under DIR from disk
// and parses each once with Gumbo, through the crawler's own parser::HtmlDocument (same
// options, same allocator), collecting a[href] values, in one thread. Nothing else: no URL
// resolution, no storage, no IPC. Its CPU per page is the cost our choice of HTML parser sets;
// the crawler cannot go below it without parsing in parallel.
//
//   bench_parse_floor DIR [--print-links]
//
// Prints one JSON line: {"files":..,"bytes":..,"links":..,"wall_s":..,"cpu_s":..,
// "cpu_user_s":..,"cpu_sys_s":..}. wall_s and cpu_s cover the read and parse loop only (the
// directory listing is done before); cpu_s = user + sys of this process (getrusage).
// --print-links writes every href value, one per line, to stderr.

#include <gumbo.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "parser/html_document.h"

namespace {

namespace fs = std::filesystem;

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

double cpu_s(const rusage& usage, bool user) {
  const timeval& tv = user ? usage.ru_utime : usage.ru_stime;
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  bool print_links = false, bad_usage = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--print-links")
      print_links = true;
    else if (dir.empty() && arg.rfind("--", 0) != 0)
      dir = arg;
    else
      bad_usage = true;
  }
  if (dir.empty() || bad_usage) {
    std::cerr << "usage: bench_parse_floor DIR [--print-links]\n";
    return 2;
  }
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".html") files.push_back(it->path());
  }
  if (ec) {
    std::cerr << "bench_parse_floor: " << dir << ": " << ec.message() << '\n';
    return 1;
  }
  std::sort(files.begin(), files.end());

  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  const auto start = std::chrono::steady_clock::now();
  std::size_t bytes = 0, links = 0;
  std::vector<std::string> hrefs;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes += html.size();
    hrefs.clear();
    {
      const parser::HtmlDocument document(html);  // html outlives it
      collect_hrefs(document.root(), hrefs);
    }
    links += hrefs.size();
    if (print_links) {
      for (const auto& href : hrefs) std::cerr << href << '\n';
    }
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::getrusage(RUSAGE_SELF, &after);
  const double user_s = cpu_s(after, true) - cpu_s(before, true);
  const double sys_s = cpu_s(after, false) - cpu_s(before, false);
  std::printf(
      "{\"files\":%zu,\"bytes\":%zu,\"links\":%zu,\"wall_s\":%.4f,\"cpu_s\":%.4f,"
      "\"cpu_user_s\":%.4f,\"cpu_sys_s\":%.4f}\n",
      files.size(), bytes, links, wall_s, user_s + sys_s, user_s, sys_s);
  return 0;
}

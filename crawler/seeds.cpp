#include "crawler/seeds.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_set>

#include "parser/url.h"

namespace crawler {

using common::ErrorCode;
using common::make_error;

namespace {

bool is_blank(int c) { return c == ' ' || c == '\t' || c == '\r'; }

// std::getline with a cap: a line of a gigabyte costs no more memory than `cap` bytes.
// Leading blanks are dropped as they are read, so they do not count against the cap; `cut`
// says whether anything but blanks was dropped past it (the line is longer than the cap).
bool read_line(std::istream& in, std::string& line, std::size_t cap, bool& cut) {
  line.clear();
  cut = false;
  bool any = false;
  for (int c; (c = in.get()) != std::char_traits<char>::eof();) {
    any = true;
    if (c == '\n') return true;
    if (line.empty() && is_blank(c)) continue;
    if (line.size() < cap) {
      line.push_back(static_cast<char>(c));
    } else if (!is_blank(c)) {
      cut = true;
    }
  }
  return any;
}

// Windows editors start UTF-8 files with a byte order mark; it is not part of line 1.
void drop_bom(std::string& first_line) {
  if (first_line.compare(0, 3, "\xEF\xBB\xBF") == 0) first_line.erase(0, 3);
}

}  // namespace

common::Result<SeedsFile> read_seeds(const std::string& path, std::size_t max_url_length) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorCode::BadInput,
                      "cannot read seeds file '" + path + "': " + std::strerror(errno));
  }
  SeedsFile out;
  std::unordered_set<std::string> seen;
  std::string line;
  bool cut = false;
  for (std::size_t number = 1; read_line(in, line, max_url_length + 64, cut); ++number) {
    if (number == 1) drop_bom(line);
    std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    std::size_t e = line.find_last_not_of(" \t\r");
    std::string_view text(line.data() + b, e - b + 1);
    const std::string where = path + ":" + std::to_string(number) + ": ";
    // A cut line must not pass for the shorter URL that was kept of it.
    if (cut || text.size() > max_url_length) {
      out.problems.push_back(where + "URL longer than " + std::to_string(max_url_length) +
                             " bytes; skipped");
      continue;
    }
    auto url = parser::parse_url(text);
    if (!url) {
      out.problems.push_back(where + url.error().context + "; skipped");
      continue;
    }
    std::string spec = url->spec();
    if (seen.insert(spec).second) out.seeds.push_back({std::move(spec), url->host});
  }
  if (in.bad()) {
    return make_error(ErrorCode::BadInput, "error reading seeds file '" + path + "'");
  }
  return out;
}

}  // namespace crawler

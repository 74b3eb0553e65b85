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

// std::getline with a cap: a line of a gigabyte costs no more memory than `cap` bytes.
bool read_line(std::istream& in, std::string& line, std::size_t cap) {
  line.clear();
  bool any = false;
  for (int c; (c = in.get()) != std::char_traits<char>::eof();) {
    any = true;
    if (c == '\n') return true;
    if (line.size() < cap) line.push_back(static_cast<char>(c));
  }
  return any;
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
  for (std::size_t number = 1; read_line(in, line, max_url_length + 64); ++number) {
    std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    std::size_t e = line.find_last_not_of(" \t\r");
    std::string_view text(line.data() + b, e - b + 1);
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (text.size() > max_url_length) {  // also the lines read_line cut short
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

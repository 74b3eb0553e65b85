#pragma once
// Reading the seeds file: one URL per line; blank lines and lines starting with '#' are
// skipped; a line that is not an absolute http(s) URL is reported as "FILE:LINE: why" and
// skipped. A UTF-8 byte order mark at the start of the file is ignored. Hostile input is
// fine: lines are capped, binary junk is just an invalid line.

#include <string>
#include <vector>

#include "common/result.h"
#include "storage/frontier_store.h"

namespace crawler {

struct SeedsFile {
  std::vector<storage::Seed> seeds;     // normalized, distinct, in file order
  std::vector<std::string> problems;    // "seeds.txt:3: unsupported scheme 'ftp'"
};

// Errors: the file cannot be opened or read (the message names it and the OS reason).
[[nodiscard]] common::Result<SeedsFile> read_seeds(const std::string& path,
                                                   std::size_t max_url_length);

}  // namespace crawler

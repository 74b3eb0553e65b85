#pragma once
// The coordinator: `crawler crawl`. Owns the crawl: takes the database lock, queues the
// seeds, starts the parser and fetcher processes, feeds the shared task queue from the
// frontier through the per-host scheduler, watches the workers, and shuts them down when
// the frontier is empty and nothing is in flight (or on SIGINT/SIGTERM).

#include <cstdint>
#include <string>

#include "common/result.h"
#include "crawler/crawl_options.h"

namespace crawler {

struct CrawlSummary {
  std::int64_t pages_fetched = 0;  // this run
  std::int64_t errors = 0;         // this run: fetches without an HTTP response
  std::int64_t pages_total = 0;    // in the database
  std::int64_t queued_left = 0;    // frontier rows left (non-zero after --max-pages or a stop)
  double elapsed_s = 0;
  bool interrupted = false;
};

// Runs a whole crawl. Errors: bad seeds file, database unusable or locked by another crawl,
// a worker that cannot start, or the parser failing to store results.
[[nodiscard]] common::Result<CrawlSummary> run_crawl(const CrawlOptions& options);

}  // namespace crawler

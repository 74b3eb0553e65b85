#pragma once
// CrawlOptions: every setting of a crawl. Filled by cli/options.cpp from flags; passed to
// worker processes as JSON on their command line.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "crawler/link_filter.h"

namespace crawler {

inline constexpr const char* kVersion = CRAWLER_VERSION;

struct CrawlOptions {
  std::string seeds_file;            // may be empty when resuming
  std::string db_path = "crawl.db";
  bool fresh = false;                // discard earlier results in db_path first

  int workers = 0;                   // fetcher processes; 0 = number of CPUs
  int parse_threads = 0;             // parse threads in the parser process; 0 = number of CPUs
  int concurrency = 16;              // transfers in flight per fetcher process
  int per_host = 2;                  // transfers in flight per host, all fetchers together
  double delay_s = 0.0;              // minimum time between request starts to one host

  int max_depth = -1;                // -1 = unlimited
  std::int64_t max_pages = 0;        // 0 = unlimited
  std::vector<std::string> allow_domains;  // hosts (and their subdomains) in scope besides seeds'
  std::vector<std::string> deny_domains;   // never followed, even if allowed
  std::vector<std::string> include;        // RE2 patterns; if any, a followed URL matches one
  std::vector<std::string> exclude;        // RE2 patterns; a matching URL is not followed
  std::int64_t max_pages_per_host = 0;     // URLs queued per host; 0 = unlimited
  std::int64_t max_query_variants = 1000;  // URLs with a query per path (trap guard); 0 = off
  int max_segment_repeats = 3;             // trap guard: one path segment at most this often
  int max_path_segments = 64;              // trap guard: path depth

  bool ignore_robots = false;        // --ignore-robots
  std::string robots_agent;          // "" = the product token of the User-Agent
  double max_crawl_delay_s = 30.0;   // Crawl-delay is honored up to this
  bool follow_nofollow = false;      // follow rel=nofollow links and nofollow pages' links

  std::string user_agent;            // "" = kDefaultUserAgent
  double connect_timeout_s = 10.0;
  double timeout_s = 30.0;           // whole transfer
  std::int64_t max_body_bytes = 10 * 1024 * 1024;
  int max_redirects = 10;
  std::int64_t low_speed_bytes_per_s = 100;  // abort a transfer slower than this ...
  int low_speed_time_s = 20;                 // ... for this long
  int max_links_per_page = 10000;
  int max_url_length = 2048;
  int max_attempts = 3;              // fetches of one URL at most (retries and worker crashes)
  double watchdog_s = 60;            // a worker silent this long while it holds work is killed
  bool store_text = true;                      // visible text into page_text, for search
  std::int64_t max_text_bytes = 64 * 1024;     // per page

  bool quiet = false;
  bool verbose = false;
  double progress_interval_s = 2.0;

  std::string effective_user_agent() const;
  std::string effective_robots_agent() const;  // the token robots.txt groups are matched with
};

std::string default_user_agent();

// The link rules of `options` (--deny-domain, --include, --exclude, length, trap guards).
LinkFilterOptions link_filter_options(const CrawlOptions& options);

std::string to_json(const CrawlOptions& options);
[[nodiscard]] common::Result<CrawlOptions> options_from_json(const std::string& json);

}  // namespace crawler

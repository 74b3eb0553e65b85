#include "crawler/crawl_options.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "parser/robots.h"

namespace crawler {

std::string default_user_agent() {
  return std::string("crawler/") + kVersion + " (+https://github.com/crawler/crawler)";
}

std::string CrawlOptions::effective_user_agent() const {
  return user_agent.empty() ? default_user_agent() : user_agent;
}

std::string CrawlOptions::effective_robots_agent() const {
  return parser::robots_agent_token(robots_agent.empty() ? effective_user_agent() : robots_agent);
}

LinkFilterOptions link_filter_options(const CrawlOptions& options) {
  LinkFilterOptions out;
  out.deny_domains = options.deny_domains;
  out.include = options.include;
  out.exclude = options.exclude;
  out.max_url_length = static_cast<std::size_t>(std::max(0, options.max_url_length));
  out.max_segment_repeats = options.max_segment_repeats;
  out.max_path_segments = options.max_path_segments;
  return out;
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    CrawlOptions, seeds_file, db_path, fresh, workers, parse_threads, concurrency, per_host, delay_s, max_depth,
    max_pages, allow_domains, deny_domains, include, exclude, max_pages_per_host,
    max_query_variants, max_segment_repeats, max_path_segments, ignore_robots, robots_agent,
    max_crawl_delay_s, follow_nofollow, user_agent, connect_timeout_s, timeout_s, max_body_bytes,
    max_redirects, low_speed_bytes_per_s, low_speed_time_s, max_links_per_page, max_url_length,
    max_attempts, watchdog_s, store_text, max_text_bytes, quiet, verbose, progress_interval_s)

std::string to_json(const CrawlOptions& options) { return nlohmann::json(options).dump(); }

common::Result<CrawlOptions> options_from_json(const std::string& json) {
  try {
    return nlohmann::json::parse(json).get<CrawlOptions>();
  } catch (const std::exception& e) {
    return common::make_error(common::ErrorCode::BadInput, std::string("options: ") + e.what());
  }
}

}  // namespace crawler

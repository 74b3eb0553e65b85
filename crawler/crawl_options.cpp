#include "crawler/crawl_options.h"

#include <nlohmann/json.hpp>

namespace crawler {

std::string default_user_agent() {
  return std::string("crawler/") + kVersion + " (+https://github.com/crawler/crawler)";
}

std::string CrawlOptions::effective_user_agent() const {
  return user_agent.empty() ? default_user_agent() : user_agent;
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    CrawlOptions, seeds_file, db_path, fresh, workers, concurrency, per_host, delay_s, max_depth,
    max_pages, allow_domains, user_agent, connect_timeout_s, timeout_s, max_body_bytes,
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

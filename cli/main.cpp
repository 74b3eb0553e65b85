// `crawler`: the command line. Exceptions stop here (STYLE.md §3): CLI11 reports usage errors
// with exit code 2, every other failure prints one line and exits 1.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "crawler/coordinator.h"
#include "crawler/crawl_options.h"
#include "crawler/curl_handles.h"
#include "crawler/workers.h"
#include "storage/query.h"
#include "storage/schema.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

const char* const kCrawlExamples = R"(
Examples:
  crawler crawl seeds.txt --db crawl.db
  crawler crawl seeds.txt --workers 8 --max-depth 3 --db site.db
  crawler crawl seeds.txt --allow-domain example.org --max-pages 10000 --delay 0.5
  crawler crawl --db site.db            # resume the crawl stored in site.db

The seeds file holds one http(s) URL per line; blank lines and lines starting with '#' are
ignored. Only the seeds' hosts are crawled unless --allow-domain widens the scope; links
leaving the scope are recorded in `links` but not fetched.)";

const char* const kQueryExamples = R"(
Examples:
  crawler query --db crawl.db "SELECT status, count(*) FROM pages GROUP BY status"
  crawler query --db crawl.db "SELECT url, status, error FROM pages WHERE status >= 400 OR error IS NOT NULL"
  crawler query --db crawl.db --format csv "SELECT * FROM links" > links.csv

The database is opened read-only: a statement that would write is refused and changes nothing.
Tables and views: pages, links, urls, frontier, crawls (see README, "Database schema").)";

const char* const kStatsExamples = R"(
Examples:
  crawler stats --db crawl.db
  crawler stats --db crawl.db --format json)";

void print_stats_text(const storage::Stats& s, std::ostream& out) {
  auto section = [&](const char* title, const auto& pairs) {
    if (pairs.empty()) return;
    out << title << ":\n";
    for (const auto& [name, count] : pairs) {
      out << "  " << name << std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') << count
          << "\n";
    }
  };
  out << "pages          " << s.pages << " (" << s.pages_ok << " with status 2xx, "
      << s.pages_failed << " without an HTTP response)\n"
      << "links          " << s.links << "\n"
      << "hosts          " << s.hosts << "\n"
      << "urls known     " << s.urls_known << " (" << s.queued << " still queued, " << s.skipped
      << " skipped)\n"
      << "bytes          " << s.bytes << "\n";
  if (s.duration_s > 0) {
    char line[128];
    std::snprintf(line, sizeof line, "crawl time     %.1f s (%.1f pages/s)\n", s.duration_s,
                  static_cast<double>(s.pages) / s.duration_s);
    out << line;
  }
  section("pages by status class", s.by_status_class);
  section("pages by status", s.by_status);
  section("errors by kind", s.errors_by_kind);
  section("skipped by reason", s.skipped_by_reason);
  section("top hosts", s.top_hosts);
}

nlohmann::json stats_json(const storage::Stats& s) {
  auto object = [](const auto& pairs) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, count] : pairs) j[name] = count;
    return j;
  };
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& [host, count] : s.top_hosts) hosts.push_back({{"host", host}, {"pages", count}});
  return {{"pages", s.pages},
          {"pages_ok", s.pages_ok},
          {"pages_failed", s.pages_failed},
          {"links", s.links},
          {"hosts", s.hosts},
          {"urls_known", s.urls_known},
          {"queued", s.queued},
          {"skipped", s.skipped},
          {"bytes", s.bytes},
          {"duration_s", s.duration_s},
          {"first_started_at", s.first_started_at},
          {"last_finished_at", s.last_finished_at},
          {"by_status_class", object(s.by_status_class)},
          {"by_status", object(s.by_status)},
          {"errors_by_kind", object(s.errors_by_kind)},
          {"skipped_by_reason", object(s.skipped_by_reason)},
          {"top_hosts", hosts}};
}

int run_query_command(const std::string& db_path, const std::string& sql,
                      const std::string& format_name, bool wide) {
  cli::Format format;
  if (!cli::parse_format(format_name, format)) {
    std::cerr << "query: unknown --format '" << format_name << "' (table, csv, json, jsonl)\n";
    return kExitUsage;
  }
  auto db = storage::open_for_reading(db_path);
  if (!db) {
    std::cerr << "query: " << db.error().context << "\n";
    return kExitFailure;
  }
  auto formatter = cli::make_formatter(format, std::cout, {wide ? 0u : 60u});
  bool started = false;
  auto result = storage::run_query(
      db->get(), sql,
      [&](const std::vector<std::string>& names) {
        formatter->columns(names);
        started = true;
      },
      [&](const storage::Row& row) {
        formatter->row(row);
        return static_cast<bool>(std::cout);
      });
  if (started) formatter->finish();
  if (!result) {
    std::cerr << "query: " << result.error().context << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

int run_stats_command(const std::string& db_path, const std::string& format) {
  if (format != "text" && format != "json") {
    std::cerr << "stats: unknown --format '" << format << "' (text, json)\n";
    return kExitUsage;
  }
  auto db = storage::open_for_reading(db_path);
  if (!db) {
    std::cerr << "stats: " << db.error().context << "\n";
    return kExitFailure;
  }
  auto stats = storage::collect_stats(db->get());
  if (!stats) {
    std::cerr << "stats: " << stats.error().context << "\n";
    return kExitFailure;
  }
  if (format == "json") {
    std::cout << stats_json(*stats).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    print_stats_text(*stats, std::cout);
  }
  return kExitOk;
}

// Worker processes get the options as JSON, which holds only UTF-8 text.
bool is_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

int run_crawl_command(const crawler::CrawlOptions& options) {
  const std::pair<const char*, const std::string*> texts[] = {
      {"seeds file name", &options.seeds_file},
      {"--db", &options.db_path},
      {"--user-agent", &options.user_agent}};
  for (const auto& [what, text] : texts) {
    if (!is_utf8(*text)) {
      std::cerr << "crawl: " << what << " must be valid UTF-8\n";
      return kExitUsage;
    }
  }
  for (const auto& domain : options.allow_domains) {
    if (!is_utf8(domain)) {
      std::cerr << "crawl: --allow-domain must be valid UTF-8\n";
      return kExitUsage;
    }
  }
  crawler::CurlGlobal curl;  // before any fetcher exists; workers are separate processes
  auto summary = crawler::run_crawl(options);
  if (!summary) {
    std::cerr << "crawl: " << summary.error().context << "\n";
    return kExitFailure;
  }
  if (!options.quiet && summary->queued_left > 0) {
    std::cerr << "crawl: " << summary->queued_left
              << " URLs still queued; run the same command again to continue\n";
  }
  return kExitOk;
}

// Internal worker modes, started by the coordinator as `crawler __fetcher JSON SOCKET` and
// `crawler __parser JSON` (crawler/workers.h). Not part of the user interface.
int run_worker(int argc, char** argv) {
  const std::string mode = argv[1];
  const bool fetcher = mode == "__fetcher";
  if ((fetcher && argc != 4) || (!fetcher && argc != 3)) {
    std::cerr << "crawler: " << mode << " is internal; run `crawler crawl` instead\n";
    return kExitUsage;
  }
  auto options = crawler::options_from_json(argv[2]);
  if (!options) {
    std::cerr << "crawler " << mode << ": " << options.error().context << "\n";
    return kExitUsage;
  }
  if (fetcher) {
    crawler::CurlGlobal curl;
    return crawler::run_fetcher_process(*options, argv[3]);
  }
  return crawler::run_parser_process(*options);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error return, not a death
  if (argc >= 2 && (std::string(argv[1]) == "__fetcher" || std::string(argv[1]) == "__parser")) {
    return run_worker(argc, argv);
  }

  CLI::App app{"crawler: a concurrent, polite web crawler that stores everything in SQLite",
               "crawler"};
  app.set_version_flag("--version", std::string("crawler ") + crawler::kVersion);
  app.require_subcommand(1);
  app.footer(
      "\nRun `crawler COMMAND --help` for a command's options.\n"
      "Exit codes: 0 success, 1 failure (bad seeds file, unusable database, SQL error, ...),\n"
      "2 usage error.");

  crawler::CrawlOptions crawl;
  double max_body_mib = static_cast<double>(crawl.max_body_bytes) / (1024.0 * 1024.0);
  auto* crawl_cmd = app.add_subcommand("crawl", "Crawl from a seeds file into a SQLite database");
  crawl_cmd->footer(kCrawlExamples);
  crawl_cmd->add_option("seeds", crawl.seeds_file,
                        "File of seed URLs (optional when resuming a crawl stored in --db)")
      ->check(CLI::ExistingFile);
  crawl_cmd->add_option("--db", crawl.db_path, "SQLite database for results (created if absent)")
      ->capture_default_str();
  crawl_cmd->add_flag("--fresh", crawl.fresh,
                      "Discard the results and queue already in --db and start over");
  crawl_cmd->add_option("-w,--workers", crawl.workers, "Fetcher processes (0 = number of CPUs)")
      ->capture_default_str()->check(CLI::Range(0, 256));
  crawl_cmd->add_option("--concurrency", crawl.concurrency, "Transfers in flight per fetcher process")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  crawl_cmd->add_option("--per-host", crawl.per_host,
                        "Transfers in flight to one host, all fetchers together")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  crawl_cmd->add_option("--delay", crawl.delay_s,
                        "Minimum seconds between two request starts to one host")
      ->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  crawl_cmd->add_option("--max-depth", crawl.max_depth,
                        "Follow links at most this many hops from a seed (-1 = no limit)")
      ->capture_default_str()->check(CLI::Range(-1, 1000000));
  crawl_cmd->add_option("--max-pages", crawl.max_pages,
                        "Stop after this many pages stored in total (0 = no limit)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  crawl_cmd->add_option("--allow-domain", crawl.allow_domains,
                        "Also crawl this domain and its subdomains (repeatable)");
  crawl_cmd->add_option("--user-agent", crawl.user_agent, "User-Agent header")
      ->default_str(crawler::default_user_agent());
  crawl_cmd->add_option("--connect-timeout", crawl.connect_timeout_s, "Connect timeout, seconds")
      ->capture_default_str()->check(CLI::Range(0.1, 600.0));
  crawl_cmd->add_option("--timeout", crawl.timeout_s, "Whole-transfer timeout, seconds")
      ->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  crawl_cmd->add_option("--max-body", max_body_mib,
                        "Largest body kept, MiB (decompressed); larger pages are stored as "
                        "error 'too_large'")
      ->capture_default_str()->check(CLI::Range(0.001, 200.0));
  crawl_cmd->add_option("--max-redirects", crawl.max_redirects, "Redirects followed per URL")
      ->capture_default_str()->check(CLI::Range(0, 50));
  crawl_cmd->add_option("--low-speed-limit", crawl.low_speed_bytes_per_s,
                        "Abort a transfer slower than this many bytes/s ...")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  crawl_cmd->add_option("--low-speed-time", crawl.low_speed_time_s, "... for this many seconds")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  crawl_cmd->add_option("--max-links-per-page", crawl.max_links_per_page,
                        "Links kept per page; the rest are counted and dropped")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  crawl_cmd->add_option("--max-url-length", crawl.max_url_length,
                        "Longer URLs are skipped (reason 'url_too_long')")
      ->capture_default_str()->check(CLI::Range(16, 1000000));
  crawl_cmd->add_option("--progress-interval", crawl.progress_interval_s,
                        "Seconds between progress lines on stderr (0 = none)")
      ->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  crawl_cmd->add_flag("-q,--quiet", crawl.quiet, "No progress or summary on stderr");
  crawl_cmd->add_flag("-v,--verbose", crawl.verbose, "Log every fetch on stderr");

  std::string query_db = "crawl.db", query_sql, query_format = "table";
  bool query_wide = false;
  auto* query_cmd = app.add_subcommand("query", "Run one read-only SQL statement on a crawl database");
  query_cmd->footer(kQueryExamples);
  query_cmd->add_option("sql", query_sql, "The SQL statement")->required();
  query_cmd->add_option("--db", query_db, "Crawl database")->capture_default_str();
  query_cmd->add_option("-f,--format", query_format, "Output: table, csv, json or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json", "jsonl"}));
  query_cmd->add_flag("--wide", query_wide, "Do not truncate long table cells");

  std::string stats_db = "crawl.db", stats_format = "text";
  auto* stats_cmd = app.add_subcommand("stats", "Summarize a crawl database");
  stats_cmd->footer(kStatsExamples);
  stats_cmd->add_option("--db", stats_db, "Crawl database")->capture_default_str();
  stats_cmd->add_option("-f,--format", stats_format, "Output: text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }

  try {
    if (*crawl_cmd) {
      if (crawl.verbose && crawl.quiet) {
        std::cerr << "crawl: --quiet and --verbose exclude each other\n";
        return kExitUsage;
      }
      crawl.max_body_bytes = static_cast<std::int64_t>(max_body_mib * 1024 * 1024);
      return run_crawl_command(crawl);
    }
    if (*query_cmd) return run_query_command(query_db, query_sql, query_format, query_wide);
    if (*stats_cmd) return run_stats_command(stats_db, stats_format);
  } catch (const std::exception& e) {
    std::cerr << "crawler: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitUsage;
}

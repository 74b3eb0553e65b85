// `crawler`: the command line. Exceptions stop here (STYLE.md §3): CLI11 reports usage errors
// with exit code 2, every other failure prints one line and exits 1.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/robots_check.h"
#include "crawler/coordinator.h"
#include "crawler/crawl_options.h"
#include "crawler/workers.h"
#include "storage/query.h"
#include "storage/schema.h"
#include "storage/sqlite_handles.h"

namespace {

using cli::kExitFailure;
using cli::kExitOk;
using cli::kExitUsage;

const char* const kCrawlExamples = R"(
Examples:
  crawler crawl seeds.txt --db crawl.db
  crawler crawl seeds.txt --workers 8 --max-depth 3 --db site.db
  crawler crawl seeds.txt --allow-domain example.org --max-pages 10000 --delay 0.5
  crawler crawl --db site.db            # resume the crawl stored in site.db
  crawler crawl seeds.txt --config crawl.toml

A --config file holds the same options, without the leading dashes, in a [crawl] section:
  [crawl]
  workers = 4
  max-depth = 3
  allow-domain = ["example.org", "example.net"]

The seeds file holds one http(s) URL per line; blank lines and lines starting with '#' are
ignored. Only the seeds' hosts are crawled unless --allow-domain widens the scope; links
leaving the scope are recorded in `links` but not fetched.

Politeness: each origin's robots.txt is fetched first and obeyed (RFC 9309), its Crawl-delay
included (up to --max-crawl-delay); URLs it disallows are stored with error 'robots' and never
fetched. At most --per-host requests run against one host at a time, whatever --workers is.
  crawler crawl seeds.txt --exclude '/(login|logout)\b' --deny-domain ads.example.org
  crawler crawl seeds.txt --include '^https://example\.org/docs/' --max-pages-per-host 500
  crawler crawl my-own-site.txt --ignore-robots --per-host 8)";

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

const char* const kBrokenExamples = R"(
Every link whose target answered with status >= 400 or could not be fetched at all, with the
page that links to it: from_url, to_url, status, error. URLs that robots.txt disallows are not
broken and are left out (see `stats`).

Examples:
  crawler broken --db crawl.db
  crawler broken --db crawl.db --format csv > broken.csv)";

const char* const kLinksExamples = R"(
Examples:
  crawler links --db crawl.db --from https://example.org/      # what this page links to
  crawler links --db crawl.db --to https://example.org/about   # who links to this URL)";

const char* const kExportExamples = R"(
Streams every page with its outlink count (constant memory, any database size).

Examples:
  crawler export --db crawl.db --format jsonl --out pages.jsonl
  crawler export --db crawl.db --format csv > pages.csv)";

const char* const kRobotsCheckExamples = R"(
Prints, per URL, whether the robots.txt in FILE lets AGENT fetch it, and the deciding line.
Exit codes: 0 all allowed, 3 some disallowed, 2 a URL is invalid, 1 FILE unreadable.

Examples:
  crawler robots-check --robots robots.txt --agent mybot https://example.org/private/x
  curl -s https://example.org/robots.txt | crawler robots-check --robots - --agent mybot URL...)";

const char* const kSearchExamples = R"(
Searches page titles and visible text (scripts and styles left out) stored by the crawl;
every term must occur; best matches (bm25) first, with a snippet.

Examples:
  crawler search --db crawl.db "connection pool"
  crawler search --db crawl.db --limit 5 --format json timeout)";

// --format for commands that print rows.
void add_format_options(CLI::App* cmd, std::string& format, bool& wide) {
  cmd->add_option("-f,--format", format, "Output: table, csv, json or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json", "jsonl"}));
  cmd->add_flag("--wide", wide, "Do not truncate long table cells");
}

cli::OutputOptions output_options(const std::string& format, bool wide) {
  cli::OutputOptions o;
  (void)cli::parse_format(format, o.format);  // validated by CLI11
  o.wide = wide;
  o.terminal_columns = cli::stdout_terminal_columns();
  return o;
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
  if (options.seeds_file.empty() && ::access(options.db_path.c_str(), F_OK) != 0) {
    std::cerr << "crawl: give a seeds file: there is no crawl to resume in '" << options.db_path
              << "'\n";
    return kExitUsage;
  }
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
  const std::pair<const char*, const std::vector<std::string>*> lists[] = {
      {"--allow-domain", &options.allow_domains},
      {"--deny-domain", &options.deny_domains},
      {"--include", &options.include},
      {"--exclude", &options.exclude}};
  for (const auto& [flag, list] : lists) {
    for (const auto& item : *list) {
      if (!is_utf8(item)) {
        std::cerr << "crawl: " << flag << " must be valid UTF-8\n";
        return kExitUsage;
      }
    }
  }
  if (!is_utf8(options.robots_agent)) {
    std::cerr << "crawl: --robots-agent must be valid UTF-8\n";
    return kExitUsage;
  }
  if (auto filter = crawler::LinkFilter::create(crawler::link_filter_options(options)); !filter) {
    std::cerr << "crawl: " << filter.error().context << "\n";
    return kExitUsage;
  }
  if (options.effective_robots_agent().empty()) {
    std::cerr << "crawl: --robots-agent (or the User-Agent) must start with a product token "
                 "(letters, '-', '_'), e.g. 'mybot'\n";
    return kExitUsage;
  }
  if (options.ignore_robots) {
    std::cerr << "crawl: warning: --ignore-robots: robots.txt is not fetched or obeyed; crawl "
                 "only sites whose owners agree\n";
  }
  auto summary = crawler::run_crawl(options);
  if (!summary) {
    std::cerr << "crawl: " << summary.error().context << "\n";
    return kExitFailure;
  }
  if (!options.quiet) {
    std::cerr << "\n";
    (void)cli::stats_command(options.db_path, "text", std::cerr, std::cerr);
    if (summary->queued_left > 0) {
      std::cerr << "\ncrawl: " << summary->queued_left
                << " URLs still queued; run the same command again to continue\n";
    }
  }
  return kExitOk;
}

// The parser's hidden mode, started by the coordinator as `crawler __parser JSON`
// (crawler/workers.h). Not part of the user interface. Fetchers are `crawler-fetcher`.
int run_parser_worker(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "crawler: " << argv[1] << " is internal; run `crawler crawl` instead\n";
    return kExitUsage;
  }
  auto options = crawler::options_from_json(argv[2]);
  if (!options) {
    std::cerr << "crawler " << argv[1] << ": " << options.error().context << "\n";
    return kExitUsage;
  }
  return crawler::run_parser_process(*options);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error return, not a death
  (void)storage::configure_sqlite_library();  // before any SQLite call
  if (argc >= 2 && std::string(argv[1]) == crawler::kParserMode) {
    return run_parser_worker(argc, argv);
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
  // CLI11 reads a config file only on the top-level app; fallthrough lets `--config` follow
  // `crawl` on the command line. The file's [crawl] section holds the crawl options.
  app.set_config("--config", "", "Read options from a TOML file (command-line flags win)");
  crawl_cmd->fallthrough();
  app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key is an error
  crawl_cmd->allow_config_extras(CLI::config_extras_mode::error);
  crawl_cmd->add_option("seeds", crawl.seeds_file,
                        "File of seed URLs (optional when resuming a crawl stored in --db)")
      ->check(CLI::ExistingFile);
  crawl_cmd->add_option("--db", crawl.db_path, "SQLite database for results (created if absent)")
      ->capture_default_str();
  crawl_cmd->add_flag("--fresh", crawl.fresh,
                      "Discard the results and queue already in --db and start over");
  crawl_cmd->add_option("-w,--workers", crawl.workers, "Fetcher processes (0 = number of CPUs)")
      ->capture_default_str()->check(CLI::Range(0, 256));
  crawl_cmd->add_option("--parse-threads", crawl.parse_threads,
                        "Threads parsing HTML in the parser process (0 = number of CPUs); "
                        "parsing is most of a crawl's CPU")
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
  crawl_cmd->add_option("--deny-domain", crawl.deny_domains,
                        "Never follow links to this domain or its subdomains (repeatable; wins "
                        "over --allow-domain)");
  crawl_cmd->add_option("--include", crawl.include,
                        "Follow only URLs matching this RE2 regex, searched in the full URL "
                        "(repeatable: any may match)");
  crawl_cmd->add_option("--exclude", crawl.exclude,
                        "Do not follow URLs matching this RE2 regex (repeatable; wins over "
                        "--include)");
  crawl_cmd->add_option("--max-pages-per-host", crawl.max_pages_per_host,
                        "URLs queued per host at most, seeds included (0 = no limit)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  crawl_cmd->add_option("--max-query-variants", crawl.max_query_variants,
                        "Trap guard: URLs with a query string per path at most (0 = no limit)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  crawl_cmd->add_option("--max-segment-repeats", crawl.max_segment_repeats,
                        "Trap guard: skip paths repeating one segment more often, as in "
                        "/a/b/a/b/a/b/a/b (0 = off)")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  crawl_cmd->add_option("--max-path-segments", crawl.max_path_segments,
                        "Trap guard: skip paths with more segments (0 = off)")
      ->capture_default_str()->check(CLI::Range(0, 100000));
  crawl_cmd->add_flag("--follow-nofollow", crawl.follow_nofollow,
                      "Follow rel=nofollow links and links of nofollow pages (they are always "
                      "recorded)");
  crawl_cmd->add_flag("--ignore-robots", crawl.ignore_robots,
                      "Do not fetch or obey robots.txt (for your own sites only)");
  crawl_cmd->add_option("--robots-agent", crawl.robots_agent,
                        "Product token matched against robots.txt User-agent lines and "
                        "<meta name=TOKEN> (default: from --user-agent, e.g. 'crawler')");
  crawl_cmd->add_option("--max-crawl-delay", crawl.max_crawl_delay_s,
                        "Honor a robots.txt Crawl-delay up to this many seconds")
      ->capture_default_str()->check(CLI::Range(0.0, 86400.0));
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
  crawl_cmd->add_option("--max-attempts", crawl.max_attempts,
                        "Fetches of one URL at most: timeouts, connection errors, 429 and 5xx "
                        "are retried with backoff; a URL that crashes fetchers this often fails")
      ->capture_default_str()->check(CLI::Range(1, 100));
  crawl_cmd
      ->add_option("--watchdog", crawl.watchdog_s,
                   "Seconds a worker may hold work without a sign of life (beyond --timeout "
                   "for fetchers) before it is killed and replaced; the parser keeps each database "
                   "commit within a quarter of it (at most 15 s), and is killed if one runs "
                   "past 10 times it")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 86400.0));
  crawl_cmd->add_option("--max-links-per-page", crawl.max_links_per_page,
                        "Links kept per page; the rest are counted and dropped")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  crawl_cmd->add_option("--max-url-length", crawl.max_url_length,
                        "Longer URLs are skipped (reason 'url_too_long')")
      ->capture_default_str()->check(CLI::Range(16, 1000000));
  crawl_cmd->add_flag("!--no-text", crawl.store_text,
                      "Do not store pages' visible text (no full-text search); parsing then "
                      "skips the text and costs about half as much CPU");
  double max_text_kib = static_cast<double>(crawl.max_text_bytes) / 1024.0;
  crawl_cmd->add_option("--max-text", max_text_kib, "Visible text stored per page, KiB")
      ->capture_default_str()->check(CLI::Range(1.0, 102400.0));
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
  add_format_options(query_cmd, query_format, query_wide);

  std::string stats_db = "crawl.db", stats_format = "text";
  auto* stats_cmd = app.add_subcommand("stats", "Summarize a crawl database");
  stats_cmd->footer(kStatsExamples);
  stats_cmd->add_option("--db", stats_db, "Crawl database")->capture_default_str();
  stats_cmd->add_option("-f,--format", stats_format, "Output: text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));

  std::string broken_db = "crawl.db", broken_format = "table";
  bool broken_wide = false;
  auto* broken_cmd = app.add_subcommand("broken", "List broken links and the pages linking to them");
  broken_cmd->footer(kBrokenExamples);
  broken_cmd->add_option("--db", broken_db, "Crawl database")->capture_default_str();
  add_format_options(broken_cmd, broken_format, broken_wide);

  std::string links_db = "crawl.db", links_from, links_to, links_format = "table";
  bool links_wide = false;
  auto* links_cmd = app.add_subcommand("links", "Show a page's outlinks, or the pages linking to a URL");
  links_cmd->footer(kLinksExamples);
  links_cmd->add_option("--db", links_db, "Crawl database")->capture_default_str();
  auto* from_opt = links_cmd->add_option("--from", links_from, "Outlinks of this page");
  auto* to_opt = links_cmd->add_option("--to", links_to, "Pages linking to this URL");
  from_opt->excludes(to_opt);
  add_format_options(links_cmd, links_format, links_wide);

  std::string search_db = "crawl.db", search_terms, search_format = "table";
  bool search_wide = false;
  int search_limit = 20;
  auto* search_cmd = app.add_subcommand("search", "Full-text search over page titles and text");
  search_cmd->footer(kSearchExamples);
  search_cmd->add_option("terms", search_terms, "Words that must all occur")->required();
  search_cmd->add_option("--db", search_db, "Crawl database")->capture_default_str();
  search_cmd->add_option("-n,--limit", search_limit, "Results shown at most")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  add_format_options(search_cmd, search_format, search_wide);

  std::string robots_file, robots_agent;
  std::vector<std::string> robots_urls;
  auto* robots_cmd = app.add_subcommand(
      "robots-check", "Check URLs against a robots.txt file, as the crawler would");
  robots_cmd->footer(kRobotsCheckExamples);
  robots_cmd->add_option("--robots", robots_file, "robots.txt file ('-' = standard input)")
      ->required();
  robots_cmd->add_option("--agent", robots_agent, "Crawler product token, e.g. mybot")
      ->required();
  robots_cmd->add_option("urls", robots_urls, "URLs to check")->required();

  std::string export_db = "crawl.db", export_format = "jsonl", export_out;
  auto* export_cmd = app.add_subcommand("export", "Export every page with its outlink count");
  export_cmd->footer(kExportExamples);
  export_cmd->add_option("--db", export_db, "Crawl database")->capture_default_str();
  export_cmd->add_option("-f,--format", export_format, "Output: jsonl or csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "csv"}));
  export_cmd->add_option("-o,--out", export_out, "Write to this file instead of stdout");

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
      crawl.max_text_bytes = static_cast<std::int64_t>(max_text_kib * 1024);
      return run_crawl_command(crawl);
    }
    if (*query_cmd) {
      return cli::query_command(query_db, query_sql, output_options(query_format, query_wide),
                                std::cout, std::cerr);
    }
    if (*stats_cmd) return cli::stats_command(stats_db, stats_format, std::cout, std::cerr);
    if (*broken_cmd) {
      return cli::broken_command(broken_db, output_options(broken_format, broken_wide), std::cout,
                                 std::cerr);
    }
    if (*links_cmd) {
      if (links_from.empty() == links_to.empty()) {
        std::cerr << "links: give exactly one of --from URL or --to URL\n";
        return kExitUsage;
      }
      return cli::links_command(links_db, links_from, links_to,
                                output_options(links_format, links_wide), std::cout, std::cerr);
    }
    if (*search_cmd) {
      return cli::search_command(search_db, search_terms, search_limit,
                                 output_options(search_format, search_wide), std::cout, std::cerr);
    }
    if (*robots_cmd) {
      return cli::run_robots_check(robots_file, robots_agent, robots_urls, std::cout, std::cerr);
    }
    if (*export_cmd) {
      cli::Format format = cli::Format::Jsonl;
      (void)cli::parse_format(export_format, format);
      return cli::export_command(export_db, format, export_out, std::cout, std::cerr);
    }
  } catch (const std::exception& e) {
    std::cerr << "crawler: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitUsage;
}

#include "cli/commands.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/hash.h"
#include "parser/url.h"
#include "storage/query.h"
#include "storage/schema.h"
#include "storage/url_keys.h"

namespace cli {

namespace {

// Runs one read-only statement on an open database into a formatter. `name` prefixes errors.
int run_on(const char* name, sqlite3* db, const std::string& sql,
           const std::vector<std::string>& params, Format format, TableOptions table,
           std::ostream& out, std::ostream& err) {
  auto formatter = make_formatter(format, out, table);
  bool started = false;
  auto result = storage::run_query(
      db, sql,
      [&](const std::vector<std::string>& names) {
        formatter->columns(names);
        started = true;
      },
      [&](const storage::Row& row) {
        formatter->row(row);
        return static_cast<bool>(out);  // a closed pipe: stop reading rows
      },
      params);
  if (started) formatter->finish();
  if (!result) {
    err << name << ": " << result.error().context << "\n";
    return kExitFailure;
  }
  if (!out) {
    if (errno == EPIPE) return kExitOk;  // the reader left (`| head`): not an error
    err << name << ": cannot write the output\n";
    return kExitFailure;
  }
  return kExitOk;
}

// run_on, on db_path opened read-only.
int run_into(const char* name, const std::string& db_path, const std::string& sql,
             const std::vector<std::string>& params, Format format, TableOptions table,
             std::ostream& out, std::ostream& err) {
  auto db = storage::open_for_reading(db_path);
  if (!db) {
    err << name << ": " << db.error().context << "\n";
    return kExitFailure;
  }
  return run_on(name, db->get(), sql, params, format, table, out, err);
}

TableOptions table_options(const OutputOptions& output) {
  TableOptions t;
  if (output.wide) {
    t.max_cell_width = 0;
  } else if (output.terminal_columns > 0) {
    t.terminal_columns = static_cast<std::size_t>(output.terminal_columns);
  }
  return t;
}

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
  section("pages by content type", s.by_content_type);
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
          {"pages_per_s", s.duration_s > 0 ? static_cast<double>(s.pages) / s.duration_s : 0.0},
          {"first_started_at", s.first_started_at},
          {"last_finished_at", s.last_finished_at},
          {"by_status_class", object(s.by_status_class)},
          {"by_status", object(s.by_status)},
          {"by_content_type", object(s.by_content_type)},
          {"errors_by_kind", object(s.errors_by_kind)},
          {"skipped_by_reason", object(s.skipped_by_reason)},
          {"top_hosts", hosts}};
}

}  // namespace

int stdout_terminal_columns() {
  if (!::isatty(STDOUT_FILENO)) return 0;
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return 80;
  return ws.ws_col;
}

int query_command(const std::string& db_path, const std::string& sql, const OutputOptions& output,
                  std::ostream& out, std::ostream& err) {
  return run_into("query", db_path, sql, {}, output.format, table_options(output), out, err);
}

int stats_command(const std::string& db_path, const std::string& format, std::ostream& out,
                  std::ostream& err) {
  auto db = storage::open_for_reading(db_path);
  if (!db) {
    err << "stats: " << db.error().context << "\n";
    return kExitFailure;
  }
  auto stats = storage::collect_stats(db->get());
  if (!stats) {
    err << "stats: " << stats.error().context << "\n";
    return kExitFailure;
  }
  if (format == "json") {
    out << stats_json(*stats).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  } else {
    print_stats_text(*stats, out);
  }
  return kExitOk;
}

int broken_command(const std::string& db_path, const OutputOptions& output, std::ostream& out,
                   std::ostream& err) {
  static const char* const kSql =
      "SELECT f.url AS from_url, p.url AS to_url, p.status, p.error "
      "FROM pages p JOIN link_edges e ON e.to_id = p.url_id JOIN urls f ON f.id = e.from_id "
      "WHERE p.status >= 400 OR (p.error IS NOT NULL AND p.error <> 'robots') "
      "ORDER BY p.url, f.url";
  return run_into("broken", db_path, kSql, {}, output.format, table_options(output), out, err);
}

int links_command(const std::string& db_path, const std::string& from_url,
                  const std::string& to_url, const OutputOptions& output, std::ostream& out,
                  std::ostream& err) {
  const bool outgoing = to_url.empty();
  auto url = parser::parse_url(outgoing ? from_url : to_url);
  if (!url) {
    err << "links: '" << (outgoing ? from_url : to_url) << "' is not an http(s) URL: "
        << url.error().context << "\n";
    return kExitUsage;
  }
  auto db = storage::open_for_reading(db_path);
  if (!db) {
    err << "links: " << db.error().context << "\n";
    return kExitFailure;
  }
  auto id = storage::read_url_id(db->get(), common::url_id(url->spec()));
  if (!id) {
    err << "links: " << id.error().context << "\n";
    return kExitFailure;
  }
  static const char* const kOut =
      "SELECT t.url AS to_url, e.follow, p.status, p.error FROM link_edges e "
      "JOIN urls t ON t.id = e.to_id LEFT JOIN pages p ON p.url_id = e.to_id "
      "WHERE e.from_id = CAST(?1 AS INTEGER) ORDER BY t.url";
  static const char* const kIn =
      "SELECT f.url AS from_url, f.depth FROM link_edges e JOIN urls f ON f.id = e.from_id "
      "WHERE e.to_id = CAST(?1 AS INTEGER) ORDER BY f.url";
  return run_on("links", db->get(), outgoing ? kOut : kIn, {std::to_string(*id)}, output.format,
                table_options(output), out, err);
}

std::string fts_query(const std::string& terms) {
  std::string query, term;
  auto flush = [&] {
    if (term.empty()) return;
    if (!query.empty()) query += ' ';
    query += '"';
    for (char c : term) {
      if (c == '"') query += '"';
      query += c;
    }
    query += '"';
    term.clear();
  };
  for (char c : terms) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      flush();
    } else {
      term += c;
    }
  }
  flush();
  return query;
}

int search_command(const std::string& db_path, const std::string& terms, int limit,
                   const OutputOptions& output, std::ostream& out, std::ostream& err) {
  const std::string query = fts_query(terms);
  if (query.empty()) {
    err << "search: give at least one search term\n";
    return kExitUsage;
  }
  static const char* const kSql =
      "SELECT p.url, p.title, snippet(page_text, 1, '[', ']', '...', 12) AS snippet, "
      "round(-bm25(page_text), 4) AS score "
      "FROM page_text JOIN pages p ON p.url_id = page_text.rowid "
      "WHERE page_text MATCH ?1 ORDER BY bm25(page_text), p.url LIMIT CAST(?2 AS INTEGER)";
  return run_into("search", db_path, kSql, {query, std::to_string(limit)}, output.format,
                  table_options(output), out, err);
}

int export_command(const std::string& db_path, Format format, const std::string& out_path,
                   std::ostream& out, std::ostream& err) {
  if (format != Format::Csv && format != Format::Jsonl) {
    err << "export: --format must be csv or jsonl\n";
    return kExitUsage;
  }
  static const char* const kSql =
      "SELECT p.url, p.final_url, p.status, p.content_type, p.depth, p.title, p.size_bytes, "
      "p.fetched_at, p.error, p.redirect_count, "
      "(SELECT count(*) FROM link_edges e WHERE e.from_id = p.url_id) AS outlinks "
      "FROM pages p ORDER BY p.url_id";
  if (out_path.empty() || out_path == "-") {
    return run_into("export", db_path, kSql, {}, format, {}, out, err);
  }
  // Write next to the target and rename at the end: a failed export leaves no half file.
  const std::string partial = out_path + ".partial";
  std::ofstream file(partial, std::ios::binary | std::ios::trunc);
  if (!file) {
    err << "export: cannot create '" << out_path << "'\n";
    return kExitFailure;
  }
  const int rc = run_into("export", db_path, kSql, {}, format, {}, file, err);
  file.close();
  if (rc != kExitOk || !file) {
    std::remove(partial.c_str());
    if (rc == kExitOk) err << "export: cannot write '" << out_path << "'\n";
    return rc == kExitOk ? kExitFailure : rc;
  }
  if (std::rename(partial.c_str(), out_path.c_str()) != 0) {
    std::remove(partial.c_str());
    err << "export: cannot create '" << out_path << "'\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace cli

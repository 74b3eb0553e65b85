#pragma once
// Read-only access for the `query` and `stats` commands.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/sqlite_handles.h"

namespace storage {

struct Cell {
  std::string text;  // the value as SQLite renders it as text; "" for NULL
  bool is_null = false;
  bool is_number = false;  // INTEGER or REAL
};

using Row = std::vector<Cell>;

// Runs exactly one read-only SQL statement. Calls on_columns once with the column names,
// then on_row per row (return false to stop early). Errors (BadInput): a statement that would
// write ("only read-only statements are allowed"), more than one statement, an empty query,
// or SQLite's own message with the byte offset where it applies. `params` are bound as text
// to ?1, ?2, ... (never spliced into the SQL).
[[nodiscard]] common::Result<void> run_query(
    sqlite3* db, std::string_view sql,
    const std::function<void(const std::vector<std::string>&)>& on_columns,
    const std::function<bool(const Row&)>& on_row, const std::vector<std::string>& params = {});

struct Stats {
  std::int64_t pages = 0;          // rows in pages
  std::int64_t pages_ok = 0;       // status 2xx
  std::int64_t pages_failed = 0;   // no HTTP response (error set)
  std::int64_t links = 0;          // rows in link_edges
  std::int64_t urls_known = 0;     // rows in urls
  std::int64_t queued = 0;         // rows in frontier
  std::int64_t skipped = 0;        // urls not fetched by policy (scope, depth, ...)
  std::int64_t hosts = 0;          // distinct hosts among fetched pages
  std::int64_t bytes = 0;          // sum of size_bytes
  std::vector<std::pair<std::string, std::int64_t>> by_status_class;  // "2xx", ..., "error"
  std::vector<std::pair<std::string, std::int64_t>> by_status;        // "200", "404", ...
  std::vector<std::pair<std::string, std::int64_t>> errors_by_kind;   // "timeout", ...
  std::vector<std::pair<std::string, std::int64_t>> skipped_by_reason;
  std::vector<std::pair<std::string, std::int64_t>> by_content_type;  // media type, top 10
  std::vector<std::pair<std::string, std::int64_t>> top_hosts;        // by pages, top 10
  std::string first_started_at, last_finished_at;
  double duration_s = 0;  // sum over crawl runs
};

[[nodiscard]] common::Result<Stats> collect_stats(sqlite3* db);

}  // namespace storage

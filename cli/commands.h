#pragma once
// The read-only commands: query, stats, broken, links, export. Each opens the database
// read-only, writes its output to `out`, reports errors as one line on `err` prefixed with the
// command's name, and returns the process exit code (0 ok, 1 failure, 2 usage).

#include <ostream>
#include <string>

#include "cli/output.h"

namespace cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct OutputOptions {
  Format format = Format::Table;
  bool wide = false;         // table: never truncate cells
  int terminal_columns = 0;  // table: fit cells to this width (0 = not a terminal)
};

int query_command(const std::string& db_path, const std::string& sql, const OutputOptions& output,
                  std::ostream& out, std::ostream& err);

// format: "text" or "json".
int stats_command(const std::string& db_path, const std::string& format, std::ostream& out,
                  std::ostream& err);

// Every link whose target failed (status >= 400 or no HTTP response), with the linking page.
int broken_command(const std::string& db_path, const OutputOptions& output, std::ostream& out,
                   std::ostream& err);

// Outlinks of `from_url` or, if to_url is set, the pages linking to `to_url`. The URL is
// normalized first, so it may be typed as in a browser.
int links_command(const std::string& db_path, const std::string& from_url,
                  const std::string& to_url, const OutputOptions& output, std::ostream& out,
                  std::ostream& err);

// Every page with its outlink count, streamed (constant memory). format: Csv or Jsonl.
// out_path "" or "-" = `out`.
int export_command(const std::string& db_path, Format format, const std::string& out_path,
                   std::ostream& out, std::ostream& err);

// Full-text search over page titles and visible text: each whitespace-separated term must
// occur (terms are quoted, so FTS5 operators in them are plain text). Best bm25 first.
int search_command(const std::string& db_path, const std::string& terms, int limit,
                   const OutputOptions& output, std::ostream& out, std::ostream& err);

// An FTS5 query matching every term of `terms` literally ("" if there is none).
std::string fts_query(const std::string& terms);

// Columns of the terminal on stdout, or 0 if stdout is not a terminal.
int stdout_terminal_columns();

}  // namespace cli

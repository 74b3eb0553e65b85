#pragma once
// Result formatting for `crawler query`: an aligned text table, CSV (RFC 4180), a JSON array
// or JSON lines. Rows stream through a Formatter, so csv/json/jsonl use constant memory; the
// table buffers its first kTableSampleRows rows to size the columns and streams the rest.

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "storage/query.h"

namespace cli {

enum class Format { Table, Csv, Json, Jsonl };

// "table", "csv", "json", "jsonl" -> Format; false for anything else.
bool parse_format(const std::string& name, Format& out);

struct TableOptions {
  std::size_t max_cell_width = 60;  // longer cells end in "..."; 0 = never truncate
  // When > 0 (a terminal), cells are instead capped so that a row fits this many columns
  // (each column gets an equal share, at least kMinCellWidth).
  std::size_t terminal_columns = 0;
};

inline constexpr std::size_t kMinCellWidth = 8;

inline constexpr std::size_t kTableSampleRows = 1000;

class Formatter {
 public:
  virtual ~Formatter() = default;
  virtual void columns(const std::vector<std::string>& names) = 0;
  virtual void row(const storage::Row& row) = 0;
  virtual void finish() = 0;  // flushes buffered rows and closing brackets
};

std::unique_ptr<Formatter> make_formatter(Format format, std::ostream& out,
                                          TableOptions table = {});

// CSV field quoting per RFC 4180: quoted when it holds a comma, quote, CR or LF.
std::string csv_field(const std::string& value);

// A JSON string literal; invalid UTF-8 bytes become U+FFFD instead of failing.
std::string json_string(const std::string& value);

// Display width of a UTF-8 string in code points (a good approximation for a terminal).
std::size_t display_width(const std::string& s);

}  // namespace cli

#include "cli/output.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace cli {

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// `s` cut to at most `width` code points, ending in "..." if cut. Below 4 there is room
// for the dots alone (as many as fit): the result never exceeds `width`.
std::string truncate(const std::string& s, std::size_t width) {
  if (width == 0 || display_width(s) <= width) return s;
  if (width <= 3) return std::string(width, '.');
  const std::size_t keep = width - 3;
  std::size_t points = 0, i = 0;
  for (; i < s.size(); ++i) {
    if (!is_continuation(static_cast<unsigned char>(s[i]))) {
      if (points == keep) break;
      ++points;
    }
  }
  return s.substr(0, i) + "...";
}

// Control characters would break the table's lines; show them as spaces.
std::string flatten(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

class TableFormatter : public Formatter {
 public:
  TableFormatter(std::ostream& out, TableOptions options) : out_(out), options_(options) {}

  void columns(const std::vector<std::string>& names) override {
    names_ = names;
    widths_.assign(names.size(), 0);
    caps_.assign(names.size(), options_.max_cell_width);
    right_.assign(names.size(), false);
    for (std::size_t i = 0; i < names.size(); ++i) {
      widths_[i] = display_width(flatten(names[i]));
    }
  }

  void row(const storage::Row& row) override {
    if (!sized_) {
      pending_.push_back(row);
      if (pending_.size() >= kTableSampleRows) flush_sample();
      return;
    }
    print_row(row);
  }

  void finish() override {
    if (!sized_) flush_sample();
    out_ << "(" << rows_ << (rows_ == 1 ? " row" : " rows") << ")\n";
    out_.flush();
  }

 private:
  std::string cell_text(const storage::Cell& cell, std::size_t column) const {
    return truncate(flatten(cell.is_null ? "NULL" : cell.text), caps_[column]);
  }

  // Column widths from the sample: each column's widest cell, capped by max_cell_width; on a
  // terminal, the widest columns then give way until a row fits terminal_columns.
  void size_columns() {
    const bool terminal = options_.terminal_columns > 0 && options_.max_cell_width != 0;
    if (terminal) caps_.assign(names_.size(), 0);  // measure whole cells first
    std::vector<bool> all_numbers(names_.size(), !pending_.empty());
    for (const auto& row : pending_) {
      for (std::size_t i = 0; i < row.size() && i < widths_.size(); ++i) {
        widths_[i] = std::max(widths_[i], display_width(cell_text(row[i], i)));
        if (!row[i].is_number && !row[i].is_null) all_numbers[i] = false;
      }
    }
    for (std::size_t i = 0; i < names_.size(); ++i) {
      right_[i] = all_numbers[i];
      if (caps_[i] != 0) widths_[i] = std::min(widths_[i], caps_[i]);
    }
    if (!terminal || names_.empty()) return;
    const std::size_t separators = 3 * (names_.size() - 1);
    auto total = [&] {
      std::size_t sum = separators;
      for (auto w : widths_) sum += w;
      return sum;
    };
    while (total() > options_.terminal_columns) {
      auto widest = std::max_element(widths_.begin(), widths_.end());
      if (*widest <= kMinCellWidth) break;
      --*widest;
    }
    caps_ = widths_;
  }

  void flush_sample() {
    size_columns();
    sized_ = true;
    storage::Row header;
    for (const auto& name : names_) header.push_back(storage::Cell{name, false, false});
    print_line(header, /*header=*/true);
    std::string rule;
    for (std::size_t i = 0; i < widths_.size(); ++i) {
      if (i > 0) rule += "-+-";
      rule += std::string(widths_[i], '-');
    }
    out_ << rule << "\n";
    for (const auto& row : pending_) print_row(row);
    pending_.clear();
    pending_.shrink_to_fit();
  }

  void print_row(const storage::Row& row) {
    print_line(row, false);
    ++rows_;
  }

  void print_line(const storage::Row& row, bool header) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < widths_.size(); ++i) {
      const std::string text = header ? truncate(flatten(row[i].text), caps_[i])
                                       : cell_text(row[i], i);
      const std::size_t w = display_width(text);
      const std::size_t pad = widths_[i] > w ? widths_[i] - w : 0;
      if (i > 0) line += " | ";
      if (right_[i] && !header) {
        line += std::string(pad, ' ') + text;
      } else {
        line += text;
        if (i + 1 < row.size()) line += std::string(pad, ' ');
      }
    }
    out_ << line << "\n";
  }

  std::ostream& out_;
  TableOptions options_;
  std::vector<std::string> names_;
  std::vector<std::size_t> widths_;
  std::vector<std::size_t> caps_;  // per column: longest cell shown whole (0 = no limit)
  std::vector<bool> right_;
  std::vector<storage::Row> pending_;
  bool sized_ = false;
  std::size_t rows_ = 0;
};

class CsvFormatter : public Formatter {
 public:
  explicit CsvFormatter(std::ostream& out) : out_(out) {}
  void columns(const std::vector<std::string>& names) override {
    for (std::size_t i = 0; i < names.size(); ++i) out_ << (i ? "," : "") << csv_field(names[i]);
    out_ << "\r\n";
  }
  void row(const storage::Row& row) override {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out_ << (i ? "," : "") << (row[i].is_null ? "" : csv_field(row[i].text));
    }
    out_ << "\r\n";
  }
  void finish() override { out_.flush(); }

 private:
  std::ostream& out_;
};

class JsonFormatter : public Formatter {
 public:
  JsonFormatter(std::ostream& out, bool lines) : out_(out), lines_(lines) {}
  void columns(const std::vector<std::string>& names) override {
    keys_.clear();
    for (const auto& name : names) keys_.push_back(json_string(name));
    if (!lines_) out_ << "[";
  }
  void row(const storage::Row& row) override {
    if (!lines_) out_ << (first_ ? "\n" : ",\n");
    first_ = false;
    out_ << "{";
    for (std::size_t i = 0; i < row.size() && i < keys_.size(); ++i) {
      out_ << (i ? "," : "") << keys_[i] << ":";
      if (row[i].is_null) {
        out_ << "null";
      } else if (row[i].is_number && is_json_number(row[i].text)) {
        out_ << row[i].text;
      } else {
        out_ << json_string(row[i].text);
      }
    }
    out_ << "}";
    if (lines_) out_ << "\n";
  }
  void finish() override {
    if (!lines_) out_ << (first_ ? "]\n" : "\n]\n");
    out_.flush();
  }

 private:
  // SQLite renders REAL infinities and NaN as "Inf"/"NaN", which JSON has no literal for.
  static bool is_json_number(const std::string& text) {
    return !text.empty() && text.find_first_not_of("0123456789+-.eE") == std::string::npos;
  }
  std::ostream& out_;
  bool lines_;
  bool first_ = true;
  std::vector<std::string> keys_;
};

}  // namespace

bool parse_format(const std::string& name, Format& out) {
  if (name == "table") out = Format::Table;
  else if (name == "csv") out = Format::Csv;
  else if (name == "json") out = Format::Json;
  else if (name == "jsonl") out = Format::Jsonl;
  else return false;
  return true;
}

std::unique_ptr<Formatter> make_formatter(Format format, std::ostream& out, TableOptions table) {
  switch (format) {
    case Format::Csv: return std::make_unique<CsvFormatter>(out);
    case Format::Json: return std::make_unique<JsonFormatter>(out, false);
    case Format::Jsonl: return std::make_unique<JsonFormatter>(out, true);
    case Format::Table: break;
  }
  return std::make_unique<TableFormatter>(out, table);
}

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string json_string(const std::string& value) {
  return nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) {
    if (!is_continuation(static_cast<unsigned char>(c))) ++n;
  }
  return n;
}

}  // namespace cli

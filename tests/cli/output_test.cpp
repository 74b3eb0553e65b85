#include "cli/output.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cli::Format;
using storage::Cell;
using storage::Row;
using Json = nlohmann::json;
using Strings = std::vector<std::string>;

Cell text(std::string s) { return Cell{std::move(s), false, false}; }
Cell number(std::string s) { return Cell{std::move(s), false, true}; }
Cell null() { return Cell{"", true, false}; }

std::string render(Format format, const Strings& columns, const std::vector<Row>& rows,
                   cli::TableOptions table = {}) {
  std::ostringstream out;
  auto formatter = cli::make_formatter(format, out, table);
  formatter->columns(columns);
  for (const auto& row : rows) formatter->row(row);
  formatter->finish();
  return out.str();
}

Strings lines_of(const std::string& s) {
  Strings out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(s.substr(start, nl - start));
  }
  if (start < s.size()) out.push_back(s.substr(start));
  return out;
}

// A strict RFC 4180 reader: records end in CRLF, fields are bare or quoted with "" escapes.
// Fails the test on anything RFC 4180 does not allow.
std::vector<Strings> parse_csv(const std::string& s) {
  std::vector<Strings> records;
  Strings record;
  std::string field;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '"') {
      ++i;
      for (;;) {
        REQUIRE(i < s.size());  // unterminated quote
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += s[i++];
      }
      REQUIRE(i < s.size());
      REQUIRE((s[i] == ',' || s[i] == '\r'));  // nothing may follow the closing quote
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '\r') {
        REQUIRE(s[i] != '"');
        REQUIRE(s[i] != '\n');
        field += s[i++];
      }
      REQUIRE(i < s.size());
    }
    record.push_back(field);
    field.clear();
    if (s[i] == ',') {
      ++i;
      continue;
    }
    REQUIRE(s.compare(i, 2, "\r\n") == 0);
    i += 2;
    records.push_back(record);
    record.clear();
  }
  return records;
}

}  // namespace

TEST_CASE("output: format names parse, anything else is refused", "[cli][output]") {
  struct FormatRow {
    std::string name;
    bool ok;
    Format expected;
  };
  const std::vector<FormatRow> rows = {
      {"table", true, Format::Table},   {"csv", true, Format::Csv},
      {"json", true, Format::Json},     {"jsonl", true, Format::Jsonl},
      {"JSON", false, Format::Table},   {"", false, Format::Table},
      {"tsv", false, Format::Table},    {"json ", false, Format::Table},
      {"ndjson", false, Format::Table},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION("'" << row.name << "'") {
      Format out = Format::Jsonl;
      CHECK(cli::parse_format(row.name, out) == row.ok);
      if (row.ok) {
        CHECK(out == row.expected);
      } else {
        CHECK(out == Format::Jsonl);  // untouched
      }
    }
  }
}

TEST_CASE("output: csv_field quotes per RFC 4180", "[cli][output][rfc4180]") {
  struct FieldRow {
    const char* name;
    std::string input;
    std::string expected;
  };
  const std::vector<FieldRow> rows = {
      {"plain", "abc", "abc"},
      {"empty", "", ""},
      {"spaces are data", " a b ", " a b "},
      {"comma", "a,b", "\"a,b\""},
      {"quote", "say \"hi\"", "\"say \"\"hi\"\"\""},
      {"only a quote", "\"", "\"\"\"\""},
      {"LF", "a\nb", "\"a\nb\""},
      {"CR", "a\rb", "\"a\rb\""},
      {"CRLF", "a\r\nb", "\"a\r\nb\""},
      {"all of them", ",\"\r\n", "\",\"\"\r\n\""},
      {"semicolon and tab need no quotes", "a;b\tc", "a;b\tc"},
      {"UTF-8 passes through", "caf\xC3\xA9", "caf\xC3\xA9"},
      {"invalid UTF-8 passes through", "\xff\xfe", "\xff\xfe"},
      {"NUL passes through", std::string("a\0b", 3), std::string("a\0b", 3)},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) { CHECK(cli::csv_field(row.input) == row.expected); }
  }
}

TEST_CASE("output: CSV output reads back with an RFC 4180 reader", "[cli][output][rfc4180]") {
  const Strings columns = {"id", "url, with comma", "title \"quoted\""};
  const std::vector<Row> rows = {
      {number("1"), text("http://a.test/"), text("Plain")},
      {number("2"), text("http://a.test/?a=1,b=2"), text("She said \"hi\"")},
      {number("-3.5"), text(""), text("line one\nline two\r\nline three\r")},
      {null(), null(), text("   padded   ")},
      {number("4"), text("\xE6\x97\xA5\xE6\x9C\xAC"), text("\"")},
  };
  const std::string csv = render(Format::Csv, columns, rows);
  const auto records = parse_csv(csv);
  REQUIRE(records.size() == 1 + rows.size());
  CHECK(records[0] == columns);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    INFO("row " << r);
    REQUIRE(records[r + 1].size() == rows[r].size());
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      CHECK(records[r + 1][c] == (rows[r][c].is_null ? "" : rows[r][c].text));
    }
  }
  // A NULL is an empty field, not the text "NULL".
  CHECK(csv.find("NULL") == std::string::npos);
}

TEST_CASE("output: CSV with no rows is just the header", "[cli][output][rfc4180]") {
  CHECK(render(Format::Csv, {"a", "b"}, {}) == "a,b\r\n");
  CHECK(render(Format::Csv, {"only"}, {{text("x")}}) == "only\r\nx\r\n");
}

TEST_CASE("output: json_string always makes a valid JSON string", "[cli][output][json]") {
  struct JsonRow {
    const char* name;
    std::string input;
    std::string expected_value;  // after parsing the literal back
  };
  const std::vector<JsonRow> rows = {
      {"plain", "abc", "abc"},
      {"empty", "", ""},
      {"quotes and backslashes", "a\"b\\c", "a\"b\\c"},
      {"control characters", "\n\r\t\b\f\x01\x1f", "\n\r\t\b\f\x01\x1f"},
      {"NUL", std::string("a\0b", 3), std::string("a\0b", 3)},
      {"UTF-8", "caf\xC3\xA9 \xF0\x9F\x98\x80", "caf\xC3\xA9 \xF0\x9F\x98\x80"},
      {"a lone invalid byte", "a\xffz", "a\xEF\xBF\xBDz"},
      {"a truncated sequence at the end", "ab\xC3", "ab\xEF\xBF\xBD"},
      {"an overlong encoding", "\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"a UTF-16 surrogate in UTF-8", "\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"Latin-1 text", "caf\xE9", "caf\xEF\xBF\xBD"},
      {"HTML-looking text", "</script><!--", "</script><!--"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const std::string literal = cli::json_string(row.input);
      REQUIRE(literal.size() >= 2);
      CHECK(literal.front() == '"');
      CHECK(literal.back() == '"');
      CHECK(literal.find('\n') == std::string::npos);
      Json parsed;
      REQUIRE_NOTHROW(parsed = Json::parse(literal));
      REQUIRE(parsed.is_string());
      if (row.expected_value.find("\xEF\xBF\xBD") != std::string::npos &&
          row.input.find("\xEF\xBF\xBD") == std::string::npos) {
        // Invalid bytes become U+FFFD; count only that some replacement happened and the
        // valid neighbours survived, since decoders may merge maximal subparts differently.
        const std::string value = parsed.get<std::string>();
        CHECK(value.find("\xEF\xBF\xBD") != std::string::npos);
        CHECK(value.substr(0, 1) == row.expected_value.substr(0, 1));
      } else {
        CHECK(parsed.get<std::string>() == row.expected_value);
      }
    }
  }
}

TEST_CASE("output: random bytes always give parseable JSON strings", "[cli][output][json]") {
  std::mt19937 rng(99);
  for (int i = 0; i < 2000; ++i) {
    std::string s(std::uniform_int_distribution<std::size_t>(0, 40)(rng), '\0');
    for (char& c : s) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    const std::string literal = cli::json_string(s);
    Json parsed;
    REQUIRE_NOTHROW(parsed = Json::parse(literal));
    REQUIRE(parsed.is_string());
  }
}

TEST_CASE("output: JSON output parses back with types kept", "[cli][output][json]") {
  const Strings columns = {"id", "url", "score", "note", "col \"q\""};
  const std::vector<Row> rows = {
      {number("1"), text("http://a.test/"), number("0.5"), null(), text("x")},
      {number("123456789012345678"), text("42"), number("1.0e+20"), text("line\nbreak"),
       text("tab\there")},
      {number("-7"), text("\"quoted\""), number("-0.0"), text("bad \xff byte"), text("")},
      {number("0"), text("null"), number("Inf"), text("true"), null()},
      {number("3"), text("\xE6\x97\xA5"), number("-Inf"), text("\\"), text("</x>")},
  };
  auto check_row = [&](const Json& object, std::size_t r) {
    INFO("row " << r);
    REQUIRE(object.is_object());
    CHECK(object.size() == columns.size());
    for (std::size_t c = 0; c < columns.size(); ++c) {
      INFO("column " << columns[c]);
      REQUIRE(object.contains(columns[c]));
      const Json& value = object.at(columns[c]);
      const Cell& cell = rows[r][c];
      if (cell.is_null) {
        CHECK(value.is_null());
      } else if (cell.is_number && (cell.text == "Inf" || cell.text == "-Inf")) {
        // JSON has no infinity: the text is kept as a string.
        CHECK(value == cell.text);
      } else if (cell.is_number) {
        CHECK(value.is_number());
        CHECK(value.dump() == Json::parse(cell.text).dump());
      } else if (cell.text.find('\xff') != std::string::npos) {
        REQUIRE(value.is_string());
        CHECK(value.get<std::string>() == "bad \xEF\xBF\xBD byte");
      } else {
        // Strings stay strings, even when they look like numbers, null or booleans.
        REQUIRE(value.is_string());
        CHECK(value.get<std::string>() == cell.text);
      }
    }
    CHECK(object.at("id").is_number_integer());
  };

  SECTION("json: one array") {
    const std::string out = render(Format::Json, columns, rows);
    Json doc;
    REQUIRE_NOTHROW(doc = Json::parse(out));
    REQUIRE(doc.is_array());
    REQUIRE(doc.size() == rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) check_row(doc[r], r);
    // Integers beyond 2^53 survive exactly.
    CHECK(doc[1]["id"].get<std::int64_t>() == 123456789012345678LL);
  }
  SECTION("jsonl: one object per line") {
    const std::string out = render(Format::Jsonl, columns, rows);
    REQUIRE(!out.empty());
    CHECK(out.back() == '\n');
    const Strings lines = lines_of(out);
    REQUIRE(lines.size() == rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      Json object;
      REQUIRE_NOTHROW(object = Json::parse(lines[r]));
      check_row(object, r);
    }
  }
}

TEST_CASE("output: JSON with no rows is an empty array, JSON lines nothing",
          "[cli][output][json]") {
  const std::string json = render(Format::Json, {"a"}, {});
  Json doc;
  REQUIRE_NOTHROW(doc = Json::parse(json));
  CHECK(doc == Json::array());
  CHECK(render(Format::Jsonl, {"a"}, {}).empty());
}

TEST_CASE("output: JSON keeps the column order of the query", "[cli][output][json]") {
  const std::string out =
      render(Format::Jsonl, {"zeta", "alpha", "mid"}, {{number("1"), number("2"), number("3")}});
  CHECK(out == "{\"zeta\":1,\"alpha\":2,\"mid\":3}\n");
}

TEST_CASE("output: display_width counts code points", "[cli][output][table]") {
  struct WidthRow {
    const char* name;
    std::string input;
    std::size_t expected;
  };
  const std::vector<WidthRow> rows = {
      {"empty", "", 0},
      {"ASCII", "hello", 5},
      {"two-byte", "h\xC3\xA9llo", 5},
      {"three-byte", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", 3},
      {"four-byte", "\xF0\x9F\x98\x80!", 2},
      {"mixed", "a\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80", 4},
      {"control characters count", "\t\n", 2},
      {"a lead byte without continuation", "\xC3", 1},
      {"stray continuation bytes count nothing", "\x80\x80", 0},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) { CHECK(cli::display_width(row.input) == row.expected); }
  }
}

TEST_CASE("output: the table aligns columns, numbers to the right", "[cli][output][table]") {
  const std::string out = render(Format::Table, {"id", "name", "size"},
                                 {{number("1"), text("alice"), number("10")},
                                  {number("100"), text("bob"), null()},
                                  {number("20"), text("carol-longer"), number("3")}});
  CHECK(out ==
        "id  | name         | size\n"
        "----+--------------+-----\n"
        "  1 | alice        |   10\n"
        "100 | bob          | NULL\n"
        " 20 | carol-longer |    3\n"
        "(3 rows)\n");
}

TEST_CASE("output: a column with any text in it aligns left", "[cli][output][table]") {
  const std::string out =
      render(Format::Table, {"v", "w"}, {{number("1"), text("x")}, {text("abc"), text("y")}});
  CHECK(out ==
        "v   | w\n"
        "----+--\n"
        "1   | x\n"
        "abc | y\n"
        "(2 rows)\n");
}

TEST_CASE("output: the table counts rows in the footer", "[cli][output][table]") {
  CHECK(render(Format::Table, {"a"}, {}) == "a\n-\n(0 rows)\n");
  CHECK(lines_of(render(Format::Table, {"a"}, {{text("x")}})).back() == "(1 row)");
  CHECK(lines_of(render(Format::Table, {"a"}, {{text("x")}, {text("y")}})).back() == "(2 rows)");
}

TEST_CASE("output: the table pads by display width, not bytes", "[cli][output][table]") {
  const std::string out = render(Format::Table, {"name", "n"},
                                 {{text("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"), number("1")},
                                  {text("abcdef"), number("22")},
                                  {text("caf\xC3\xA9"), number("3")}});
  const Strings lines = lines_of(out);
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == "name   | n");
  CHECK(lines[2] == "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E    |  1");
  CHECK(lines[3] == "abcdef | 22");
  CHECK(lines[4] == "caf\xC3\xA9   |  3");
  // Every row puts its separator at the same display column.
  for (std::size_t i : {0u, 2u, 3u, 4u}) {
    const std::size_t bar = lines[i].find(" | ");
    REQUIRE(bar != std::string::npos);
    CHECK(cli::display_width(lines[i].substr(0, bar)) == 6);
  }
}

TEST_CASE("output: control characters in cells do not break table lines", "[cli][output][table]") {
  const std::string out =
      render(Format::Table, {"a\nb", "c"}, {{text("x\ny\r\tz"), text("\x1b[31mred")}});
  CHECK(out ==
        "a b    | c\n"
        "-------+---------\n"
        "x y  z |  [31mred\n"
        "(1 row)\n");
}

TEST_CASE("output: long cells are cut to the width, ending in \"...\"", "[cli][output][table]") {
  struct CutRow {
    const char* name;
    std::size_t max_width;
    std::string cell;
    std::string expected;
  };
  const std::vector<CutRow> rows = {
      {"fits exactly", 5, "abcde", "abcde"},
      {"one too long", 5, "abcdef", "ab..."},
      {"much too long", 10, std::string(1000, 'x'), "xxxxxxx..."},
      {"UTF-8 cut on a code point", 4,
       "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x83\x86\xE3\x82\xAD", "\xE6\x97\xA5..."},
      {"UTF-8 that fits", 3, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
       "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"},
      {"emoji", 6,
       "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
       "abc",
       "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80..."},
      {"zero means never cut", 0, std::string(500, 'y'), std::string(500, 'y')},
      {"width four", 4, "abcdef", "a..."},
      {"width three", 3, "abcdef", "..."},
      {"width two", 2, "abcdef", ".."},
      {"width one", 1, "abcdef", "."},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      cli::TableOptions options;
      options.max_cell_width = row.max_width;
      const Strings lines = lines_of(render(Format::Table, {"c"}, {{text(row.cell)}}, options));
      REQUIRE(lines.size() == 4);
      CHECK(lines[2] == row.expected);
      if (row.max_width > 0) CHECK(cli::display_width(lines[2]) <= row.max_width);
    }
  }
}

TEST_CASE("output: every cut respects the width limit", "[cli][output][table]") {
  const std::string cell = "h\xC3\xA9llo w\xC3\xB6rld \xE6\x97\xA5\xE6\x9C\xAC";  // 14 points
  for (std::size_t width = 1; width <= 16; ++width) {
    DYNAMIC_SECTION("width " << width) {
      cli::TableOptions options;
      options.max_cell_width = width;
      const Strings lines = lines_of(
          render(Format::Table, {"c"}, {{text(cell)}, {number("12345678901234567890")}}, options));
      REQUIRE(lines.size() == 5);
      for (std::size_t i : {0u, 1u, 2u, 3u}) {
        INFO(lines[i]);
        CHECK(cli::display_width(lines[i]) <= width);
      }
      if (width >= cli::display_width(cell)) {
        CHECK(lines[2] == cell);
      } else {
        CHECK_THAT(lines[2], Catch::EndsWith(width >= 3 ? "..." : std::string(width, '.')));
        CHECK(cli::display_width(lines[2]) == width);
      }
    }
  }
}

TEST_CASE("output: long headers are cut like cells", "[cli][output][table]") {
  cli::TableOptions options;
  options.max_cell_width = 6;
  const Strings lines = lines_of(
      render(Format::Table, {"a_very_long_header", "b"}, {{text("x"), text("y")}}, options));
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "a_v... | b");
  CHECK(lines[1] == "-------+--");
  CHECK(lines[2] == "x      | y");
}

TEST_CASE("output: the table streams rows past its sample", "[cli][output][table]") {
  std::vector<Row> rows;
  const std::size_t total = cli::kTableSampleRows + 250;
  for (std::size_t i = 0; i < total; ++i) {
    rows.push_back({number(std::to_string(i)), text(i == total - 1 ? "a much longer cell" : "v")});
  }
  const Strings lines = lines_of(render(Format::Table, {"i", "s"}, rows));
  REQUIRE(lines.size() == total + 3);
  CHECK(lines.back() == "(" + std::to_string(total) + " rows)");
  // Column widths come from the sample: the widest sampled number has 3 digits.
  CHECK(lines[2] == "  0 | v");
  CHECK(lines[2 + 999] == "999 | v");
  // Rows after the sample are printed whole even when wider than the column.
  CHECK(lines[2 + 1000] == "1000 | v");
  CHECK(lines[total + 1] == std::to_string(total - 1) + " | a much longer cell");
}

TEST_CASE("output: rows with a missing or extra cell do not crash any format", "[cli][output]") {
  const std::vector<Row> rows = {{text("only one")}, {text("a"), text("b"), text("extra")}, {}};
  for (Format format : {Format::Table, Format::Csv, Format::Json, Format::Jsonl}) {
    DYNAMIC_SECTION("format " << static_cast<int>(format)) {
      std::string out;
      REQUIRE_NOTHROW(out = render(format, {"x", "y"}, rows));
      CHECK_THAT(out, Catch::Contains("only one"));
      if (format == Format::Json) {
        Json doc;
        REQUIRE_NOTHROW(doc = Json::parse(out));
        REQUIRE(doc.size() == 3);
        CHECK(doc[0] == Json{{"x", "only one"}});
        CHECK(doc[1] == Json{{"x", "a"}, {"y", "b"}});
        CHECK(doc[2] == Json::object());
      }
    }
  }
}

TEST_CASE("output: a table on a terminal fits its width, narrow columns stay whole",
          "[cli][output]") {
  struct Case {
    std::size_t columns;
    std::size_t longest_line;  // expected bound
  };
  for (const Case c : {Case{40, 40}, Case{60, 60}, Case{200, 200}}) {
    CAPTURE(c.columns);
    std::ostringstream out;
    cli::TableOptions options;
    options.terminal_columns = c.columns;
    auto table = cli::make_formatter(cli::Format::Table, out, options);
    table->columns({"url", "status", "title"});
    table->row({{std::string(150, 'u'), false, false}, {"200", false, true},
                {std::string(90, 't'), false, false}});
    table->row({{"short", false, false}, {"404", false, true}, {"x", false, false}});
    table->finish();
    std::istringstream lines(out.str());
    std::string line;
    std::size_t longest = 0;
    bool status_whole = false;
    while (std::getline(lines, line)) {
      longest = std::max(longest, cli::display_width(line));
      status_whole |= line.find(" 200 ") != std::string::npos;
    }
    CHECK(longest <= c.longest_line);
    CHECK(status_whole);
  }
}

#include <catch2/catch.hpp>
#include <string>

#include "cli/commands.h"

TEST_CASE("fts_query: every term quoted, FTS5 syntax kept literal", "[cli][search]") {
  struct Case {
    const char* terms;
    const char* query;
  };
  const Case cases[] = {
      {"", ""},
      {"   \t\n", ""},
      {"word", "\"word\""},
      {"two words", "\"two\" \"words\""},
      {"  spaced\tout\r\nterms ", "\"spaced\" \"out\" \"terms\""},
      {"a OR b", "\"a\" \"OR\" \"b\""},
      {"NEAR(a b)", "\"NEAR(a\" \"b)\""},
      {"say \"hi\"", "\"say\" \"\"\"hi\"\"\""},
      {"pre*", "\"pre*\""},
      {"col:value", "\"col:value\""},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.terms);
    CHECK(cli::fts_query(c.terms) == c.query);
  }
}

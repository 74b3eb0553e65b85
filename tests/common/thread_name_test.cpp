#include "common/thread_name.h"

#include <catch2/catch.hpp>
#include <string>
#include <thread>

namespace {

// The name a new thread reads back after naming itself.
std::string named_in_thread(const std::string& name) {
  std::string seen;
  std::thread t([&] {
    common::set_thread_name(name);
    seen = common::thread_name();
  });
  t.join();
  return seen;
}

}  // namespace

TEST_CASE("set_thread_name names the calling thread, cut at Linux's 15 bytes") {
  struct Row {
    std::string name;
    std::string expected;
  };
  const Row rows[] = {
      {"writer", "writer"},
      {"parse-0", "parse-0"},
      {"exactly15bytes!", "exactly15bytes!"},
      {"sixteen-bytes-xx", "sixteen-bytes-x"},
      {"a much longer name than Linux keeps", "a much longer n"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    CHECK(named_in_thread(row.name) == row.expected);
  }
}

TEST_CASE("naming a thread leaves the others alone") {
  const std::string before = common::thread_name();
  CHECK(named_in_thread("other") == "other");
  CHECK(common::thread_name() == before);
}

// Tests storage/url_keys.h: UrlKeys, the hash -> id lookup of URLs, in url_keys_new and runs.

#include "storage/url_keys.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "storage/schema.h"
#include "storage_test_support.h"

namespace {

using storage_test::must;
using storage_test::query_int;

struct KeysFixture {
  storage_test::TempDir dir;
  storage::SqliteDb db = must(storage::open_for_writing(dir.file("crawl.db")));

  std::unique_ptr<storage::UrlKeys> keys(storage::UrlKeysOptions options = {}) {
    return must(storage::UrlKeys::create(db.get(), options));
  }
  // A UrlKeys that makes url_keys_new a run every `merge_rows` keys and compacts `fan_in` runs,
  // so a test sees both.
  std::unique_ptr<storage::UrlKeys> merging_keys(std::int64_t merge_rows, int fan_in = 8) {
    storage::UrlKeysOptions options;
    options.merge_rows = merge_rows;
    options.fan_in = fan_in;
    return keys(options);
  }
  // The run tables' names (not a compaction's part table, whose keys are copies).
  std::vector<std::string> run_tables() {
    std::vector<std::string> names;
    auto stmt = must(storage::prepare(
        db.get(), "SELECT name FROM sqlite_master WHERE name GLOB 'url_keys_run_[0-9]*'"));
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      names.push_back(storage::column_text(stmt.get(), 0));
    }
    return names;
  }
  std::int64_t keys_in_runs() {
    std::int64_t keys = 0;
    for (const auto& table : run_tables())
      keys += query_int(db.get(), "SELECT count(*) FROM " + table);
    return keys;
  }
  // A urls row for `id`, as the page store writes one with each new key: begin() continues
  // after the highest id.
  void add_url_row(std::int64_t id) {
    storage_test::exec(db.get(),
                       "INSERT INTO urls(id, url, host, depth, state, discovered_at) VALUES (" +
                           std::to_string(id) + ", 'u', 'h', 1, 'queued', 't')");
  }
  // `call`'s result, with SQLite interrupted after `steps` virtual machine steps.
  template <typename Call>
  auto interrupted_after(int steps, Call&& call) {
    sqlite3_progress_handler(
        db.get(), 1, [](void* left) { return --*static_cast<int*>(left) < 0 ? 1 : 0; }, &steps);
    auto result = call();
    sqlite3_progress_handler(db.get(), 0, nullptr, nullptr);
    return result;
  }
  // What url_keys_new and the runs hold, as hash -> id; fails the test if a hash is stored
  // twice (in url_keys_new and a run, or in two runs).
  std::map<std::int64_t, std::int64_t> all_keys() {
    std::map<std::int64_t, std::int64_t> keys;
    std::vector<std::string> tables = run_tables();
    tables.push_back("url_keys_new");
    for (const auto& level : tables) {
      auto stmt = must(storage::prepare(db.get(), "SELECT hash, id FROM " + level));
      while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
        const bool fresh =
            keys.emplace(sqlite3_column_int64(stmt.get(), 0), sqlite3_column_int64(stmt.get(), 1))
                .second;
        if (!fresh) FAIL("hash " << sqlite3_column_int64(stmt.get(), 0) << " stored twice");
      }
    }
    return keys;
  }
};

TEST_CASE("url_keys: new URLs get ids in discovery order after the highest in urls",
          "[storage][url_keys]") {
  KeysFixture f;
  auto keys = f.keys();
  must(keys->begin());
  CHECK(must(keys->find(12345)) == 0);
  CHECK(keys->new_id(12345) == 1);
  CHECK(keys->new_id(999) == 2);
  // Another writer (the coordinator's seeds) took ids meanwhile: the next batch continues
  // after them.
  storage_test::exec(f.db.get(),
                     "INSERT INTO urls(id, url, host, depth, state, discovered_at) "
                     "VALUES (7, 'http://a.test/', 'a.test', 0, 'queued', 't')");
  must(keys->begin());
  CHECK(keys->new_id(5) == 8);
  must(keys->add(5, 8));
  CHECK(must(keys->find(5)) == 8);
  CHECK(keys->counts().new_level == 1);
}

TEST_CASE("url_keys: a database with hash ids gives a new URL its hash", "[storage][url_keys]") {
  KeysFixture f;
  storage_test::exec(f.db.get(), "UPDATE url_ids SET scheme = 'hash'");
  auto keys = f.keys();
  must(keys->begin());
  CHECK(keys->new_id(4242424242) == 4242424242);
}

TEST_CASE("url_keys: without its url_ids row the database is refused with the reason",
          "[storage][url_keys]") {
  KeysFixture f;
  storage_test::exec(f.db.get(), "DELETE FROM url_ids");
  auto keys = storage::UrlKeys::create(f.db.get());
  REQUIRE_FALSE(keys);
  CHECK(keys.error().context.find("url_ids") != std::string::npos);
}

// Keys move into runs and runs are compacted as batches add them: every key stays findable
// under its id, stored once, and compactions leave few runs. The Bloom filter in front of
// the runs must never hide a key: with room to spare, and saturated (a bound of 8 bytes, 64
// bits for thousands of keys).
TEST_CASE("url_keys: keys move into runs, runs are compacted, and every key stays findable",
          "[storage][url_keys]") {
  KeysFixture f;
  storage::UrlKeysOptions options;
  options.merge_rows = 50;
  options.fan_in = GENERATE(2, 4);
  options.filter_max_bytes = GENERATE(std::size_t{16} << 20, std::size_t{8});
  auto keys = f.keys(options);
  std::mt19937_64 rng(GENERATE(1, 2, 3));
  std::map<std::int64_t, std::int64_t> added;
  // The ends of the hash space as well as random hashes.
  std::vector<std::int64_t> hashes = {0, 1, INT64_MAX, INT64_MAX - 1};
  for (int i = 0; i < 3000; ++i) hashes.push_back(static_cast<std::int64_t>(rng() >> 1));
  int compacting_batches = 0;
  int batches = 0;
  int checked_compacting = 0;  // checks of every key while a compaction was under way
  std::int64_t most_runs = 0;
  std::size_t next = 0;
  while (next < hashes.size()) {
    storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
    must(keys->begin());
    const std::size_t batch = 1 + rng() % 40;
    for (std::size_t i = 0; i < batch && next < hashes.size(); ++i, ++next) {
      const std::int64_t hash = hashes[next];
      if (added.count(hash) != 0) continue;
      REQUIRE(must(keys->find(hash)) == 0);
      const std::int64_t id = keys->new_id(hash);
      must(keys->add(hash, id));
      added[hash] = id;
      f.add_url_row(id);
    }
    must(keys->maintain());
    if (keys->compacting()) ++compacting_batches;
    storage_test::exec(f.db.get(), "COMMIT");
    const auto counts = keys->counts();
    REQUIRE(counts.new_level + counts.in_runs == static_cast<std::int64_t>(added.size()));
    REQUIRE(counts.new_level < options.merge_rows);
    REQUIRE(counts.runs == static_cast<std::int64_t>(f.run_tables().size()));
    most_runs = std::max(most_runs, counts.runs);
    // Mid-compaction too, every key so far is found (probes skip the runs that cannot hold it).
    if (++batches % 20 == 0) {
      if (keys->compacting()) ++checked_compacting;
      for (const auto& [hash, id] : added) REQUIRE(must(keys->find(hash)) == id);
    }
  }
  CHECK(compacting_batches > 10);
  CHECK(checked_compacting > 0);
  CHECK(keys->filter_bytes() > 0);
  CHECK(keys->filter_bytes() <= options.filter_max_bytes);
  CHECK(f.all_keys() == added);
  for (const auto& [hash, id] : added) REQUIRE(must(keys->find(hash)) == id);
  const auto counts = keys->counts();
  CHECK(counts.new_level == query_int(f.db.get(), "SELECT count(*) FROM url_keys_new"));
  CHECK(counts.in_runs == f.keys_in_runs());
  // ~60 runs were written; compaction keeps fewer than fan_in - 1 per tier (with log_fan_in(60)
  // tiers), plus the runs of a compaction under way and those that came meanwhile.
  INFO(most_runs << " runs at most");
  CHECK(most_runs <= 4 * options.fan_in + 4);
  std::int64_t largest = 0;
  for (const auto& table : f.run_tables()) {
    largest = std::max(largest, query_int(f.db.get(), "SELECT count(*) FROM " + table));
  }
  CHECK(largest > 4 * options.merge_rows);
  // ids are 1..n in the order the keys were added.
  std::vector<std::int64_t> ids;
  for (const auto& entry : added) ids.push_back(entry.second);
  std::sort(ids.begin(), ids.end());
  CHECK(ids.front() == 1);
  CHECK(ids.back() == static_cast<std::int64_t>(ids.size()));
  // A new UrlKeys on the same database (a resumed crawl, a compaction cut short) counts the
  // runs as they are and finds every key; readers on their own connection find them too.
  auto reopened = f.keys(options);
  CHECK(reopened->counts().in_runs == counts.in_runs);
  CHECK(reopened->counts().runs == counts.runs);
  CHECK_FALSE(reopened->compacting());
  for (const auto& [hash, id] : added) REQUIRE(must(reopened->find(hash)) == id);
  for (const auto& [hash, id] : added) REQUIRE(must(storage::read_url_id(f.db.get(), hash)) == id);
  // Its first maintain() drops the part table a compaction cut short left (if the first
  // UrlKeys was compacting, as in most of these cases), and any it starts is its own.
  const auto part_tables = [&] {
    return query_int(f.db.get(),
                     "SELECT count(*) FROM sqlite_master WHERE name GLOB 'url_keys_part_*'");
  };
  CHECK(part_tables() == (keys->compacting() ? 1 : 0));
  storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
  must(reopened->begin());
  must(reopened->maintain());
  storage_test::exec(f.db.get(), "COMMIT");
  CHECK(part_tables() == (reopened->compacting() ? 1 : 0));
  CHECK(f.all_keys() == added);
  // Hashes never added are not found, whatever the filter lets through.
  for (int i = 0; i < 1000; ++i) {
    const auto hash = static_cast<std::int64_t>(rng() >> 1);
    if (added.count(hash) == 0) {
      REQUIRE(must(reopened->find(hash)) == 0);
      REQUIRE(must(storage::read_url_id(f.db.get(), hash)) == 0);
    }
  }
}

// Two UrlKeys on one database (the coordinator's seeds and the parser's store): keys the one
// merges must stay findable through the other, whose filter never saw them move.
TEST_CASE("url_keys: keys another UrlKeys merged are found after the next begin()",
          "[storage][url_keys]") {
  KeysFixture f;
  auto reader = f.merging_keys(10);
  auto merger = f.merging_keys(10);
  std::map<std::int64_t, std::int64_t> added;
  storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
  must(merger->begin());
  for (std::int64_t hash = 1000; hash < 1030; ++hash) {
    const std::int64_t id = merger->new_id(hash);
    must(merger->add(hash, id));
    added[hash] = id;
  }
  must(merger->maintain());
  storage_test::exec(f.db.get(), "COMMIT");
  REQUIRE(query_int(f.db.get(), "SELECT count(*) FROM url_keys_new") == 0);
  must(reader->begin());
  for (const auto& [hash, id] : added) REQUIRE(must(reader->find(hash)) == id);
  CHECK(reader->counts().new_level == 0);
  CHECK(reader->counts().in_runs == 30);
}

// The coordinator adds seeds through a UrlKeys of its own while the parser's lives on: keys one
// appends to url_keys_new (no merge, so no reload) must be found through the other, whose copy
// of the level in memory learns them at its next begin().
TEST_CASE("url_keys: keys another UrlKeys added are found after the next begin()",
          "[storage][url_keys]") {
  KeysFixture f;
  auto parser = f.keys();
  auto seeds = f.keys();
  storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
  must(parser->begin());
  must(parser->add(500, parser->new_id(500)));
  f.add_url_row(1);
  storage_test::exec(f.db.get(), "COMMIT");
  storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
  must(seeds->begin());
  CHECK(must(seeds->find(500)) == 1);  // appended after it loaded the level
  const std::int64_t seed_id = seeds->new_id(600);
  CHECK(seed_id == 2);
  must(seeds->add(600, seed_id));
  f.add_url_row(seed_id);
  storage_test::exec(f.db.get(), "COMMIT");
  storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
  must(parser->begin());
  CHECK(must(parser->find(600)) == seed_id);
  CHECK(must(parser->find(500)) == 1);
  CHECK(parser->counts().new_level == 2);
  CHECK(parser->new_id(700) == 3);
  storage_test::exec(f.db.get(), "COMMIT");
  // Appended in the order they came, whichever UrlKeys added them.
  CHECK(storage_test::query_text(f.db.get(),
                                 "SELECT group_concat(hash) FROM (SELECT hash FROM "
                                 "url_keys_new ORDER BY seq)") == "500,600");
}

// begin() can fail part way too, and the store then calls rollback() as after any failed
// batch. What begin() saved is then an older transaction's, or, in a new UrlKeys, nothing:
// the next begin() must read the runs again. Here on a database whose keys are all in a run
// and whose url_ids.merges never moved (as migration 3 -> 4 -> 8 leaves one), so nothing
// else would make it reload.
TEST_CASE("url_keys: a begin() that fails part way and is rolled back hides no key",
          "[storage][url_keys]") {
  KeysFixture f;
  storage_test::exec(f.db.get(),
                     "CREATE TABLE url_keys_run_3 (hash INTEGER PRIMARY KEY, id INTEGER NOT NULL); "
                     "INSERT INTO url_keys_run_3 VALUES (11, 1), (22, 2), (33, 3); "
                     // Not a run (GLOB 'url_keys_run_[0-9]*' matches it): never read as one.
                     "CREATE TABLE url_keys_run_3_old (hash INTEGER PRIMARY KEY, id INTEGER); "
                     "INSERT INTO url_keys_run_3_old VALUES (44, 4)");
  for (int steps_before_failure = 0; steps_before_failure < 80; ++steps_before_failure) {
    auto keys = f.keys();
    REQUIRE(keys->counts().in_runs == 3);
    storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
    const bool begun =
        static_cast<bool>(f.interrupted_after(steps_before_failure, [&] { return keys->begin(); }));
    if (sqlite3_get_autocommit(f.db.get()) == 0) storage_test::exec(f.db.get(), "ROLLBACK");
    if (!begun) keys->rollback();
    storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
    must(keys->begin());
    INFO("begin() interrupted after " << steps_before_failure << " steps: " << begun);
    CHECK(must(keys->find(22)) == 2);
    CHECK(must(keys->find(44)) == 0);
    CHECK(keys->counts().in_runs == 3);
    storage_test::exec(f.db.get(), "COMMIT");
  }
}

// A batch can fail anywhere in maintain() (here SQLite is interrupted after a random number
// of steps) and be rolled back; the same UrlKeys goes on. Every committed key must stay
// findable, and after begin() the counts are those of the tables again.
TEST_CASE("url_keys: a maintain() interrupted anywhere and rolled back loses no key",
          "[storage][url_keys]") {
  KeysFixture f;
  auto keys = f.merging_keys(20, 3);
  std::mt19937_64 rng(7);
  int compacting = 0;
  std::map<std::int64_t, std::int64_t> committed;
  int failed = 0;
  int begins_failed = 0;
  for (int round = 0; round < 300; ++round) {
    storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
    if (round % 4 == 3) {
      // begin() itself fails part way (it reads url_ids, url_keys_new's new rows, urls), and
      // the store rolls back as after any failed batch.
      const auto begun =
          f.interrupted_after(static_cast<int>(rng() % 60), [&] { return keys->begin(); });
      if (!begun) {
        ++begins_failed;
        if (sqlite3_get_autocommit(f.db.get()) == 0) storage_test::exec(f.db.get(), "ROLLBACK");
        keys->rollback();
        continue;
      }
    } else {
      must(keys->begin());
    }
    std::map<std::int64_t, std::int64_t> batch;
    for (int i = 0; i < 15; ++i) {
      const auto hash = static_cast<std::int64_t>(rng() >> 1);
      const std::int64_t id = keys->new_id(hash);
      must(keys->add(hash, id));
      f.add_url_row(id);
      batch[hash] = id;
    }
    // Often enough steps to finish, often not.
    const auto result =
        f.interrupted_after(static_cast<int>(rng() % 4000), [&] { return keys->maintain(); });
    if (result) {
      if (keys->compacting()) ++compacting;
      storage_test::exec(f.db.get(), "COMMIT");
      committed.insert(batch.begin(), batch.end());
    } else {
      ++failed;  // an interrupted write may have rolled the transaction back already
      if (sqlite3_get_autocommit(f.db.get()) == 0) storage_test::exec(f.db.get(), "ROLLBACK");
      keys->rollback();
    }
    // Every committed key is found in the next transaction, as the store looks keys up.
    storage_test::exec(f.db.get(), "BEGIN IMMEDIATE");
    must(keys->begin());
    for (const auto& [hash, id] : committed) REQUIRE(must(keys->find(hash)) == id);
    storage_test::exec(f.db.get(), "COMMIT");
  }
  INFO(failed << " of 300 rounds interrupted in maintain(), " << begins_failed << " in begin()");
  CHECK(failed > 10);
  CHECK(begins_failed > 10);
  CHECK(compacting > 10);
  CHECK(committed.size() > 1000);
  CHECK(f.all_keys() == committed);
  CHECK(keys->counts().new_level == query_int(f.db.get(), "SELECT count(*) FROM url_keys_new"));
  CHECK(keys->counts().in_runs == f.keys_in_runs());
}

}  // namespace

#pragma once
// Frontier: the persistent queue of URLs waiting to be fetched, as the coordinator sees it.
// The parser process adds to it (ResultStore::write_batch); the coordinator reads it in
// discovery order. SqliteFrontier is the embedded implementation.
//
// Also the crawl-level bookkeeping the coordinator does before and after the workers run
// (seeds, the crawls table), while it is the database's only user.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/sqlite_handles.h"

namespace storage {

struct FrontierEntry {
  std::int64_t seq = 0;     // discovery order; unique
  std::int64_t url_id = 0;  // urls.id of url
  std::string url;
  int depth = 0;
};

class Frontier {
 public:
  virtual ~Frontier() = default;
  // Up to `limit` queued URLs with seq > after_seq, in seq order.
  [[nodiscard]] virtual common::Result<std::vector<FrontierEntry>> next_batch(
      std::int64_t after_seq, std::size_t limit) = 0;
  // Number of URLs waiting in the frontier.
  [[nodiscard]] virtual common::Result<std::int64_t> size() = 0;
};

// Reads through its own connection; may run while another process writes (WAL).
class SqliteFrontier final : public Frontier {
 public:
  [[nodiscard]] static common::Result<std::unique_ptr<SqliteFrontier>> create(SqliteDb db);
  common::Result<std::vector<FrontierEntry>> next_batch(std::int64_t after_seq,
                                                        std::size_t limit) override;
  common::Result<std::int64_t> size() override;

 private:
  explicit SqliteFrontier(SqliteDb db) : db_(std::move(db)) {}
  SqliteDb db_;
  SqliteStmt select_batch_;
};

struct Seed {
  std::string url;  // normalized
  std::string host;
};

// Queues each seed at depth 0 unless already known (a resumed crawl); a seed skipped
// earlier (e.g. out of a scope since widened) is queued again. Returns how many were queued.
[[nodiscard]] common::Result<std::int64_t> add_seeds(sqlite3* db, const std::vector<Seed>& seeds);

// The crawls table: one row per `crawler crawl` run.
[[nodiscard]] common::Result<std::int64_t> begin_crawl(sqlite3* db, const std::string& options_json);
[[nodiscard]] common::Result<void> finish_crawl(sqlite3* db, std::int64_t crawl_id,
                                                const std::string& status, std::int64_t pages);

// Removes every crawl result so the next crawl starts over (`crawl --fresh`).
[[nodiscard]] common::Result<void> clear_crawl(sqlite3* db);

// ISO 8601 UTC with milliseconds, as stored in the *_at columns: now, or at a Unix time.
std::string now_iso8601();
std::string iso8601_utc(double unix_s);

}  // namespace storage

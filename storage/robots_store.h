#pragma once
// The robots.txt of each origin, as fetched during a crawl (table `robots`, plus `sitemaps`).
// The parser process writes records (ResultStore::write_robots); the coordinator reads them
// back (RobotsStore::load) to decide which URLs of an origin may be fetched, so a resumed
// crawl reuses what an earlier run fetched. SqliteRobotsStore is the embedded implementation.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/sqlite_handles.h"

namespace storage {

// How a robots.txt fetch ended, per RFC 9309 section 2.3.1.
enum class RobotsAccess {
  Rules,        // 2xx: the file's rules apply
  AllowAll,     // 4xx, or more than 5 redirects: no restrictions
  DisallowAll,  // 5xx, 429, timeout or unreachable: nothing may be fetched (for now)
};
const char* robots_access_name(RobotsAccess access);  // "rules", "allow_all", "disallow_all"
std::optional<RobotsAccess> robots_access_from_name(std::string_view name);

struct RobotsRecord {
  std::string origin;             // scheme://host[:port]
  std::string url;                // after redirects
  int status = 0;                 // 0: no response (error says why)
  double fetched_at_s = 0;        // Unix time
  RobotsAccess access = RobotsAccess::AllowAll;
  std::string body;               // the first 500 KiB
  double crawl_delay_s = -1;      // -1: none for our agent
  std::string error, error_detail;
  int attempts = 1;
  std::vector<std::string> sitemaps;  // written only (load leaves it empty)
};

class RobotsStore {
 public:
  virtual ~RobotsStore() = default;
  // The stored record of `origin`, or nullopt if its robots.txt was never fetched.
  [[nodiscard]] virtual common::Result<std::optional<RobotsRecord>> load(
      const std::string& origin) = 0;
};

// Reads through its own (read-only) connection while the parser process writes.
class SqliteRobotsStore final : public RobotsStore {
 public:
  [[nodiscard]] static common::Result<std::unique_ptr<SqliteRobotsStore>> create(SqliteDb db);
  common::Result<std::optional<RobotsRecord>> load(const std::string& origin) override;

 private:
  explicit SqliteRobotsStore(SqliteDb db) : db_(std::move(db)) {}
  SqliteDb db_;
  SqliteStmt select_;
};

// Stores `record`, replacing the origin's earlier one and its sitemaps, in the caller's
// transaction (if any). Except when `record` is unreachable (DisallowAll) and the earlier one
// is not: then the earlier rules stay (RFC 9309 2.4), with fetched_at and attempts of this
// attempt, error 'refresh_failed' and error_detail saying how it failed.
[[nodiscard]] common::Result<void> write_robots(sqlite3* db, const RobotsRecord& record);

}  // namespace storage

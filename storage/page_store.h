#pragma once
// ResultStore: where the parser process writes fetched pages, their links, and the URLs they
// add to the frontier. SqlitePageStore is the embedded implementation; a PostgreSQL one can
// implement the same interface later.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "storage/robots_store.h"
#include "storage/sqlite_handles.h"
#include "storage/url_keys.h"
#include "storage/wal_checkpointer.h"

namespace storage {

struct PageRecord {
  std::int64_t url_id = 0;  // urls.id of url (the task's)
  std::string url;          // the URL as queued (normalized)
  std::string final_url;    // after redirects; "" if the fetch failed before a response
  int status = 0;           // HTTP status; 0 when there was no response (error is set)
  std::string content_type;
  std::string title;
  std::int64_t size_bytes = 0;  // body bytes received (decompressed)
  double fetched_at_s = 0;      // Unix time, seconds
  std::string error;            // "" on success; else a kind: dns, connect, timeout, ...
  std::string error_detail;     // the library's message
  int redirect_count = 0;
  std::int64_t fetch_ms = 0;
  int attempts = 1;
  bool noindex = false;
  std::string canonical;
  std::string text;  // visible text for full-text search; "" = none stored
};

struct LinkRecord {
  std::string url;          // normalized absolute URL
  std::string host;         // its host, for the urls table
  bool follow = false;      // in scope and not nofollow: may be queued
  std::string skip_reason;  // when !follow: out_of_scope, nofollow, ...
};

struct PageWrite {
  PageRecord page;
  std::vector<LinkRecord> links;  // distinct
};

struct WriteSummary {
  std::int64_t pages = 0;
  std::int64_t urls_queued = 0;  // new rows in the frontier
};

class ResultStore {
 public:
  virtual ~ResultStore() = default;

  // Stores each page (replacing nothing: a URL is stored once), its outgoing links, and
  // queues every followable link target not seen before, at the page's depth + 1, unless
  // that is past the depth limit. All of one batch commits in one transaction, so a page is
  // never stored without its links and queued targets, and vice versa.
  [[nodiscard]] virtual common::Result<WriteSummary> write_batch(
      const std::vector<PageWrite>& batch) = 0;

  // Stores an origin's robots.txt outcome (replacing an earlier one) in its own transaction.
  [[nodiscard]] virtual common::Result<void> write_robots(const RobotsRecord& record) = 0;
};

// What may be queued. A followable link past a limit is recorded as skipped with the reason.
struct PageStoreOptions {
  int max_depth = -1;                     // -1: unlimited ("max_depth")
  std::int64_t max_pages_per_host = 0;    // URLs queued per host, all runs; 0: unlimited
                                          // ("max_pages_per_host")
  std::int64_t max_query_variants = 0;    // URLs with a query per scheme://host/path, a trap
                                          // guard; 0: unlimited ("query_variants")
  int checkpoint_pages = 0;               // > 0: checkpoint the WAL past this many pages on a
                                          // thread of its own (WalCheckpointer); 0: SQLite's
                                          // auto-checkpoint, on the committing thread
  // A sign of life for a watchdog while the store works, however long one commit takes (an
  // FTS5 merge, a slow disk): called every kHeartbeatSteps virtual machine steps of SQLite on
  // the store's connection, and every 250 ms while a commit waits for a WAL checkpoint
  // (WalCheckpointer). Not while the kernel writes or syncs a file. Empty: none.
  std::function<void()> heartbeat;
};

// Not thread-safe: one per process. The database must be open for writing (schema.h).
class SqlitePageStore final : public ResultStore {
 public:
  static constexpr int kHeartbeatSteps = 10'000;  // a clock read or so per call: far below them

  [[nodiscard]] static common::Result<std::unique_ptr<SqlitePageStore>> create(
      SqliteDb db, PageStoreOptions options);
  ~SqlitePageStore() override;
  common::Result<WriteSummary> write_batch(const std::vector<PageWrite>& batch) override;
  common::Result<void> write_robots(const RobotsRecord& record) override;

  // The memory write_batch holds per link of the batch while it runs (at most; freed when it
  // returns), for callers that bound a batch's memory.
  static std::size_t working_bytes_per_link();

 private:
  SqlitePageStore(SqliteDb db, PageStoreOptions options)
      : db_(std::move(db)), options_(options) {}
  // A link target of the batch being written: what the urls table held before the batch
  // (looked up in hash order), or the row the batch adds (written at its end).
  struct Target {
    enum class Kind : std::uint8_t { kUnknown, kStored, kAdded };
    std::int64_t hash = 0;  // common::url_id(url)
    std::int64_t id = 0;    // urls.id; 0 until known (read) or given (kAdded)
    bool keyed = false;     // url_keys has hash -> id already
    Kind kind = Kind::kUnknown;
    bool skipped = false;              // state 'skipped' (kAdded: not queued)
    bool written = false;              // kAdded: its urls (and frontier) rows are written; its
                                       // url_keys row follows in hash order (write_links)
    int depth = 0;
    std::int64_t seq = 0;              // kAdded and queued: its frontier seq
    std::string_view reason;           // kAdded and skipped: why
    const LinkRecord* link = nullptr;  // kAdded: the link that found it (url, host)
  };
  struct PendingLink {  // a link of the batch being written, in batch order
    std::int64_t from_id;
    std::int64_t to_hash;
    std::size_t target;  // index in targets_
    const LinkRecord* link;
  };
  struct BatchPage {  // a page the batch stores
    int depth;        // kept current when a shorter path to it turns up in the batch
    std::size_t first_link, end_link;  // its links in links_
  };

  static int on_progress(void* self) noexcept;  // SQLite's progress handler: the heartbeat
  common::Result<void> prepare_statements();
  common::Result<void> load_counts();
  // Why a followable URL must not be queued (a limit of PageStoreOptions), or "". Counts it
  // as queued when it may be.
  std::string_view admit(const std::string& url, const std::string& host);
  common::Result<void> write_batch_rows(const std::vector<PageWrite>& batch, WriteSummary& summary);
  // Stores the page's own rows. Returns its depth (the urls row's), or nullopt if the page
  // was stored before (a page is stored once).
  common::Result<std::optional<int>> write_page(const PageWrite& write, WriteSummary& summary);
  // The text of the batch's new pages, in url_id order (why: page_store.cpp).
  common::Result<void> write_texts();
  common::Result<void> read_targets();
  common::Result<void> add_link(int from_depth, Target& target, const LinkRecord& link,
                                WriteSummary& summary);
  common::Result<void> write_links(const std::vector<std::size_t>& order);
  common::Result<void> improve_depth(std::int64_t url_id, int depth, WriteSummary& summary);
  common::Result<void> enqueue(std::int64_t url_id, const std::string& url, int depth,
                               WriteSummary& summary);
  Target* find_target(std::int64_t id);
  void give_id(std::size_t target_index, std::int64_t id);
  void release_batch();

  SqliteDb db_;  // declared first: the statements below must die before it
  std::unique_ptr<WalCheckpointer> checkpointer_;  // null unless options_.checkpoint_pages
  PageStoreOptions options_;
  std::unique_ptr<UrlKeys> keys_;
  std::unordered_map<std::string, std::int64_t> per_host_;        // when max_pages_per_host
  std::unordered_map<std::uint64_t, std::int64_t> per_path_;      // when max_query_variants
  // The batch being written (write_batch); empty between batches.
  std::vector<Target> targets_;                                 // sorted by hash
  std::unordered_map<std::int64_t, std::size_t> target_by_id_;  // id -> index in targets_
  std::vector<PendingLink> links_;
  std::unordered_map<std::int64_t, BatchPage> batch_pages_;
  std::vector<const PageRecord*> texts_;  // the batch's new pages with text (write_texts)
  std::int64_t last_seq_ = 0;  // the frontier's highest seq so far
  std::size_t links_decided_ = 0;  // links_[0, links_decided_) are decided (step 3)
  SqliteStmt insert_page_, select_url_, insert_url_, update_url_depth_, update_url_state_,
      update_url_reason_, insert_frontier_, delete_frontier_, update_frontier_depth_, insert_edge_,
      select_edges_, update_page_depth_, insert_text_row_, insert_text_;
};

}  // namespace storage

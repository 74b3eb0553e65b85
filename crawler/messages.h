#pragma once
// The messages our processes exchange (docs/ARCHITECTURE.md, "Channels"). Each is encoded
// with common::Writer as a u8 type tag followed by its fields in declaration order
// (Committed: urls_queued first, then a u32 count and the tasks).
// decode_* are total: a malformed message yields false, never UB.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crawler {

enum class MessageType : std::uint8_t {
  Task = 1,        // coordinator -> fetchers (task queue)
  Stop = 2,        // coordinator -> fetchers (task queue), coordinator -> parser (control)
  Took = 10,       // fetcher -> coordinator (events): a fetcher started a task
  Committed = 11,  // parser -> coordinator (events): results durable in the database
  Fetched = 12,    // fetcher -> coordinator (events): a transfer ended (frees its host slot)
  // 13 was Parsing (a breadcrumb per page); the parser now marks pages in ParseSlots.
  Result = 20,     // fetcher -> parser (results stream)
};

enum class TaskKind : std::uint8_t {
  Page = 0,    // a frontier URL: stored in pages
  Robots = 1,  // an origin's /robots.txt: stored in robots (5 redirects, first 500 KiB kept)
};

// Coordinator -> fetcher: fetch this URL.
struct Task {
  std::int64_t seq = 0;     // frontier seq (robots.txt fetches: negative): the task's identity
  std::int64_t url_id = 0;
  std::int32_t depth = 0;
  std::int32_t attempt = 1;
  std::string url;
  TaskKind kind = TaskKind::Page;
};

// Fetcher -> coordinator: `pid` started `seq` at `started_ms` (CLOCK_MONOTONIC).
struct Took {
  std::int32_t pid = 0;
  std::int64_t seq = 0;
  std::int64_t started_ms = 0;
};

// Fetcher -> coordinator: `seq` ended (before its result reaches the parser), so the host
// scheduler can free the slot at once instead of waiting for the parser's batched commit.
struct Fetched {
  std::int64_t seq = 0;
  std::int32_t status = 0;          // 0: no HTTP response
  std::int64_t retry_after_s = -1;  // Retry-After header, -1 if absent
  bool retry = false;  // a transient failure under --max-attempts: requeue, nothing was stored
  bool host_trouble = false;  // timeout, connection failure, 429 or 5xx: the host backs off
  std::int64_t sent_ms = 0;   // CLOCK_MONOTONIC ms when the request went out; 0 if it never did
};

// Fetcher -> parser: the outcome of one task.
struct FetchResult {
  Task task;
  std::string final_url;
  std::int32_t status = 0;  // 0: no HTTP response (error_kind says why)
  std::int32_t redirect_count = 0;
  std::string content_type;
  std::string error_kind;   // "" on success
  std::string error_detail;
  std::int64_t retry_after_s = -1;  // Retry-After header, -1 if absent
  std::string x_robots_tag;
  std::int64_t size_bytes = 0;  // body bytes received
  std::int64_t fetch_ms = 0;
  std::int64_t sent_ms = 0;     // CLOCK_MONOTONIC ms the request went out (0: never); not encoded
  double fetched_at_s = 0;      // Unix time the transfer ended
  bool body_kept = false;       // body holds the page (HTML only)
  std::string body;
};

// Parser -> coordinator: these tasks are durable; per task the facts the scheduler uses.
struct CommittedTask {
  std::int64_t seq = 0;
  std::int32_t status = 0;
  std::int64_t retry_after_s = -1;
  std::string error_kind;
};
struct Committed {
  std::vector<CommittedTask> tasks;
  std::int64_t urls_queued = 0;  // new frontier rows in this commit
};

std::string encode(const Task& task);
std::string encode_stop();
std::string encode(const Took& took);
std::string encode(const Fetched& fetched);
std::string encode(const FetchResult& result);
// encode(result) up to its body, which follows it last: encode_head(r) + r.body == encode(r).
// For a writer that sends the body from where it is (FrameWriter::add(head, tail)).
std::string encode_head(const FetchResult& result);
std::string encode(const Committed& committed);

// The type tag of an encoded message, or 0 if empty.
std::uint8_t message_type(std::string_view message);

bool decode(std::string_view message, Task& task);
bool decode(std::string_view message, Took& took);
bool decode(std::string_view message, Fetched& fetched);
bool decode(std::string_view message, FetchResult& result);
bool decode(std::string_view message, Committed& committed);

}  // namespace crawler

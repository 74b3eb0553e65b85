#pragma once
// Fetcher: many HTTP transfers at once in one thread, with libcurl's multi interface driven
// by curl_multi_socket_action and epoll (cost per wake-up does not grow with the number of
// idle transfers).
//
// Policy enforced per transfer: http/https only (also across redirects), at most
// max_redirects, connect and total timeouts, a low-speed cut-off, compressed responses
// accepted, TLS verification on, and a body cap applied by our own write callback to the
// decompressed bytes (so a gzip bomb stops at the cap, whatever Content-Length claims).
// Only HTML bodies are kept; other bodies are counted and dropped. A robots.txt task keeps
// its body whatever the type, cut (not failed) at FetcherConfig::robots_max_bytes.
//
// Not thread-safe: one Fetcher per thread.

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "crawler/curl_handles.h"
#include "crawler/messages.h"

namespace crawler {

struct FetcherConfig {
  std::string user_agent;
  long connect_timeout_ms = 10000;
  long timeout_ms = 30000;
  std::int64_t max_body_bytes = 10 * 1024 * 1024;
  long max_redirects = 10;
  long low_speed_bytes_per_s = 100;
  long low_speed_time_s = 20;
  // robots.txt fetches (TaskKind::Robots): RFC 9309 asks for 5 redirects and at least
  // 500 KiB parsed; a longer file is cut there and counts as fetched, whatever its type.
  long robots_max_redirects = 5;
  std::int64_t robots_max_bytes = 500 * 1024;
  // Connections libcurl keeps open for reuse. Below the number of transfers in flight,
  // finished transfers close connections that the next request to the host must open again
  // (scenario 2 of bench/run: 13,702 connects for 20,100 requests at 256 and 500 in flight).
  long max_connects = 256;
};

// True for Content-Types whose bodies we parse for links (text/html, application/xhtml+xml;
// an absent type counts as HTML, as browsers sniff it).
bool is_html_content_type(std::string_view content_type);

struct Transfer;

class Fetcher {
 public:
  [[nodiscard]] static common::Result<std::unique_ptr<Fetcher>> create(FetcherConfig config);
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Starts fetching task.url. A setup failure shows up as a finished result with an error.
  void start(Task task);
  std::size_t active() const { return transfers_.size() + failed_.size(); }

  // Waits up to max_wait_ms for network activity (or for `watch_fd` to become readable, or
  // `write_fd` writable, if >= 0), advances transfers, and appends finished ones to `done`.
  // Returns whether watch_fd is readable.
  bool poll(int watch_fd, int max_wait_ms, std::vector<FetchResult>& done, int write_fd = -1);

 private:
  Fetcher(FetcherConfig config, CurlMulti multi, common::UniqueFd epoll);
  static int on_socket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp) noexcept;
  static int on_timer(CURLM* multi, long timeout_ms, void* userp) noexcept;
  void collect(std::vector<FetchResult>& done);

  FetcherConfig config_;
  CurlMulti multi_;  // declared before transfers_: easy handles leave it before it dies
  common::UniqueFd epoll_;
  // libcurl's one-shot timer (CURLMOPT_TIMERFUNCTION): when it is due, CLOCK_MONOTONIC ms;
  // -1 = none. Cleared when it fires: treating it as repeating spins on a 0 ms timeout.
  std::int64_t timer_due_ms_ = -1;
  std::list<std::unique_ptr<Transfer>> transfers_;
  std::vector<FetchResult> failed_;  // transfers that failed before starting
  int watched_fd_ = -1;              // the extra fd currently registered in epoll_ (EPOLLIN)
  int watched_write_fd_ = -1;        // the one registered for EPOLLOUT
};

}  // namespace crawler

// The fetcher process: a loop around Fetcher, between the shared task queue and the parser.

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include <cstdlib>
#include <iostream>

#include "crawler/fetcher.h"
#include "crawler/ipc.h"
#include "crawler/messages.h"
#include "crawler/workers.h"

namespace crawler {

namespace {

common::Result<common::UniqueFd> connect_with_retry(const std::string& name) {
  auto fd = connect_abstract(name);
  for (int i = 0; !fd && i < 100; ++i) {  // the parser may still be starting: up to ~5 s
    ::usleep(50 * 1000);
    fd = connect_abstract(name);
  }
  return fd;
}

}  // namespace

namespace {

constexpr std::size_t kMaxUnsentResultBytes = 4u << 20;

// Worth another attempt: 429, 5xx, timeouts and connection failures (never other 4xx).
bool is_transient_failure(const FetchResult& result) {
  if (result.status == 429 || result.status >= 500) return true;
  return result.status == 0 && (result.error_kind == "timeout" || result.error_kind == "connect" ||
                                result.error_kind == "network");
}

bool should_retry(const FetchResult& result, int max_attempts) {
  return is_transient_failure(result) && result.task.attempt < max_attempts;
}

}  // namespace

int run_fetcher_process(const CrawlOptions& options, const std::string& parser_socket) {
  const FaultInjection faults(kCrashOnUrlEnv, kHangOnUrlEnv);
  const FaultInjection unclaimed_faults(kCrashBeforeTookOnUrlEnv, nullptr);
  auto parser = connect_with_retry(parser_socket);
  if (!parser) {
    std::cerr << "fetcher: " << parser.error().context << '\n';
    return 1;
  }
  FetcherConfig config;
  config.user_agent = options.effective_user_agent();
  config.connect_timeout_ms = static_cast<long>(options.connect_timeout_s * 1000);
  config.timeout_ms = static_cast<long>(options.timeout_s * 1000);
  config.max_body_bytes = options.max_body_bytes;
  config.max_redirects = options.max_redirects;
  config.low_speed_bytes_per_s = static_cast<long>(options.low_speed_bytes_per_s);
  config.low_speed_time_s = options.low_speed_time_s;
  // One idle connection kept per transfer slot, and a few for hosts that just finished.
  config.max_connects = std::max(config.max_connects, static_cast<long>(options.concurrency) + 16);
  auto fetcher = Fetcher::create(config);
  if (!fetcher) {
    std::cerr << "fetcher: " << fetcher.error().context << '\n';
    return 1;
  }
  const auto concurrency = static_cast<std::size_t>(std::max(1, options.concurrency));
  const int pid = static_cast<int>(::getpid());
  const int parser_fd = parser->get();
  // Results go to the parser without blocking, so a busy parser never stalls our transfers;
  // while more than kMaxUnsentResultBytes wait, we take no new tasks (the back-pressure that
  // bounds this buffer: docs/PERFORMANCE.md).
  FrameWriter to_parser;
  auto flush_to_parser = [&](bool wait) {
    for (;;) {
      const IoStatus st = to_parser.flush(parser_fd);
      if (st == IoStatus::Ok) return true;
      if (st != IoStatus::WouldBlock) {
        std::cerr << "fetcher: the parser process is gone\n";
        return false;
      }
      if (!wait) return true;
      pollfd out{parser_fd, POLLOUT, 0};
      ::poll(&out, 1, 1000);
    }
  };
  bool stopping = false;
  std::vector<FetchResult> done;
  std::string message;
  for (;;) {
    auto room = [&] {
      return !stopping && (*fetcher)->active() < concurrency &&
             to_parser.pending_bytes() < kMaxUnsentResultBytes;
    };
    const bool task_ready = (*fetcher)->poll(room() ? kFetcherTaskFd : -1, 1000, done,
                                             to_parser.pending() ? parser_fd : -1);
    if (task_ready) {
      // Take tasks while there is room; another fetcher may win any of them (WouldBlock).
      while (room()) {
        IoStatus st = recv_packet(kFetcherTaskFd, message, Blocking::No);
        if (st == IoStatus::WouldBlock) break;
        if (st != IoStatus::Ok) return 1;  // the coordinator is gone: nobody wants our results
        if (message_type(message) == static_cast<std::uint8_t>(MessageType::Stop)) {
          stopping = true;
          break;
        }
        Task task;
        if (!decode(message, task)) continue;
        unclaimed_faults.act(task.url);  // test-only (workers.h)
        // Claim the task before touching it: if this process dies from here on, the
        // coordinator knows which tasks to requeue.
        Took took{pid, task.seq, monotonic_ms()};
        if (send_packet(kFetcherEventFd, encode(took), Blocking::Yes) != IoStatus::Ok) return 1;
        faults.act(task.url);  // test-only (workers.h)
        (*fetcher)->start(std::move(task));
      }
    }
    for (auto& result : done) {
      Fetched fetched{result.task.seq, result.status, result.retry_after_s};
      fetched.retry = should_retry(result, options.max_attempts);
      fetched.host_trouble = is_transient_failure(result);
      fetched.sent_ms = result.sent_ms;
      if (send_packet(kFetcherEventFd, encode(fetched), Blocking::Yes) != IoStatus::Ok) return 1;
      if (fetched.retry) continue;  // the coordinator requeues it; nothing is stored yet
      // Never false: a body is at most 200 MiB (--max-body), a frame may be 256 MiB.
      // The body goes out from where it is, not copied into the message.
      std::string head = encode_head(result);
      (void)to_parser.add(std::move(head), std::move(result.body));
    }
    done.clear();
    if (to_parser.pending() && !flush_to_parser(false)) return kExitParserGone;
    if (stopping && (*fetcher)->active() == 0) return flush_to_parser(true) ? 0 : kExitParserGone;
  }
}

}  // namespace crawler

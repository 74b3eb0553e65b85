// The parser process: receives fetch results, extracts links, applies scope, and writes
// pages, links and newly queued URLs to the result store in batched transactions. It is the
// only writer of the database while a crawl runs.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>

#include "common/hash.h"
#include "crawler/batch_policy.h"
#include "crawler/batch_writer.h"
#include "crawler/ipc.h"
#include "crawler/link_filter.h"
#include "crawler/messages.h"
#include "crawler/parse_pool.h"
#include "crawler/parse_slots.h"
#include "crawler/scope.h"
#include "crawler/workers.h"
#include "parser/links.h"
#include "parser/robots.h"
#include "parser/url.h"
#include "storage/page_store.h"
#include "storage/schema.h"

namespace crawler {

namespace {

constexpr std::size_t kMaxSitemaps = 1000;  // Sitemap lines stored per robots.txt
// The parser's SQLite page cache. Every link is a lookup and usually an insert into three
// B-trees keyed by hash (urls, frontier_by_url, link_edges_by_target), i.e. at random places;
// with SQLite's default 2 MiB cache a large crawl spends most of its time in pread() for pages
// that were just evicted. 96 MiB holds the interior pages of tables with tens of millions of
// rows. Bounded: it is the largest memory user of the crawl (docs/PERFORMANCE.md).
constexpr int kParserCacheKiB = 96 * 1024;
// WAL size at which it is checkpointed (SQLite's default is 1000 pages, 4 MiB with 4 KiB
// pages): a longer WAL lets a page written many times be copied back once, and fsyncs less
// often. SQLite counts it in pages, so it is divided by the database's page size. The
// checkpoints run on a thread of their own (PageStoreOptions::checkpoint_pages).
constexpr std::int64_t kParserWalCheckpointBytes = std::int64_t{64} << 20;

bool has_token(std::string_view list, std::string_view token) {
  std::string lower(list);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::size_t pos = 0;
  while ((pos = lower.find(token, pos)) != std::string::npos) {
    const bool left = pos == 0 || !std::isalnum(static_cast<unsigned char>(lower[pos - 1]));
    const std::size_t end = pos + token.size();
    const bool right = end == lower.size() || !std::isalnum(static_cast<unsigned char>(lower[end]));
    if (left && right) return true;
    pos = end;
  }
  return false;
}

common::Result<std::vector<std::string>> load_seed_hosts(sqlite3* db) {
  auto stmt = storage::prepare(db, "SELECT DISTINCT host FROM urls WHERE depth = 0");
  if (!stmt) return common::error_of(stmt);
  std::vector<std::string> hosts;
  while (sqlite3_step(stmt->get()) == SQLITE_ROW) {
    hosts.push_back(storage::column_text(stmt->get(), 0));
  }
  return hosts;
}

// How a robots.txt fetch ended, per RFC 9309 2.3.1: a 2xx gives rules; any other response,
// and too many redirects, no restrictions (4xx "unavailable"; 3xx only when the redirect
// limit or a missing Location leaves one); 429, 5xx and no response at all: unreachable.
storage::RobotsAccess robots_access(const FetchResult& result) {
  if (result.status == 429 || result.status >= 500) return storage::RobotsAccess::DisallowAll;
  if (result.status >= 200 && result.status < 300) return storage::RobotsAccess::Rules;
  if (result.status > 0 || result.error_kind == "too_many_redirects") {
    return storage::RobotsAccess::AllowAll;
  }
  return storage::RobotsAccess::DisallowAll;
}

// About the memory a PageWrite holds: its strings' lengths plus the objects' own sizes
// (allocation slack can add to it; the bound is approximate), and what writing it takes.
std::size_t write_bytes(const storage::PageWrite& write) {
  const storage::PageRecord& p = write.page;
  std::size_t n = sizeof write + p.url.size() + p.final_url.size() + p.title.size() +
                  p.text.size() + p.error_detail.size() + p.canonical.size();
  for (const auto& link : write.links) {
    n += sizeof link + link.url.size() + link.host.size() + link.skip_reason.size() +
         storage::SqlitePageStore::working_bytes_per_link();
  }
  return n;
}

// What the coordinator learns about a task once its result is durable.
CommittedTask committed_task(const FetchResult& result) {
  CommittedTask done;
  done.seq = result.task.seq;
  done.status = result.status;
  done.retry_after_s = result.retry_after_s;
  done.error_kind = result.error_kind;
  return done;
}

// On the writer thread, once `job` is durable: tells the coordinator, in messages of at most
// 256 tasks (far below the packet limit). False if the coordinator cannot be told.
bool send_committed(WriteJob& job, const storage::WriteSummary& summary) {
  auto& tasks = job.committed.tasks;
  for (std::size_t i = 0; i < tasks.size(); i += 256) {
    Committed part;
    part.urls_queued = i == 0 ? summary.urls_queued : 0;
    auto end = std::min(tasks.size(), i + 256);
    part.tasks.assign(std::make_move_iterator(tasks.begin() + static_cast<long>(i)),
                      std::make_move_iterator(tasks.begin() + static_cast<long>(end)));
    if (send_packet(kParserEventFd, encode(part), Blocking::Yes) != IoStatus::Ok) return false;
  }
  return true;
}

// Test-only (kParserSlowCommitOnUrlEnv): before the batch that holds a page whose URL contains
// `url_part`, keeps SQLite busy on the store's connection for `busy_ms`, once per process, as
// a long merge inside a commit would, and says so on stderr. The heartbeat sees that work;
// only Committed comes late.
class SlowCommitStore final : public storage::ResultStore {
 public:
  SlowCommitStore(std::unique_ptr<storage::ResultStore> store, sqlite3* db, std::string url_part,
                  std::int64_t busy_ms)
      : store_(std::move(store)), db_(db), url_part_(std::move(url_part)), busy_ms_(busy_ms) {}

  common::Result<storage::WriteSummary> write_batch(
      const std::vector<storage::PageWrite>& batch) override {
    const bool slow = !done_ && std::any_of(batch.begin(), batch.end(), [this](const auto& w) {
      return w.page.url.find(url_part_) != std::string::npos;
    });
    if (slow) {
      done_ = true;
      std::cerr << "parser: test: a slow commit of " << busy_ms_ << " ms\n";
      const std::int64_t until = monotonic_ms() + busy_ms_;
      // Each query counts to a million (tens of ms); the count is a backstop for a clock
      // that does not move.
      for (int i = 0; i < 100'000 && monotonic_ms() < until; ++i) {
        auto r = storage::query_int(
            db_,
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000) "
            "SELECT count(*) FROM c");
        if (!r) return common::error_of(r);
      }
    }
    return store_->write_batch(batch);
  }
  common::Result<void> write_robots(const storage::RobotsRecord& record) override {
    return store_->write_robots(record);
  }

 private:
  std::unique_ptr<storage::ResultStore> store_;
  sqlite3* db_;  // the store's connection
  std::string url_part_;
  std::int64_t busy_ms_;
  bool done_ = false;
};

std::FILE* open_commit_log() {
  const char* path = std::getenv(kParserCommitLogEnv);
  return path != nullptr && *path ? std::fopen(path, "ae") : nullptr;
}

class ParserWorker {
 public:
  ParserWorker(const CrawlOptions& options, Scope scope, LinkFilter filter)
      : options_(options),
        scope_(std::move(scope)),
        filter_(std::move(filter)),
        agent_token_(options.effective_robots_agent()),
        policy_(batch_limits_for_watchdog(options.watchdog_s)) {
    extract_.agent_token = agent_token_;
    extract_.max_links = static_cast<std::size_t>(std::max(0, options.max_links_per_page));
    extract_.max_text_bytes =
        options.store_text ? static_cast<std::size_t>(std::max<std::int64_t>(0, options.max_text_bytes))
                           : 0;
  }

  // The page record and links of a page result: parses the HTML of a 2xx page. Runs on the
  // parse threads (ParsePool): reads only members that are immutable after construction.
  storage::PageWrite parse(const FetchResult& result) const {
    if (result.body_kept) faults_.act(result.task.url);  // test-only (workers.h)
    storage::PageWrite write;
    storage::PageRecord& page = write.page;
    page.url_id = result.task.url_id;
    page.url = result.task.url;
    page.final_url = result.final_url;
    page.status = result.status;
    page.content_type = result.content_type;
    page.size_bytes = result.size_bytes;
    page.fetched_at_s = result.fetched_at_s;
    page.error = result.error_kind;
    page.error_detail = result.error_detail;
    page.redirect_count = result.redirect_count;
    page.fetch_ms = result.fetch_ms;
    page.attempts = result.task.attempt;
    const bool header_nofollow = has_token(result.x_robots_tag, "nofollow") ||
                                 has_token(result.x_robots_tag, "none");
    page.noindex = has_token(result.x_robots_tag, "noindex") || has_token(result.x_robots_tag, "none");
    if (result.body_kept && result.status >= 200 && result.status < 300) {
      auto base = parser::parse_url(result.final_url.empty() ? result.task.url : result.final_url);
      if (!base) base = parser::parse_url(result.task.url);
      if (base) {
        parser::PageInfo info = parser::extract_page_info(result.body, *base, extract_);
        page.title = std::move(info.title);
        page.canonical = std::move(info.canonical);
        page.text = std::move(info.text);
        page.noindex = page.noindex || info.meta_noindex;
        const bool page_nofollow = header_nofollow || info.meta_nofollow;
        write.links.reserve(info.links.size());
        for (auto& link : info.links) {
          storage::LinkRecord record;
          record.host = std::string(host_of(link.url));
          const std::string_view rejected = filter_.reject_reason(link.url, record.host);
          if (rejected == "url_too_long") {
            record.skip_reason = std::string(rejected);
          } else if (!scope_.allows(record.host)) {
            record.skip_reason = "out_of_scope";
          } else if (!rejected.empty()) {
            record.skip_reason = std::string(rejected);
          } else if ((link.nofollow || page_nofollow) && !options_.follow_nofollow) {
            record.skip_reason = "nofollow";
          } else {
            record.follow = true;
          }
          record.url = std::move(link.url);
          write.links.push_back(std::move(record));
        }
      }
    }
    return write;
  }

  // Adds a parsed page to the batch (main thread).
  void add(const FetchResult& result, storage::PageWrite write) {
    if (job_.pages.empty()) batch_started_ms_ = monotonic_ms();
    job_.committed.tasks.push_back(committed_task(result));
    batch_bytes_ += write_bytes(write);
    job_.pages.push_back(std::move(write));
  }

  // A robots.txt goes into the next job, ahead of its pages, and makes that job due at once:
  // the origin's URLs wait for it (main thread).
  void add_robots(const FetchResult& result) {
    storage::RobotsRecord record;
    record.origin = origin_of(result.task.url);
    record.url = result.final_url.empty() ? result.task.url : result.final_url;
    record.status = result.status;
    record.fetched_at_s = result.fetched_at_s;
    record.access = robots_access(result);
    record.error = result.error_kind;
    record.error_detail = result.error_detail;
    record.attempts = result.task.attempt;
    if (result.status > 0) record.body = result.body.substr(0, parser::kRobotsMaxBytes);
    if (record.access == storage::RobotsAccess::Rules) {
      const auto rules = parser::RobotsRules::parse(record.body, agent_token_);
      if (auto delay = rules.crawl_delay_s()) record.crawl_delay_s = *delay;
      record.sitemaps = rules.sitemaps();
      if (record.sitemaps.size() > kMaxSitemaps) record.sitemaps.resize(kMaxSitemaps);
    }
    job_.robots.push_back(std::move(record));
    job_.committed.tasks.push_back(committed_task(result));
  }

  // Due although results are still waiting (BatchPolicy); else the next idle moment commits.
  bool due(std::int64_t now_ms) const {
    return !job_.robots.empty() ||
           policy_.due(job_.pages.size(), batch_bytes_, batch_started_ms_, now_ms);
  }
  // Something to commit: the next idle moment commits it.
  bool pending() const { return !job_.robots.empty() || !job_.pages.empty(); }
  // At its size limit: must not grow while the writer finishes the last batch.
  bool full() const { return policy_.full(job_.pages.size(), batch_bytes_); }

  // The batch, for the writer; the next one starts empty.
  WriteJob take_job() {
    WriteJob job = std::move(job_);
    job_ = WriteJob{};
    batch_bytes_ = 0;
    return job;
  }
  // A job the writer finished: the next batches are sized from its time.
  void written(const BatchWriter::Finished& finished) {
    policy_.committed(finished.pages, finished.elapsed_ms);
    if (commit_log_) {
      std::fprintf(commit_log_.get(), "%.3f %zu %lld\n", unix_time_s(), finished.pages,
                   static_cast<long long>(finished.elapsed_ms));
      std::fflush(commit_log_.get());
    }
  }

 private:
  const CrawlOptions& options_;
  Scope scope_;
  LinkFilter filter_;
  std::string agent_token_;
  parser::ExtractOptions extract_;
  const FaultInjection faults_{kParserCrashOnUrlEnv, kParserHangOnUrlEnv,
                               kParserStackOverflowOnUrlEnv};
  WriteJob job_;  // the batch being filled
  // kParserCommitLogEnv's file, or null.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> commit_log_{open_commit_log(), &std::fclose};
  std::int64_t batch_started_ms_ = 0;
  std::size_t batch_bytes_ = 0;  // about the memory job_.pages holds (write_bytes)
  BatchPolicy policy_;
};

}  // namespace

int run_parser_process(const CrawlOptions& options) {
  auto db = storage::open_for_writing(options.db_path);
  if (!db) {
    std::cerr << "parser: " << db.error().context << '\n';
    return 1;
  }
  auto page_size = storage::query_int(db->get(), "PRAGMA page_size");
  if (!page_size || *page_size <= 0) {
    std::cerr << "parser: " << (page_size ? "no page size" : page_size.error().context) << '\n';
    return 1;
  }
  const std::string tuning = "PRAGMA cache_size = -" + std::to_string(kParserCacheKiB);
  if (auto r = storage::exec(db->get(), tuning); !r) {
    std::cerr << "parser: " << r.error().context << '\n';
    return 1;
  }
  auto hosts = load_seed_hosts(db->get());
  if (!hosts) {
    std::cerr << "parser: " << hosts.error().context << '\n';
    return 1;
  }
  // The slots first: the heartbeat below writes to them from the writer thread until the
  // writer (which owns the store) is gone, so they must outlive it.
  auto slots = ParseSlots::attach(kParserSlotsFd);
  if (!slots) {
    std::cerr << "parser: " << slots.error().context << '\n';
    return 1;
  }
  install_crash_marker(&*slots);
  sqlite3* const connection = db->get();  // for the test-only SlowCommitStore
  storage::PageStoreOptions store_options;
  // The writer's sign of life for the coordinator's watchdog while a commit runs long (a
  // large FTS5 merge, a wait for a WAL checkpoint): Committed comes only at its end.
  store_options.heartbeat = [shared = &*slots] { shared->writer_alive(monotonic_ms()); };
  store_options.max_depth = options.max_depth;
  store_options.max_pages_per_host = options.max_pages_per_host;
  store_options.max_query_variants = options.max_query_variants;
  store_options.checkpoint_pages = static_cast<int>(kParserWalCheckpointBytes / *page_size);
  auto store = storage::SqlitePageStore::create(std::move(*db), store_options);
  if (!store) {
    std::cerr << "parser: " << store.error().context << '\n';
    return 1;
  }
  auto filter = LinkFilter::create(link_filter_options(options));
  if (!filter) {
    std::cerr << "parser: " << filter.error().context << '\n';
    return 1;
  }
  ParserWorker worker(options, Scope(*hosts, options.allow_domains), std::move(*filter));
  std::unique_ptr<storage::ResultStore> result_store = std::move(*store);
  if (const char* slow = std::getenv(kParserSlowCommitOnUrlEnv); slow != nullptr && *slow) {
    result_store =
        std::make_unique<SlowCommitStore>(std::move(result_store), connection, slow,
                                          static_cast<std::int64_t>(3000 * options.watchdog_s));
  }
  // The writer thread owns the store from here on: commits overlap with reading and parsing.
  auto writer = BatchWriter::create(std::move(result_store), send_committed);
  if (!writer) {
    std::cerr << "parser: " << writer.error().context << '\n';
    return 1;
  }
  auto pool = ParsePool::create(
      std::max(1, std::min(options.parse_threads, slots->count())),
      [&worker](const FetchResult& result) { return worker.parse(result); }, &*slots,
      ParsePool::kNiceIncrement);
  if (!pool) {
    std::cerr << "parser: " << pool.error().context << '\n';
    return 1;
  }
  // Results read but not yet parsed are bounded: past this, reading waits for the threads,
  // and the fetchers' results wait in their sockets.
  const std::size_t max_in_progress = 4 * static_cast<std::size_t>(slots->count());

  common::UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  set_nonblocking(kParserListenFd);
  watch(kParserListenFd);
  watch(kParserControlFd);
  watch((*pool)->wake_fd());
  watch((*writer)->wake_fd());
  std::map<int, FrameReader> connections;
  std::map<int, common::UniqueFd> owned;
  auto accept_all = [&] {
    for (;;) {
      int c = ::accept4(kParserListenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) break;
      common::UniqueFd conn(c);
      // The socket name is visible to every local user: take results only from our own uid.
      ucred peer{};
      socklen_t len = sizeof peer;
      if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || peer.uid != ::getuid()) {
        continue;  // conn closes it
      }
      owned.emplace(c, std::move(conn));
      connections.emplace(c, FrameReader{});
      watch(c);
    }
  };
  // Learns the jobs the writer finished. False (with the reason on stderr) if it failed.
  auto writer_ok = [&]() {
    for (const auto& finished : (*writer)->take_finished()) worker.written(finished);
    if (!(*writer)->failed()) return true;
    std::cerr << "parser: " << (*writer)->error() << '\n';
    return false;
  };
  // Hands the batch to the writer. If the writer is still on the last one, waits for it
  // only when `wait` (the batch is full, or the process is about to exit); otherwise the
  // batch goes on filling and the writer's wake_fd brings the loop back when it is free.
  // False if the writer failed.
  auto commit = [&](bool wait) {
    if (!worker.pending()) return writer_ok();
    if ((*writer)->busy()) {
      if (!wait) return true;  // no syscall per page: the writer's wake_fd brings us back
      (*writer)->wait_idle();
    }
    if (!writer_ok()) return false;
    if (!(*writer)->submit(worker.take_job())) {  // cannot happen: it was idle
      std::cerr << "parser: the writer refused a batch\n";
      return false;
    }
    return true;
  };
  // Everything handed over and written: before the process exits.
  auto commit_all = [&]() {
    if (!commit(true)) return false;
    (*writer)->wait_idle();
    return writer_ok();
  };
  // Parsed pages into the batch; commits when the batch is due. False if the store failed.
  auto take_parsed = [&]() {
    for (auto& done : (*pool)->take_done()) {
      worker.add(done.result, std::move(done.write));
      if (worker.due(monotonic_ms()) && !commit(worker.full())) return false;
    }
    return true;
  };
  bool stopping = false;
  std::string_view frame;  // into the connection's FrameReader, until its next fill()
  std::string message;
  FetchResult result;
  for (;;) {
    // Nothing to read, no page being parsed and the writer free: an idle moment, commit now.
    // (While the writer is busy, its wake_fd ends the wait when it is done.)
    const bool idle_commit = worker.pending() && (*pool)->in_progress() == 0 && !(*writer)->busy();
    epoll_event events[64];
    int n = ::epoll_wait(epoll.get(), events, 64, idle_commit ? 0 : 1000);
    if (n == 0 && idle_commit) {
      if (!commit(false)) return 1;
      continue;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == kParserListenFd) {
        accept_all();
      } else if (fd == (*pool)->wake_fd()) {
        if (!take_parsed()) return 1;
      } else if (fd == (*writer)->wake_fd()) {
        if (!writer_ok()) return 1;
      } else if (fd == kParserControlFd) {
        IoStatus st = recv_packet(kParserControlFd, message, Blocking::No);
        if (st == IoStatus::Closed || st == IoStatus::Error) {
          // The coordinator is gone: keep what we have and exit.
          (*pool)->wait_until_unparsed(0);
          for (auto& done : (*pool)->take_done()) worker.add(done.result, std::move(done.write));
          commit_all();
          return 1;
        }
        if (st == IoStatus::Ok && message_type(message) == static_cast<std::uint8_t>(MessageType::Stop)) {
          stopping = true;
          accept_all();  // a fetcher that exited just now may not have been accepted yet
        }
      } else {
        auto it = connections.find(fd);
        if (it == connections.end()) continue;
        IoStatus st = it->second.fill(fd);
        while (it->second.next(frame)) {
          if (!decode(frame, result)) {
            std::cerr << "parser: dropped a malformed result message\n";
            continue;
          }
          if (result.task.kind == TaskKind::Robots) {
            worker.add_robots(result);
            continue;
          }
          if ((*pool)->in_progress() >= max_in_progress) {
            // Full: read on once half of it is parsed, so that the threads wake us once for
            // several pages rather than at each one.
            (*pool)->wait_until_unparsed(max_in_progress / 2);
            if (!take_parsed()) return 1;
          }
          (*pool)->submit(std::move(result));
          result = FetchResult{};
        }
        if (it->second.corrupt()) {
          std::cerr << "parser: dropped a result stream with a corrupt frame length\n";
          st = IoStatus::Error;
        }
        if (st != IoStatus::Ok) {  // the fetcher exited (or died): forget the connection
          ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
          connections.erase(it);
          owned.erase(fd);
        }
      }
    }
    if (worker.due(monotonic_ms()) && !commit(worker.full())) return 1;
    // Stop once told to, every fetcher has closed its connection (their results are in) and
    // every page is parsed.
    if (stopping && connections.empty() && (*pool)->in_progress() == 0) {
      return commit_all() ? 0 : 1;
    }
  }
}

}  // namespace crawler

#include "crawler/coordinator.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "crawler/batch_policy.h"
#include "crawler/child_process.h"
#include "crawler/host_scheduler.h"
#include "crawler/ipc.h"
#include "crawler/messages.h"
#include "crawler/parse_slots.h"
#include "crawler/progress.h"
#include "crawler/robots_gate.h"
#include "crawler/scope.h"
#include "crawler/seeds.h"
#include "crawler/workers.h"
#include "storage/frontier_store.h"
#include "storage/robots_store.h"
#include "storage/schema.h"

namespace crawler {

using common::ErrorCode;
using common::make_error;
using common::Result;
using common::UniqueFd;

namespace {

constexpr std::size_t kWindowHigh = 20000;  // tasks held in memory at most
constexpr std::size_t kWindowLow = 5000;    // refill from the frontier below this
constexpr int kMaxParserRestarts = 10;
constexpr std::int64_t kStopGraceMs = 10 * 1000;  // after Ctrl-C: in-flight transfers' time
constexpr std::int64_t kReapEveryMs = 1000;  // waitpid at least this often, SIGCHLD or not
constexpr std::int64_t kLostTaskGraceMs = 1000;  // an ownerless task's Took is that late: lost
constexpr std::int64_t kRetryBaseMs = 1000;  // backoff: base x 2^(attempt-1), jittered
constexpr std::int64_t kRetryMaxMs = 60 * 1000;
constexpr std::int64_t kMaxRetryAfterMs = 3600 * 1000;

// crawler-fetcher, beside our own executable.
const std::string& fetcher_executable() {
  static const std::string path = sibling_executable(kFetcherExecutable);
  return path;
}

// Holds `<db>.lock` with flock() for the whole crawl; its content names the holder's pid.
Result<UniqueFd> lock_database(const std::string& db_path) {
  const std::string path = db_path + ".lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return make_error(ErrorCode::Storage,
                      "cannot create database '" + db_path + "': " + std::strerror(errno));
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return make_error(ErrorCode::Storage, "database '" + db_path +
                                              "' is in use by another crawl (pid " + holder + ")");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) (void)!::pwrite(fd.get(), pid.data(), pid.size(), 0);
  return fd;
}

struct InFlight {
  Task task;
  std::string host;
  pid_t owner = -1;  // the fetcher that took it; -1 while in the queue
  bool holds_slot = true;  // counts against its host's --per-host until Fetched (or requeue)
  std::int64_t fetched_ms = 0;  // when Fetched arrived: its result is with the parser since
  std::int64_t started_ms = 0;  // when the fetcher started it (Took)
  bool refused = false;         // refused by robots.txt: never dispatched, never fetched
};

bool is_page(const Task& task) { return task.kind == TaskKind::Page; }

class Coordinator {
 public:
  explicit Coordinator(CrawlOptions options)
      : options_(std::move(options)),
        scheduler_(std::max(1, options_.per_host),
                   static_cast<std::int64_t>(options_.delay_s * 1000.0)) {}

  Result<CrawlSummary> run();

 private:
  Result<void> prepare_database();
  Result<void> start_workers();
  Result<void> spawn_fetcher();
  Result<void> spawn_parser();
  Result<void> replace_parser(int status);
  std::unordered_set<std::int64_t> charged_parses() const;
  void check_watchdog(std::int64_t now);
  void refill();
  void apply(RobotsGate::Output& out, std::int64_t robots_started_ms);
  void report_refusal(Task task, std::string why);
  void send_to_parser(const FetchResult& result);
  void flush_to_parser();
  void drain_to_parser(std::int64_t deadline_ms);
  void dispatch(std::int64_t now_ms);
  bool handle_events();  // false if the event channel failed
  void handle_committed(const Committed& committed);
  std::int64_t not_before_ms(std::int32_t status, std::int64_t retry_after_s) const;
  void release_slot(InFlight& flight, std::int64_t not_before, bool trouble = false);
  void abandon_slot(InFlight& flight);
  Result<void> reap_children(bool shutting_down);
  void requeue_tasks_of(pid_t pid, bool parser_gone);
  void take_back_queued_tasks();
  void watch_unclaimed_tasks();
  int read_stop_signals();
  void charge_lost_tasks(std::int64_t now_ms);
  InFlight take_back(std::int64_t seq);
  void count_dispatch(const Task& task, int change);
  void back_to_scheduler(std::string host, Task task);
  void requeue(std::int64_t seq);
  void blame_death(const std::vector<std::int64_t>& seqs, bool out_to_blame, bool lone_to_blame,
                   const char* why);
  void release_suspect(std::int64_t now_ms);
  void settle_suspect(std::int64_t seq);
  void stored_after_requeue(const CommittedTask& done);
  void count_stored(const CommittedTask& done);
  void report_failure(InFlight flight, const std::string& why);
  void schedule_retry(InFlight flight, const Fetched& fetched);
  void release_due_retries(std::int64_t now_ms);
  ProgressSample progress_sample() const;
  void log(const std::string& line);
  Result<void> shutdown();
  bool work_left() const;

  CrawlOptions options_;
  HostScheduler scheduler_;
  UniqueFd lock_;
  std::int64_t crawl_id_ = 0;
  std::int64_t pages_at_start_ = 0;
  std::unique_ptr<storage::Frontier> frontier_;
  std::unique_ptr<storage::RobotsStore> robots_store_;
  std::optional<RobotsGate> gate_;
  std::int64_t cursor_ = 0;
  bool frontier_exhausted_ = false;

  UniqueFd task_fd_, event_fd_, control_fd_, signal_fd_, parser_conn_;
  // A SIGCHLD came (read from signal_fd_) since reap_children last ran: only then does the
  // loop ask waitpid, not on every turn; and at least every kReapEveryMs regardless.
  bool child_exited_ = true;
  std::int64_t last_reap_ms_ = 0;
  UniqueFd child_task_fd_, child_event_fd_, child_control_fd_, listen_fd_;
  std::string parser_socket_;
  FrameWriter parser_out_;  // results we make up, on their way to the parser (non-blocking)
  std::vector<ChildProcess> fetchers_;
  ChildProcess parser_;

  std::unordered_map<std::int64_t, InFlight> in_flight_;
  std::multimap<std::int64_t, std::pair<std::string, Task>> retries_;  // due ms -> (host, task)
  std::mt19937_64 jitter_{std::random_device{}()};
  std::optional<std::pair<std::string, Task>> pending_;  // taken from the scheduler, not sent
  std::int64_t dispatched_ = 0, committed_ = 0, errors_ = 0;
  int stop_requests_ = 0;
  int parser_restarts_ = 0;
  std::int64_t stop_started_ms_ = 0;
  // What each parse thread of the parser is on (shared memory); the pages the watchdog found
  // hung there, charged when the killed parser is reaped.
  ParseSlots parse_slots_;
  std::unordered_set<std::int64_t> hung_parses_;
  // Watchdog: the last sign of life of each fetcher (Took, Fetched) and of the parser
  // (Committed, or its writer's heartbeat in parse_slots_); fetchers it killed, so their
  // tasks fail as worker_hang.
  std::unordered_map<pid_t, std::int64_t> fetcher_seen_ms_;
  std::int64_t parser_seen_ms_ = 0, last_watchdog_ms_ = 0;
  std::unordered_set<pid_t> hung_fetchers_;
  // The watchdog has SIGKILLed the parser: until it is reaped its slots are frozen, and
  // scanning them again would find more "hung" pages to charge.
  bool parser_killed_ = false;
  // Tasks without an owner after a fetcher died and the queue was emptied: since when
  // (watch_unclaimed_tasks). Still without one a second later, they died with it.
  std::unordered_map<std::int64_t, std::int64_t> unclaimed_since_ms_;
  // Tasks a fetcher died holding, with no way to tell which one killed it (blame_death).
  // They go out one at a time: suspect_out_ is the one in the scheduler or in flight, until
  // it is stored (Committed) or kills its fetcher too (charged).
  std::deque<std::pair<std::string, Task>> suspects_;
  std::optional<std::int64_t> suspect_out_;
  // Tasks requeued while their result was with the parser, which may still store it
  // (stored_after_requeue); and of those, the ones stored while their copy waits in the
  // scheduler: dropped when it comes out.
  std::unordered_set<std::int64_t> result_at_parser_, stored_while_queued_;
  bool parser_failed_ = false;
  std::int64_t started_ms_ = 0;
  std::int64_t queued_estimate_ = 0;  // frontier rows: at start + queued by commits - stored
  std::optional<ProgressReporter> progress_;
};

Result<void> Coordinator::prepare_database() {
  auto lock = lock_database(options_.db_path);
  if (!lock) return common::error_of(lock);
  lock_ = std::move(*lock);
  auto db = storage::open_for_writing(options_.db_path, [this](std::int64_t from, std::int64_t to) {
    // What each step costs is the README's to say (Database schema), not this message's.
    std::cerr << "crawl: upgrading '" << options_.db_path << "' from schema " << from << " to "
              << to << " (once; on a large database this takes minutes)\n";
  });
  if (!db) return common::error_of(db);
  if (options_.fresh) {
    if (auto r = storage::clear_crawl(db->get()); !r) return r;
  }
  bool no_valid_seeds = false;
  if (!options_.seeds_file.empty()) {
    auto seeds = read_seeds(options_.seeds_file, static_cast<std::size_t>(options_.max_url_length));
    if (!seeds) return common::error_of(seeds);
    for (const auto& problem : seeds->problems) std::cerr << "crawl: " << problem << '\n';
    no_valid_seeds = seeds->seeds.empty() && !seeds->problems.empty();
    auto queued = storage::add_seeds(db->get(), seeds->seeds);
    if (!queued) return common::error_of(queued);
  }
  auto queued = storage::query_int(db->get(), "SELECT count(*) FROM frontier");
  if (!queued) return common::error_of(queued);
  // URLs refused by robots.txt have rows too, but they were never fetched.
  auto pages = storage::query_int(db->get(),
                                  "SELECT count(*) FROM pages WHERE error IS NOT 'robots'");
  if (!pages) return common::error_of(pages);
  pages_at_start_ = *pages;
  queued_estimate_ = *queued;
  if (*queued == 0 && *pages == 0) {
    return make_error(ErrorCode::BadInput,
                      options_.seeds_file.empty()
                          ? "nothing to crawl: no seeds file given and '" + options_.db_path +
                                "' holds no crawl to resume"
                          : "nothing to crawl: no valid seed URLs in '" + options_.seeds_file + "'");
  }
  if (no_valid_seeds) {  // but the database holds a crawl to go on with
    std::cerr << "crawl: no valid seed URLs in '" << options_.seeds_file
              << "'; resuming the crawl in '" << options_.db_path << "'\n";
  }
  auto id = storage::begin_crawl(db->get(), to_json(options_));
  if (!id) return common::error_of(id);
  crawl_id_ = *id;
  // From here until the workers stop, the parser process is the only writer.
  auto reader = storage::open_db(options_.db_path, storage::OpenMode::ReadOnly);
  if (!reader) return common::error_of(reader);
  auto frontier = storage::SqliteFrontier::create(std::move(*reader));
  if (!frontier) return common::error_of(frontier);
  frontier_ = std::move(*frontier);
  auto robots_reader = storage::open_db(options_.db_path, storage::OpenMode::ReadOnly);
  if (!robots_reader) return common::error_of(robots_reader);
  auto robots = storage::SqliteRobotsStore::create(std::move(*robots_reader));
  if (!robots) return common::error_of(robots);
  robots_store_ = std::move(*robots);
  RobotsGateOptions gate;
  gate.agent_token = options_.effective_robots_agent();
  gate.ignore = options_.ignore_robots;
  gate.max_crawl_delay_ms = static_cast<std::int64_t>(options_.max_crawl_delay_s * 1000.0);
  gate_.emplace(std::move(gate), robots_store_.get());
  return {};
}

Result<void> Coordinator::spawn_fetcher() {
  const std::string& executable = fetcher_executable();
  auto child = ChildProcess::spawn_program(
      executable, {executable, kFetcherMode, kVersion, to_json(options_), parser_socket_},
      {{child_task_fd_.get(), kFetcherTaskFd}, {child_event_fd_.get(), kFetcherEventFd}});
  if (!child) {
    return make_error(child.error().code, child.error().context + " (" + kFetcherExecutable +
                                              " is built and installed beside crawler)");
  }
  fetchers_.push_back(std::move(*child));
  return {};
}

Result<void> Coordinator::start_workers() {
  // The task queue holds a few hundred small tasks; the rest wait in the scheduler.
  auto tasks = make_packet_pair(64 * 1024);
  if (!tasks) return common::error_of(tasks);
  auto events = make_packet_pair(1024 * 1024);
  if (!events) return common::error_of(events);
  auto control = make_packet_pair(0);
  if (!control) return common::error_of(control);
  task_fd_ = std::move(tasks->first);
  child_task_fd_ = std::move(tasks->second);
  event_fd_ = std::move(events->first);
  child_event_fd_ = std::move(events->second);
  control_fd_ = std::move(control->first);
  child_control_fd_ = std::move(control->second);
  std::random_device random;
  parser_socket_ = "crawler-" + std::to_string(::getpid()) + "-" + std::to_string(random());
  auto listen = listen_abstract(parser_socket_);
  if (!listen) return common::error_of(listen);
  listen_fd_ = std::move(*listen);

  auto slots = ParseSlots::create(options_.parse_threads);
  if (!slots) return common::error_of(slots);
  parse_slots_ = std::move(*slots);
  if (auto r = spawn_parser(); !r) return r;
  for (int i = 0; i < options_.workers; ++i) {
    if (auto r = spawn_fetcher(); !r) return r;
  }
  set_nonblocking(task_fd_.get());
  set_nonblocking(event_fd_.get());
  // The child ends and the listening socket stay open: replacement workers inherit them.
  return {};
}

Result<void> Coordinator::spawn_parser() {
  auto parser = ChildProcess::spawn({"crawler", kParserMode, to_json(options_)},
                                    {{listen_fd_.get(), kParserListenFd},
                                     {child_event_fd_.get(), kParserEventFd},
                                     {child_control_fd_.get(), kParserControlFd},
                                     {parse_slots_.fd(), kParserSlotsFd}});
  if (!parser) return common::error_of(parser);
  parser_ = std::move(*parser);
  parser_seen_ms_ = monotonic_ms();
  // Our own connection to the parser, for results we make up (a URL that kills workers).
  auto conn = connect_abstract(parser_socket_);
  if (!conn) return common::error_of(conn);
  parser_conn_ = std::move(*conn);
  set_nonblocking(parser_conn_.get());
  return {};
}

// Kills a worker that holds work and has shown no sign of life for too long; reaping it
// then takes the usual crash path (requeue, attempts, replacement).
void Coordinator::check_watchdog(std::int64_t now) {
  if (now - last_watchdog_ms_ < 500) return;
  last_watchdog_ms_ = now;
  const auto limit = static_cast<std::int64_t>(options_.watchdog_s * 1000);
  const auto fetcher_limit = limit + static_cast<std::int64_t>(options_.timeout_s * 1000);
  std::int64_t oldest_result_ms = -1;
  std::unordered_set<pid_t> busy;
  for (const auto& [seq, flight] : in_flight_) {
    if (flight.owner > 0 && flight.holds_slot) busy.insert(flight.owner);
    if (!flight.holds_slot && flight.fetched_ms > 0 &&
        (oldest_result_ms < 0 || flight.fetched_ms < oldest_result_ms)) {
      oldest_result_ms = flight.fetched_ms;
    }
  }
  for (auto& fetcher : fetchers_) {
    const pid_t pid = fetcher.pid();
    if (!fetcher.running() || !busy.count(pid)) continue;
    auto seen = fetcher_seen_ms_.find(pid);
    if (seen == fetcher_seen_ms_.end() || now - seen->second < fetcher_limit) continue;
    log("crawl: fetcher " + std::to_string(pid) + " silent for " +
        format_duration(static_cast<double>(now - seen->second) / 1000.0) +
        " while holding work; killing it");
    hung_fetchers_.insert(pid);
    ::kill(pid, SIGKILL);
  }
  if (!parser_.running() || parser_killed_) return;
  for (const auto& busy : parse_slots_.busy()) {
    if (now - busy.started_ms >= limit) hung_parses_.insert(busy.seq);
  }
  std::string why;
  if (!hung_parses_.empty()) {
    why = "has been parsing one page for " + format_duration(static_cast<double>(limit) / 1000.0);
  } else {
    switch (judge_parser(now, oldest_result_ms, parser_seen_ms_, parse_slots_.writer_alive_ms(),
                         options_.watchdog_s)) {
      case ParserVerdict::kAlive:
        return;
      case ParserVerdict::kSilent:
        why = "is silent with results waiting";
        break;
      case ParserVerdict::kCommitTooLong:
        why = "has committed nothing for " +
              format_duration(static_cast<double>(now - parser_seen_ms_) / 1000.0) +
              " with results waiting, though its writer is at work";
        break;
    }
  }
  log("crawl: the parser process " + why + "; killing it");
  ::kill(parser_.pid(), SIGKILL);
  parser_killed_ = true;
}

// The parser died mid-crawl: what it had not committed is lost, and every fetcher's results
// connection is dead. Stop the fetchers, requeue every task, those still in the task queue
// included (only the pages to blame are charged an attempt: see charged_parses), then start a
// new parser; reap_children starts new fetchers.
Result<void> Coordinator::replace_parser(int status) {
  if (++parser_restarts_ > kMaxParserRestarts) {
    parser_failed_ = true;
    return make_error(ErrorCode::Storage,
                      "the parser process " + describe_wait_status(status) + " (" +
                          std::to_string(parser_restarts_) +
                          " times); results committed so far are safe: run the same command "
                          "again to resume");
  }
  log("crawl: the parser process " + describe_wait_status(status) + "; starting a new one");
  for (auto& fetcher : fetchers_) {
    if (fetcher.running()) fetcher.wait_or_kill(0);
  }
  parser_conn_.reset();
  parser_out_.clear();  // made-up results the dead parser never read: their tasks follow
  if (!handle_events()) return make_error(ErrorCode::Io, "event channel failed");
  // Every fetcher is gone, so the task queue is ours to empty: its tasks are requeued below
  // with the rest. (A fetcher killed between reading a task and claiming it with Took would
  // otherwise have taken that task with it, and the crawl would wait for it forever.)
  std::string packet;
  while (recv_packet(child_task_fd_.get(), packet, Blocking::No) == IoStatus::Ok) {
  }
  // The dead parser stores none of the results it held: a task requeued while its result was
  // there counts for --max-pages again only where it is in flight (count_dispatch).
  for (auto seq : result_at_parser_) {
    if (in_flight_.count(seq) == 0) --dispatched_;
  }
  result_at_parser_.clear();
  const std::unordered_set<std::int64_t> charged_seqs = charged_parses();
  std::vector<InFlight> failed;
  std::vector<Task> refused;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    InFlight& flight = it->second;
    const bool charged = charged_seqs.count(it->first) != 0;
    abandon_slot(flight);
    InFlight moved = std::move(flight);
    it = in_flight_.erase(it);
    if (moved.refused) {  // the gate refuses it again, with its reason
      refused.push_back(std::move(moved.task));
      continue;
    }
    if (charged && moved.task.attempt >= options_.max_attempts) {
      failed.push_back(std::move(moved));
      continue;
    }
    if (charged) ++moved.task.attempt;
    count_dispatch(moved.task, -1);
    back_to_scheduler(std::move(moved.host), std::move(moved.task));
  }
  parse_slots_.clear();
  hung_parses_.clear();
  parser_killed_ = false;
  unclaimed_since_ms_.clear();  // every task was requeued above
  if (auto r = spawn_parser(); !r) return r;
  for (auto& flight : failed) report_failure(std::move(flight), "parser_crash");
  RobotsGate::Output out;
  for (auto& task : refused) gate_->admit(std::move(task), out);
  apply(out, 0);
  return {};
}

// The pages to blame for the parser's death: those the watchdog found hung; else the page
// whose parse thread died of a fatal signal (the crash marker); else, when the parser was
// killed from outside (e.g. out of memory), every page it was parsing.
std::unordered_set<std::int64_t> Coordinator::charged_parses() const {
  if (!hung_parses_.empty()) return hung_parses_;
  const auto busy = parse_slots_.busy();
  std::unordered_set<std::int64_t> culprits, all;
  for (const auto& slot : busy) {
    all.insert(slot.seq);
    if (slot.culprit) culprits.insert(slot.seq);
  }
  return culprits.empty() ? all : culprits;
}

void Coordinator::refill() {
  const std::size_t window = scheduler_.queued() + gate_->held();
  if (frontier_exhausted_ || window >= kWindowLow) return;
  const std::size_t want = kWindowHigh - window;
  auto batch = frontier_->next_batch(cursor_, want);
  if (!batch) {
    std::cerr << "crawl: reading the frontier: " << batch.error().context << '\n';
    return;
  }
  RobotsGate::Output out;
  for (auto& entry : *batch) {
    cursor_ = entry.seq;
    Task task;
    task.seq = entry.seq;
    task.url_id = entry.url_id;
    task.depth = entry.depth;
    task.url = std::move(entry.url);
    gate_->admit(std::move(task), out);
  }
  apply(out, 0);
  if (batch->size() < want) frontier_exhausted_ = true;
}

// What the robots gate decided: tasks to schedule (robots.txt fetches among them), tasks to
// store as refused, Crawl-delays for the scheduler.
void Coordinator::apply(RobotsGate::Output& out, std::int64_t robots_started_ms) {
  for (auto& [host, delay_ms] : out.crawl_delays) {
    const auto base = static_cast<std::int64_t>(options_.delay_s * 1000.0);
    scheduler_.set_delay(host, std::max(base, delay_ms), robots_started_ms);
  }
  for (auto& task : out.robots_fetches) {
    std::string host(host_of(task.url));
    scheduler_.add(host, std::move(task));
  }
  for (auto& task : out.ready) {
    std::string host(host_of(task.url));
    scheduler_.add(host, std::move(task));
  }
  for (auto& [task, why] : out.refused) report_refusal(std::move(task), std::move(why));
  out = RobotsGate::Output{};
}

// A URL robots.txt disallows is never fetched: it is stored as a page with error 'robots'.
void Coordinator::report_refusal(Task task, std::string why) {
  if (options_.verbose) log("robots " + task.url + " (" + why + ")");
  FetchResult result;
  result.task = std::move(task);
  result.error_kind = "robots";
  result.error_detail = std::move(why);
  result.fetched_at_s = unix_time_s();
  const std::int64_t seq = result.task.seq;
  InFlight flight{result.task, std::string(host_of(result.task.url)), 0};
  flight.holds_slot = false;
  flight.fetched_ms = monotonic_ms();
  flight.refused = true;
  in_flight_.emplace(seq, std::move(flight));  // until the parser commits it
  send_to_parser(result);
}

// The coordinator never blocks on the parser: the parser may itself be waiting for the
// coordinator to read its Committed events. Frames queue in parser_out_; the main loop
// flushes them when the connection is writable. If the parser dies first, replace_parser
// drops them and their tasks go round again.
void Coordinator::send_to_parser(const FetchResult& result) {
  if (!parser_out_.add(encode(result))) {
    log("crawl: a result for " + result.task.url + " is too large to send");
    return;
  }
  flush_to_parser();
}

void Coordinator::flush_to_parser() {
  if (parser_conn_.valid() && parser_out_.pending()) (void)parser_out_.flush(parser_conn_.get());
}

// At shutdown: everything queued reaches the parser before it is told to stop.
void Coordinator::drain_to_parser(std::int64_t deadline_ms) {
  while (parser_conn_.valid() && parser_out_.pending() && parser_.running() &&
         monotonic_ms() < deadline_ms) {
    const IoStatus st = parser_out_.flush(parser_conn_.get());
    if (st != IoStatus::WouldBlock) break;
    pollfd fds[2] = {{parser_conn_.get(), POLLOUT, 0}, {event_fd_.get(), POLLIN, 0}};
    ::poll(fds, 2, 50);
    handle_events();
  }
}

void Coordinator::dispatch(std::int64_t now_ms) {
  if (stop_requests_ > 0 || parser_failed_) return;
  release_suspect(now_ms);
  for (;;) {
    if (options_.max_pages > 0 && pages_at_start_ + dispatched_ >= options_.max_pages) return;
    if (!pending_) {
      pending_ = scheduler_.next(now_ms);
      if (!pending_) return;
      if (!stored_while_queued_.empty() &&  // stored_after_requeue
          stored_while_queued_.erase(pending_->second.seq) != 0) {
        scheduler_.abandoned(pending_->first);
        pending_.reset();
        continue;
      }
    }
    IoStatus st = send_packet(task_fd_.get(), encode(pending_->second), Blocking::No);
    if (st == IoStatus::WouldBlock) return;  // the queue is full: wait for fetchers
    if (st != IoStatus::Ok) return;
    InFlight flight{std::move(pending_->second), std::move(pending_->first), -1};
    const std::int64_t seq = flight.task.seq;
    count_dispatch(flight.task, +1);
    in_flight_.emplace(seq, std::move(flight));
    pending_.reset();
  }
}

std::int64_t Coordinator::not_before_ms(std::int32_t status, std::int64_t retry_after_s) const {
  if ((status == 429 || status == 503) && retry_after_s > 0) {
    return monotonic_ms() + std::min(retry_after_s * 1000, kMaxRetryAfterMs);
  }
  return 0;
}

void Coordinator::release_slot(InFlight& flight, std::int64_t not_before, bool trouble) {
  if (!flight.holds_slot) return;
  flight.holds_slot = false;
  scheduler_.finished(flight.host, not_before, trouble, monotonic_ms());
}

// A task that goes round again without an outcome: its host's back-off stays as it was.
void Coordinator::abandon_slot(InFlight& flight) {
  if (!flight.holds_slot) return;
  flight.holds_slot = false;
  scheduler_.abandoned(flight.host);
}

void Coordinator::handle_committed(const Committed& committed) {
  if (committed.urls_queued > 0) frontier_exhausted_ = false;
  queued_estimate_ += committed.urls_queued;
  for (const auto& done : committed.tasks) {
    auto it = in_flight_.find(done.seq);
    if (it == in_flight_.end()) {
      // The first result of a task requeued while it was with the parser; else a duplicate.
      if (result_at_parser_.erase(done.seq) != 0) stored_after_requeue(done);
      continue;
    }
    result_at_parser_.erase(done.seq);  // any later result of it is a duplicate
    settle_suspect(done.seq);
    release_slot(it->second, not_before_ms(done.status, done.retry_after_s));
    if (!is_page(it->second.task)) {
      // The origin's robots.txt is in the database now: the tasks held for it may go.
      const std::int64_t started = it->second.started_ms;
      const std::string origin = origin_of(it->second.task.url);
      in_flight_.erase(it);
      RobotsGate::Output out;
      gate_->stored(origin, out);
      apply(out, started);
      continue;
    }
    if (done.error_kind == "robots") {
      --queued_estimate_;
      in_flight_.erase(it);
      continue;
    }
    if (options_.verbose) {
      log((done.status > 0 ? std::to_string(done.status) : done.error_kind) + ' ' +
          it->second.task.url);
    }
    count_stored(done);
    in_flight_.erase(it);
  }
}

bool Coordinator::handle_events() {
  std::string message;
  for (;;) {
    IoStatus st = recv_packet(event_fd_.get(), message, Blocking::No);
    if (st == IoStatus::WouldBlock) return true;
    if (st != IoStatus::Ok) return false;
    const auto type = static_cast<MessageType>(message_type(message));
    if (type == MessageType::Took) {
      Took took;
      if (!decode(message, took)) continue;
      auto it = in_flight_.find(took.seq);
      if (it == in_flight_.end()) continue;
      it->second.owner = took.pid;
      it->second.started_ms = took.started_ms;
      fetcher_seen_ms_[took.pid] = monotonic_ms();
      scheduler_.started(it->second.host, took.started_ms);
    } else if (type == MessageType::Committed) {
      Committed committed;
      parser_seen_ms_ = monotonic_ms();
      if (decode(message, committed)) handle_committed(committed);
    } else if (type == MessageType::Fetched) {
      Fetched fetched;
      if (!decode(message, fetched)) continue;
      auto it = in_flight_.find(fetched.seq);
      if (it == in_flight_.end()) continue;
      const std::int64_t now = monotonic_ms();
      if (it->second.owner > 0) fetcher_seen_ms_[it->second.owner] = now;
      it->second.fetched_ms = now;
      if (fetched.sent_ms > 0 && it->second.holds_slot) {
        scheduler_.started(it->second.host, fetched.sent_ms);
      }
      release_slot(it->second, not_before_ms(fetched.status, fetched.retry_after_s),
                   fetched.host_trouble);
      if (fetched.retry) {
        settle_suspect(fetched.seq);  // it survived its fetch, and hands nothing over
        InFlight flight = std::move(it->second);
        in_flight_.erase(it);
        schedule_retry(std::move(flight), fetched);
      }
    }
  }
}

// A fetcher died: its tasks go back to the queue, and the one that killed it, if it can be
// told, is charged an attempt (blame_death).
void Coordinator::requeue_tasks_of(pid_t pid, bool parser_gone) {
  std::vector<std::int64_t> aboard;
  for (const auto& [seq, flight] : in_flight_) {
    if (flight.owner != pid) continue;
    const bool handed_over = !flight.holds_slot && flight.fetched_ms > 0;
    // A fetcher that exited because the parser died did not crash: its transfers go round
    // uncharged. But the results it had already handed to the parser are the parser's to
    // settle: replace_parser charges the page that killed it, which must not go round free.
    if (parser_gone && handed_over) continue;
    // Else a result it handed over may have reached the parser, which may still store it.
    if (handed_over && seq >= 0) result_at_parser_.insert(seq);
    aboard.push_back(seq);
  }
  if (parser_gone) {
    for (auto seq : aboard) requeue(seq);
    return;
  }
  // The shared queue was emptied first (take_back_queued_tasks): a task still without an
  // owner was read by a fetcher that has not sent its Took, maybe the dead one, and may be
  // what killed it.
  const bool others_unclaimed =
      std::any_of(in_flight_.begin(), in_flight_.end(),
                  [](const auto& entry) { return entry.second.owner == -1; });
  blame_death(aboard, !others_unclaimed, !others_unclaimed,
              hung_fetchers_.count(pid) ? "worker_hang" : "worker_crash");
}

// A fetcher killed between reading a task from the shared queue and claiming it with Took
// took that task with it: it stays in flight with no owner, and the crawl would wait for it
// forever. So after a fetcher's death the queue is emptied (the live fetchers lose nothing:
// its tasks go back to the scheduler uncharged), and the tasks then still without an owner
// are watched: each is either with a live fetcher whose Took is on its way, or lost with the
// dead one; the Took of a live fetcher comes within microseconds, so charge_lost_tasks blames
// those still without an owner a second later.
void Coordinator::take_back_queued_tasks() {
  std::unordered_set<std::int64_t> still_queued;
  std::string packet;
  while (recv_packet(child_task_fd_.get(), packet, Blocking::No) == IoStatus::Ok) {
    Task task;
    if (decode(packet, task)) still_queued.insert(task.seq);  // (never a Stop: not sent yet)
  }
  for (auto seq : still_queued) {
    if (in_flight_.count(seq)) requeue(seq);
  }
}

void Coordinator::watch_unclaimed_tasks() {
  const std::int64_t now = monotonic_ms();
  for (const auto& [seq, flight] : in_flight_) {
    if (flight.owner == -1) unclaimed_since_ms_.emplace(seq, now);
  }
}

// Lost tasks were read by a dead fetcher (which one is not known): only the suspect out,
// alone on its way, can be blamed for a death among them.
void Coordinator::charge_lost_tasks(std::int64_t now_ms) {
  std::vector<std::int64_t> lost;
  for (auto it = unclaimed_since_ms_.begin(); it != unclaimed_since_ms_.end();) {
    const auto flight = in_flight_.find(it->first);
    if (flight == in_flight_.end() || flight->second.owner != -1) {  // claimed, or settled
      it = unclaimed_since_ms_.erase(it);
    } else if (now_ms - it->second >= kLostTaskGraceMs) {
      lost.push_back(it->first);
      it = unclaimed_since_ms_.erase(it);
    } else {
      ++it;
    }
  }
  if (!lost.empty())
    blame_death(lost, /*out_to_blame=*/true, /*lone_to_blame=*/false, "worker_crash");
}

// An in-flight task leaves flight: its slot freed, its host's back-off as it was.
InFlight Coordinator::take_back(std::int64_t seq) {
  auto it = in_flight_.find(seq);
  InFlight flight = std::move(it->second);
  in_flight_.erase(it);
  abandon_slot(flight);
  return flight;
}

// An in-flight task goes back to the scheduler uncharged, its dispatch uncounted for
// --max-pages.
void Coordinator::requeue(std::int64_t seq) {
  InFlight flight = take_back(seq);
  count_dispatch(flight.task, -1);
  back_to_scheduler(std::move(flight.host), std::move(flight.task));
}

// --max-pages counts pages dispatched (and stored), each once: a task whose result is with the
// parser after its fetcher died (result_at_parser_) stays counted wherever its copy is.
void Coordinator::count_dispatch(const Task& task, int change) {
  if (!is_page(task)) return;
  if (result_at_parser_.empty() || result_at_parser_.count(task.seq) == 0) dispatched_ += change;
}

// The suspect out keeps its place ahead of its host's other tasks.
void Coordinator::back_to_scheduler(std::string host, Task task) {
  if (suspect_out_ == task.seq) {
    scheduler_.add_front(host, std::move(task));
  } else {
    scheduler_.add(host, std::move(task));
  }
}

// A fetcher died (crashed, or killed by the watchdog) with the tasks `seqs` aboard. Only the
// task that killed it may be charged an attempt (at --max-attempts it fails as `why`), but a
// fetcher holds many transfers, and a task claimed just before the deadly one would be
// charged with it every time the two went out together. So the charge goes to:
//   - the suspect out, if it was aboard and `out_to_blame`: suspects go out one at a time;
//   - else the only task aboard, if `lone_to_blame`;
//   - else no one.
// The callers clear both flags when a task the dead fetcher may have read without claiming
// it is still unaccounted for (it could be the cause instead), and charge_lost_tasks clears
// `lone_to_blame`, since a lost task may have been read by any fetcher that died.
// Every task aboard, charged or not, becomes a suspect, the charged one last. A URL that
// kills every fetcher it meets is charged at each death once it is the suspect out, so it
// fails after --max-attempts such deaths (plus the first, if that one had company). A page
// beside it is charged only if a second deadly URL was aboard with it, unclaimed or claimed.
void Coordinator::blame_death(const std::vector<std::int64_t>& seqs, bool out_to_blame,
                              bool lone_to_blame, const char* why) {
  if (seqs.empty()) return;
  std::optional<std::int64_t> culprit;
  if (out_to_blame && suspect_out_ &&
      std::find(seqs.begin(), seqs.end(), *suspect_out_) != seqs.end()) {
    culprit = suspect_out_;
  } else if (lone_to_blame && seqs.size() == 1) {
    culprit = seqs.front();
  }
  if (!culprit) {
    log("crawl: " + std::to_string(seqs.size()) + " transfer" +
        (seqs.size() == 1 ? " was" : "s were") +
        " with the dead fetcher; fetching them again one at a time to find the cause");
  }
  auto add_suspect = [this](InFlight flight) {
    count_dispatch(flight.task, -1);
    suspects_.emplace_back(std::move(flight.host), std::move(flight.task));
  };
  std::optional<InFlight> charged;
  for (auto seq : seqs) {
    InFlight flight = take_back(seq);
    settle_suspect(seq);
    if (seq == culprit) {
      charged = std::move(flight);
    } else {
      add_suspect(std::move(flight));
    }
  }
  if (!charged) return;
  if (charged->task.attempt >= options_.max_attempts) {
    report_failure(std::move(*charged), why);
    return;
  }
  ++charged->task.attempt;
  add_suspect(std::move(*charged));  // after the others
}

// Once the suspect out is settled, the next goes out: the first whose host may start now,
// ahead of that host's queue (so it waits neither for the host's backlog nor for another
// host's back-off).
void Coordinator::release_suspect(std::int64_t now_ms) {
  if (suspect_out_ && !pending_ && scheduler_.queued() == 0 && retries_.empty() &&
      !in_flight_.count(*suspect_out_)) {
    suspect_out_.reset();  // gone by a way that does not settle it: never wait on it forever
  }
  if (suspect_out_ || suspects_.empty()) return;
  auto ready = std::find_if(suspects_.begin(), suspects_.end(), [&](const auto& suspect) {
    return scheduler_.ready_at_ms(suspect.first) <= now_ms;
  });
  if (ready == suspects_.end()) return;  // every suspect's host must wait: try again later
  auto [host, task] = std::move(*ready);
  suspects_.erase(ready);
  suspect_out_ = task.seq;
  scheduler_.add_front(host, std::move(task));
}

// The parser stored the first result of a task that had gone back to the queue after its
// fetcher died (it was handed over, then requeued): the page is stored, so it counts, and the
// copy waiting to go out is dropped.
void Coordinator::stored_after_requeue(const CommittedTask& done) {
  count_stored(done);  // (--max-pages counted it all along: count_dispatch)
  settle_suspect(done.seq);
  auto suspect = std::find_if(suspects_.begin(), suspects_.end(),
                              [&](const auto& entry) { return entry.second.seq == done.seq; });
  if (suspect != suspects_.end()) {
    suspects_.erase(suspect);
  } else if (pending_ && pending_->second.seq == done.seq) {
    scheduler_.abandoned(pending_->first);
    pending_.reset();
  } else {
    stored_while_queued_.insert(done.seq);  // in the scheduler, or waiting for a retry
  }
}

// A page the parser stored: for the summary and the progress line.
void Coordinator::count_stored(const CommittedTask& done) {
  ++committed_;
  --queued_estimate_;
  if (done.status == 0) ++errors_;
}

void Coordinator::settle_suspect(std::int64_t seq) {
  if (suspect_out_ == seq) suspect_out_.reset();
}

// A transient failure (timeout, connection error, 429, 5xx) under --max-attempts: fetch again
// after Retry-After, or after an exponential backoff with jitter. Nothing was stored, so a
// crash before then leaves the URL in the frontier.
void Coordinator::schedule_retry(InFlight flight, const Fetched& fetched) {
  std::int64_t wait_ms;
  if (fetched.retry_after_s > 0) {
    wait_ms = std::min(fetched.retry_after_s * 1000, kMaxRetryAfterMs);
  } else {
    const int shift = std::min(flight.task.attempt - 1, 16);
    const std::int64_t backoff = std::min(kRetryBaseMs << shift, kRetryMaxMs);
    wait_ms = std::uniform_int_distribution<std::int64_t>(backoff / 2, backoff * 3 / 2)(jitter_);
  }
  ++flight.task.attempt;
  count_dispatch(flight.task, -1);
  if (options_.verbose) {
    log("retry in " + format_duration(static_cast<double>(wait_ms) / 1000.0) + " (" +
        (fetched.status > 0 ? std::to_string(fetched.status) : "no response") + ") " +
        flight.task.url);
  }
  retries_.emplace(monotonic_ms() + wait_ms, std::make_pair(std::move(flight.host),
                                                            std::move(flight.task)));
}

// Retries whose time has come join the scheduler.
void Coordinator::release_due_retries(std::int64_t now_ms) {
  while (!retries_.empty() && retries_.begin()->first <= now_ms) {
    auto node = retries_.extract(retries_.begin());
    scheduler_.add(node.mapped().first, std::move(node.mapped().second));
  }
}

void Coordinator::report_failure(InFlight flight, const std::string& why) {
  FetchResult result;
  result.task = flight.task;
  result.error_kind = why;
  result.error_detail = std::string(why == "parser_crash" ? "the parser" : "a fetcher") +
                        (why == "worker_hang" ? " process hung (killed by the watchdog)"
                                              : " process died") +
                        " on attempt " +
                        std::to_string(result.task.attempt) + " of " +
                        std::to_string(options_.max_attempts) + " at this URL";
  result.fetched_at_s = unix_time_s();
  const std::int64_t seq = flight.task.seq;
  settle_suspect(seq);
  flight.owner = 0;  // no fetcher holds it now (its old pid may be reused)
  in_flight_.emplace(seq, std::move(flight));  // until the parser commits it
  send_to_parser(result);
}

Result<void> Coordinator::reap_children(bool shutting_down) {
  int status = 0;
  if (parser_.running() && parser_.try_reap(status)) {
    if (!shutting_down && !parser_failed_) {
      if (auto r = replace_parser(status); !r) return r;
    } else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      parser_failed_ = true;
      return make_error(ErrorCode::Storage, "the parser process " + describe_wait_status(status) +
                                                "; results committed so far are safe: run the "
                                                "same command again to resume");
    }
  }
  for (auto& fetcher : fetchers_) {
    const pid_t pid = fetcher.pid();
    if (!fetcher.running() || !fetcher.try_reap(status)) continue;
    if (WIFEXITED(status) && WEXITSTATUS(status) == kExitFetcherVersionMismatch) {
      return make_error(ErrorCode::BadInput,
                        fetcher_executable() + " is not from this build of "
                        "crawler (" + kVersion + "); install both from the same build");
    }
    if (shutting_down) continue;
    // Its Took messages were sent before it died, so they are in the event channel.
    if (!handle_events()) return make_error(ErrorCode::Io, "event channel failed");
    // A fetcher whose parser died exits on its own, and may be reaped before the parser is.
    const bool parser_gone = WIFEXITED(status) && WEXITSTATUS(status) == kExitParserGone;
    log("crawl: fetcher " + std::to_string(pid) + ' ' +
        (parser_gone ? std::string("stopped: the parser process is gone")
                     : describe_wait_status(status)) +
        (stop_requests_ == 0 ? "; starting a new one" : ""));
    if (!parser_gone) take_back_queued_tasks();
    requeue_tasks_of(pid, parser_gone);
    if (!parser_gone) watch_unclaimed_tasks();
  }
  if (!shutting_down && stop_requests_ == 0) {
    fetchers_.erase(std::remove_if(fetchers_.begin(), fetchers_.end(),
                                   [](const ChildProcess& c) { return !c.running(); }),
                    fetchers_.end());
    while (static_cast<int>(fetchers_.size()) < options_.workers) {
      if (auto r = spawn_fetcher(); !r) return r;
    }
  }
  return {};
}

bool Coordinator::work_left() const {
  if (!in_flight_.empty()) return true;
  if (stop_requests_ > 0 || parser_failed_) return false;
  if (options_.max_pages > 0 && pages_at_start_ + dispatched_ >= options_.max_pages) return false;
  return pending_.has_value() || scheduler_.queued() > 0 || !retries_.empty() ||
         !suspects_.empty() || !frontier_exhausted_;
}

ProgressSample Coordinator::progress_sample() const {
  ProgressSample s;
  s.pages = committed_;
  s.errors = errors_;
  s.queued = std::max<std::int64_t>(0, queued_estimate_ - static_cast<std::int64_t>(in_flight_.size()));
  s.in_flight = static_cast<std::int64_t>(in_flight_.size());
  if (options_.max_pages > 0) {
    s.remaining = std::max<std::int64_t>(0, options_.max_pages - pages_at_start_ - committed_);
  }
  return s;
}

void Coordinator::log(const std::string& line) {
  if (progress_) {
    progress_->log(line);
  } else {
    std::cerr << line << '\n';
  }
}

// Reads every pending signal from the signalfd (SIGCHLD only wakes us: reap_children asks
// waitpid); returns how many were SIGINT or SIGTERM.
int Coordinator::read_stop_signals() {
  int stops = 0;
  signalfd_siginfo info{};
  while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM) ++stops;
    if (info.ssi_signo == SIGCHLD) child_exited_ = true;
  }
  return stops;
}

Result<void> Coordinator::shutdown() {
  Result<void> outcome;
  // 1. Fetchers: a Stop each; they finish what they hold, then exit.
  const std::string stop = encode_stop();
  std::int64_t deadline =
      monotonic_ms() + static_cast<std::int64_t>((options_.timeout_s + 10) * 1000);
  if (stop_requests_ > 1) deadline = monotonic_ms();
  if (stop_requests_ == 1) deadline = std::min(deadline, stop_started_ms_ + kStopGraceMs);
  std::size_t stops_sent = 0;
  auto fetchers_running = [&] {
    return std::any_of(fetchers_.begin(), fetchers_.end(),
                       [](const ChildProcess& c) { return c.running(); });
  };
  while (fetchers_running() && monotonic_ms() < deadline) {
    while (stops_sent < fetchers_.size() &&
           send_packet(task_fd_.get(), stop, Blocking::No) == IoStatus::Ok) {
      ++stops_sent;
    }
    pollfd fds[2] = {{event_fd_.get(), POLLIN, 0}, {signal_fd_.get(), POLLIN, 0}};
    ::poll(fds, 2, 50);
    if (fds[1].revents & POLLIN) {
      if (const int stops = read_stop_signals(); stops > 0) {
        stop_requests_ += stops;
        deadline = monotonic_ms();  // a second Ctrl-C: stop waiting
      }
    }
    handle_events();
    if (auto r = reap_children(true); !r && outcome) outcome = r;
  }
  for (auto& f : fetchers_) {
    if (f.running()) f.wait_or_kill(0);
  }
  // 2. The parser: it stores everything the fetchers and we sent, then exits.
  drain_to_parser(monotonic_ms() + 60 * 1000);
  parser_conn_.reset();
  (void)send_packet(control_fd_.get(), stop, Blocking::Yes);
  deadline = monotonic_ms() + 60 * 1000;
  while (parser_.running() && monotonic_ms() < deadline) {
    // The signalfd too: the parser's SIGCHLD ends the wait at once, not at the next timeout.
    pollfd fds[2] = {{event_fd_.get(), POLLIN, 0}, {signal_fd_.get(), POLLIN, 0}};
    ::poll(fds, 2, 50);
    // Ctrl-C now does not cut the parser's last commit short; the crawl is "interrupted".
    if (fds[1].revents & POLLIN) stop_requests_ += read_stop_signals();
    handle_events();
    if (auto r = reap_children(true); !r && outcome) outcome = r;
  }
  if (parser_.running()) {
    parser_.wait_or_kill(0);
    if (outcome) outcome = make_error(ErrorCode::Storage, "the parser process did not stop in time");
  }
  handle_events();
  return outcome;
}

Result<CrawlSummary> Coordinator::run() {
  const int cpus = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  if (options_.workers <= 0) options_.workers = cpus;
  if (options_.parse_threads <= 0) options_.parse_threads = std::min(cpus, ParseSlots::kMaxSlots);
  if (auto r = prepare_database(); !r) return common::error_of(r);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_.reset(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));

  started_ms_ = monotonic_ms();
  if (!options_.quiet) {
    progress_.emplace(std::cerr, ::isatty(STDERR_FILENO) == 1,
                      static_cast<std::int64_t>(options_.progress_interval_s * 1000), started_ms_);
  }
  Result<void> outcome;
  if (auto r = start_workers(); !r) {
    outcome = r;
  } else {
    while (work_left()) {
      refill();
      const std::int64_t now = monotonic_ms();
      release_due_retries(now);
      dispatch(now);
      int timeout = 200;
      if (!retries_.empty()) {
        timeout = static_cast<int>(
            std::clamp<std::int64_t>(retries_.begin()->first - now, 0, timeout));
      }
      const std::int64_t ready = scheduler_.next_ready_ms();
      if (ready > now) timeout = static_cast<int>(std::min<std::int64_t>(timeout, ready - now));
      if (ready >= 0 && ready <= now && !pending_) timeout = 0;
      pollfd fds[4] = {{event_fd_.get(), POLLIN, 0},
                       {signal_fd_.get(), POLLIN, 0},
                       {task_fd_.get(), static_cast<short>(pending_ ? POLLOUT : 0), 0},
                       {parser_conn_.get(),
                        static_cast<short>(parser_out_.pending() ? POLLOUT : 0), 0}};
      ::poll(fds, 4, timeout);
      flush_to_parser();
      if (!handle_events()) {
        outcome = make_error(ErrorCode::Io, "the event channel failed");
        break;
      }
      if (fds[1].revents & POLLIN) {
        const int stops = read_stop_signals();
        if (stops > 0 && stop_requests_ == 0) {
          stop_started_ms_ = monotonic_ms();
          if (!options_.quiet) {
            log("crawl: stopping: letting " + std::to_string(in_flight_.size()) +
                " transfers finish, up to 10 s (Ctrl-C again to stop at once)");
          }
        }
        stop_requests_ += stops;
      }
      if (stop_requests_ > 1) break;
      // Transfers still running after the grace period stay in the frontier for a resume.
      if (stop_requests_ == 1 && monotonic_ms() - stop_started_ms_ > kStopGraceMs) break;
      if (child_exited_ || monotonic_ms() - last_reap_ms_ >= kReapEveryMs) {
        child_exited_ = false;  // before reaping: a SIGCHLD read from now on sets it again
        last_reap_ms_ = monotonic_ms();
        if (auto r = reap_children(false); !r) {
          outcome = r;
          break;
        }
      }
      check_watchdog(monotonic_ms());
      if (!unclaimed_since_ms_.empty()) charge_lost_tasks(monotonic_ms());
      if (progress_) progress_->update(progress_sample(), monotonic_ms());
    }
  }
  auto stopped = shutdown();
  if (outcome && !stopped) outcome = stopped;
  stop_requests_ += read_stop_signals();  // one that came after the last wait still counts

  CrawlSummary summary;
  summary.pages_fetched = committed_;
  summary.errors = errors_;
  summary.interrupted = stop_requests_ > 0;
  summary.elapsed_s = static_cast<double>(monotonic_ms() - started_ms_) / 1000.0;
  frontier_.reset();
  if (auto db = storage::open_for_writing(options_.db_path)) {
    const char* status = !outcome ? "failed" : summary.interrupted ? "interrupted" : "finished";
    (void)storage::finish_crawl(db->get(), crawl_id_, status, committed_);
    if (auto n = storage::query_int(db->get(), "SELECT count(*) FROM pages")) summary.pages_total = *n;
    if (auto n = storage::query_int(db->get(), "SELECT count(*) FROM frontier")) summary.queued_left = *n;
  }
  if (progress_) {
    progress_->finish();
    char line[160];
    std::snprintf(line, sizeof line, "crawl: %s: %lld pages in %s (%.1f pages/s), %lld errors",
                  !outcome ? "failed" : summary.interrupted ? "interrupted" : "done",
                  static_cast<long long>(committed_), format_duration(summary.elapsed_s).c_str(),
                  summary.elapsed_s > 0 ? static_cast<double>(committed_) / summary.elapsed_s : 0.0,
                  static_cast<long long>(errors_));
    std::cerr << line << '\n';
  }
  // Signals blocked until now would be delivered on unblocking, and kill the process after
  // the crawl was recorded: the crawl is over, so they are dropped.
  (void)read_stop_signals();
  ::sigprocmask(SIG_UNBLOCK, &signals, nullptr);
  if (!outcome) return common::error_of(outcome);
  return summary;
}

}  // namespace

Result<CrawlSummary> run_crawl(const CrawlOptions& options) {
  Coordinator coordinator(options);
  return coordinator.run();
}

}  // namespace crawler

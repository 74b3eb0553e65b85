#include "crawler/batch_writer.h"

#include <poll.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace {

// A ResultStore that records what it was asked to write, can hold write_batch until released
// (a slow commit), and can fail.
struct FakeStore final : storage::ResultStore {
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> calls;  // "robots <origin>" / "batch <first url> x<pages>"
    bool hold = false;               // write_batch waits while this is true
    bool in_batch = false;           // write_batch has started and is holding
    bool fail_batch = false;
    bool fail_robots = false;
  };
  explicit FakeStore(Shared& shared) : s(shared) {}

  common::Result<storage::WriteSummary> write_batch(
      const std::vector<storage::PageWrite>& batch) override {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.in_batch = true;
    s.changed.notify_all();
    s.changed.wait(lock, [this] { return !s.hold; });
    s.in_batch = false;
    if (s.fail_batch) return common::make_error(common::ErrorCode::Storage, "disk full");
    s.calls.push_back("batch " + (batch.empty() ? std::string("-") : batch.front().page.url) +
                      " x" + std::to_string(batch.size()));
    storage::WriteSummary summary;
    summary.pages = static_cast<std::int64_t>(batch.size());
    summary.urls_queued = 10 * summary.pages;
    return summary;
  }
  common::Result<void> write_robots(const storage::RobotsRecord& record) override {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.fail_robots) return common::make_error(common::ErrorCode::Storage, "read-only");
    s.calls.push_back("robots " + record.origin);
    return {};
  }
  Shared& s;
};

crawler::WriteJob job_of(std::vector<std::string> urls, std::vector<std::string> origins = {}) {
  crawler::WriteJob job;
  std::int64_t seq = 0;
  for (auto& origin : origins) {
    storage::RobotsRecord record;
    record.origin = origin;
    job.robots.push_back(record);
    job.committed.tasks.push_back(crawler::CommittedTask{++seq, 200, -1, ""});
  }
  for (auto& url : urls) {
    storage::PageWrite write;
    write.page.url = url;
    job.pages.push_back(write);
    job.committed.tasks.push_back(crawler::CommittedTask{++seq, 200, -1, ""});
  }
  return job;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

// What `done` saw, in the order it ran.
struct Reports {
  std::mutex mutex;
  std::vector<std::string> seen;  // "<tasks> tasks, <urls_queued> queued"
  bool refuse = false;            // done returns false
};

crawler::BatchWriter::DoneFunction reporter(Reports& reports) {
  return [&reports](crawler::WriteJob& job, const storage::WriteSummary& summary) {
    std::lock_guard<std::mutex> lock(reports.mutex);
    reports.seen.push_back(std::to_string(job.committed.tasks.size()) + " tasks, " +
                           std::to_string(summary.urls_queued) + " queued");
    return !reports.refuse;
  };
}

}  // namespace

TEST_CASE("batch writer: jobs are written in order, robots first, and reported once durable",
          "[crawler][batch_writer]") {
  FakeStore::Shared shared;
  Reports reports;
  auto writer =
      crawler::BatchWriter::create(std::make_unique<FakeStore>(shared), reporter(reports));
  REQUIRE(writer.has_value());
  auto& w = **writer;
  CHECK_FALSE(w.busy());
  CHECK_FALSE(readable(w.wake_fd(), 0));

  REQUIRE(w.submit(job_of({"http://a/1", "http://a/2"}, {"http://a"})));
  REQUIRE(w.wait_idle());
  CHECK(readable(w.wake_fd(), 0));  // the main thread's epoll wakes for the finished job
  auto finished = w.take_finished();
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].pages == 2);
  CHECK_FALSE(readable(w.wake_fd(), 0));  // reset by take_finished

  REQUIRE(w.submit(job_of({"http://b/1"})));
  REQUIRE(w.wait_idle());
  REQUIRE(w.submit(job_of({"http://c/1", "http://c/2", "http://c/3"})));
  REQUIRE(w.wait_idle());
  CHECK(w.take_finished().size() == 2);

  std::lock_guard<std::mutex> lock(shared.mutex);
  CHECK(shared.calls == std::vector<std::string>{"robots http://a", "batch http://a/1 x2",
                                                 "batch http://b/1 x1", "batch http://c/1 x3"});
  std::lock_guard<std::mutex> lock2(reports.mutex);
  // One report per job, with every task of the job (robots included) and the store's summary.
  CHECK(reports.seen ==
        std::vector<std::string>{"3 tasks, 20 queued", "1 tasks, 10 queued", "3 tasks, 30 queued"});
}

TEST_CASE("batch writer: the caller goes on while a slow commit is written",
          "[crawler][batch_writer]") {
  FakeStore::Shared shared;
  shared.hold = true;
  Reports reports;
  auto writer =
      crawler::BatchWriter::create(std::make_unique<FakeStore>(shared), reporter(reports));
  REQUIRE(writer.has_value());
  auto& w = **writer;
  REQUIRE(w.submit(job_of({"http://a/1"})));
  {
    std::unique_lock<std::mutex> lock(shared.mutex);
    REQUIRE(
        shared.changed.wait_for(lock, std::chrono::seconds(10), [&] { return shared.in_batch; }));
  }
  // The commit is in progress and this thread is free: busy, not reported, no wake-up.
  CHECK(w.busy());
  CHECK_FALSE(readable(w.wake_fd(), 50));
  CHECK_FALSE(w.submit(job_of({"http://b/1"})));  // refused: one job at a time
  {
    std::lock_guard<std::mutex> lock(reports.mutex);
    CHECK(reports.seen.empty());  // not durable yet, so the coordinator is not told
  }
  {
    std::lock_guard<std::mutex> lock(shared.mutex);
    shared.hold = false;
  }
  shared.changed.notify_all();
  CHECK(readable(w.wake_fd(), 10000));
  REQUIRE(w.wait_idle());
  CHECK_FALSE(w.busy());
  auto finished = w.take_finished();
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].elapsed_ms >= 50);  // the commit's own time: held for the 50 ms poll
  std::lock_guard<std::mutex> lock(shared.mutex);
  CHECK(shared.calls == std::vector<std::string>{"batch http://a/1 x1"});
  std::lock_guard<std::mutex> lock2(reports.mutex);
  CHECK(reports.seen == std::vector<std::string>{"1 tasks, 10 queued"});
}

TEST_CASE("batch writer: a failed write stops the writer and is not reported",
          "[crawler][batch_writer]") {
  struct Case {
    const char* name;
    bool fail_batch, fail_robots;
    const char* error;
  };
  const Case cases[] = {
      {"store error", true, false, "cannot store results: disk full"},
      {"robots error", false, true, "cannot store robots.txt of http://a: read-only"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    FakeStore::Shared shared;
    shared.fail_batch = c.fail_batch;
    shared.fail_robots = c.fail_robots;
    Reports reports;
    auto writer =
        crawler::BatchWriter::create(std::make_unique<FakeStore>(shared), reporter(reports));
    REQUIRE(writer.has_value());
    auto& w = **writer;
    REQUIRE(w.submit(job_of({"http://a/1"}, {"http://a"})));
    CHECK_FALSE(w.wait_idle());
    CHECK(w.failed());
    CHECK(w.error() == c.error);
    CHECK(readable(w.wake_fd(), 0));   // the main thread wakes and sees the failure
    CHECK(w.take_finished().empty());  // nothing finished
    {
      std::lock_guard<std::mutex> lock(reports.mutex);
      CHECK(reports.seen.empty());  // nothing durable, nothing reported
    }
    CHECK_FALSE(w.submit(job_of({"http://b/1"})));  // a failed writer takes nothing more
    CHECK_FALSE(w.busy());
    std::lock_guard<std::mutex> lock(shared.mutex);
    for (const auto& call : shared.calls) CHECK(call.find("http://b") == std::string::npos);
  }
}

TEST_CASE("batch writer: with the coordinator gone it keeps writing, without reporting",
          "[crawler][batch_writer]") {
  FakeStore::Shared shared;
  Reports reports;
  reports.refuse = true;  // done() fails: the events socket is closed
  auto writer =
      crawler::BatchWriter::create(std::make_unique<FakeStore>(shared), reporter(reports));
  REQUIRE(writer.has_value());
  auto& w = **writer;
  REQUIRE(w.submit(job_of({"http://a/1"})));
  REQUIRE(w.wait_idle());
  CHECK(w.unreported());
  CHECK_FALSE(w.failed());
  REQUIRE(w.submit(job_of({"http://b/1", "http://b/2"})));  // the last batch is still kept
  REQUIRE(w.wait_idle());
  CHECK(w.take_finished().size() == 2);
  std::lock_guard<std::mutex> lock(shared.mutex);
  CHECK(shared.calls == std::vector<std::string>{"batch http://a/1 x1", "batch http://b/1 x2"});
  std::lock_guard<std::mutex> lock2(reports.mutex);
  CHECK(reports.seen == std::vector<std::string>{"1 tasks, 10 queued"});  // tried once only
}

TEST_CASE("batch writer: destroying it finishes the job in hand", "[crawler][batch_writer]") {
  FakeStore::Shared shared;
  Reports reports;
  {
    auto writer =
        crawler::BatchWriter::create(std::make_unique<FakeStore>(shared), reporter(reports));
    REQUIRE(writer.has_value());
    REQUIRE((*writer)->submit(job_of({"http://a/1", "http://a/2"})));
  }
  std::lock_guard<std::mutex> lock(shared.mutex);
  CHECK(shared.calls == std::vector<std::string>{"batch http://a/1 x2"});
  std::lock_guard<std::mutex> lock2(reports.mutex);
  CHECK(reports.seen == std::vector<std::string>{"2 tasks, 20 queued"});
}

TEST_CASE("batch writer: no store is an error", "[crawler][batch_writer]") {
  auto writer = crawler::BatchWriter::create(
      nullptr, [](crawler::WriteJob&, const storage::WriteSummary&) { return true; });
  REQUIRE_FALSE(writer.has_value());
  CHECK(writer.error().code == common::ErrorCode::BadInput);
}

#include "crawler/parse_pool.h"

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace {

crawler::FetchResult result_for(std::int64_t seq) {
  crawler::FetchResult result;
  result.task.seq = seq;
  result.task.url = "http://127.0.0.1/p/" + std::to_string(seq);
  result.body = std::string(1000, 'x');
  result.status = 200;
  return result;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

TEST_CASE("parse pool: every result comes back parsed once, on every thread count",
          "[crawler][parse_pool]") {
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    auto slots = crawler::ParseSlots::create(threads);
    REQUIRE(slots.has_value());
    auto pool = crawler::ParsePool::create(
        threads,
        [](const crawler::FetchResult& r) {
          storage::PageWrite write;
          write.page.url = r.task.url;
          write.page.size_bytes = static_cast<std::int64_t>(r.body.size());
          return write;
        },
        &*slots, 0);
    REQUIRE(pool.has_value());
    constexpr int kResults = 200;
    for (int i = 1; i <= kResults; ++i) (*pool)->submit(result_for(i));
    std::set<std::int64_t> seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (seen.size() < kResults && std::chrono::steady_clock::now() < deadline) {
      (*pool)->wait_until_unparsed(kResults - seen.size() - 1);
      for (auto& done : (*pool)->take_done()) {
        CHECK(seen.insert(done.result.task.seq).second);  // once
        CHECK(done.write.page.url == done.result.task.url);
        CHECK(done.write.page.size_bytes == 1000);  // parsed with its body ...
        CHECK(done.result.body.empty());            // ... which is then released
      }
    }
    CHECK(seen.size() == kResults);
    CHECK((*pool)->in_progress() == 0);
    CHECK(slots->busy().empty());  // every slot emptied after its page
  }
}

TEST_CASE("parse pool: the wake fd is readable while results wait, slots show pages in work",
          "[crawler][parse_pool]") {
  auto slots = crawler::ParseSlots::create(2);
  REQUIRE(slots.has_value());
  std::atomic<bool> release{false};
  auto pool = crawler::ParsePool::create(
      2,
      [&release](const crawler::FetchResult&) {
        for (int i = 0; i < 30000 && !release.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return storage::PageWrite{};
      },
      &*slots, 0);
  REQUIRE(pool.has_value());
  CHECK_FALSE(readable((*pool)->wake_fd(), 0));
  (*pool)->submit(result_for(5));
  (*pool)->submit(result_for(6));
  (*pool)->submit(result_for(7));  // waits: both threads are busy
  for (int i = 0; i < 5000 && slots->busy().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::set<std::int64_t> busy;
  for (const auto& b : slots->busy()) busy.insert(b.seq);
  CHECK(busy == std::set<std::int64_t>{5, 6});
  CHECK((*pool)->in_progress() == 3);
  CHECK(((*pool)->take_done().empty()));
  release = true;
  std::size_t taken = 0;
  for (int i = 0; i < 100 && taken < 3; ++i) {
    if (readable((*pool)->wake_fd(), 100)) taken += (*pool)->take_done().size();
  }
  CHECK(taken == 3);
  CHECK((*pool)->in_progress() == 0);
  CHECK_FALSE(readable((*pool)->wake_fd(), 0));
}

TEST_CASE("parse pool: a thread count outside 1..slots is refused", "[crawler][parse_pool]") {
  auto slots = crawler::ParseSlots::create(2);
  REQUIRE(slots.has_value());
  auto parse = [](const crawler::FetchResult&) { return storage::PageWrite{}; };
  CHECK_FALSE(crawler::ParsePool::create(0, parse, &*slots, 0).has_value());
  CHECK_FALSE(crawler::ParsePool::create(3, parse, &*slots, 0).has_value());
  CHECK(crawler::ParsePool::create(2, parse, &*slots, 0).has_value());
  // and so is a nice increment outside 0..19
  CHECK_FALSE(crawler::ParsePool::create(2, parse, &*slots, -1).has_value());
  CHECK_FALSE(crawler::ParsePool::create(2, parse, &*slots, 20).has_value());
}

TEST_CASE("parse pool: its threads run at the creator's nice value plus the increment",
          "[crawler][parse_pool]") {
  errno = 0;
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  REQUIRE(errno == 0);
  if (own == 19) {  // every case would expect 19: nothing to tell apart
    WARN("the test runs at nice 19 already: nothing to check");
    return;
  }
  struct Case {
    int increment;
    int expected;
  };
  for (const Case c : {Case{0, own}, Case{5, std::min(19, own + 5)}, Case{19, 19}}) {
    CAPTURE(c.increment);
    auto slots = crawler::ParseSlots::create(2);
    REQUIRE(slots.has_value());
    std::mutex mutex;
    std::set<int> seen;  // the nice values the parses ran at
    auto pool = crawler::ParsePool::create(
        2,
        [&](const crawler::FetchResult&) {
          errno = 0;
          const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
          std::lock_guard<std::mutex> lock(mutex);
          seen.insert(errno == 0 ? nice : 100);
          // long enough that both threads are likely to take a page
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return storage::PageWrite{};
        },
        &*slots, c.increment);
    REQUIRE(pool.has_value());
    for (int seq = 1; seq <= 4; ++seq) (*pool)->submit(result_for(seq));
    (*pool)->wait_until_unparsed(0);
    CHECK((*pool)->take_done().size() == 4);
    CHECK(seen == std::set<int>{c.expected});
    // the creating thread keeps its own
    CHECK(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())) == own);
  }
}

TEST_CASE("parse pool: wait_until_unparsed returns once that few pages are left to parse",
          "[crawler][parse_pool]") {
  auto slots = crawler::ParseSlots::create(2);
  REQUIRE(slots.has_value());
  std::atomic<int> allowed{0}, started{0};
  auto pool = crawler::ParsePool::create(
      2,
      [&](const crawler::FetchResult&) {
        const int mine = ++started;  // the n-th parse to start finishes once allowed >= n
        for (int i = 0; i < 30000 && allowed.load() < mine; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return storage::PageWrite{};
      },
      &*slots, 0);
  REQUIRE(pool.has_value());
  for (int seq = 1; seq <= 6; ++seq) (*pool)->submit(result_for(seq));
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    (*pool)->wait_until_unparsed(2);
    returned = true;
  });
  allowed = 3;  // 3 parsed, 3 left: not yet
  for (int i = 0; i < 5000 && started.load() < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(returned.load());
  allowed = 4;  // 2 left: now
  for (int i = 0; i < 5000 && !returned.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(returned.load());
  waiter.join();
  CHECK((*pool)->take_done().size() == 4);
  CHECK((*pool)->in_progress() == 2);
  allowed = 6;
  (*pool)->wait_until_unparsed(0);
  CHECK((*pool)->take_done().size() == 2);
  CHECK((*pool)->in_progress() == 0);
  (*pool)->wait_until_unparsed(0);  // nothing in progress: returns at once
}

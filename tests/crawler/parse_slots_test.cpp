#include "crawler/parse_slots.h"

#include "crawler/workers.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace {

std::vector<std::int64_t> busy_seqs(const crawler::ParseSlots& slots) {
  std::vector<std::int64_t> out;
  for (const auto& busy : slots.busy()) out.push_back(busy.seq);
  return out;
}

}  // namespace

TEST_CASE("parse slots: begin and end fill and empty a slot, out-of-range slots are ignored",
          "[crawler][parse_slots]") {
  auto slots = crawler::ParseSlots::create(3);
  REQUIRE(slots.has_value());
  CHECK(slots->count() == 3);
  CHECK(slots->busy().empty());
  slots->begin(0, 11, 1000);
  slots->begin(2, 13, 2000);
  slots->begin(3, 99, 3000);   // no slot 3
  slots->begin(-1, 98, 3000);  // nor -1
  const auto busy = slots->busy();
  REQUIRE(busy.size() == 2);
  CHECK(busy[0].slot == 0);
  CHECK(busy[0].seq == 11);
  CHECK(busy[0].started_ms == 1000);
  CHECK_FALSE(busy[0].culprit);
  CHECK(busy[1].slot == 2);
  CHECK(busy[1].seq == 13);
  slots->end(0);
  CHECK(busy_seqs(*slots) == std::vector<std::int64_t>{13});
  slots->mark_culprit(2);
  REQUIRE(slots->busy().size() == 1);
  CHECK(slots->busy()[0].culprit);
  slots->clear();
  CHECK(slots->busy().empty());
}

TEST_CASE("parse slots: the writer's heartbeat is shared, and cleared for a new parser",
          "[crawler][parse_slots]") {
  auto slots = crawler::ParseSlots::create(2);
  REQUIRE(slots.has_value());
  CHECK(slots->writer_alive_ms() == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // the "parser's writer", through a dup of the fd, as after exec
    auto attached = crawler::ParseSlots::attach(::dup(slots->fd()));
    if (!attached) ::_exit(2);
    attached->writer_alive(12345);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slots->writer_alive_ms() == 12345);
  CHECK(slots->busy().empty());  // a heartbeat is no page
  slots->clear();
  CHECK(slots->writer_alive_ms() == 0);
}

TEST_CASE("parse slots: a count outside 1..kMaxSlots is refused", "[crawler][parse_slots]") {
  for (int count : {0, -1, crawler::ParseSlots::kMaxSlots + 1}) {
    CAPTURE(count);
    CHECK_FALSE(crawler::ParseSlots::create(count).has_value());
  }
  CHECK(crawler::ParseSlots::create(crawler::ParseSlots::kMaxSlots).has_value());
}

TEST_CASE("parse slots: another process sees the slots, and a crash marks its culprit",
          "[crawler][parse_slots]") {
  auto slots = crawler::ParseSlots::create(4);
  REQUIRE(slots.has_value());
  for (const bool crash : {false, true}) {
    CAPTURE(crash);
    slots->clear();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // the "parser": attach through a dup of the fd, as after exec
      auto attached = crawler::ParseSlots::attach(::dup(slots->fd()));
      if (!attached) ::_exit(2);
      crawler::install_crash_marker(&*attached);
      attached->begin(0, 7, 100);  // another thread's page: busy, not to blame
      crawler::set_current_parse_slot(1);
      attached->begin(1, 8, 200);
      if (crash) std::abort();
      attached->end(1);
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    const auto busy = slots->busy();
    if (crash) {
      REQUIRE(WIFSIGNALED(status));
      CHECK(WTERMSIG(status) == SIGABRT);  // still dies of the signal it got
      REQUIRE(busy.size() == 2);
      CHECK_FALSE(busy[0].culprit);
      CHECK(busy[1].seq == 8);
      CHECK(busy[1].culprit);
    } else {
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      REQUIRE(busy.size() == 1);
      CHECK(busy[0].seq == 7);
      CHECK_FALSE(busy[0].culprit);
    }
  }
}

#if !defined(__SANITIZE_ADDRESS__)  // ASan takes over SIGSEGV on its own alternate stack
TEST_CASE("parse slots: a parse thread that overflows its stack still marks its culprit",
          "[crawler][parse_slots]") {
  auto slots = crawler::ParseSlots::create(4);
  REQUIRE(slots.has_value());
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto attached = crawler::ParseSlots::attach(::dup(slots->fd()));
    if (!attached) ::_exit(2);
    crawler::install_crash_marker(&*attached);
    attached->begin(0, 7, 100);  // another thread's page: busy, not to blame
    std::thread parse_thread([&] {  // as ParsePool::run starts
      if (!crawler::use_alternate_signal_stack()) ::_exit(3);
      crawler::set_current_parse_slot(1);
      attached->begin(1, 8, 200);
      crawler::overflow_stack();
    });
    parse_thread.join();
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  const auto busy = slots->busy();
  REQUIRE(busy.size() == 2);
  CHECK_FALSE(busy[0].culprit);
  CHECK(busy[1].seq == 8);
  CHECK(busy[1].culprit);  // without the alternate stack: false, and both pages are charged
}
#endif

TEST_CASE("parse slots: attach refuses an fd that is not a slots region", "[crawler][parse_slots]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[1]);
  CHECK_FALSE(crawler::ParseSlots::attach(fds[0]).has_value());  // attach owns and closes it
}

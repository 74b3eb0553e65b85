#include "crawler/parse_pool.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>

#include "common/thread_name.h"
#include "crawler/ipc.h"

namespace crawler {

common::Result<std::unique_ptr<ParsePool>> ParsePool::create(int threads, ParseFunction parse,
                                                             ParseSlots* slots,
                                                             int nice_increment) {
  const int max_threads = slots != nullptr ? slots->count() : ParseSlots::kMaxSlots;
  if (threads < 1 || threads > max_threads) {
    return common::make_error(common::ErrorCode::BadInput,
                              "parse threads: " + std::to_string(threads) + " is not in 1.." +
                                  std::to_string(max_threads));
  }
  if (nice_increment < 0 || nice_increment > 19) {
    return common::make_error(
        common::ErrorCode::BadInput,
        "parse threads: nice increment " + std::to_string(nice_increment) + " is not in 0..19");
  }
  // A thread starts at its creator's nice value. getpriority() may return -1 as a value, so
  // errno tells an error apart; on one the threads keep the creator's.
  std::optional<int> nice;
  errno = 0;
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  if (nice_increment > 0 && errno == 0) nice = std::min(19, own + nice_increment);
  auto wake = make_wake_fd();
  if (!wake) return common::error_of(wake);
  std::unique_ptr<ParsePool> pool(new ParsePool(std::move(parse), slots, std::move(*wake), nice));
  try {
    for (int i = 0; i < threads; ++i) pool->threads_.emplace_back(&ParsePool::run, pool.get(), i);
  } catch (const std::exception& e) {  // std::system_error: no thread
    return common::make_error(common::ErrorCode::Io, std::string("parse thread: ") + e.what());
  }
  return pool;
}

ParsePool::~ParsePool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void ParsePool::submit(FetchResult result) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(result));
    ++in_progress_;
  }
  work_ready_.notify_one();
}

std::size_t ParsePool::in_progress() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_progress_;
}

std::vector<ParsePool::Done> ParsePool::take_done() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Reset the eventfd under the lock that guards done_, as run() signals it: then the fd is
  // readable exactly while done_ holds something, never after its results were taken.
  clear_wake_fd(wake_.get());
  std::vector<Done> out;
  out.swap(done_);
  in_progress_ -= out.size();
  return out;
}

void ParsePool::wait_until_unparsed(std::size_t unparsed) {
  std::unique_lock<std::mutex> lock(mutex_);
  waiter_limit_ = unparsed;
  done_ready_.wait(lock, [this, unparsed] { return in_progress_ - done_.size() <= unparsed; });
  waiter_limit_.reset();
}

// A thread body: nothing may escape it. A parse that throws (std::bad_alloc on a hostile
// page) takes the process down like a crash, with the page named in its slot.
void ParsePool::run(int slot) {
  common::set_thread_name("parse-" + std::to_string(slot));
  // Linux keeps a nice value per thread (PRIO_PROCESS with a thread id).
  if (nice_) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), *nice_);
  (void)use_alternate_signal_stack();  // without one, the marker runs on the thread's stack
  set_current_parse_slot(slot);
  for (;;) {
    FetchResult job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (slots_ != nullptr) slots_->begin(slot, job.task.seq, monotonic_ms());
    Done done;
    try {
      done.write = parse_(job);
    } catch (const std::exception& e) {
      std::cerr << "parser: parsing " << job.task.url << " failed: " << e.what() << '\n';
      std::abort();
    } catch (...) {
      std::abort();
    }
    if (slots_ != nullptr) slots_->end(slot);
    job.body = std::string();  // parsed: only the fetch outcome is still needed
    done.result = std::move(job);
    bool wake_waiter = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Signal the eventfd when done_ stops being empty; take_done() resets it as it empties
      // done_, under the same lock. One write per batch of results, not per page.
      if (done_.empty()) {
        signal_wake_fd(wake_.get());
      }
      done_.push_back(std::move(done));
      wake_waiter = waiter_limit_ && in_progress_ - done_.size() <= *waiter_limit_;
    }
    if (wake_waiter) done_ready_.notify_one();
  }
}

}  // namespace crawler

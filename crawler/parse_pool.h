#pragma once
// ParsePool: the parser process's parse threads. Parsing HTML (Gumbo, link extraction, scope
// decisions) is most of a crawl's CPU; the pool runs it on several threads while the
// process's main thread reads results and batches them for the writer thread (BatchWriter),
// so a crawl parses on every core while it commits.
//
// Thread i works under slot i of the ParseSlots, so the coordinator can tell which page a
// dying or hung parser was on. A parse function that throws aborts the process (as an
// uncaught exception would have), and the crash marker names its page.
//
// Parse threads run at a lower priority than the rest of the crawl (`nice_increment`
// above the creating thread's nice value, at most 19). They are the one stage with threads
// to spare; the writer thread, the fetchers and the coordinator are single threads that the
// parse threads wait for. On the scale scenario the writer is the bottleneck, and at equal
// priority it spent 20-27% of its time ready but waiting for a CPU while the parse threads
// ran (docs/PERFORMANCE.md, "The writer waits for a CPU"). On an idle machine the parse
// threads still get every CPU the rest leaves.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "crawler/messages.h"
#include "crawler/parse_slots.h"
#include "storage/page_store.h"

namespace crawler {

class ParsePool {
 public:
  // Runs on a pool thread: must only read shared state.
  using ParseFunction = std::function<storage::PageWrite(const FetchResult&)>;

  struct Done {
    FetchResult result;  // the body is released
    storage::PageWrite write;
  };

  // What the crawl uses: see the header.
  static constexpr int kNiceIncrement = 5;

  // `threads` in 1..slots->count() (slots may be null: no breadcrumbs, as in tests).
  // `nice_increment` in 0..19 is added to the creating thread's nice value for the pool's
  // threads (best effort: a failure leaves them at the caller's).
  [[nodiscard]] static common::Result<std::unique_ptr<ParsePool>> create(int threads,
                                                                         ParseFunction parse,
                                                                         ParseSlots* slots,
                                                                         int nice_increment);
  ~ParsePool();  // finishes no more jobs: stops the threads after their current one
  ParsePool(const ParsePool&) = delete;
  ParsePool& operator=(const ParsePool&) = delete;

  // Queues a result for parsing. Never blocks; the caller bounds in_progress().
  void submit(FetchResult result);
  // Submitted and not yet returned by take_done().
  std::size_t in_progress() const;
  // Readable (an eventfd) exactly while parsed results wait to be taken.
  int wake_fd() const noexcept { return wake_.get(); }
  // Everything parsed so far, in the order it finished; does not block.
  std::vector<Done> take_done();
  // Blocks until at most `unparsed` submitted pages are still queued or being parsed (the
  // others wait in take_done()); returns at once if that already holds. The threads wake the
  // caller only then, not at every page: a caller that waits for half of a full queue
  // sleeps through several pages. wait_until_unparsed(0): until everything is parsed.
  // One caller at a time (the thread that submits): the pool remembers a single waiter.
  void wait_until_unparsed(std::size_t unparsed);

 private:
  ParsePool(ParseFunction parse, ParseSlots* slots, common::UniqueFd wake, std::optional<int> nice)
      : parse_(std::move(parse)), slots_(slots), wake_(std::move(wake)), nice_(nice) {}
  void run(int slot);

  ParseFunction parse_;
  ParseSlots* slots_;
  common::UniqueFd wake_;
  const std::optional<int> nice_;  // the threads' nice value; none: the creator's
  mutable std::mutex mutex_;
  std::condition_variable work_ready_, done_ready_;
  std::deque<FetchResult> jobs_;
  std::vector<Done> done_;
  std::size_t in_progress_ = 0;
  // While a caller is blocked in wait_until_unparsed: the count of unparsed pages it awaits.
  std::optional<std::size_t> waiter_limit_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: they use everything above
};

}  // namespace crawler

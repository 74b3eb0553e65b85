#pragma once
// BatchWriter: the parser process's writer thread. It owns the ResultStore (the crawl's one
// writing SQLite connection), so that a batch commits while the main thread goes on reading
// results and the parse threads go on parsing them. Before, the main thread committed
// itself, and during a commit (seconds, on a database of millions of URLs) the parse threads
// ran dry and the fetchers' results waited: parse time and commit time added up instead of
// overlapping (docs/PERFORMANCE.md, (e)).
//
// One job at a time. The main thread fills the next batch while this one is written, and
// waits for the writer (wait_idle) only when that batch is due before the writer is free; so
// at most two batches are in memory, each bounded by BatchPolicy.
//
// Once a job is durable the writer calls `done` on its own thread (the parser sends the
// coordinator its Committed messages from there, in commit order). A store error (or an
// exception from the store) stops the writer: failed() turns true, the job is not reported,
// and the process should exit (the coordinator requeues what was not committed). If `done`
// returns false (the coordinator is gone) the writer goes on writing the jobs it is given,
// without calling `done` again: a parser whose coordinator died keeps what it has.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "crawler/messages.h"
#include "storage/page_store.h"

namespace crawler {

struct WriteJob {
  std::vector<storage::RobotsRecord> robots;  // written first, each in its own transaction
  std::vector<storage::PageWrite> pages;      // then all in one transaction (write_batch)
  Committed committed;                        // for the coordinator once both are durable
};

class BatchWriter {
 public:
  // On the writer thread, after `job` is durable; false: not called again (unreported()).
  using DoneFunction = std::function<bool(WriteJob& job, const storage::WriteSummary& summary)>;

  // A written job: how many pages and how long its write_batch took (for BatchPolicy).
  struct Finished {
    std::size_t pages = 0;
    std::int64_t elapsed_ms = 0;
  };

  [[nodiscard]] static common::Result<std::unique_ptr<BatchWriter>> create(
      std::unique_ptr<storage::ResultStore> store, DoneFunction done);
  ~BatchWriter();  // finishes the job in hand (if any), then stops the thread
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // Hands a job to the writer; never blocks. False, and the job is not taken, while busy()
  // or after failed().
  [[nodiscard]] bool submit(WriteJob job);
  // A job is submitted and not yet written (or failed).
  bool busy() const;
  // A job failed; the writer takes no more. error() says why.
  bool failed() const;
  // `done` returned false once: later jobs are written but not reported.
  bool unreported() const;
  std::string error() const;
  // Blocks until the writer is not busy. False if it failed.
  bool wait_idle();
  // Readable (an eventfd) exactly while finished jobs wait in take_finished(): wakes the
  // main thread's epoll when the writer becomes free, or fails.
  int wake_fd() const noexcept { return wake_.get(); }
  // The jobs written since the last call, oldest first; does not block.
  std::vector<Finished> take_finished();

 private:
  BatchWriter(std::unique_ptr<storage::ResultStore> store, DoneFunction done, common::UniqueFd wake)
      : store_(std::move(store)), done_(std::move(done)), wake_(std::move(wake)) {}
  void run();
  // On the writer thread, without the lock: writes the job; an error message on failure.
  std::optional<std::string> write(WriteJob& job, Finished& finished);

  std::unique_ptr<storage::ResultStore> store_;  // used by the writer thread only
  DoneFunction done_;
  common::UniqueFd wake_;
  mutable std::mutex mutex_;
  std::condition_variable job_ready_, idle_;
  std::optional<WriteJob> job_;  // submitted, being written
  std::vector<Finished> finished_;
  std::string error_;
  bool failed_ = false;
  bool unreported_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: it uses everything above
};

}  // namespace crawler

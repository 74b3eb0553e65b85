#include "crawler/batch_writer.h"

#include <utility>

#include "common/thread_name.h"
#include "crawler/ipc.h"

namespace crawler {

common::Result<std::unique_ptr<BatchWriter>> BatchWriter::create(
    std::unique_ptr<storage::ResultStore> store, DoneFunction done) {
  if (!store) return common::make_error(common::ErrorCode::BadInput, "batch writer: no store");
  auto wake = make_wake_fd();
  if (!wake) return common::error_of(wake);
  std::unique_ptr<BatchWriter> writer(
      new BatchWriter(std::move(store), std::move(done), std::move(*wake)));
  try {
    writer->thread_ = std::thread(&BatchWriter::run, writer.get());
  } catch (const std::exception& e) {  // std::system_error: no thread
    return common::make_error(common::ErrorCode::Io, std::string("writer thread: ") + e.what());
  }
  return writer;
}

BatchWriter::~BatchWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  job_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool BatchWriter::submit(WriteJob job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (job_ || failed_) return false;
    job_ = std::move(job);
  }
  job_ready_.notify_one();
  return true;
}

bool BatchWriter::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return job_.has_value();
}

bool BatchWriter::failed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_;
}

bool BatchWriter::unreported() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return unreported_;
}

std::string BatchWriter::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

bool BatchWriter::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return !job_; });
  return !failed_;
}

std::vector<BatchWriter::Finished> BatchWriter::take_finished() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Reset the eventfd under the lock that guards finished_, as run() signals it.
  clear_wake_fd(wake_.get());
  std::vector<Finished> out;
  out.swap(finished_);
  return out;
}

std::optional<std::string> BatchWriter::write(WriteJob& job, Finished& finished) {
  for (const auto& record : job.robots) {
    if (auto r = store_->write_robots(record); !r) {
      return "cannot store robots.txt of " + record.origin + ": " + r.error().context;
    }
  }
  const std::int64_t started_ms = monotonic_ms();
  auto summary = store_->write_batch(job.pages);
  if (!summary) return "cannot store results: " + summary.error().context;
  finished.pages = job.pages.size();
  finished.elapsed_ms = monotonic_ms() - started_ms;
  bool report;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    report = !unreported_;
  }
  if (report && !done_(job, *summary)) {
    std::lock_guard<std::mutex> lock(mutex_);
    unreported_ = true;
  }
  return std::nullopt;
}

void BatchWriter::run() {
  common::set_thread_name("writer");
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    job_ready_.wait(lock, [this] { return stopping_ || job_.has_value(); });
    if (!job_) return;  // stopping, nothing in hand
    // The job stays in job_ (busy) while it is written; only this thread touches it then.
    WriteJob& job = *job_;
    lock.unlock();
    Finished finished;
    std::optional<std::string> error;
    try {
      error = write(job, finished);
    } catch (const std::exception& e) {  // std::bad_alloc, from the store or the report
      error = std::string("writer: ") + e.what();
    }
    lock.lock();
    job_.reset();
    if (error) {
      failed_ = true;
      error_ = std::move(*error);
    } else {
      finished_.push_back(finished);
    }
    signal_wake_fd(wake_.get());
    idle_.notify_all();
    if (failed_) return;
  }
}

}  // namespace crawler

#pragma once
// ParseSlots: which page each parse thread of the parser process is working on, in memory the
// parser and the coordinator share (a memfd both map). When the parser dies or hangs, the
// coordinator reads the slots to learn which page did it, and charges that page an attempt;
// the other results the parser had not committed are fetched again free of charge.
//
// One slot per parse thread. A thread fills its slot before it parses a page and empties it
// after. A fatal signal in a parse thread (SIGSEGV, SIGABRT, ...) marks that thread's slot as
// the culprit before the process dies (install_crash_marker). The shared memory replaces a
// message per page: it costs the parser nothing beyond two stores per page.
//
// The region also holds the writer's heartbeat: the parser's writer thread stores the time
// while SQLite works on its connection and while a commit waits for a WAL checkpoint
// (writer_alive, from PageStoreOptions::heartbeat), so a commit longer than the coordinator's
// watchdog (a large FTS5 merge, a slow checkpoint) is a sign of life, not a hang.

#include <atomic>
#include <cstdint>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace crawler {

class ParseSlots {
 public:
  static constexpr int kMaxSlots = 256;

  struct Busy {
    int slot = 0;
    std::int64_t seq = 0;         // the task whose page is being parsed
    std::int64_t started_ms = 0;  // monotonic_ms() when parsing began
    bool culprit = false;         // the thread died of a fatal signal while parsing it
  };

  // Coordinator: a new shared region with `count` (1..kMaxSlots) empty slots.
  [[nodiscard]] static common::Result<ParseSlots> create(int count);
  // Parser: maps the region whose fd it inherited.
  [[nodiscard]] static common::Result<ParseSlots> attach(int fd);

  ParseSlots() = default;
  ~ParseSlots();
  ParseSlots(ParseSlots&& other) noexcept;
  ParseSlots& operator=(ParseSlots&& other) noexcept;
  ParseSlots(const ParseSlots&) = delete;
  ParseSlots& operator=(const ParseSlots&) = delete;

  int fd() const noexcept { return fd_.get(); }
  int count() const noexcept;

  // Parser side. Out-of-range slots are ignored.
  void begin(int slot, std::int64_t seq, std::int64_t now_ms) noexcept;
  void end(int slot) noexcept;
  void mark_culprit(int slot) noexcept;  // async-signal-safe
  // The writer thread is at work at `now_ms` (monotonic_ms()).
  void writer_alive(std::int64_t now_ms) noexcept;

  // Coordinator side: the slots in use, the writer's last heartbeat (0: none yet), and
  // emptying them all, the heartbeat too (for a new parser).
  std::vector<Busy> busy() const;
  std::int64_t writer_alive_ms() const noexcept;
  void clear() noexcept;

 private:
  struct Slot {
    std::atomic<std::int64_t> seq;  // 0: empty (task seqs are never 0)
    std::atomic<std::int64_t> started_ms;
    std::atomic<std::int64_t> culprit;
  };
  struct Region {
    std::atomic<std::int64_t> count;
    std::atomic<std::int64_t> writer_alive_ms;
    Slot slots[kMaxSlots];
  };
  static_assert(std::atomic<std::int64_t>::is_always_lock_free,
                "shared-memory atomics must be lock-free");

  ParseSlots(common::UniqueFd fd, Region* region) : fd_(std::move(fd)), region_(region) {}
  Slot* slot_at(int slot) const noexcept;

  common::UniqueFd fd_;
  Region* region_ = nullptr;  // mmap'd, shared
};

// Parser process: makes a fatal signal in a thread that has called set_current_parse_slot mark
// that slot in `slots` as the culprit, then die as it would have. `slots` must live until the
// process exits.
void install_crash_marker(ParseSlots* slots);
// The calling thread's slot (-1: none), for the crash marker.
void set_current_parse_slot(int slot) noexcept;
// Gives the calling thread an alternate signal stack, kept until the thread exits, so that the
// crash marker runs also when the thread has overflowed its own stack (a fault there leaves
// no room for a handler, and the process would die unmarked, its every busy page blamed).
// False if it could not be set up: the marker then runs on the thread's own stack.
bool use_alternate_signal_stack() noexcept;

}  // namespace crawler

#include "crawler/parse_slots.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <utility>

namespace crawler {

using common::ErrorCode;
using common::make_error;

namespace {

auto system_error(const std::string& what) {
  return make_error(ErrorCode::Io, what + ": " + std::strerror(errno));
}

thread_local int current_slot = -1;
ParseSlots* crash_slots = nullptr;

// The calling thread's alternate signal stack (use_alternate_signal_stack), released when the
// thread exits.
struct AlternateStack {
  static constexpr std::size_t kBytes = 64 * 1024;  // the handler needs a few hundred bytes
  void* memory = nullptr;
  AlternateStack() = default;
  AlternateStack(const AlternateStack&) = delete;
  AlternateStack& operator=(const AlternateStack&) = delete;
  ~AlternateStack() {
    if (memory == nullptr) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ::sigaltstack(&off, nullptr);
    ::munmap(memory, kBytes);
  }
};
thread_local AlternateStack alternate_stack;

// Marks the dying thread's slot and returns: SA_RESETHAND has restored the default action, so
// a fault happens again and kills the process, and abort() raises SIGABRT again itself.
void mark_and_die(int) {
  if (crash_slots != nullptr && current_slot >= 0) crash_slots->mark_culprit(current_slot);
}

}  // namespace

common::Result<ParseSlots> ParseSlots::create(int count) {
  if (count < 1 || count > kMaxSlots) {
    return make_error(ErrorCode::BadInput, "parse slots: count " + std::to_string(count) +
                                               " is not in 1.." + std::to_string(kMaxSlots));
  }
  common::UniqueFd fd(::memfd_create("crawler-parse-slots", MFD_CLOEXEC));
  if (!fd.valid()) return system_error("memfd_create");
  if (::ftruncate(fd.get(), sizeof(Region)) != 0) return system_error("ftruncate");
  void* map = ::mmap(nullptr, sizeof(Region), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) return system_error("mmap");
  auto* region = static_cast<Region*>(map);  // zero-filled by ftruncate: every slot empty
  region->count.store(count);
  return ParseSlots(std::move(fd), region);
}

common::Result<ParseSlots> ParseSlots::attach(int fd) {
  common::UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(owned.get(), &st) != 0) return system_error("parse slots: fstat");
  if (static_cast<std::size_t>(st.st_size) != sizeof(Region)) {
    return make_error(ErrorCode::BadInput, "parse slots: the shared region has the wrong size");
  }
  void* map = ::mmap(nullptr, sizeof(Region), PROT_READ | PROT_WRITE, MAP_SHARED, owned.get(), 0);
  if (map == MAP_FAILED) return system_error("parse slots: mmap");
  return ParseSlots(std::move(owned), static_cast<Region*>(map));
}

ParseSlots::~ParseSlots() {
  if (region_ != nullptr) ::munmap(region_, sizeof(Region));
}

ParseSlots::ParseSlots(ParseSlots&& other) noexcept
    : fd_(std::move(other.fd_)), region_(std::exchange(other.region_, nullptr)) {}

ParseSlots& ParseSlots::operator=(ParseSlots&& other) noexcept {
  if (this != &other) {
    if (region_ != nullptr) ::munmap(region_, sizeof(Region));
    fd_ = std::move(other.fd_);
    region_ = std::exchange(other.region_, nullptr);
  }
  return *this;
}

int ParseSlots::count() const noexcept {
  if (region_ == nullptr) return 0;
  const auto n = region_->count.load();
  return n < 0 ? 0 : n > kMaxSlots ? kMaxSlots : static_cast<int>(n);
}

ParseSlots::Slot* ParseSlots::slot_at(int slot) const noexcept {
  if (slot < 0 || slot >= count()) return nullptr;
  return &region_->slots[slot];
}

void ParseSlots::begin(int slot, std::int64_t seq, std::int64_t now_ms) noexcept {
  if (Slot* s = slot_at(slot)) {
    s->culprit.store(0);  // a mark from a fatal signal the process survived is not this page's
    s->started_ms.store(now_ms);
    s->seq.store(seq);  // last: a reader that sees the seq sees its start time
  }
}

void ParseSlots::end(int slot) noexcept {
  if (Slot* s = slot_at(slot)) s->seq.store(0);
}

void ParseSlots::mark_culprit(int slot) noexcept {
  if (Slot* s = slot_at(slot)) s->culprit.store(1);
}

void ParseSlots::writer_alive(std::int64_t now_ms) noexcept {
  if (region_ != nullptr) region_->writer_alive_ms.store(now_ms);
}

std::int64_t ParseSlots::writer_alive_ms() const noexcept {
  return region_ == nullptr ? 0 : region_->writer_alive_ms.load();
}

std::vector<ParseSlots::Busy> ParseSlots::busy() const {
  std::vector<Busy> out;
  for (int i = 0; i < count(); ++i) {
    const Slot& s = region_->slots[i];
    const std::int64_t seq = s.seq.load();
    if (seq == 0) continue;
    out.push_back(Busy{i, seq, s.started_ms.load(), s.culprit.load() != 0});
  }
  return out;
}

void ParseSlots::clear() noexcept {
  if (region_ != nullptr) region_->writer_alive_ms.store(0);
  for (int i = 0; i < count(); ++i) {
    region_->slots[i].seq.store(0);
    region_->slots[i].started_ms.store(0);
    region_->slots[i].culprit.store(0);
  }
}

void install_crash_marker(ParseSlots* slots) {
  crash_slots = slots;
  struct sigaction action {};
  action.sa_handler = mark_and_die;
  // SA_ONSTACK: on the thread's alternate stack where it has one (a stack overflow).
  action.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &action, nullptr);
}

void set_current_parse_slot(int slot) noexcept { current_slot = slot; }

bool use_alternate_signal_stack() noexcept {
  if (alternate_stack.memory != nullptr) return true;
  void* memory = ::mmap(nullptr, AlternateStack::kBytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (memory == MAP_FAILED) return false;
  stack_t stack{};
  stack.ss_sp = memory;
  stack.ss_size = AlternateStack::kBytes;
  if (::sigaltstack(&stack, nullptr) != 0) {
    ::munmap(memory, AlternateStack::kBytes);
    return false;
  }
  alternate_stack.memory = memory;
  return true;
}

}  // namespace crawler

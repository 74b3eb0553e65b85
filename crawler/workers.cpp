#include "crawler/workers.h"

#include <unistd.h>

#include <cstdlib>

namespace crawler {

namespace {
std::string env_or_empty(const char* name) {
  const char* value = name != nullptr ? std::getenv(name) : nullptr;
  return value != nullptr ? value : "";
}
// Recurses until the stack runs out (the limit is never reached: 8 MiB of 4 KiB frames is
// about 2,000); each frame writes both ends of a page-sized array, so none skips the guard
// page, and the compiler can neither drop the frames nor turn the recursion into a loop.
volatile int overflow_limit = 1 << 30;
[[gnu::noinline]] int recurse_until_overflow(int depth) {
  volatile char frame[4096];
  frame[0] = static_cast<char>(depth);
  frame[sizeof frame - 1] = frame[0];
  if (depth >= overflow_limit) return frame[0];
  return recurse_until_overflow(depth + 1) + frame[sizeof frame - 1];
}
}  // namespace

void overflow_stack() { (void)recurse_until_overflow(0); }

FaultInjection::FaultInjection(const char* crash_env, const char* hang_env,
                               const char* overflow_env)
    : crash_on_(env_or_empty(crash_env)),
      hang_on_(env_or_empty(hang_env)),
      overflow_on_(env_or_empty(overflow_env)) {}

void FaultInjection::act(std::string_view url) const {
  if (!crash_on_.empty() && url.find(crash_on_) != std::string_view::npos) std::abort();
  if (!overflow_on_.empty() && url.find(overflow_on_) != std::string_view::npos) {
    overflow_stack();
  }
  if (!hang_on_.empty() && url.find(hang_on_) != std::string_view::npos) {
    for (;;) ::pause();
  }
}

}  // namespace crawler

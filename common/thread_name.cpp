#include "common/thread_name.h"

#include <pthread.h>

namespace common {

namespace {
constexpr std::size_t kMaxNameBytes = 15;  // TASK_COMM_LEN - 1
}

void set_thread_name(std::string_view name) noexcept {
  char buffer[kMaxNameBytes + 1] = {};
  name.copy(buffer, kMaxNameBytes);
  (void)::pthread_setname_np(::pthread_self(), buffer);
}

std::string thread_name() {
  char buffer[kMaxNameBytes + 1] = {};
  if (::pthread_getname_np(::pthread_self(), buffer, sizeof buffer) != 0) return {};
  return buffer;
}

}  // namespace common

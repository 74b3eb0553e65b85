#include "crawler/workers.h"

#include <unistd.h>

#include <cstdlib>

namespace crawler {

namespace {
std::string env_or_empty(const char* name) {
  const char* value = name != nullptr ? std::getenv(name) : nullptr;
  return value != nullptr ? value : "";
}
}  // namespace

FaultInjection::FaultInjection(const char* crash_env, const char* hang_env)
    : crash_on_(env_or_empty(crash_env)), hang_on_(env_or_empty(hang_env)) {}

void FaultInjection::act(std::string_view url) const {
  if (!crash_on_.empty() && url.find(crash_on_) != std::string_view::npos) std::abort();
  if (!hang_on_.empty() && url.find(hang_on_) != std::string_view::npos) {
    for (;;) ::pause();
  }
}

}  // namespace crawler

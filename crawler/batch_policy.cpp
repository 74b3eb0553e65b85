#include "crawler/batch_policy.h"

#include <algorithm>
#include <cmath>

namespace crawler {

namespace {
constexpr std::size_t kMinPageLimit = 16;  // below this a commit costs more than it saves
constexpr std::int64_t kMaxCommitBudgetMs = 15000;
}  // namespace

BatchLimits batch_limits_for_watchdog(double watchdog_s) {
  BatchLimits limits;
  const auto quarter_ms = static_cast<std::int64_t>(std::max(0.0, watchdog_s) * 250.0);
  limits.commit_budget_ms = std::clamp<std::int64_t>(quarter_ms, 1, kMaxCommitBudgetMs);
  // A parser that is never idle is heard from only when it commits: its batch must not wait
  // longer than the commit may take, or the coordinator's watchdog (results waiting, nothing
  // committed for --watchdog) kills a healthy parser under a short --watchdog.
  limits.max_wait_ms = std::min(limits.max_wait_ms, limits.commit_budget_ms);
  return limits;
}

ParserVerdict judge_parser(std::int64_t now_ms, std::int64_t oldest_result_ms,
                           std::int64_t committed_ms, std::int64_t writer_alive_ms,
                           double watchdog_s) {
  const auto limit = static_cast<std::int64_t>(watchdog_s * 1000);
  if (oldest_result_ms < 0 || now_ms - oldest_result_ms < limit) return ParserVerdict::kAlive;
  if (now_ms - std::max(committed_ms, writer_alive_ms) >= limit) return ParserVerdict::kSilent;
  if (now_ms - committed_ms >= kCommitCeiling * limit) return ParserVerdict::kCommitTooLong;
  return ParserVerdict::kAlive;
}

BatchPolicy::BatchPolicy(BatchLimits limits)
    : limits_(limits),
      min_page_limit_(std::min(kMinPageLimit, std::max<std::size_t>(1, limits.max_pages))),
      page_limit_(std::clamp(limits.first_pages, min_page_limit_,
                             std::max<std::size_t>(1, limits.max_pages))) {}

bool BatchPolicy::due(std::size_t pages, std::size_t bytes, std::int64_t started_ms,
                      std::int64_t now_ms) const {
  if (pages == 0) return false;
  return pages >= page_limit_ || bytes >= limits_.max_bytes ||
         now_ms - started_ms >= limits_.max_wait_ms;
}

bool BatchPolicy::full(std::size_t pages, std::size_t bytes) const {
  return pages > 0 && (pages >= page_limit_ || bytes >= limits_.max_bytes);
}

void BatchPolicy::committed(std::size_t pages, std::int64_t elapsed_ms) {
  if (pages == 0) return;
  const double ms_per_page = static_cast<double>(std::max<std::int64_t>(1, elapsed_ms)) /
                             static_cast<double>(pages);
  const double fits = static_cast<double>(limits_.commit_budget_ms) / ms_per_page;
  const double grown = 2.0 * static_cast<double>(std::max(page_limit_, pages));
  const double next = std::min({fits, grown, static_cast<double>(limits_.max_pages)});
  page_limit_ = std::max(min_page_limit_, static_cast<std::size_t>(std::floor(next)));
}

}  // namespace crawler

#include "crawler/progress.h"

#include <cmath>
#include <cstdio>

namespace crawler {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e9) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", s);
  }
  return buf;
}

ProgressReporter::ProgressReporter(std::ostream& out, bool terminal, std::int64_t interval_ms,
                                   std::int64_t start_ms)
    : out_(out),
      terminal_(terminal),
      interval_ms_(interval_ms),
      start_ms_(start_ms),
      last_print_ms_(start_ms) {
  history_.emplace_back(start_ms, 0);
}

void ProgressReporter::remember(std::int64_t pages, std::int64_t now_ms) {
  if (history_.empty() || now_ms - history_.back().first >= 100) history_.emplace_back(now_ms, pages);
  // Keep one sample at or before the window's start, so the window is always covered.
  while (history_.size() > 2 && now_ms - history_[1].first >= kRateWindowMs) history_.pop_front();
}

double ProgressReporter::recent_rate(std::int64_t now_ms) const {
  if (history_.size() < 2) return 0;
  const auto& [first_ms, first_pages] = history_.front();
  const auto& [last_ms, last_pages] = history_.back();
  const std::int64_t span = std::max<std::int64_t>(now_ms, last_ms) - first_ms;
  if (span <= 0) return 0;
  return static_cast<double>(last_pages - first_pages) * 1000.0 / static_cast<double>(span);
}

std::string ProgressReporter::format(const ProgressSample& s, std::int64_t now_ms) {
  remember(s.pages, now_ms);
  const double rate = recent_rate(now_ms);
  const double elapsed = static_cast<double>(now_ms - start_ms_) / 1000.0;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%lld pages, %.1f pages/s, %lld queued, %lld in flight, %lld errors, %s elapsed",
                static_cast<long long>(s.pages), rate, static_cast<long long>(s.queued),
                static_cast<long long>(s.in_flight), static_cast<long long>(s.errors),
                format_duration(elapsed).c_str());
  std::string line = buf;
  if (s.remaining >= 0) {
    line += ", ETA ";
    line += s.remaining == 0 ? "0s" : rate > 0 ? format_duration(static_cast<double>(s.remaining) / rate) : "?";
  }
  return line;
}

void ProgressReporter::update(const ProgressSample& sample, std::int64_t now_ms) {
  const std::int64_t every = terminal_ ? kTerminalIntervalMs : interval_ms_;
  if (interval_ms_ <= 0 || now_ms - last_print_ms_ < every) {
    remember(sample.pages, now_ms);
    return;
  }
  last_print_ms_ = now_ms;
  const std::string text = format(sample, now_ms);
  if (terminal_) {
    out_ << "\r\033[K" << text << std::flush;
    line_shown_ = true;
  } else {
    out_ << "crawl: " << text << '\n' << std::flush;
  }
}

void ProgressReporter::log(const std::string& line) {
  if (line_shown_) {
    out_ << "\r\033[K";
    line_shown_ = false;
  }
  out_ << line << '\n' << std::flush;
}

void ProgressReporter::finish() {
  if (line_shown_) {
    out_ << "\r\033[K" << std::flush;
    line_shown_ = false;
  }
}

}  // namespace crawler

#include "crawler/progress.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("progress: format_duration", "[crawler][progress]") {
  struct Case {
    double seconds;
    const char* text;
  };
  for (const Case c : {Case{0, "0s"}, Case{12.4, "12s"}, Case{59.6, "1m00s"}, Case{187, "3m07s"},
                       Case{3720, "1h02m"}, Case{-1, "?"}, Case{1e12, "?"}}) {
    CAPTURE(c.seconds);
    CHECK(crawler::format_duration(c.seconds) == c.text);
  }
}

TEST_CASE("progress: recent rate covers the last few seconds, not the whole crawl",
          "[crawler][progress]") {
  std::ostringstream out;
  crawler::ProgressReporter p(out, false, 1000, 0);
  // 100 pages/s for 10 s, then 10 pages/s for 10 s.
  std::int64_t pages = 0;
  for (std::int64_t ms = 100; ms <= 10000; ms += 100) p.update({pages += 10, 0, 0, 0, -1}, ms);
  CHECK(p.recent_rate(10000) == Approx(100).epsilon(0.05));
  for (std::int64_t ms = 10100; ms <= 20000; ms += 100) p.update({pages += 1, 0, 0, 0, -1}, ms);
  CHECK(p.recent_rate(20000) == Approx(10).epsilon(0.1));
}

TEST_CASE("progress: plain lines every interval when not a terminal", "[crawler][progress]") {
  std::ostringstream out;
  crawler::ProgressReporter p(out, false, 2000, 0);
  for (std::int64_t ms = 0; ms <= 10000; ms += 50) p.update({ms / 10, 1, 50, 4, -1}, ms);
  const std::string text = out.str();
  CHECK(count(text, "\n") == 5);  // at 2, 4, 6, 8, 10 s
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("crawl: 1000 pages, 100.0 pages/s, 50 queued, 4 in flight, 1 errors, 10s elapsed\n") !=
        std::string::npos);
  CHECK(text.find("ETA") == std::string::npos);
}

TEST_CASE("progress: one line rewritten in place on a terminal, with an ETA under a limit",
          "[crawler][progress]") {
  std::ostringstream out;
  crawler::ProgressReporter p(out, true, 2000, 0);
  for (std::int64_t ms = 0; ms <= 1000; ms += 10) p.update({ms / 10, 0, 7, 2, 1000 - ms / 10}, ms);
  const std::string text = out.str();
  CHECK(count(text, "\r\033[K") == 4);  // at most every 250 ms
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find("100 pages, 100.0 pages/s, 7 queued, 2 in flight, 0 errors, 1s elapsed, ETA 9s") !=
        std::string::npos);
  p.log("crawl: a notice");
  CHECK(out.str().substr(text.size()) == "\r\033[Kcrawl: a notice\n");
  p.update({200, 0, 0, 0, 0}, 2000);
  p.finish();
  CHECK(out.str().size() >= 6);
  CHECK(out.str().substr(out.str().size() - 4) == "\r\033[K");
  CHECK(out.str().find("ETA 0s") != std::string::npos);
}

TEST_CASE("progress: interval 0 prints no status lines but still logs", "[crawler][progress]") {
  std::ostringstream out;
  crawler::ProgressReporter p(out, false, 0, 0);
  for (std::int64_t ms = 0; ms <= 5000; ms += 100) p.update({ms, 0, 0, 0, -1}, ms);
  CHECK(out.str().empty());
  p.log("x");
  CHECK(out.str() == "x\n");
}

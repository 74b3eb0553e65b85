#pragma once
// Entry points of the worker processes. The coordinator starts them as
// `crawler-fetcher __fetcher VERSION OPTIONS_JSON PARSER_SOCKET` (cli/fetcher_main.cpp, an
// executable of its own beside `crawler`, so that only fetchers load libcurl) and
// `crawler __parser OPTIONS_JSON` (cli/main.cpp), with the channels below at fixed fd
// numbers (docs/ARCHITECTURE.md).

#include <string>
#include <string_view>

#include "crawler/crawl_options.h"

namespace crawler {

// The fetcher's executable, looked up in the directory of `crawler`'s, and the hidden modes.
inline constexpr const char* kFetcherExecutable = "crawler-fetcher";
inline constexpr const char* kFetcherMode = "__fetcher";
inline constexpr const char* kParserMode = "__parser";

// Fetcher: reads tasks from the shared queue, writes Took to events, results to the parser.
inline constexpr int kFetcherTaskFd = 3;
inline constexpr int kFetcherEventFd = 4;
// Parser: accepts fetcher connections on a listening socket, writes Committed to events,
// reads Stop from the control channel, marks what it parses in the shared ParseSlots.
inline constexpr int kParserListenFd = 3;
inline constexpr int kParserEventFd = 4;
inline constexpr int kParserControlFd = 5;
inline constexpr int kParserSlotsFd = 6;

// crawler-fetcher's exit status when it was started by a `crawler` of another version (the
// messages between them are not versioned): the crawl fails instead of starting another.
inline constexpr int kExitFetcherVersionMismatch = 4;

// A fetcher's exit status when its results connection broke: the parser died. Not a crash of
// the fetcher, so its tasks are fetched again without being charged an attempt.
inline constexpr int kExitParserGone = 3;

// Test-only fault injection: a fetcher given this environment variable aborts when it is
// handed a URL containing the variable's value (a stand-in for a crash on hostile input).
inline constexpr const char* kCrashOnUrlEnv = "CRAWLER_TEST_CRASH_ON_URL";
// The same for the parser process: it aborts when given the HTML body of such a URL.
inline constexpr const char* kParserCrashOnUrlEnv = "CRAWLER_TEST_PARSER_CRASH_ON_URL";
// A fetcher that aborts after reading such a URL's task from the queue but before claiming it
// with Took (a fetcher killed in that window, e.g. by the OOM killer).
inline constexpr const char* kCrashBeforeTookOnUrlEnv = "CRAWLER_TEST_CRASH_BEFORE_TOOK_ON_URL";
// The parser overflows its parse thread's stack (unbounded recursion) on such a page: a crash
// where the thread's own stack cannot run a signal handler.
inline constexpr const char* kParserStackOverflowOnUrlEnv =
    "CRAWLER_TEST_PARSER_STACK_OVERFLOW_ON_URL";
// And hangs (sleeps forever) instead: for the watchdog.
inline constexpr const char* kHangOnUrlEnv = "CRAWLER_TEST_HANG_ON_URL";
inline constexpr const char* kParserHangOnUrlEnv = "CRAWLER_TEST_PARSER_HANG_ON_URL";
// The parser's writer keeps SQLite busy for three times --watchdog before it writes the batch
// that holds such a page (a stand-in for a long FTS5 merge): a slow commit, not a hang.
inline constexpr const char* kParserSlowCommitOnUrlEnv = "CRAWLER_TEST_PARSER_SLOW_COMMIT_ON_URL";
// A diagnostic for bench/run (scenario 3), not a test switch: when set, the parser appends a
// line per commit to this file: the Unix time in s, the pages written and the
// write's wall ms. Batch sizes are otherwise invisible from outside the process.
inline constexpr const char* kParserCommitLogEnv = "CRAWLER_BENCH_COMMIT_LOG";

// The fault-injection switches of one process, read once from the environment. act() aborts,
// hangs (sleeps until killed) or overflows the stack when `url` contains the crash, hang or
// overflow value; an unset or empty variable (or a null name) never matches.
class FaultInjection {
 public:
  FaultInjection(const char* crash_env, const char* hang_env,
                 const char* overflow_env = nullptr);
  void act(std::string_view url) const;

 private:
  std::string crash_on_, hang_on_, overflow_on_;
};

// Test-only: recurses until the calling thread's stack overflows (the SIGSEGV of a stack
// overflow, for the crash marker); does not return.
void overflow_stack();

// Each returns the process's exit code.
int run_fetcher_process(const CrawlOptions& options, const std::string& parser_socket);
int run_parser_process(const CrawlOptions& options);

}  // namespace crawler

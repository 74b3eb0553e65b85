// crawler-fetcher: the fetcher process of `crawler crawl` (crawler/fetcher_process.cpp).
// The coordinator starts it as `crawler-fetcher __fetcher VERSION OPTIONS_JSON PARSER_SOCKET`
// with the task queue and events channels at fixed fds (crawler/workers.h). It is an
// executable of its own so that only the fetcher loads libcurl and its libraries. Not a user
// command. It refuses to serve a `crawler` of another version (kExitFetcherVersionMismatch).

#include <signal.h>

#include <iostream>
#include <string>

#include "cli/commands.h"
#include "crawler/crawl_options.h"
#include "crawler/curl_handles.h"
#include "crawler/workers.h"

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error return, not a death
  if (argc != 5 || std::string(argv[1]) != crawler::kFetcherMode) {
    std::cerr << "crawler-fetcher is started by `crawler crawl`; it is not a command of its own\n";
    return cli::kExitUsage;
  }
  if (std::string(argv[2]) != crawler::kVersion) {
    std::cerr << "crawler-fetcher " << crawler::kVersion << ": started by crawler " << argv[2]
              << "; install crawler and crawler-fetcher from the same build\n";
    return crawler::kExitFetcherVersionMismatch;
  }
  auto options = crawler::options_from_json(argv[3]);
  if (!options) {
    std::cerr << "crawler-fetcher: " << options.error().context << "\n";
    return cli::kExitUsage;
  }
  crawler::CurlGlobal curl;
  return crawler::run_fetcher_process(*options, argv[4]);
}

// Fetcher against a loopback server: its event loop sleeps while transfers wait.

#include "crawler/fetcher.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/e2e/test_server.h"

namespace crawler {

TEST_CASE("fetcher: poll() sleeps while a response is slow and while idle, never spinning on libcurl's timer",
          "[crawler][fetcher]") {
  auto server = e2e::TestServer::start("127.0.0.1", [](const std::string& path) {
    e2e::Response r;
    r.body = "<html><title>" + path + "</title></html>";
    if (path == "/slow") r.delay_ms = 1500;
    return r;
  });
  REQUIRE(server);
  auto fetcher = Fetcher::create(FetcherConfig{});
  REQUIRE(fetcher);
  // A fast page first, so the slow one goes over a reused keep-alive connection (as most
  // requests of a crawl do).
  int polls = 0;
  for (const std::string path : {"/fast", "/slow"}) {
    Task task;
    task.seq = 1;
    task.url = server->base_url() + path;
    (*fetcher)->start(task);
    // libcurl's timer is one-shot. Treating an expired 0 ms timer as still due made every
    // poll() return at once (seen after nginx keep-alive responses; this server may not
    // trigger it, so this guards the fix rather than reproducing the bug).
    std::vector<FetchResult> done;
    polls = 0;
    const double deadline = e2e::monotonic_now_s() + 20;
    while (done.empty() && e2e::monotonic_now_s() < deadline) {
      (*fetcher)->poll(-1, 1000, done);
      ++polls;
    }
    REQUIRE(done.size() == 1);
    CHECK(done[0].status == 200);
    CHECK(done[0].body == "<html><title>" + path + "</title></html>");
  }
  INFO("poll() calls while waiting 1.5 s for /slow: " << polls);
  CHECK(polls < 200);

  // Idle, nothing in flight (a fetcher waiting for its next task): each poll() waits.
  std::vector<FetchResult> none;
  int idle_polls = 0;
  const double idle_until = e2e::monotonic_now_s() + 1.5;
  while (e2e::monotonic_now_s() < idle_until && idle_polls < 100000) {
    (*fetcher)->poll(-1, 500, none);
    ++idle_polls;
  }
  INFO("poll() calls in 1.5 s idle, 500 ms each at most: " << idle_polls);
  CHECK(idle_polls < 20);
  CHECK(none.empty());
}

}  // namespace crawler

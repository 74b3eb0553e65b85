// serve_site: serves a generated test site (e2e::generate_site) on loopback until SIGINT or
// SIGTERM, or until --seconds pass. For measurements and trying the crawler by hand:
//
//   build/tests/serve_site --pages 600 --port 8600 --seconds 120 &
//   build/cli/crawler crawl seeds-local.txt ...   # seeds: http://127.0.0.1:8600/
//
// --delay-ms D holds every response back D ms (a latency-bound site).
// Prints "serving N pages at http://IP:PORT/" on stdout once listening. Loopback only.

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "tests/e2e/test_server.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  int pages = 600, port = 0, delay_ms = 0;
  unsigned seed = 42;
  double seconds = 600;
  std::string ip = "127.0.0.1";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--pages") pages = std::atoi(value.c_str());
    else if (flag == "--seed") seed = static_cast<unsigned>(std::atoi(value.c_str()));
    else if (flag == "--port") port = std::atoi(value.c_str());
    else if (flag == "--ip") ip = value;
    else if (flag == "--seconds") seconds = std::atof(value.c_str());
    else if (flag == "--delay-ms") delay_ms = std::atoi(value.c_str());
    else {
      std::cerr << "usage: serve_site [--pages N] [--seed S] [--ip 127.x.y.z] [--port P] "
                   "[--seconds T] [--delay-ms D]\n";
      return 2;
    }
  }
  if (ip.rfind("127.", 0) != 0) {
    std::cerr << "serve_site: loopback addresses only (127.0.0.0/8)\n";
    return 2;
  }
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  const e2e::Site site = e2e::generate_site(pages, seed);
  std::string error;
  e2e::Handler handler = e2e::site_handler(site);
  if (delay_ms > 0) {  // every response waits this long: a latency-bound site
    handler = [inner = std::move(handler), delay_ms](const std::string& path) {
      e2e::Response r = inner(path);
      r.delay_ms = delay_ms;
      return r;
    };
  }
  auto server = e2e::TestServer::start(ip, port, std::move(handler), &error);
  if (!server) {
    std::cerr << "serve_site: " << error << "\n";
    return 1;
  }
  std::cout << "serving " << site.depth.size() << " pages at " << server->base_url() << "/"
            << std::endl;
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  while (!g_stop && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  server->stop();
  return 0;
}

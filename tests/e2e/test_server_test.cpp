#include "tests/e2e/test_server.h"

#include <dirent.h>
#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

namespace {

// Identity encoding keeps httplib's server from compressing text bodies (and trickles).
httplib::Headers probe_headers() {
  return {{"User-Agent", "e2e-probe/1.0"}, {"Accept-Encoding", "identity"}};
}

httplib::Result get(const e2e::TestServer& server, const std::string& path) {
  httplib::Client client(server.ip(), server.port());
  client.set_default_headers(probe_headers());
  client.set_read_timeout(10, 0);
  return client.Get(path.c_str());
}

int thread_count() {
  int count = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
    closedir(dir);
  }
  return count;
}

e2e::Handler delayed(int delay_ms) {
  return [delay_ms](const std::string&) {
    e2e::Response response;
    response.body = "<html><body>slow</body></html>";
    response.delay_ms = delay_ms;
    return response;
  };
}

}  // namespace

TEST_CASE("test_server: serves a page, a redirect and a 404 and logs each request",
          "[e2e][test_server]") {
  const e2e::Site site = e2e::generate_site(30, 7);
  std::string error;
  auto server = e2e::TestServer::start("127.0.0.1", e2e::site_handler(site), &error);
  REQUIRE(server != nullptr);
  CHECK(error.empty());
  CHECK(server->port() > 0);
  CHECK(server->base_url() == "http://127.0.0.1:" + std::to_string(server->port()));

  const double before_s = e2e::monotonic_now_s();
  auto page = get(*server, "/p/0.html");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html");
  CHECK(page->body == site.pages.at("/p/0.html").body);
  CHECK(page->body.find("<title>Page 0</title>") != std::string::npos);

  auto redirect = get(*server, e2e::kRedirectPath);  // httplib follows no redirect by default
  REQUIRE(redirect);
  CHECK(redirect->status == 301);
  CHECK(redirect->get_header_value("Location") == "/p/1.html");

  auto missing = get(*server, "/missing?x=1");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto unknown = get(*server, "/robots.txt");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  const double after_s = e2e::monotonic_now_s();

  const std::vector<e2e::Request> log = server->requests();
  REQUIRE(log.size() == 4);
  const std::vector<std::string> paths = {"/p/0.html", "/redirect/1", "/missing?x=1",
                                          "/robots.txt"};
  const std::vector<int> statuses = {200, 301, 404, 404};
  for (std::size_t k = 0; k < log.size(); ++k) {
    CAPTURE(k);
    CHECK(log[k].host_ip == "127.0.0.1");
    CHECK(log[k].port == server->port());
    CHECK(log[k].path_and_query == paths[k]);
    CHECK(log[k].user_agent == "e2e-probe/1.0");
    CHECK(log[k].method == "GET");
    CHECK(log[k].status == statuses[k]);
    CHECK(before_s <= log[k].arrival_s);
    CHECK(log[k].arrival_s <= log[k].finish_s);
    CHECK(log[k].finish_s <= after_s);
    if (k > 0) CHECK(log[k - 1].finish_s <= log[k].arrival_s);
  }
  CHECK(server->max_concurrent() == 1);
}

TEST_CASE("test_server: back-to-back requests on one connection never overlap",
          "[e2e][test_server][policy]") {
  const e2e::Site site = e2e::generate_site(50, 11);
  auto server = e2e::TestServer::start("127.0.0.1", e2e::site_handler(site));
  REQUIRE(server != nullptr);
  httplib::Client client(server->ip(), server->port());
  client.set_keep_alive(true);
  httplib::Headers headers = probe_headers();
  headers.erase("Accept-Encoding");
  headers.emplace("Accept-Encoding", "gzip, br");  // still sent uncompressed
  client.set_default_headers(headers);
  for (int k = 0; k < 40; ++k) {
    const std::string path = k % 4 == 3 ? "/robots.txt" : "/p/" + std::to_string(k) + ".html";
    auto response = k % 5 == 4 ? client.Head(path.c_str()) : client.Get(path.c_str());
    REQUIRE(response);
    CHECK(response->get_header_value("Content-Encoding").empty());
  }
  client.stop();
  const auto log = server->requests();
  REQUIRE(log.size() == 40);
  CHECK(log[4].method == "HEAD");
  for (std::size_t k = 1; k < log.size(); ++k) {
    CAPTURE(k);
    CHECK(log[k - 1].finish_s >= log[k - 1].arrival_s);
    CHECK(log[k - 1].finish_s < log[k].arrival_s);
  }
  CHECK(server->max_concurrent() == 1);
}

TEST_CASE("test_server: delay_ms holds the response back after arrival", "[e2e][test_server]") {
  auto server = e2e::TestServer::start("127.0.0.1", delayed(300));
  REQUIRE(server != nullptr);
  const double before_s = e2e::monotonic_now_s();
  auto response = get(*server, "/slow");
  const double after_s = e2e::monotonic_now_s();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(after_s - before_s >= 0.3);
  const auto log = server->requests();
  REQUIRE(log.size() == 1);
  CHECK(after_s - log[0].arrival_s >= 0.3);  // logged on arrival, before the delay
  CHECK(log[0].finish_s - log[0].arrival_s >= 0.3);
}

TEST_CASE("test_server: max_concurrent counts overlapping requests", "[e2e][test_server]") {
  auto server = e2e::TestServer::start("127.0.0.1", delayed(300));
  REQUIRE(server != nullptr);
  std::vector<int> statuses(4, 0);
  const double before_s = e2e::monotonic_now_s();
  {
    std::vector<std::thread> clients;
    for (int k = 0; k < 4; ++k) {
      clients.emplace_back([&server, &statuses, k] {
        auto response = get(*server, "/slow?client=" + std::to_string(k));
        if (response) statuses[k] = response->status;
      });
    }
    for (auto& client : clients) client.join();
  }
  const double elapsed_s = e2e::monotonic_now_s() - before_s;
  CHECK(statuses == std::vector<int>{200, 200, 200, 200});
  CHECK(server->requests().size() == 4);
  CHECK(server->max_concurrent() == 4);
  CHECK(elapsed_s < 1.0);  // in parallel, not 4 x 300 ms
}

TEST_CASE("test_server: a trickled body arrives whole, at the set rate", "[e2e][test_server]") {
  const std::string body(1500, 'x');
  auto server = e2e::TestServer::start("127.0.0.1", [&body](const std::string&) {
    e2e::Response response;
    response.content_type = "text/plain";
    response.body = body;
    response.trickle_bytes_per_s = 3000;  // 0.5 s
    return response;
  });
  REQUIRE(server != nullptr);
  auto response = get(*server, "/trickle");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->get_header_value("Transfer-Encoding") == "chunked");
  CHECK(response->body == body);
  const auto log = server->requests();
  REQUIRE(log.size() == 1);
  const double duration_s = log[0].finish_s - log[0].arrival_s;
  CHECK(duration_s >= 0.45);
  CHECK(duration_s < 1.5);
}

TEST_CASE("test_server: stop cuts a trickle short and leaves no thread or port behind",
          "[e2e][test_server]") {
  const int threads_before = thread_count();
  auto server = e2e::TestServer::start("127.0.0.1", [](const std::string&) {
    e2e::Response response;
    response.body = std::string(100000, 'y');
    response.trickle_bytes_per_s = 20;  // would take over an hour; capped at 60 s
    return response;
  });
  REQUIRE(server != nullptr);
  const int port = server->port();
  CHECK(thread_count() > threads_before);

  bool got_whole_body = false;
  std::thread client([&server, &got_whole_body] {
    auto response = get(*server, "/forever");
    got_whole_body = response && response->body.size() == 100000;
  });
  while (server->requests().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double before_s = e2e::monotonic_now_s();
  server.reset();
  CHECK(e2e::monotonic_now_s() - before_s < 2.0);
  client.join();
  CHECK_FALSE(got_whole_body);
  CHECK(thread_count() == threads_before);

  auto again = e2e::TestServer::start("127.0.0.1", port, delayed(0));  // the port is free
  CHECK(again != nullptr);
}

TEST_CASE("test_server: a port in use is reported, not fatal", "[e2e][test_server]") {
  auto first = e2e::TestServer::start("127.0.0.1", delayed(0));
  REQUIRE(first != nullptr);
  std::string error;
  auto second = e2e::TestServer::start("127.0.0.1", first->port(), delayed(0), &error);
  CHECK(second == nullptr);
  CHECK(error.find("cannot bind 127.0.0.1:" + std::to_string(first->port())) == 0);
}

TEST_CASE("test_server: a handler that throws gives a 500", "[e2e][test_server]") {
  auto server = e2e::TestServer::start(
      "127.0.0.1", [](const std::string&) -> e2e::Response { throw std::runtime_error("boom"); });
  REQUIRE(server != nullptr);
  auto response = get(*server, "/");
  REQUIRE(response);
  CHECK(response->status == 500);
}

TEST_CASE("test_server: servers on 127.0.0.1 and 127.0.0.2 are separate hosts",
          "[e2e][test_server]") {
  const e2e::Site site = e2e::generate_site(20, 3);
  auto first = e2e::TestServer::start("127.0.0.1", e2e::site_handler(site));
  auto second = e2e::TestServer::start("127.0.0.2", e2e::site_handler(site));
  REQUIRE(first != nullptr);
  REQUIRE(second != nullptr);
  CHECK(second->base_url() == "http://127.0.0.2:" + std::to_string(second->port()));

  auto a = get(*first, "/p/1.html");
  auto b = get(*second, "/p/2.html");
  auto c = get(*second, "/");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(a->body.find("<title>Page 1</title>") != std::string::npos);
  CHECK(b->body.find("<title>Page 2</title>") != std::string::npos);

  const auto first_log = first->requests();
  const auto second_log = second->requests();
  REQUIRE(first_log.size() == 1);
  REQUIRE(second_log.size() == 2);
  CHECK(first_log[0].host_ip == "127.0.0.1");
  CHECK(first_log[0].path_and_query == "/p/1.html");
  CHECK(second_log[0].host_ip == "127.0.0.2");
  CHECK(second_log[0].port == second->port());
  CHECK(second_log[1].path_and_query == "/");
}

TEST_CASE("site: 600 pages, deterministic, every HTML page reachable from /", "[e2e][site]") {
  const e2e::Site site = e2e::generate_site(600, 1);
  CHECK(site.pages.size() == 606);  // "/", 600 pages, 5 special paths

  for (const auto& [path, response] : site.pages) {
    CAPTURE(path);
    if (response.status == 200 && response.content_type == "text/html") {
      CHECK(site.depth.count(path) == 1);
    }
  }
  for (const auto& [path, targets] : site.edges) {
    CAPTURE(path);
    CHECK(site.pages.count(path) == 1);
    CHECK(targets.count(path) == 0);  // no self links
    for (const std::string& target : targets) CHECK(site.pages.count(target) == 1);
  }
  CHECK(site.depth.size() == 606);
  CHECK(site.depth.at("/") == 0);
  CHECK(site.depth.at("/p/0.html") == 1);
  for (const char* special :
       {e2e::kRedirectPath, e2e::kMissingPath, e2e::kErrorPath, e2e::kPdfPath, e2e::kBigPath}) {
    CAPTURE(special);
    CHECK(site.depth.count(special) == 1);
    CHECK(site.edges.count(special) == 0);
  }
  CHECK(site.pages.count(e2e::kPdfTrapPath) == 0);
  CHECK(site.depth.count(e2e::kBigTailPath) == 0);

  const e2e::Site same = e2e::generate_site(600, 1);
  CHECK(same.edges == site.edges);
  CHECK(same.depth == site.depth);
  CHECK(same.pages.at("/p/42.html").body == site.pages.at("/p/42.html").body);
  CHECK(e2e::generate_site(600, 2).edges != site.edges);
}

TEST_CASE("site: edges are the hrefs resolved by hand", "[e2e][site]") {
  const e2e::Site site = e2e::generate_site(600, 1);

  std::set<std::string> index;
  for (int k = 0; k < 10; ++k) index.insert("/p/" + std::to_string(k) + ".html");
  CHECK(site.edges.at("/") == index);
  CHECK(site.pages.at("/").body.find("<a href=\"p/1.html\">") != std::string::npos);

  // /p/6.html shows every href form, fragments, a repeated target, mailto: and javascript:.
  const std::string& six = site.pages.at("/p/6.html").body;
  CHECK(six.find("<title>Page 6</title>") != std::string::npos);
  for (const char* href :
       {"../p/7.html", "../p/55.html#s1", "./545.html", "399.html", "19.html", "/p/572.html#s0",
        "/p/7.html#again", "mailto:webmaster@example.invalid", "javascript:void(0)"}) {
    CAPTURE(href);
    CHECK(six.find("<a href=\"" + std::string(href) + "\">") != std::string::npos);
  }
  CHECK(site.edges.at("/p/6.html") == std::set<std::string>{"/p/7.html", "/p/55.html",
                                                            "/p/545.html", "/p/399.html",
                                                            "/p/19.html", "/p/572.html"});
  CHECK(site.depth.at("/p/6.html") == 1);

  // /p/5.html links to /missing by a relative href.
  CHECK(site.pages.at("/p/5.html").body.find("<a href=\"../missing\">") != std::string::npos);
  CHECK(site.edges.at("/p/5.html").count("/missing") == 1);
  CHECK(site.depth.at("/missing") == 2);
  CHECK(site.edges.at("/p/3.html").count("/redirect/1") == 1);
}

TEST_CASE("site: special paths answer as documented, over HTTP", "[e2e][site]") {
  const e2e::Site site = e2e::generate_site(40, 5);
  auto server = e2e::TestServer::start("127.0.0.1", e2e::site_handler(site));
  REQUIRE(server != nullptr);

  auto redirect = get(*server, e2e::kRedirectPath);
  REQUIRE(redirect);
  CHECK(redirect->status == 301);
  CHECK(redirect->get_header_value("Location") == e2e::kRedirectTarget);
  auto error = get(*server, e2e::kErrorPath);
  REQUIRE(error);
  CHECK(error->status == 500);
  auto pdf = get(*server, e2e::kPdfPath);
  REQUIRE(pdf);
  CHECK(pdf->status == 200);
  CHECK(pdf->get_header_value("Content-Type") == "application/pdf");
  CHECK(pdf->body.size() > 4000);
  CHECK(pdf->body.find(e2e::kPdfTrapPath) != std::string::npos);
  auto big = get(*server, e2e::kBigPath);
  REQUIRE(big);
  CHECK(big->status == 200);
  CHECK(big->get_header_value("Content-Length") == std::to_string(e2e::kBigBodyBytes));
  CHECK(big->body.size() == e2e::kBigBodyBytes);
  CHECK(big->body.find(e2e::kBigTailPath) > 10 * 1024 * 1024);
  auto trap = get(*server, e2e::kBigTailPath);
  REQUIRE(trap);
  CHECK(trap->status == 404);
}

#pragma once

// Loopback HTTP servers for end-to-end tests, and a generated site to serve from them.
//
// A TestServer binds one IP (any of 127.0.0.0/8 works on Linux, so 127.0.0.1, 127.0.0.2, ...
// act as distinct hosts), serves every GET/HEAD through one Handler on a pool of 64 threads,
// and logs each request with its arrival and finish times so tests can check politeness:
// per-host spacing of request arrivals and the peak number of concurrent requests.
//
// Built on cpp-httplib 0.11.4 (Debian's compiled libcpp-httplib, linked through e2e_support).

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace e2e {

// Seconds on CLOCK_MONOTONIC (std::chrono::steady_clock), the clock of every time below.
// Comparable across servers and with timestamps taken by the test itself.
[[nodiscard]] double monotonic_now_s();

// One logged request, in order of arrival.
//
// The finish is taken just before the response's last write (headers only, or the last body
// bytes), so a client can never have the whole response before finish_s: for a client that
// waits for each response before sending the next request, finish_s of one request is below
// arrival_s of the next, and such a client never raises max_concurrent() above 1.
struct Request {
  std::string host_ip;         // the server's bound IP: which host was asked
  int port = 0;                // the server's port
  std::string path_and_query;  // the request target exactly as sent, e.g. "/p/1.html?x=1"
  std::string user_agent;      // "" when the client sent none
  double arrival_s = 0;        // request line and headers read, before any delay_ms
  double finish_s = -1;        // see above; < 0 while in flight
  std::string method;          // "GET" or "HEAD" (other methods get httplib's 404 or 400)
  int status = 0;              // status sent; 0 until the headers go out
};

struct Response {
  int status = 200;
  // A "Content-Type" entry in headers wins over this. If both are empty, httplib sends
  // text/plain with a non-empty body.
  std::string content_type = "text/html";
  std::string body;
  // Sent as given (repeats allowed); a redirect needs {"Location", ...} here.
  std::vector<std::pair<std::string, std::string>> headers;
  int delay_ms = 0;  // sleep before sending anything (cut short by stop())
  // 0 sends the body at once, with Content-Length. Otherwise the body goes out with chunked
  // transfer encoding, in writes every 50 ms of the bytes due at this rate, so the last byte
  // leaves body.size() / trickle_bytes_per_s seconds after the headers. The connection is
  // dropped instead if that would be over kMaxTrickleSeconds, on stop(), or when the client
  // disconnects. An empty body is never trickled.
  std::size_t trickle_bytes_per_s = 0;
};

inline constexpr double kMaxTrickleSeconds = 60;

// Called concurrently from the server's threads with the request target ("/path?query");
// must be thread-safe. An exception escaping it becomes a 500.
using Handler = std::function<Response(const std::string& path_and_query)>;

// Caveats of cpp-httplib 0.11.4, as built by Debian (zlib and brotli enabled):
// - Bodies are sent uncompressed, except trickled text/* bodies to a client that sends
//   Accept-Encoding: gzip or br: those are compressed, which buffers them and spoils the
//   timing. Trickle to clients that send no Accept-Encoding (or "identity").
// - Keep-alive: 5 requests per connection, 5 s idle timeout. A worker thread is tied to its
//   connection, so the destructor can wait up to 5 s for a client that keeps an idle
//   connection open (none does once the crawler process has exited).
// - The listening socket is close-on-exec; accepted sockets are not (httplib calls plain
//   accept()), so a child process spawned while a connection is open inherits it.
class TestServer {
 public:
  // Binds ip:port (port 0 = a free ephemeral port) and serves on background threads. Returns
  // nullptr and, if error is not null, sets *error when binding or starting fails.
  [[nodiscard]] static std::unique_ptr<TestServer> start(const std::string& ip, Handler handler,
                                                         std::string* error = nullptr);
  [[nodiscard]] static std::unique_ptr<TestServer> start(const std::string& ip, int port,
                                                         Handler handler,
                                                         std::string* error = nullptr);
  ~TestServer();  // stop(): no thread, socket or port is left behind
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  const std::string& ip() const;
  int port() const;
  std::string base_url() const;  // "http://ip:port"

  // Thread-safe snapshot of the log (in-flight requests included, finish_s < 0).
  std::vector<Request> requests() const;
  // Peak number of requests between arrival and finish at the same time.
  int max_concurrent() const;

  // Closes the listening socket, cuts delays and trickles short, and joins every thread.
  // Idempotent and thread-safe; the log stays readable afterwards.
  void stop();

 private:
  class State;  // defined in test_server.cpp
  explicit TestServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Special paths of a generated site, all linked from ordinary pages (so they appear as edge
// targets and in depth) and served by site_handler:
inline constexpr char kRedirectPath[] = "/redirect/1";  // 301, Location: /p/1.html
inline constexpr char kRedirectTarget[] = "/p/1.html";
inline constexpr char kMissingPath[] = "/missing";  // 404, small text/html page without links
inline constexpr char kErrorPath[] = "/error";      // 500, text/plain
inline constexpr char kPdfPath[] = "/file.pdf";     // 200, application/pdf, ~4 KB
inline constexpr char kBigPath[] = "/big.html";     // 200, text/html, exactly kBigBodyBytes
inline constexpr std::size_t kBigBodyBytes = 11 * 1024 * 1024;  // over the 10 MiB cap
// Trap paths, in no page, edge or depth entry (site_handler answers 404): a crawler that
// requests one read links where it must not.
inline constexpr char kPdfTrapPath[] = "/pdf-trap.html";  // an <a href> inside the PDF bytes
inline constexpr char kBigTailPath[] = "/big-tail.html";  // a link in big.html's last bytes
// Any other path (e.g. /robots.txt) is a 404 from site_handler.

struct Site {
  // Path -> response: "/", "/p/0.html" ... "/p/<n-1>.html" and the special paths above.
  std::map<std::string, Response> pages;
  // For "/" and each /p/ page: the distinct paths it links to, as a crawler should record
  // them after resolving the href against the page and dropping the fragment. No self links;
  // mailto: and javascript: hrefs are not edges. Special paths have no entry (no links).
  std::map<std::string, std::set<std::string>> edges;
  // Every path reachable from "/" through edges, with its BFS depth ("/" is 0). Redirects
  // are not followed here: kRedirectPath is a leaf at its own depth.
  std::map<std::string, int> depth;
};

// Deterministic for a given (page_count, seed); page_count < 1 counts as 1.
// "/" links to /p/0.html ... /p/9.html; page i links to i+1 and ~5 pages picked by
// std::mt19937(seed), so every page is reachable. Hrefs mix "/p/3.html", "5.html",
// "../p/7.html" and "./8.html", some with "#frag"; some pages repeat a link, and some carry
// mailto: and javascript: links. Page i has <title>Page i</title>.
[[nodiscard]] Site generate_site(int page_count, unsigned seed);

// Serves a copy of site (query and fragment ignored for lookup); unknown paths get a 404.
[[nodiscard]] Handler site_handler(const Site& site);

}  // namespace e2e

#include "tests/e2e/test_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

namespace e2e {
namespace {

constexpr std::size_t kThreadCount = 64;
constexpr double kStartTimeoutS = 5;
// Trickled bodies go out in writes about this far apart.
constexpr double kTrickleIntervalS = 0.05;
// Other bodies go out in writes of at most this size.
constexpr std::size_t kWriteBytes = 64 * 1024;

// httplib listens with a backlog of 5. A burst of connections from a concurrent crawler
// would overflow it, and the kernel would retry the dropped SYNs about a second later,
// which would show up as bogus gaps in the arrival times.
class ListeningServer : public httplib::Server {
 public:
  void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }
};

// Replaces httplib's default, which sets SO_REUSEPORT and so would let two servers share a
// port. Close-on-exec keeps the listening socket out of the crawler processes we spawn.
void set_listen_socket_options(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  ::fcntl(sock, F_SETFD, FD_CLOEXEC);
}

}  // namespace

double monotonic_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class TestServer::State {
 public:
  State(std::string ip, Handler handler) : ip_(std::move(ip)), handler_(std::move(handler)) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(kThreadCount); };
    server_.set_socket_options(set_listen_socket_options);
    // Small writes (trickles) must leave at once, not wait for an ACK under Nagle.
    server_.set_tcp_nodelay(true);
    server_.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response&) { return on_arrival(req); });
    server_.set_post_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { on_headers(req, res); });
    server_.set_logger(
        [this](const httplib::Request& req, const httplib::Response& res) { on_logged(req, res); });
    server_.Get(R"(.*)",
                [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
  }
  ~State() { stop(); }

  const std::string& ip() const { return ip_; }
  int port() const { return port_; }

  // Returns an error message, or "" once the server accepts connections.
  std::string start(int port) {
    errno = 0;
    const int bound =
        port == 0 ? server_.bind_to_any_port(ip_) : (server_.bind_to_port(ip_, port) ? port : -1);
    if (bound < 0) {
      const int saved_errno = errno;
      return "cannot bind " + ip_ + ":" + std::to_string(port) + ": " +
             (saved_errno != 0 ? std::strerror(saved_errno) : "unknown error");
    }
    port_ = bound;
    server_.widen_backlog();
    listener_ = std::thread([this] {
      try {  // catch-all at the top of the thread body
        server_.listen_after_bind();
      } catch (...) {
      }
      listener_done_ = true;
    });
    const double deadline = monotonic_now_s() + kStartTimeoutS;
    while (!server_.is_running()) {
      if (listener_done_ || monotonic_now_s() > deadline) {
        return "server on " + ip_ + ":" + std::to_string(port_) + " did not start";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return "";
  }

  void stop() {
    std::lock_guard<std::mutex> stop_lock(stop_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (!listener_.joinable()) return;
    // httplib's stop() does nothing before listen_after_bind() has marked it running.
    while (!server_.is_running() && !listener_done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    server_.stop();
    listener_.join();  // listen_after_bind() joins the worker pool before it returns
  }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

  int max_concurrent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return max_concurrent_;
  }

 private:
  struct InFlight {
    std::size_t index = 0;      // into log_
    bool body_pending = false;  // a body provider will mark the finish
  };

  // Pre-routing handler: the request line and headers have been read.
  httplib::Server::HandlerResponse on_arrival(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    // Timestamped under the lock so that the log is in arrival order.
    Request entry{
        ip_, port_,      req.target, req.get_header_value("User-Agent"), monotonic_now_s(),
        -1,  req.method, 0};
    in_flight_[&req] = InFlight{log_.size(), false};
    log_.push_back(std::move(entry));
    max_concurrent_ = std::max(max_concurrent_, ++concurrent_);
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // Post-routing handler: the status line and headers are about to be written. Without a body
  // to follow, that write completes the response.
  void on_headers(const httplib::Request& req, const httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_flight_.find(&req);
    if (it == in_flight_.end()) return;
    log_[it->second.index].status = res.status;
    if (req.method == "HEAD" || !it->second.body_pending) finish_locked(it);
  }

  // Logger: called after httplib has written everything, or given up. A client may already
  // have read the whole response and sent its next request by then, so normally the finish
  // was marked earlier, just before the last write; here only what is left is logged.
  void on_logged(const httplib::Request& req, const httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_flight_.find(&req);
    if (it != in_flight_.end()) {
      finish_locked(it);  // the body was cut short
      return;
    }
    if (!marked_.erase(&req)) {
      // A request httplib rejected before routing (e.g. a malformed request line).
      const double now_s = monotonic_now_s();
      log_.push_back(Request{ip_, port_, req.target, req.get_header_value("User-Agent"), now_s,
                             now_s, req.method, res.status});
    }
  }

  void mark_finished(const httplib::Request* req) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_flight_.find(req);
    if (it != in_flight_.end()) finish_locked(it);
  }

  void finish_locked(std::map<const httplib::Request*, InFlight>::iterator it) {
    log_[it->second.index].finish_s = monotonic_now_s();
    marked_.insert(it->first);
    in_flight_.erase(it);
    --concurrent_;
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    Response response;
    try {  // the handler is test code; nothing may unwind into httplib's thread
      response = handler_(req.target);
    } catch (...) {
      response = Response{500, "text/plain", "handler threw\n", {}, 0, 0};
    }
    if (response.delay_ms > 0) sleep_unless_stopping(response.delay_ms / 1000.0);

    res.status = response.status;
    std::string content_type = response.content_type;
    for (auto& [name, value] : response.headers) {
      if (strcasecmp(name.c_str(), "Content-Type") == 0) {
        content_type = value;
      } else {
        res.headers.emplace(name, value);
      }
    }
    if (response.body.empty()) {
      if (!content_type.empty()) res.set_header("Content-Type", content_type);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = in_flight_.find(&req); it != in_flight_.end()) it->second.body_pending = true;
    }
    // Every body goes through a provider, so that its last write can be timestamped. A side
    // effect: httplib compresses none of them except trickles (chunked providers).
    auto body = std::make_shared<const std::string>(std::move(response.body));
    if (response.trickle_bytes_per_s == 0) {
      res.set_content_provider(body->size(), content_type, send_at_once(&req, body));
    } else {
      res.set_chunked_content_provider(content_type,
                                       trickle(&req, body, response.trickle_bytes_per_s));
    }
    if (content_type.empty()) res.headers.erase("Content-Type");  // httplib adds text/plain
  }

  httplib::ContentProvider send_at_once(const httplib::Request* req,
                                        std::shared_ptr<const std::string> body) {
    return [this, req, body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
      const std::size_t n = std::min({length, kWriteBytes, body->size() - offset});
      if (n == length) mark_finished(req);  // the last write
      return sink.write(body->data() + offset, n);
    };
  }

  // Writes every due byte each kTrickleIntervalS, so the last byte goes out at
  // body->size() / bytes_per_s seconds after the headers.
  httplib::ContentProviderWithoutLength trickle(const httplib::Request* req,
                                                std::shared_ptr<const std::string> body,
                                                std::size_t bytes_per_s) {
    struct Progress {
      std::size_t sent = 0;
      double start_s = -1;
    };
    auto progress = std::make_shared<Progress>();
    const double rate = static_cast<double>(bytes_per_s);
    const auto step = std::max<std::size_t>(1, static_cast<std::size_t>(rate * kTrickleIntervalS));
    return [this, req, body, progress, rate, step](std::size_t, httplib::DataSink& sink) {
      if (progress->start_s < 0) progress->start_s = monotonic_now_s();
      const std::size_t n = std::min(step, body->size() - progress->sent);
      const double due_s = progress->start_s + static_cast<double>(progress->sent + n) / rate;
      // Returning false makes httplib drop the connection: the client sees a cut body.
      if (due_s - progress->start_s > kMaxTrickleSeconds) return false;
      if (!sleep_unless_stopping(due_s - monotonic_now_s())) return false;
      if (!sink.is_writable()) return false;
      const bool last = progress->sent + n == body->size();
      if (last) mark_finished(req);
      if (!sink.write(body->data() + progress->sent, n)) return false;  // the client left
      progress->sent += n;
      if (last) sink.done();
      return true;
    };
  }

  // Returns false, early, if stop() is called meanwhile.
  bool sleep_unless_stopping(double seconds) {
    std::unique_lock<std::mutex> lock(mu_);
    if (seconds <= 0) return !stopping_;
    return !wake_.wait_for(lock, std::chrono::duration<double>(seconds),
                           [this] { return stopping_; });
  }

  const std::string ip_;
  int port_ = 0;  // set by start() before any request can arrive
  const Handler handler_;

  mutable std::mutex mu_;
  std::condition_variable wake_;  // notified when stopping_ is set
  bool stopping_ = false;         // guarded by mu_
  std::vector<Request> log_;      // guarded by mu_
  // Requests between arrival and finish. httplib keeps each Request object alive from the
  // pre-routing handler to the logger, so its address is the key.
  std::map<const httplib::Request*, InFlight> in_flight_;  // guarded by mu_
  // Finished, but the logger has not run for them yet.
  std::set<const httplib::Request*> marked_;  // guarded by mu_
  int concurrent_ = 0;                        // guarded by mu_
  int max_concurrent_ = 0;                    // guarded by mu_

  std::mutex stop_mu_;  // serializes stop()
  std::atomic<bool> listener_done_{false};
  ListeningServer server_;  // declared after everything its callbacks touch
  std::thread listener_;
};

std::unique_ptr<TestServer> TestServer::start(const std::string& ip, Handler handler,
                                              std::string* error) {
  return start(ip, 0, std::move(handler), error);
}

std::unique_ptr<TestServer> TestServer::start(const std::string& ip, int port, Handler handler,
                                              std::string* error) {
  // httplib writes with plain send(): a client hanging up mid-body (the crawler does, past
  // its size cap) would otherwise kill the test process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  auto state = std::make_unique<State>(ip, std::move(handler));
  if (std::string message = state->start(port); !message.empty()) {
    if (error != nullptr) *error = std::move(message);
    return nullptr;  // ~State stops and joins whatever started
  }
  return std::unique_ptr<TestServer>(new TestServer(std::move(state)));
}

TestServer::TestServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

TestServer::~TestServer() { stop(); }

const std::string& TestServer::ip() const { return state_->ip(); }
int TestServer::port() const { return state_->port(); }
std::string TestServer::base_url() const {
  return "http://" + state_->ip() + ":" + std::to_string(state_->port());
}
std::vector<Request> TestServer::requests() const { return state_->requests(); }
int TestServer::max_concurrent() const { return state_->max_concurrent(); }
void TestServer::stop() { state_->stop(); }

// ---------------------------------------------------------------------------------------
// Generated site.

namespace {

constexpr int kIndexLinks = 10;
constexpr int kRandomLinksPerPage = 5;

struct Link {
  std::string href;
  std::string target;  // normalized path, "" for links that are not edges
};

std::string page_path(int i) { return "/p/" + std::to_string(i) + ".html"; }

// One of the four href forms for /p/<j>.html, as written on a page under /p/.
std::string href_for_page(int j, unsigned form) {
  const std::string file = std::to_string(j) + ".html";
  switch (form % 4) {
    case 0:
      return "/p/" + file;
    case 1:
      return file;
    case 2:
      return "../p/" + file;
    default:
      return "./" + file;
  }
}

std::string html_page(const std::string& title, const std::string& text,
                      const std::vector<Link>& links) {
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
                     "</title></head>\n<body>\n<h1>" + title + "</h1>\n<p>" + text + "</p>\n<ul>\n";
  for (std::size_t k = 0; k < links.size(); ++k) {
    html += "<li><a href=\"" + links[k].href + "\">link " + std::to_string(k) + "</a></li>\n";
  }
  html += "</ul>\n</body></html>\n";
  return html;
}

std::string big_body() {
  const std::string head = "<!DOCTYPE html>\n<html><head><title>Big</title></head><body>\n";
  const std::string tail =
      "<p><a href=\"" + std::string(kBigTailPath) + "\">tail</a></p>\n</body></html>\n";
  std::string body = head;
  body.reserve(kBigBodyBytes);
  for (unsigned line = 0;; ++line) {
    std::string text = "<p>filler line " + std::to_string(line) +
                       ": the quick brown fox jumps over the lazy dog.</p>\n";
    if (body.size() + text.size() + tail.size() > kBigBodyBytes) break;
    body += text;
  }
  body.append(kBigBodyBytes - body.size() - tail.size(), ' ');
  body += tail;
  return body;
}

std::string pdf_body() {
  std::string body = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
  body += "2 0 obj\n<< /Length 4000 >>\nstream\n";
  std::uint32_t state = 12345;  // LCG: deterministic binary filler, NUL bytes included
  for (int k = 0; k < 4000; ++k) {
    state = state * 1664525u + 1013904223u;
    body += static_cast<char>(state >> 24);
  }
  body += "\nendstream\nendobj\n(<a href=\"" + std::string(kPdfTrapPath) + "\">trap</a>)\n";
  body += "%%EOF\n";
  return body;
}

}  // namespace

Site generate_site(int page_count, unsigned seed) {
  const int n = std::max(page_count, 1);
  std::mt19937 rng(seed);  // raw outputs only: distributions differ between std libraries
  Site site;

  std::vector<Link> index_links;
  for (int k = 0; k < std::min(kIndexLinks, n); ++k) {
    // Even: absolute path; odd: relative to "/".
    const std::string file = "p/" + std::to_string(k) + ".html";
    index_links.push_back({k % 2 == 0 ? "/" + file : file, "/" + file});
  }

  // Special pages, each linked from the ordinary pages listed (mod n).
  struct SpecialLink {
    const char* path;
    const char* href;
    std::vector<int> from;
  };
  const std::vector<SpecialLink> specials = {
      {kRedirectPath, kRedirectPath, {3, n / 2}},
      {kMissingPath, "../missing", {5}},
      {kErrorPath, kErrorPath, {7}},
      {kPdfPath, "../file.pdf", {11}},
      {kBigPath, kBigPath, {13}},
  };

  std::vector<std::vector<Link>> page_links(n);
  for (int i = 0; i < n; ++i) {
    std::vector<Link>& links = page_links[i];
    std::vector<int> targets;
    if (i + 1 < n) targets.push_back(i + 1);  // the chain makes every page reachable
    for (int k = 0; k < kRandomLinksPerPage; ++k) {
      const int j = static_cast<int>(rng() % static_cast<unsigned>(n));
      if (j != i) targets.push_back(j);
    }
    for (int j : targets) {
      std::string href = href_for_page(j, rng());
      if (rng() % 4 == 0) href += "#s" + std::to_string(rng() % 3);
      links.push_back({href, page_path(j)});
    }
    if (i % 3 == 0 && !targets.empty()) {  // same target again, in another form
      links.push_back({href_for_page(targets[0], 2 + static_cast<unsigned>(i)) + "#again",
                       page_path(targets[0])});
    }
    for (const SpecialLink& special : specials) {
      bool linked = false;
      for (int from : special.from) linked = linked || from % n == i;
      if (linked) links.push_back({special.href, special.path});
    }
    if (i % 4 == 2) links.push_back({"mailto:webmaster@example.invalid", ""});
    if (i % 5 == 1) links.push_back({"javascript:void(0)", ""});
  }

  auto add_html = [&site](const std::string& path, const std::string& title,
                          const std::string& text, const std::vector<Link>& links) {
    site.pages[path] = Response{200, "text/html", html_page(title, text, links), {}, 0, 0};
    std::set<std::string>& out = site.edges[path];
    for (const Link& link : links) {
      if (!link.target.empty()) out.insert(link.target);
    }
  };
  add_html("/", "Index", "Start here.", index_links);
  for (int i = 0; i < n; ++i) {
    add_html(page_path(i), "Page " + std::to_string(i),
             "This is page " + std::to_string(i) + " of " + std::to_string(n) + ".", page_links[i]);
  }

  site.pages[kRedirectPath] = Response{
      301, "text/html", "<html><body>Moved</body></html>\n", {{"Location", kRedirectTarget}}, 0, 0};
  site.pages[kMissingPath] = Response{
      404, "text/html", "<html><head><title>Not Found</title></head><body>Gone</body></html>\n",
      {},  0,           0};
  site.pages[kErrorPath] = Response{500, "text/plain", "internal error\n", {}, 0, 0};
  site.pages[kPdfPath] = Response{200, "application/pdf", pdf_body(), {}, 0, 0};
  site.pages[kBigPath] = Response{200, "text/html", big_body(), {}, 0, 0};

  std::deque<std::string> queue = {"/"};
  site.depth["/"] = 0;
  while (!queue.empty()) {
    const std::string path = queue.front();
    queue.pop_front();
    auto out = site.edges.find(path);
    if (out == site.edges.end()) continue;
    for (const std::string& target : out->second) {
      if (site.depth.emplace(target, site.depth[path] + 1).second) queue.push_back(target);
    }
  }
  return site;
}

Handler site_handler(const Site& site) {
  auto pages = std::make_shared<const std::map<std::string, Response>>(site.pages);
  return [pages](const std::string& path_and_query) {
    const std::string path = path_and_query.substr(0, path_and_query.find_first_of("?#"));
    auto it = pages->find(path);
    if (it != pages->end()) return it->second;
    return Response{404,
                    "text/html",
                    "<html><head><title>Not Found</title></head><body>No such page</body></html>\n",
                    {},
                    0,
                    0};
  };
}

}  // namespace e2e

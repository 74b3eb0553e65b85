// bench_server: a generated web site on many loopback hosts, for the latency and scale
// scenarios of bench/run. One thread, non-blocking sockets and epoll: it holds thousands of
// keep-alive connections and delays every response by --latency-ms with a timer heap (the
// epoll_wait timeout), never by sleeping, so its own CPU time stays small and is reported.
//
//   bench_server [--hosts H] [--first-ip 127.0.0.10] [--port P] [--latency-ms MS]
//                [--pages N] [--links K] [--page-bytes B] [--seconds S] [--stats FILE]
//
// The site: pages /p/ID for ID in [0, N) (N = 0: an endless site, IDs in [0, 2^62)). The home
// host of page ID is host ID % H, i.e. http://(first-ip + ID % H):P/p/ID, and pages are served
// on any host. Each page is about B bytes of HTML (default 3000) with K links (default 10)
// computed from its ID: with N > 0, links 0 and 1 go to 2·ID+1 and 2·ID+2 (a binary tree, so
// every page is reachable from page 0, and from the seeds /p/0 .. /p/H-1), and the others to
// hash(ID, j) % N; with N = 0 every link is hash-derived, so nearly every link is a new URL.
// "/" on host h serves page h. /robots.txt and every other path answer 404.
//
// Prints "bench_server: listening port=P hosts=H first_ip=IP" on stdout once every address is
// bound (with --port 0 the kernel picks P). Stops on SIGTERM/SIGINT or after --seconds
// (default 600), then writes its statistics as one JSON line to --stats FILE (or stderr):
// requests, responses by status, connections accepted, peak open connections, bytes sent,
// wall_s, cpu_user_s, cpu_sys_s (getrusage) and cpu_share (CPU seconds per wall second).
// Addresses must be in 127.0.0.0/8: it never listens beyond loopback.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"

namespace {

using common::UniqueFd;

constexpr std::size_t kMaxRequestBytes =
    std::size_t{64} * 1024;  // buffered request bytes per connection
constexpr std::uint64_t kEndlessIds = std::uint64_t{1} << 62;

struct Options {
  int hosts = 1;
  std::uint32_t first_ip = 0x7f00000a;  // 127.0.0.10, host byte order
  int port = 0;
  int latency_ms = 0;
  std::uint64_t pages = 1000;  // 0 = endless
  int links = 10;
  int page_bytes = 3000;
  double seconds = 600;
  std::string stats_path;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string ip_text(std::uint32_t ip) {
  in_addr addr{htonl(ip)};
  char buf[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &addr, buf, sizeof buf);
}

// The generated site: pure functions of the options.
class Site {
 public:
  explicit Site(const Options& options) : options_(options) {
    for (int h = 0; h < options.hosts; ++h) {
      origins_.push_back("http://" + ip_text(options.first_ip + static_cast<std::uint32_t>(h)) +
                         ":" + std::to_string(options.port));
    }
  }
  std::uint64_t id_space() const { return options_.pages == 0 ? kEndlessIds : options_.pages; }
  bool exists(std::uint64_t id) const { return id < id_space(); }

  std::uint64_t link_target(std::uint64_t id, int j) const {
    if (options_.pages > 0 && j < 2 && 2 * id + 1 + static_cast<std::uint64_t>(j) < id_space()) {
      return 2 * id + 1 + static_cast<std::uint64_t>(j);
    }
    return mix64(id * 1000003ULL + static_cast<std::uint64_t>(j)) % id_space();
  }

  std::string page(std::uint64_t id) const {
    static constexpr std::string_view kWords[] = {
        "crawler", "frontier", "latency", "socket",  "page",   "anchor", "parser", "queue",
        "host",    "index",    "breadth", "request", "window", "server", "epoll",  "timer",
        "link",    "storage",  "journal", "commit",  "sample", "memory", "limit",  "bound"};
    const std::string name = "Page " + std::to_string(id);
    std::string html;
    html.reserve(static_cast<std::size_t>(options_.page_bytes) +
                 std::size_t{80} * static_cast<std::size_t>(options_.links));
    html += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + name +
            "</title></head>\n<body><h1>" + name + "</h1>\n<p>";
    const std::size_t text_bytes = static_cast<std::size_t>(std::max(0, options_.page_bytes - 200));
    std::uint64_t h = mix64(id);
    auto add_text = [&](std::size_t until) {
      while (html.size() < until) {
        h = mix64(h);
        html += kWords[h % std::size(kWords)];
        html += (h >> 32) % 11 == 0 ? ". " : " ";
      }
    };
    add_text(text_bytes / 2);
    html += "</p>\n<ul>\n";
    const std::size_t before_links = html.size();
    for (int j = 0; j < options_.links; ++j) {
      const std::uint64_t target = link_target(id, j);
      const std::string t = std::to_string(target);
      html += "<li><a href=\"" + origins_[target % origins_.size()] + "/p/" + t + "\">Page " + t +
              "</a></li>\n";
    }
    html += "</ul>\n<p>";
    add_text(text_bytes + (html.size() - before_links));
    html += "</p>\n</body></html>\n";
    return html;
  }

 private:
  Options options_;
  std::vector<std::string> origins_;
};

struct Request {
  bool head = false;
  bool keep_alive = true;
  int status = 404;
  std::uint64_t id = 0;
};

struct Connection {
  UniqueFd fd;
  std::uint64_t generation = 0;
  int host = 0;
  std::string in;
  std::string out;
  std::size_t out_offset = 0;
  bool waiting = false;  // a response is due on the timer heap
  bool close_after = false;
  Request request;
};

struct Timer {
  std::int64_t due_ms;
  int fd;
  std::uint64_t generation;
  bool operator>(const Timer& other) const { return due_ms > other.due_ms; }
};

struct Stats {
  std::uint64_t requests = 0, status_200 = 0, status_404 = 0, status_400 = 0;
  std::uint64_t accepted = 0, open = 0, peak_open = 0, bytes_sent = 0;
};

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// Parses one request head (without the final CRLFCRLF). Total: anything odd is a 400.
Request parse_request(std::string_view head, int host, const Site& site) {
  Request r;
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    r.status = 400;
    r.keep_alive = false;
    return r;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  r.head = method == "HEAD";
  r.keep_alive = version == "HTTP/1.1";
  std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view header = head.substr(pos, end - pos);
    if (iequals_prefix(header, "connection:")) {
      std::string_view value = header.substr(11);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (iequals_prefix(value, "close")) r.keep_alive = false;
      if (iequals_prefix(value, "keep-alive")) r.keep_alive = true;
    }
    pos = end + 2;
  }
  if (method != "GET" && method != "HEAD") {
    r.status = 400;
    r.keep_alive = false;
    return r;
  }
  target = target.substr(0, target.find('?'));
  if (target == "/") {
    r.status = 200;
    r.id = static_cast<std::uint64_t>(host);
  } else if (target.size() > 3 && target.substr(0, 3) == "/p/" && target.size() <= 3 + 19 &&
             target.find_first_not_of("0123456789", 3) == std::string_view::npos) {
    const std::uint64_t id = std::strtoull(std::string(target.substr(3)).c_str(), nullptr, 10);
    if (site.exists(id)) {
      r.status = 200;
      r.id = id;
    }
  }
  return r;
}

class Server {
 public:
  Server(Options options, Site site) : options_(std::move(options)), site_(std::move(site)) {}
  int run();

 private:
  bool listen_all();
  void accept_all(int listen_fd, int host);
  void on_readable(int fd);
  void on_writable(int fd);
  void start_next_request(int fd);
  void respond(int fd);
  void close_connection(int fd);
  void write_stats(double wall_s) const;

  Options options_;
  Site site_;
  UniqueFd epoll_, signal_fd_;
  std::vector<UniqueFd> listeners_;
  std::vector<int> listener_host_;                        // by fd: host index, -1 if not a listener
  std::vector<std::unique_ptr<Connection>> connections_;  // by fd
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::uint64_t next_generation_ = 1;
  Stats stats_;
};

bool Server::listen_all() {
  for (int h = 0; h < options_.hosts; ++h) {
    const std::uint32_t ip = options_.first_ip + static_cast<std::uint32_t>(h);
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(ip);
    addr.sin_port = htons(static_cast<std::uint16_t>(options_.port));
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd.get(), SOMAXCONN) != 0) {
      std::cerr << "bench_server: cannot listen on " << ip_text(ip) << ":" << options_.port << ": "
                << std::strerror(errno) << '\n';
      return false;
    }
    if (options_.port == 0) {  // the kernel's choice becomes every host's port
      socklen_t len = sizeof addr;
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
      options_.port = ntohs(addr.sin_port);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev);
    if (listener_host_.size() <= static_cast<std::size_t>(fd.get())) {
      listener_host_.resize(static_cast<std::size_t>(fd.get()) + 1, -1);
    }
    listener_host_[static_cast<std::size_t>(fd.get())] = h;
    listeners_.push_back(std::move(fd));
  }
  return true;
}

void Server::accept_all(int listen_fd, int host) {
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        std::cerr << "bench_server: out of file descriptors\n";
      }
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connections_.size() <= static_cast<std::size_t>(fd)) {
      connections_.resize(static_cast<std::size_t>(fd) * 2 + 1);
    }
    auto conn = std::make_unique<Connection>();
    conn->fd.reset(fd);
    conn->generation = next_generation_++;
    conn->host = host;
    connections_[static_cast<std::size_t>(fd)] = std::move(conn);
    // Edge-triggered: on_readable drains the socket, on_writable flushes what is pending.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
    ++stats_.accepted;
    stats_.peak_open = std::max(stats_.peak_open, ++stats_.open);
  }
}

void Server::close_connection(int fd) {
  connections_[static_cast<std::size_t>(fd)].reset();  // closes the fd; epoll forgets it
  --stats_.open;
}

void Server::on_readable(int fd) {
  Connection& conn = *connections_[static_cast<std::size_t>(fd)];
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      conn.in.append(buf, static_cast<std::size_t>(n));
      if (conn.in.size() > kMaxRequestBytes) {
        close_connection(fd);
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    close_connection(fd);  // EOF or error: a pending response has no one to go to
    return;
  }
  if (!conn.waiting && conn.out_offset >= conn.out.size()) start_next_request(fd);
}

// Takes the next complete request from the buffer and schedules its response.
void Server::start_next_request(int fd) {
  Connection& conn = *connections_[static_cast<std::size_t>(fd)];
  const auto end = conn.in.find("\r\n\r\n");
  if (end == std::string::npos) return;
  conn.request = parse_request(std::string_view(conn.in).substr(0, end), conn.host, site_);
  conn.in.erase(0, end + 4);
  conn.waiting = true;
  if (options_.latency_ms <= 0) {
    respond(fd);
    return;
  }
  timers_.push({now_ms() + options_.latency_ms, fd, conn.generation});
}

void Server::respond(int fd) {
  Connection& conn = *connections_[static_cast<std::size_t>(fd)];
  conn.waiting = false;
  const Request& r = conn.request;
  std::string body;
  const char* reason = "OK";
  if (r.status == 200) {
    body = site_.page(r.id);
    ++stats_.status_200;
  } else if (r.status == 404) {
    body = "<html><body>not found</body></html>\n";
    reason = "Not Found";
    ++stats_.status_404;
  } else {
    body = "bad request\n";
    reason = "Bad Request";
    ++stats_.status_400;
  }
  ++stats_.requests;
  conn.close_after = !r.keep_alive;
  conn.out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason +
             "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " +
             std::to_string(body.size()) +
             (conn.close_after ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
  if (!r.head) conn.out += body;
  conn.out_offset = 0;
  on_writable(fd);
}

void Server::on_writable(int fd) {
  Connection& conn = *connections_[static_cast<std::size_t>(fd)];
  while (conn.out_offset < conn.out.size()) {
    const ssize_t n = ::send(fd, conn.out.data() + conn.out_offset,
                             conn.out.size() - conn.out_offset, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // EPOLLOUT (edge) brings us back
    if (n < 0) {
      close_connection(fd);
      return;
    }
    conn.out_offset += static_cast<std::size_t>(n);
    stats_.bytes_sent += static_cast<std::uint64_t>(n);
  }
  if (conn.out.empty() || conn.waiting) return;
  conn.out.clear();
  conn.out_offset = 0;
  if (conn.close_after) {
    close_connection(fd);
    return;
  }
  start_next_request(fd);  // a pipelined request may be waiting in the buffer
}

void Server::write_stats(double wall_s) const {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double user_s = static_cast<double>(usage.ru_utime.tv_sec) +
                        static_cast<double>(usage.ru_utime.tv_usec) / 1e6;
  const double sys_s = static_cast<double>(usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_stime.tv_usec) / 1e6;
  char line[512];
  std::snprintf(line, sizeof line,
                "{\"requests\":%llu,\"status_200\":%llu,\"status_404\":%llu,\"status_400\":%llu,"
                "\"accepted\":%llu,\"peak_open\":%llu,\"bytes_sent\":%llu,\"wall_s\":%.3f,"
                "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"cpu_share\":%.4f}\n",
                static_cast<unsigned long long>(stats_.requests),
                static_cast<unsigned long long>(stats_.status_200),
                static_cast<unsigned long long>(stats_.status_404),
                static_cast<unsigned long long>(stats_.status_400),
                static_cast<unsigned long long>(stats_.accepted),
                static_cast<unsigned long long>(stats_.peak_open),
                static_cast<unsigned long long>(stats_.bytes_sent), wall_s, user_s, sys_s,
                wall_s > 0 ? (user_s + sys_s) / wall_s : 0.0);
  if (options_.stats_path.empty()) {
    std::cerr << line;
  } else {
    std::ofstream(options_.stats_path) << line;
  }
}

int Server::run() {
  // Thousands of connections need thousands of fds: take the hard limit.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_.reset(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
  epoll_event sev{};
  sev.events = EPOLLIN;
  sev.data.fd = signal_fd_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, signal_fd_.get(), &sev);
  if (!listen_all()) return 1;
  site_ = Site(options_);  // the port is known now: links carry it
  std::cout << "bench_server: listening port=" << options_.port << " hosts=" << options_.hosts
            << " first_ip=" << ip_text(options_.first_ip) << std::endl;

  const std::int64_t start = now_ms();
  const std::int64_t deadline = start + static_cast<std::int64_t>(options_.seconds * 1000);
  std::vector<epoll_event> events(1024);
  bool stop = false;
  while (!stop) {
    std::int64_t now = now_ms();
    if (now >= deadline) break;
    std::int64_t timeout = std::min<std::int64_t>(deadline - now, 1000);
    if (!timers_.empty())
      timeout = std::clamp<std::int64_t>(timers_.top().due_ms - now, 0, timeout);
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                               static_cast<int>(timeout));
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const std::uint32_t what = events[static_cast<std::size_t>(i)].events;
      if (fd == signal_fd_.get()) {
        stop = true;
        continue;
      }
      if (static_cast<std::size_t>(fd) < listener_host_.size() &&
          listener_host_[static_cast<std::size_t>(fd)] >= 0) {
        accept_all(fd, listener_host_[static_cast<std::size_t>(fd)]);
        continue;
      }
      if (static_cast<std::size_t>(fd) >= connections_.size() ||
          !connections_[static_cast<std::size_t>(fd)]) {
        continue;
      }
      if (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(fd);
      if ((what & EPOLLOUT) && connections_[static_cast<std::size_t>(fd)]) on_writable(fd);
    }
    now = now_ms();
    while (!timers_.empty() && timers_.top().due_ms <= now) {
      const Timer timer = timers_.top();
      timers_.pop();
      const auto& conn = connections_[static_cast<std::size_t>(timer.fd)];
      if (conn && conn->generation == timer.generation && conn->waiting) respond(timer.fd);
    }
  }
  write_stats(static_cast<double>(now_ms() - start) / 1000.0);
  return 0;
}

int usage() {
  std::cerr << "usage: bench_server [--hosts H] [--first-ip 127.0.0.10] [--port P] "
               "[--latency-ms MS] [--pages N (0 = endless)] [--links K] [--page-bytes B] "
               "[--seconds S] [--stats FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return usage();
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--hosts")
      options.hosts = std::atoi(value.c_str());
    else if (flag == "--first-ip") {
      in_addr addr{};
      if (::inet_pton(AF_INET, value.c_str(), &addr) != 1) return usage();
      options.first_ip = ntohl(addr.s_addr);
    } else if (flag == "--port")
      options.port = std::atoi(value.c_str());
    else if (flag == "--latency-ms")
      options.latency_ms = std::atoi(value.c_str());
    else if (flag == "--pages")
      options.pages = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--links")
      options.links = std::atoi(value.c_str());
    else if (flag == "--page-bytes")
      options.page_bytes = std::atoi(value.c_str());
    else if (flag == "--seconds")
      options.seconds = std::atof(value.c_str());
    else if (flag == "--stats")
      options.stats_path = value;
    else
      return usage();
  }
  const std::uint32_t last_ip = options.first_ip + static_cast<std::uint32_t>(options.hosts - 1);
  if (options.hosts < 1 || options.hosts > 65536 || options.links < 0 || options.links > 10000 ||
      options.port < 0 || options.port > 65535 || (options.first_ip >> 24) != 127 ||
      (last_ip >> 24) != 127) {
    std::cerr << "bench_server: bad option value (addresses must stay in 127.0.0.0/8)\n";
    return usage();
  }
  Site site(options);
  return Server(options, std::move(site)).run();
}

#include "crawler/fetcher.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crawler/ipc.h"

namespace crawler {

using common::ErrorCode;
using common::make_error;
using common::Result;
using common::UniqueFd;

namespace {

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

const char* error_kind(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "dns";
    case CURLE_COULDNT_CONNECT: return "connect";
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_TOO_MANY_REDIRECTS: return "too_many_redirects";
    case CURLE_UNSUPPORTED_PROTOCOL: return "bad_scheme";
    case CURLE_URL_MALFORMAT: return "bad_url";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE: return "tls";
    case CURLE_BAD_CONTENT_ENCODING: return "bad_encoding";
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: return "network";
    default: return "network";
  }
}

}  // namespace

bool is_html_content_type(std::string_view content_type) {
  content_type = trim(content_type);
  return content_type.empty() || starts_with_icase(content_type, "text/html") ||
         starts_with_icase(content_type, "application/xhtml+xml");
}

struct Transfer {
  Task task;
  CurlEasy easy;
  CURLM* multi = nullptr;  // set while attached
  std::int64_t max_body_bytes = 0;
  std::int64_t size_bytes = 0;
  std::int64_t started_ms = 0;
  bool too_large = false;
  bool truncate_at_cap = false;  // robots.txt: keep the first max_body_bytes and succeed
  bool truncated = false;
  std::int64_t sent_ms = 0;  // when libcurl was about to send the (last) request
  int html = -1;  // -1: not decided yet (decided at the first body byte)
  std::string body;
  std::string x_robots_tag;
  char error_buffer[CURL_ERROR_SIZE] = {};

  explicit Transfer(CurlEasy e) : easy(std::move(e)) {}
  ~Transfer() {
    if (multi != nullptr) curl_multi_remove_handle(multi, easy.get());
  }

  static size_t on_body(char* data, size_t size, size_t count, void* userp) noexcept {
    auto* t = static_cast<Transfer*>(userp);
    const size_t n = size * count;
    try {
      if (t->truncate_at_cap) {
        const auto room = static_cast<std::size_t>(t->max_body_bytes) - t->body.size();
        t->body.append(data, std::min(n, room));
        t->size_bytes = static_cast<std::int64_t>(t->body.size());
        if (n > room) {
          t->truncated = true;
          return CURL_WRITEFUNC_ERROR;
        }
        return n;
      }
      if (t->html < 0) {
        const char* type = nullptr;
        curl_easy_getinfo(t->easy.get(), CURLINFO_CONTENT_TYPE, &type);
        t->html = is_html_content_type(type != nullptr ? type : "") ? 1 : 0;
        if (t->html == 1) t->reserve_body();
      }
      t->size_bytes += static_cast<std::int64_t>(n);
      if (t->size_bytes > t->max_body_bytes) {
        t->too_large = true;
        return CURL_WRITEFUNC_ERROR;
      }
      if (t->html == 1) t->body.append(data, n);
      return n;
    } catch (...) {
      return CURL_WRITEFUNC_ERROR;
    }
  }

  // Room for the body the server announced, so that appending does not copy it again at
  // each doubling. Bounded: a server may announce any length and send a few bytes.
  void reserve_body() {
    constexpr curl_off_t kMaxReserveBytes = 1024 * 1024;
    curl_off_t length = -1;
    if (curl_easy_getinfo(easy.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) != CURLE_OK ||
        length <= 0) {
      return;
    }
    length = std::min({length, static_cast<curl_off_t>(max_body_bytes), kMaxReserveBytes});
    body.reserve(static_cast<std::size_t>(length));
  }

  // Right before each request goes out on an established connection (every redirect hop
  // too): the moment the server's clock starts, for the host's delay.
  static int on_prereq(void* clientp, char*, char*, int, int) noexcept {
    static_cast<Transfer*>(clientp)->sent_ms = monotonic_ms();
    return CURL_PREREQFUNC_OK;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* userp) noexcept {
    auto* t = static_cast<Transfer*>(userp);
    const size_t n = size * count;
    try {
      std::string_view line(data, n);
      if (starts_with_icase(line, "http/")) {
        t->x_robots_tag.clear();  // a new response (after a redirect): forget the last one's
      } else if (starts_with_icase(line, "x-robots-tag:")) {
        if (!t->x_robots_tag.empty()) t->x_robots_tag += ", ";
        t->x_robots_tag += trim(line.substr(13));
        if (t->x_robots_tag.size() > 4096) t->x_robots_tag.resize(4096);
      }
    } catch (...) {
      return 0;
    }
    return n;
  }
};

Result<std::unique_ptr<Fetcher>> Fetcher::create(FetcherConfig config) {
  auto multi = CurlMulti::create();
  if (!multi) return common::error_of(multi);
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return make_error(ErrorCode::Io, std::string("epoll: ") + std::strerror(errno));
  std::unique_ptr<Fetcher> f(new Fetcher(std::move(config), std::move(*multi), std::move(epoll)));
  CURLM* m = f->multi_.get();
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &Fetcher::on_socket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, f.get());
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &Fetcher::on_timer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, f.get());
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, f->config_.max_connects);
  return f;
}

Fetcher::Fetcher(FetcherConfig config, CurlMulti multi, common::UniqueFd epoll)
    : config_(std::move(config)), multi_(std::move(multi)), epoll_(std::move(epoll)) {}

Fetcher::~Fetcher() { transfers_.clear(); }

int Fetcher::on_socket(CURL*, curl_socket_t s, int what, void* userp, void*) noexcept {
  auto* self = static_cast<Fetcher*>(userp);
  epoll_event ev{};
  ev.data.fd = s;
  if (what == CURL_POLL_REMOVE) {
    ::epoll_ctl(self->epoll_.get(), EPOLL_CTL_DEL, s, nullptr);
    return 0;
  }
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  if (::epoll_ctl(self->epoll_.get(), EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
    ::epoll_ctl(self->epoll_.get(), EPOLL_CTL_ADD, s, &ev);
  }
  return 0;
}

int Fetcher::on_timer(CURLM*, long timeout_ms, void* userp) noexcept {
  static_cast<Fetcher*>(userp)->timer_due_ms_ = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
  return 0;
}

void Fetcher::start(Task task) {
  auto fail = [&](const char* kind, std::string detail) {
    FetchResult r;
    r.task = std::move(task);
    r.error_kind = kind;
    r.error_detail = std::move(detail);
    r.fetched_at_s = unix_time_s();
    failed_.push_back(std::move(r));
  };
  auto easy = CurlEasy::create();
  if (!easy) return fail("internal", easy.error().context);
  auto t = std::make_unique<Transfer>(std::move(*easy));
  t->task = std::move(task);
  const bool robots = t->task.kind == TaskKind::Robots;
  t->max_body_bytes = robots ? config_.robots_max_bytes : config_.max_body_bytes;
  t->truncate_at_cap = robots;
  t->started_ms = monotonic_ms();
  CURL* e = t->easy.get();
  curl_easy_setopt(e, CURLOPT_URL, t->task.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS,
                   robots ? config_.robots_max_redirects : config_.max_redirects);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, config_.connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, config_.timeout_ms);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, config_.low_speed_bytes_per_s);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, config_.low_speed_time_s);
  curl_easy_setopt(e, CURLOPT_USERAGENT, config_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, &Transfer::on_prereq);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, t.get());
  if (curl_multi_add_handle(multi_.get(), e) != CURLM_OK) {
    task = std::move(t->task);
    return fail("internal", "curl_multi_add_handle failed");
  }
  t->multi = multi_.get();
  transfers_.push_back(std::move(t));
}

namespace {

// Keeps `fd` (or none, -1) registered in `epoll` for `events`, replacing `current`.
void rewatch(int epoll, int& current, int fd, std::uint32_t events) {
  if (fd == current) return;
  if (current >= 0) ::epoll_ctl(epoll, EPOLL_CTL_DEL, current, nullptr);
  if (fd >= 0) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
  }
  current = fd;
}

}  // namespace

bool Fetcher::poll(int watch_fd, int max_wait_ms, std::vector<FetchResult>& done, int write_fd) {
  rewatch(epoll_.get(), watched_fd_, watch_fd, EPOLLIN);
  rewatch(epoll_.get(), watched_write_fd_, write_fd, EPOLLOUT);
  int wait_ms = max_wait_ms;
  if (!failed_.empty()) wait_ms = 0;
  if (timer_due_ms_ >= 0) {
    wait_ms = static_cast<int>(std::clamp<std::int64_t>(timer_due_ms_ - monotonic_ms(), 0, wait_ms));
  }
  epoll_event events[256];
  int n = ::epoll_wait(epoll_.get(), events, 256, wait_ms);
  bool watch_ready = false;
  int running = 0;
  // Fires libcurl's timer if it is due; the call may set a new one.
  auto service_timer = [&] {
    if (timer_due_ms_ < 0 || timer_due_ms_ > monotonic_ms()) return;
    timer_due_ms_ = -1;
    curl_multi_socket_action(multi_.get(), CURL_SOCKET_TIMEOUT, 0, &running);
  };
  if (n <= 0) {
    service_timer();
  } else {
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == watch_fd) {
        watch_ready = true;
        continue;
      }
      if (events[i].data.fd == write_fd) continue;  // the caller flushes its writes
      int flags = 0;
      if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi_.get(), events[i].data.fd, flags, &running);
    }
    // libcurl wants its timer serviced even when sockets are busy.
    service_timer();
  }
  collect(done);
  return watch_ready;
}

void Fetcher::collect(std::vector<FetchResult>& done) {
  for (auto& r : failed_) done.push_back(std::move(r));
  failed_.clear();
  int pending = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &pending)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
    const CURLcode rc = msg->data.result;
    FetchResult r;
    r.task = std::move(t->task);
    r.fetch_ms = monotonic_ms() - t->started_ms;
    r.sent_ms = t->sent_ms;
    r.fetched_at_s = unix_time_s();
    CURL* e = t->easy.get();
    long status = 0, redirects = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
    const char* final_url = nullptr;
    curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &final_url);
    const char* type = nullptr;
    curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type);
    curl_off_t retry_after = 0;
    curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after);
    r.final_url = final_url != nullptr ? final_url : "";
    r.redirect_count = static_cast<std::int32_t>(redirects);
    r.content_type = type != nullptr ? type : "";
    r.retry_after_s = retry_after > 0 ? static_cast<std::int64_t>(retry_after) : -1;
    r.x_robots_tag = std::move(t->x_robots_tag);
    r.size_bytes = t->size_bytes;
    if (t->too_large) {
      // How much arrived before the cut depends on packet timing; store a stable figure: the
      // declared Content-Length, or one byte over the cap when the server declared none.
      curl_off_t declared = -1;
      curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared);
      r.size_bytes = declared > t->max_body_bytes ? static_cast<std::int64_t>(declared)
                                                  : t->max_body_bytes + 1;
    }
    if (rc == CURLE_OK || t->truncated) {
      r.status = static_cast<std::int32_t>(status);
      r.body_kept = t->truncate_at_cap || is_html_content_type(r.content_type);
      if (r.body_kept) r.body = std::move(t->body);
    } else {
      r.status = 0;
      r.error_kind = t->too_large ? "too_large" : error_kind(rc);
      r.error_detail = t->too_large ? "body larger than " + std::to_string(t->max_body_bytes) +
                                          " bytes"
                                    : (t->error_buffer[0] != '\0' ? t->error_buffer
                                                                  : curl_easy_strerror(rc));
    }
    done.push_back(std::move(r));
    auto it = std::find_if(transfers_.begin(), transfers_.end(),
                           [t](const auto& p) { return p.get() == t; });
    if (it != transfers_.end()) transfers_.erase(it);  // leaves the multi in ~Transfer
  }
}

}  // namespace crawler

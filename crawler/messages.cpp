#include "crawler/messages.h"

#include "common/wire.h"

namespace crawler {

using common::Reader;
using common::Writer;

namespace {

void put_task(Writer& w, const Task& t) {
  w.put_i64(t.seq);
  w.put_i64(t.url_id);
  w.put_i32(t.depth);
  w.put_i32(t.attempt);
  w.put_string(t.url);
  w.put_u8(static_cast<std::uint8_t>(t.kind));
}

bool get_task(Reader& r, Task& t) {
  std::uint8_t kind = 0;
  if (!(r.get_i64(t.seq) && r.get_i64(t.url_id) && r.get_i32(t.depth) && r.get_i32(t.attempt) &&
        r.get_string(t.url) && r.get_u8(kind) && kind <= 1)) {
    return false;
  }
  t.kind = static_cast<TaskKind>(kind);
  return true;
}

bool expect_type(Reader& r, MessageType type) {
  std::uint8_t tag = 0;
  return r.get_u8(tag) && tag == static_cast<std::uint8_t>(type);
}

Writer start(MessageType type) {
  Writer w;
  w.put_u8(static_cast<std::uint8_t>(type));
  return w;
}

}  // namespace

std::string encode(const Task& task) {
  Writer w = start(MessageType::Task);
  put_task(w, task);
  return std::move(w).take();
}

std::string encode_stop() { return std::move(start(MessageType::Stop)).take(); }

std::string encode(const Fetched& fetched) {
  Writer w = start(MessageType::Fetched);
  w.put_i64(fetched.seq);
  w.put_i32(fetched.status);
  w.put_i64(fetched.retry_after_s);
  w.put_u8(fetched.retry ? 1 : 0);
  w.put_u8(fetched.host_trouble ? 1 : 0);
  w.put_i64(fetched.sent_ms);
  return std::move(w).take();
}

std::string encode(const Took& took) {
  Writer w = start(MessageType::Took);
  w.put_i32(took.pid);
  w.put_i64(took.seq);
  w.put_i64(took.started_ms);
  return std::move(w).take();
}

std::string encode(const FetchResult& r) {
  std::string wire = encode_head(r);
  wire.append(r.body);
  return wire;
}

std::string encode_head(const FetchResult& r) {
  Writer w = start(MessageType::Result);
  put_task(w, r.task);
  w.put_string(r.final_url);
  w.put_i32(r.status);
  w.put_i32(r.redirect_count);
  w.put_string(r.content_type);
  w.put_string(r.error_kind);
  w.put_string(r.error_detail);
  w.put_i64(r.retry_after_s);
  w.put_string(r.x_robots_tag);
  w.put_i64(r.size_bytes);
  w.put_i64(r.fetch_ms);
  w.put_f64(r.fetched_at_s);
  w.put_u8(r.body_kept ? 1 : 0);
  w.put_u32(static_cast<std::uint32_t>(r.body.size()));  // put_string's prefix; the body follows
  return std::move(w).take();
}

std::string encode(const Committed& c) {
  Writer w = start(MessageType::Committed);
  w.put_i64(c.urls_queued);
  w.put_u32(static_cast<std::uint32_t>(c.tasks.size()));
  for (const auto& t : c.tasks) {
    w.put_i64(t.seq);
    w.put_i32(t.status);
    w.put_i64(t.retry_after_s);
    w.put_string(t.error_kind);
  }
  return std::move(w).take();
}

std::uint8_t message_type(std::string_view message) {
  return message.empty() ? 0 : static_cast<std::uint8_t>(message[0]);
}

bool decode(std::string_view message, Task& task) {
  Reader r(message);
  return expect_type(r, MessageType::Task) && get_task(r, task) && r.at_end();
}

bool decode(std::string_view message, Fetched& fetched) {
  Reader r(message);
  std::uint8_t retry = 0, trouble = 0;
  if (!(expect_type(r, MessageType::Fetched) && r.get_i64(fetched.seq) &&
        r.get_i32(fetched.status) && r.get_i64(fetched.retry_after_s) && r.get_u8(retry) &&
        retry <= 1 && r.get_u8(trouble) && trouble <= 1 && r.get_i64(fetched.sent_ms) &&
        r.at_end())) {
    return false;
  }
  fetched.retry = retry != 0;
  fetched.host_trouble = trouble != 0;
  return true;
}

bool decode(std::string_view message, Took& took) {
  Reader r(message);
  return expect_type(r, MessageType::Took) && r.get_i32(took.pid) && r.get_i64(took.seq) &&
         r.get_i64(took.started_ms) && r.at_end();
}

bool decode(std::string_view message, FetchResult& f) {
  Reader r(message);
  std::uint8_t kept = 0;
  bool ok = expect_type(r, MessageType::Result) && get_task(r, f.task) &&
            r.get_string(f.final_url) && r.get_i32(f.status) && r.get_i32(f.redirect_count) &&
            r.get_string(f.content_type) && r.get_string(f.error_kind) &&
            r.get_string(f.error_detail) && r.get_i64(f.retry_after_s) &&
            r.get_string(f.x_robots_tag) && r.get_i64(f.size_bytes) && r.get_i64(f.fetch_ms) &&
            r.get_f64(f.fetched_at_s) && r.get_u8(kept) && r.get_string(f.body) && r.at_end();
  f.body_kept = kept != 0;
  return ok;
}

bool decode(std::string_view message, Committed& c) {
  Reader r(message);
  std::uint32_t n = 0;
  if (!expect_type(r, MessageType::Committed) || !r.get_i64(c.urls_queued) || !r.get_u32(n)) {
    return false;
  }
  c.tasks.clear();
  for (std::uint32_t i = 0; i < n; ++i) {
    CommittedTask t;
    if (!r.get_i64(t.seq) || !r.get_i32(t.status) || !r.get_i64(t.retry_after_s) ||
        !r.get_string(t.error_kind)) {
      return false;
    }
    c.tasks.push_back(std::move(t));
  }
  return r.at_end();
}

}  // namespace crawler

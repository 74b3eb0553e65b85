#pragma once
// RAII for libcurl handles. CURL* and CURLM* are both void* to the compiler, so each gets
// its own class rather than a unique_ptr alias that would accept the other.

#include <curl/curl.h>

#include <memory>

#include "common/releaser.h"
#include "common/result.h"

namespace crawler {

using CurlSlist = std::unique_ptr<curl_slist, common::Releaser<curl_slist_free_all>>;

// curl_global_init / curl_global_cleanup; one per process, in main() before any thread.
class CurlGlobal {
 public:
  CurlGlobal() { ok_ = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

class CurlEasy {
 public:
  [[nodiscard]] static common::Result<CurlEasy> create() {
    CURL* handle = curl_easy_init();
    if (handle == nullptr) return common::make_error(common::ErrorCode::Network, "curl_easy_init failed");
    return CurlEasy(handle);
  }
  CurlEasy(CurlEasy&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  CurlEasy& operator=(CurlEasy&& other) noexcept {
    if (this != &other) {
      if (handle_ != nullptr) curl_easy_cleanup(handle_);
      handle_ = other.handle_;
      other.handle_ = nullptr;
    }
    return *this;
  }
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;
  ~CurlEasy() {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
  }
  CURL* get() const noexcept { return handle_; }

 private:
  explicit CurlEasy(CURL* handle) : handle_(handle) {}
  CURL* handle_ = nullptr;
};

class CurlMulti {
 public:
  [[nodiscard]] static common::Result<CurlMulti> create() {
    CURLM* handle = curl_multi_init();
    if (handle == nullptr) return common::make_error(common::ErrorCode::Network, "curl_multi_init failed");
    return CurlMulti(handle);
  }
  CurlMulti(CurlMulti&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  CurlMulti& operator=(CurlMulti&&) = delete;
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;
  ~CurlMulti() {
    if (handle_ != nullptr) curl_multi_cleanup(handle_);
  }
  CURLM* get() const noexcept { return handle_; }

 private:
  explicit CurlMulti(CURLM* handle) : handle_(handle) {}
  CURLM* handle_ = nullptr;
};

}  // namespace crawler

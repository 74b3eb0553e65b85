#include "common/result.h"

namespace common {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::Network: return "network";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::HttpStatus: return "http_status";
    case ErrorCode::TooLarge: return "too_large";
    case ErrorCode::Parse: return "parse";
    case ErrorCode::Robots: return "robots";
    case ErrorCode::Storage: return "storage";
    case ErrorCode::BadInput: return "bad_input";
    case ErrorCode::Io: return "io";
  }
  return "unknown";
}

}  // namespace common

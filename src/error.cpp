#include "slim/error.hpp"

namespace slim {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::io: return "io";
    case ErrorCode::invalid_format: return "invalid_format";
    case ErrorCode::invalid_config: return "invalid_config";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::missing_tensor: return "missing_tensor";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::context_overflow: return "context_overflow";
    case ErrorCode::limit_exceeded: return "limit_exceeded";
    case ErrorCode::template_error: return "template_error";
    case ErrorCode::busy: return "busy";
  }
  return "unknown";
}

}  // namespace slim

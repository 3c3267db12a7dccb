// slim::Error: the one exception type the library throws. It carries a machine-readable code and a
// message that names the file and the field at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace slim {

enum class ErrorCode {
  io,                 // a file could not be opened, read or mapped
  invalid_format,     // a file's bytes do not follow its format (safetensors, JSON, ...)
  invalid_config,     // config.json is missing a field or has a value out of range
  unsupported,        // a valid input slim does not support (architecture, dtype, component)
  missing_tensor,     // a tensor the model needs is not in the weights
  invalid_argument,   // a caller passed a value out of range (token id, thread count, ...)
  context_overflow,   // more tokens than the session's context length
  limit_exceeded,     // input exceeds a documented resource limit
  template_error,     // a chat template failed to parse or raised an exception
  busy,               // an Engine's queue of waiting requests is full; try again later
};

// Short lowercase name of a code, e.g. "invalid_format".
const char* to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace slim

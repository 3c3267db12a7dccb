// Fuzz target: slim-server's request bodies (examples/server/request.cpp) through every endpoint's
// parser. Any input must give a request or an ApiError, never a crash or another exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "examples/server/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slim::server;
  Json body;
  try {
    body = parse_body(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const ApiError& e) {
    (void)e.body();
    return 0;
  }
  const auto each = [&](auto parse) {
    try {
      parse();
    } catch (const ApiError& e) {
      (void)e.body().dump();
    }
  };
  each([&] { (void)parse_chat_request(body, 1); });
  each([&] { (void)parse_completion_request(body, 1); });
  each([&] { (void)parse_infill_request(body, 1); });
  each([&] { (void)parse_tokenize_request(body); });
  each([&] { (void)parse_detokenize_request(body); });
  return 0;
}

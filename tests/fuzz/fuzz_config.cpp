// Fuzz target: the text of a config.json.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/config.hpp"
#include "model/rope.hpp"
#include "slim/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto config = slim::parse_config({reinterpret_cast<const char*>(data), size}, "config.json");
    (void)slim::rope_inv_freq(config);
    (void)slim::rope_attention_factor(config);
  } catch (const slim::Error&) {
  }
  return 0;
}

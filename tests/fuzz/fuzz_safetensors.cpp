// Fuzz target: the bytes of a safetensors file. Every tensor that parses is read end to end, so a
// wrong bound shows up as a sanitizer report. This covers slim's quantized files too: their block
// metadata (io/quantized_format.cpp) is validated inside SafetensorsFile::parse, and
// regressions/safetensors/quantized_blocks.safetensors (q8_0 + q4_0 + F32) seeds it.
#include <cstddef>
#include <cstdint>

#include "io/safetensors.hpp"
#include "slim/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = slim::io::MappedFile::copy_of({reinterpret_cast<const std::byte*>(data), size}, "fuzz.safetensors");
    auto st = slim::io::SafetensorsFile::parse(file);
    volatile unsigned sum = 0;
    for (const auto& entry : st.entries()) {
      for (std::byte b : st.data(entry)) sum = sum + static_cast<unsigned>(b);
      try {
        slim::Tensor t = st.tensor(entry);
        const auto* p = static_cast<const unsigned char*>(t.data());
        for (size_t i = 0; i < t.nbytes(); ++i) sum = sum + p[i];
      } catch (const slim::Error&) {
      }
    }
  } catch (const slim::Error&) {
  }
  return 0;
}

// Fuzz target: a saved session state restored into a session of the llama fixture. The checksum is
// recomputed over the input first, so the fuzzer reaches the parser instead of the checksum test.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "slim/error.hpp"
#include "slim/model.hpp"

namespace {

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

std::shared_ptr<const slim::Model> fixture_model() {
  const char* env = std::getenv("SLIM_SHARED_DIR");
  const std::filesystem::path shared = env && *env ? env : "../shared";
  return slim::Model::load(shared / "fixtures" / "models" / "llama", {.threads = 1});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto model = fixture_model();
  std::vector<uint8_t> bytes(data, data + size);
  if (bytes.size() >= 8) {
    const uint64_t sum = fnv1a(bytes.data(), bytes.size() - 8);
    std::memcpy(bytes.data() + bytes.size() - 8, &sum, 8);
  }
  slim::Session session(model, 16);
  try {
    session.restore_state(bytes);
    session.decode(1);  // a restored state must be usable
  } catch (const slim::Error&) {
  }
  return 0;
}

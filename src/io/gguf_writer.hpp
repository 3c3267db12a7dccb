// Writer of GGUF version 3 files (the container GgufFile reads): metadata key/value pairs in the
// order added, then the tensor infos, then the tensor data, each tensor at a multiple of
// kAlignment. Tensors keep their slim dtype as the ggml type of the same bytes (dtype_to_ggml);
// q8_0 / q4_0 rows go out as GGUF blocks whatever their layout in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/gguf.hpp"
#include "io/safetensors_writer.hpp"

namespace slim::io {

class GgufWriter {
 public:
  static constexpr uint32_t kAlignment = 32;  // general.alignment's default; the writer adds the key

  // Each key at most once (slim::Error(invalid_argument) naming it otherwise).
  void add_string(std::string_view key, std::string_view value);
  void add_u32(std::string_view key, uint32_t value);
  void add_i32(std::string_view key, int32_t value);
  void add_f32(std::string_view key, float value);
  void add_bool(std::string_view key, bool value);
  void add_strings(std::string_view key, std::span<const std::string> values);
  void add_f32s(std::string_view key, std::span<const float> values);
  void add_i32s(std::string_view key, std::span<const int32_t> values);
  // The value of `key` in `from`, with its type.
  void copy(const GgufFile& from, std::string_view key);
  // Every key/value pair of `other`, after this one's.
  void append(const GgufWriter& other);
  bool has(std::string_view key) const { return keys_.count(std::string(key)) != 0; }

  // The writer keeps a copy of `t` (an owned tensor's memory is shared); a view's data must stay
  // alive until write(). slim::Error(unsupported) naming it for a dtype GGUF has
  // no type for.
  void add_tensor(const std::string& name, const Tensor& t, kernels::Layout layout = kernels::Layout::blocks);

  // Writes `path` through a temporary renamed into place (slim::Error(io) naming the file when
  // that fails); progress gets the fraction of tensor bytes written.
  void write(const std::filesystem::path& path, const std::function<void(float)>& progress = {}) const;

 private:
  void add(std::string_view key, GgufType type, const std::string& value);
  std::set<std::string> keys_;
  std::string metadata_;  // the encoded key/value pairs
  uint64_t count_ = 0;
  std::vector<NamedTensor> tensors_;
};

}  // namespace slim::io

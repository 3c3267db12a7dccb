// A file written through a temporary beside it and renamed into place at the end, so a failed or
// interrupted write never leaves a partial file under the final name. The safetensors and GGUF
// writers write through it, tensor data included (rows of regrouped q8_0 / q4_0 tensors turned
// back into GGUF blocks on the way out).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "kernels/kernels.hpp"
#include "slim/tensor.hpp"

namespace slim::io {

class OutputFile {
 public:
  // Creates `path`.tmp; slim::Error(io) naming it when that fails.
  explicit OutputFile(const std::filesystem::path& path);
  ~OutputFile();  // removes the temporary unless commit() ran
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, size_t bytes);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // A tensor's bytes, q8_0 / q4_0 rows as GGUF blocks whatever `layout` they have in memory.
  // wrote(n) after each chunk of n bytes.
  void write_tensor(const Tensor& t, kernels::Layout layout, const std::function<void(uint64_t)>& wrote = {});
  uint64_t size() const noexcept { return size_; }
  // Flushes, closes and renames the temporary to `path`.
  void commit();

 private:
  struct Closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  [[noreturn]] void fail(const std::string& what) const;
  std::filesystem::path path_, tmp_;
  std::unique_ptr<std::FILE, Closer> file_;
  uint64_t size_ = 0;
  std::vector<unsigned char> blocks_;  // rows of a regrouped tensor turned back into GGUF blocks
};

}  // namespace slim::io

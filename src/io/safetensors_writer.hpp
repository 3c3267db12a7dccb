// Writes tensors as a safetensors file. Plain tensors keep their dtype (F32, BF16, F16); q8_0 /
// q4_0 tensors are written as U8 [rows, row bytes] of GGUF blocks (whatever their layout in
// memory) with slim's block metadata (io/quantized_format.hpp), so SafetensorsFile reads them
// back as the same tensors.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kernels/kernels.hpp"
#include "slim/tensor.hpp"

namespace slim::io {

struct NamedTensor {
  std::string name;
  Tensor tensor;
  kernels::Layout layout = kernels::Layout::blocks;  // of a q8_0 / q4_0 tensor's rows in memory
};

// Writes `path` through a temporary file renamed into place at the end. Every tensor starts at a
// multiple of its alignment (f32 tensors first, then the 2-byte ones; the data area starts at a
// multiple of 64) with no gaps, as the safetensors format requires. progress gets the fraction of
// bytes written. Throws slim::Error(io) when writing fails.
void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       std::map<std::string, std::string> metadata,
                       const std::function<void(float)>& progress = {});

}  // namespace slim::io

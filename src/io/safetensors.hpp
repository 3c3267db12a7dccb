// Reader of the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON describing each tensor (dtype, shape,
// data_offsets relative to the data area that follows), then the data. Everything in the header is
// validated before any tensor is handed out, so a hostile file gives slim::Error, never a bad read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/mapped_file.hpp"
#include "slim/limits.hpp"
#include "io/quantized_format.hpp"
#include "slim/tensor.hpp"

namespace slim::io {

struct TensorEntry {
  std::string name;
  std::string dtype;            // as stored: "F32", "BF16", "U8", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;           // byte offsets into the data area
  uint64_t end = 0;
  std::optional<BlockLayout> blocks;  // U8 bytes that slim's metadata says are q8_0 / q4_0 blocks
};

class SafetensorsFile {
 public:
  // The header is held to limits.max_safetensors_header_bytes, max_tensor_count and
  // max_tensor_elements (slim::Error(limit_exceeded)).
  static SafetensorsFile open(const std::filesystem::path& path, bool use_mmap = true, const Limits& limits = {});
  // Parses a file already in memory.
  static SafetensorsFile parse(std::shared_ptr<const MappedFile> file, const Limits& limits = {});

  const std::filesystem::path& path() const noexcept { return file_->path(); }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  const std::vector<TensorEntry>& entries() const noexcept { return entries_; }
  const TensorEntry* find(const std::string& name) const;
  // The stored bytes of a tensor (inside the mapping).
  std::span<const std::byte> data(const TensorEntry& entry) const;
  // The tensor as a slim::Tensor: a view of the mapping when the data is aligned for its dtype, an
  // aligned copy otherwise. A tensor with a block layout becomes a q8_0 / q4_0 tensor of its
  // logical shape. Throws slim::Error(unsupported) for dtypes slim does not compute with.
  Tensor tensor(const TensorEntry& entry) const;

 private:
  std::shared_ptr<const MappedFile> file_;
  std::span<const std::byte> data_area_;
  std::vector<TensorEntry> entries_;  // sorted by name
  std::map<std::string, std::string> metadata_;
};

// The weights of a model folder: model.safetensors, or the shards listed by
// model.safetensors.index.json. Tensors are looked up by name across shards.
class WeightFiles {
 public:
  static WeightFiles open(const std::filesystem::path& model_dir, bool use_mmap = true, const Limits& limits = {});

  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws slim::Error(missing_tensor) naming the tensor and the folder when absent.
  Tensor tensor(const std::string& name) const;
  const TensorEntry& entry(const std::string& name) const;
  // The first shard's __metadata__ (a quantized folder records its format there).
  const std::map<std::string, std::string>& metadata() const;
  std::vector<std::string> names() const;

 private:
  std::filesystem::path dir_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::pair<size_t, size_t>> index_;  // name -> (file, entry) indices
};

// Bytes of one element of a safetensors dtype string, or nullopt for a string the format does not
// define.
std::optional<size_t> safetensors_dtype_size(const std::string& dtype);

}  // namespace slim::io

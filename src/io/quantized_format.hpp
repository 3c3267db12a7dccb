// slim's quantized safetensors files (docs/quantized_format.md): block-quantized matrices are
// stored as U8 tensors of [rows, row bytes], and __metadata__ records each one's block dtype and
// logical shape, so the loader can map them back as q8_0 / q4_0 tensors without re-quantizing.
//   "slim.format": "slim-quantized", "slim.version": "1", "slim.block_size": "32",
//   "slim.dtype.<tensor>": "q8_0" | "q4_0", "slim.shape.<tensor>": "<d0>,<d1>,..." (decimal).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "slim/dtype.hpp"

namespace slim::io {

struct TensorEntry;

inline constexpr const char* kFormatKey = "slim.format";
inline constexpr const char* kFormatValue = "slim-quantized";
inline constexpr const char* kVersionKey = "slim.version";
inline constexpr const char* kBlockSizeKey = "slim.block_size";
inline constexpr const char* kDTypeKeyPrefix = "slim.dtype.";
inline constexpr const char* kShapeKeyPrefix = "slim.shape.";

// What the metadata says of one tensor stored as U8 blocks.
struct BlockLayout {
  DType dtype = DType::q8_0;
  std::vector<int64_t> shape;  // logical shape in elements
};

// Validates a file's slim metadata against its entries (sorted by name) and returns the block
// layout of each tensor it names. An empty map when the file has no "slim.format" key. Throws
// slim::Error naming `source` and the tensor for an unknown format, version, block size or dtype,
// a malformed shape, a tensor that is missing, not U8, or whose byte size does not match.
std::map<std::string, BlockLayout> parse_block_layouts(const std::string& source,
                                                       const std::map<std::string, std::string>& metadata,
                                                       const std::vector<TensorEntry>& entries);

// The metadata entries that describe a tensor of `dtype` and `shape` stored as U8 blocks.
void add_block_layout(std::map<std::string, std::string>& metadata, const std::string& name, DType dtype,
                      const std::vector<int64_t>& shape);

// The file-wide keys (format, version, block size).
void add_format_keys(std::map<std::string, std::string>& metadata);

}  // namespace slim::io

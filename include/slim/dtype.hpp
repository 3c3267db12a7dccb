// Element types of tensors and weights, described by one table (kDTypeTraits) that every size
// computation reads.
//
// q8_0 and q4_0 are block-quantized: a row is cut into blocks of 32 consecutive elements and each
// block is stored with its own fp16 scale d, bit-compatible with GGUF's Q8_0 and Q4_0 blocks as
// described in ggml's docs and source (ggml/src/ggml-common.h, "block_q8_0" / "block_q4_0";
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md lists the type ids 8 and 2):
//   q8_0: 34 bytes = fp16 d, then int8 q[32];            value i = d * q[i]
//   q4_0: 18 bytes = fp16 d, then uint8 qs[16] (nibbles); value i = d * (nibble_i - 8), where
//         nibble_i for i < 16 is the low 4 bits of qs[i] and for i >= 16 the high 4 bits of qs[i-16].
// q4_1, q5_0 and q5_1 are GGUF's other blocks of 32 (type ids 3, 6, 7; "block_q4_1" / "block_q5_0" /
// "block_q5_1" there), with the same nibble order and, for the 5-bit types, bit i of the
// little-endian uint32 qh as the fifth bit of value i:
//   q4_1: 20 bytes = fp16 d, fp16 m, uint8 qs[16];           value i = d * nibble_i + m
//   q5_0: 22 bytes = fp16 d, uint8 qh[4], uint8 qs[16];      value i = d * ((nibble_i | h_i << 4) - 16)
//   q5_1: 24 bytes = fp16 d, fp16 m, uint8 qh[4], qs[16];    value i = d * (nibble_i | h_i << 4) + m
// q4_k, q5_k and q6_k are GGUF's K-quants: super-blocks of 256 elements (kernels/kquant_blocks.hpp
// describes their layouts, ggml-common.h's block_q4_K / block_q5_K / block_q6_K).
// The last dimension of a block-quantized tensor must be a multiple of its block (blocks never
// span rows).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace slim {

enum class DType : uint8_t {
  f32,
  f16,
  bf16,
  q8_0,
  q4_0,
  q4_1,
  q5_0,
  q5_1,
  q4_k,
  q5_k,
  q6_k,
};

// What slim knows of a dtype: its name and how its rows are cut into blocks.
struct DTypeTraits {
  std::string_view name;
  int64_t block_elems;  // elements a block: 1 for plain types
  size_t block_bytes;   // bytes a block (of one element for plain types)
};

// Indexed by DType; a new dtype is one line here (and its kernels' table, kernels/weight_types.cpp).
inline constexpr DTypeTraits kDTypeTraits[] = {
    {"f32", 1, 4}, {"f16", 1, 2}, {"bf16", 1, 2}, {"q8_0", 32, 2 + 32}, {"q4_0", 32, 2 + 16},
    {"q4_1", 32, 2 + 2 + 16}, {"q5_0", 32, 2 + 4 + 16}, {"q5_1", 32, 2 + 2 + 4 + 16},
    {"q4_k", 256, 144},  {"q5_k", 256, 176}, {"q6_k", 256, 210},
};
inline constexpr size_t kDTypeCount = std::size(kDTypeTraits);

// Every dtype in table order (tests and benchmarks loop over it).
constexpr std::array<DType, kDTypeCount> all_dtypes() noexcept {
  std::array<DType, kDTypeCount> all{};
  for (size_t i = 0; i < kDTypeCount; ++i) all[i] = static_cast<DType>(i);
  return all;
}

constexpr bool dtype_valid(DType t) noexcept { return static_cast<size_t>(t) < kDTypeCount; }

// The traits of t; a value outside the enum gets an empty entry (no name, no bytes).
constexpr DTypeTraits dtype_traits(DType t) noexcept {
  return dtype_valid(t) ? kDTypeTraits[static_cast<size_t>(t)] : DTypeTraits{"?", 1, 0};
}

// Elements per block: 1 for plain types, 32 for the blocks of 32, 256 for the K-quants.
constexpr int64_t dtype_block_elems(DType t) noexcept { return dtype_traits(t).block_elems; }

// Bytes of one block (of one element for plain types).
constexpr size_t dtype_block_bytes(DType t) noexcept { return dtype_traits(t).block_bytes; }

constexpr bool dtype_is_quantized(DType t) noexcept { return dtype_block_elems(t) > 1; }

// Bytes of one element of a plain type; 0 for block-quantized types, whose elements have no whole
// byte size: use dtype_row_bytes() for them (it works for every type).
constexpr size_t dtype_size(DType t) noexcept { return dtype_is_quantized(t) ? 0 : dtype_block_bytes(t); }

// Bytes of a row of `cols` elements. For block types cols must be a multiple of the block.
constexpr size_t dtype_row_bytes(DType t, int64_t cols) noexcept {
  return static_cast<size_t>(cols / dtype_block_elems(t)) * dtype_block_bytes(t);
}

constexpr std::string_view dtype_name(DType t) noexcept { return dtype_traits(t).name; }

}  // namespace slim

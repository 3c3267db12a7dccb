// Element types of tensors and weights.
//
// q8_0 and q4_0 are block-quantized: a row is cut into blocks of 32 consecutive elements and each
// block is stored with its own fp16 scale d, bit-compatible with GGUF's Q8_0 and Q4_0 blocks as
// described in ggml's docs and source (ggml/src/ggml-common.h, "block_q8_0" / "block_q4_0";
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md lists the type ids 8 and 2):
//   q8_0: 34 bytes = fp16 d, then int8 q[32];            value i = d * q[i]
//   q4_0: 18 bytes = fp16 d, then uint8 qs[16] (nibbles); value i = d * (nibble_i - 8), where
//         nibble_i for i < 16 is the low 4 bits of qs[i] and for i >= 16 the high 4 bits of qs[i-16].
// The last dimension of a block-quantized tensor must be a multiple of 32 (blocks never span rows).
#pragma once

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
};

// Elements per block: 1 for plain types, 32 for the block-quantized ones.
constexpr int64_t dtype_block_elems(DType t) noexcept {
  return (t == DType::q8_0 || t == DType::q4_0) ? 32 : 1;
}

// Bytes of one block (of one element for plain types).
constexpr size_t dtype_block_bytes(DType t) noexcept {
  switch (t) {
    case DType::f32: return 4;
    case DType::f16: return 2;
    case DType::bf16: return 2;
    case DType::q8_0: return 2 + 32;
    case DType::q4_0: return 2 + 16;
  }
  return 0;
}

constexpr bool dtype_is_quantized(DType t) noexcept { return dtype_block_elems(t) > 1; }

// Bytes of one element of a plain type; 0 for block-quantized types, whose elements have no whole
// byte size: use dtype_row_bytes() for them (it works for every type).
constexpr size_t dtype_size(DType t) noexcept { return dtype_is_quantized(t) ? 0 : dtype_block_bytes(t); }

// Bytes of a row of `cols` elements. For block types cols must be a multiple of 32.
constexpr size_t dtype_row_bytes(DType t, int64_t cols) noexcept {
  return static_cast<size_t>(cols / dtype_block_elems(t)) * dtype_block_bytes(t);
}

constexpr std::string_view dtype_name(DType t) noexcept {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::q8_0: return "q8_0";
    case DType::q4_0: return "q4_0";
  }
  return "?";
}

}  // namespace slim

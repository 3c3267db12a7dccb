// Internal to kernels/: one entry per weight dtype, like ggml's type_traits table. The dtype's
// sizes are in slim/dtype.hpp (kDTypeTraits); here is what the kernels do with it: how a row is
// made from f32 and back, which activations its dot products take, and whether it has the
// regrouped layout (Layout::groups8). Adding a weight type is adding one entry here and its rows
// functions to the kernel sets (kernel_set.hpp); the tests walk this table.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/kernels.hpp"

namespace slim::kernels {

// What activations become before a dot product with the weight type.
enum class ActFormat : uint8_t {
  f32,    // none: float weights multiply the f32 activations
  q8_32,  // 8-bit blocks of 32 with an f32 scale and the block's integer sum (QuantizedActs)
  q8_k,   // 8-bit blocks of 256 with an f32 scale and 16 sums of 16 (QuantizedActsK, ggml's Q8_K)
};

struct WeightType {
  DType dtype;
  ActFormat acts;
  // One row of cols values (a multiple of the block) from f32 into the GGUF block layout, and
  // back. quantize_row throws slim::Error(invalid_argument) for values the type cannot hold.
  void (*quantize_row)(const float* src, int64_t cols, void* out);
  void (*dequantize_row)(const void* src, int64_t cols, float* out) noexcept;
  // Layout::groups8: `blocks` blocks of a row regrouped (whole groups of 8, the blocks after the
  // last whole group copied as they are; the K-quants each super-block on its own) and back. nullptr for types without that layout.
  void (*to_groups8)(const void* src, int64_t blocks, void* dst) noexcept;
  void (*from_groups8)(const void* src, int64_t blocks, void* dst) noexcept;
};

// The entry of dtype (which must be valid: dtype_valid()).
const WeightType& weight_type(DType dtype) noexcept;

// Throws slim::Error(invalid_argument) naming dtype unless every |x[i]| <= limit (NaN fails): the
// largest magnitude whose block scales fp16 can hold.
void check_quantizable(DType dtype, const float* x, int64_t count, float limit);

// The first of the values of largest magnitude among x[0..n), with its sign (0 for none): what
// ggml's q4_0 / q5_0 reference quantizers scale a block by.
inline float largest_magnitude(const float* x, int n) noexcept {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (amax < std::fabs(x[i])) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

// The entries' functions (quantize.cpp, quantize_q4_1_q5.cpp, quantize_kquants.cpp, block_groups.cpp).
void quantize_row_f32(const float* src, int64_t cols, void* out);
void quantize_row_f16(const float* src, int64_t cols, void* out);
void quantize_row_bf16(const float* src, int64_t cols, void* out);
void quantize_row_q8_0(const float* src, int64_t cols, void* out);
void quantize_row_q4_0(const float* src, int64_t cols, void* out);
void quantize_row_q4_1(const float* src, int64_t cols, void* out);
void quantize_row_q5_0(const float* src, int64_t cols, void* out);
void quantize_row_q5_1(const float* src, int64_t cols, void* out);
void quantize_row_q4_k(const float* src, int64_t cols, void* out);
void quantize_row_q5_k(const float* src, int64_t cols, void* out);
void quantize_row_q6_k(const float* src, int64_t cols, void* out);
void dequantize_row_f32(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_f16(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_bf16(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_q8_0(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_q4_0(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_q4_1(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_q5_0(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_q5_1(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_q4_k(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_q5_k(const void* src, int64_t cols, float* out) noexcept;
void dequantize_row_q6_k(const void* src, int64_t cols, float* out) noexcept;
void to_groups8_q8_0(const void* src, int64_t blocks, void* dst) noexcept;
void from_groups8_q8_0(const void* src, int64_t blocks, void* dst) noexcept;
void to_groups8_q4_0(const void* src, int64_t blocks, void* dst) noexcept;
void from_groups8_q4_0(const void* src, int64_t blocks, void* dst) noexcept;
void to_groups8_q4_1(const void* src, int64_t blocks, void* dst) noexcept;
void from_groups8_q4_1(const void* src, int64_t blocks, void* dst) noexcept;
void to_groups8_q5_0(const void* src, int64_t blocks, void* dst) noexcept;
void from_groups8_q5_0(const void* src, int64_t blocks, void* dst) noexcept;
void to_groups8_q5_1(const void* src, int64_t blocks, void* dst) noexcept;
void from_groups8_q5_1(const void* src, int64_t blocks, void* dst) noexcept;
void to_groups8_q4_k(const void* src, int64_t blocks, void* dst) noexcept;
void from_groups8_q4_k(const void* src, int64_t blocks, void* dst) noexcept;
void to_groups8_q5_k(const void* src, int64_t blocks, void* dst) noexcept;
void from_groups8_q5_k(const void* src, int64_t blocks, void* dst) noexcept;
void to_groups8_q6_k(const void* src, int64_t blocks, void* dst) noexcept;
void from_groups8_q6_k(const void* src, int64_t blocks, void* dst) noexcept;

}  // namespace slim::kernels

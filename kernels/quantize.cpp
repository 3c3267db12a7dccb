// Conversions of rows between f32 and the weight dtypes (the weight-type table's functions for the
// plain types, q8_0 and q4_0), and the activation quantizer used before dot products with q8_0 /
// q4_0 weights.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/kernels.hpp"
#include "kernels/matmul_impl.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/weight_types.hpp"
#include "slim/error.hpp"

namespace slim::kernels {
namespace {

void check_block_cols(DType dtype, int64_t cols) {
  if (!dtype_valid(dtype)) throw Error(ErrorCode::invalid_argument, "kernels: not a dtype");
  if (cols < 0 || cols % dtype_block_elems(dtype) != 0) {
    throw Error(ErrorCode::invalid_argument, "kernels: a " + std::string(dtype_name(dtype)) + " row needs a multiple of " +
                                                 std::to_string(dtype_block_elems(dtype)) + " columns, got " +
                                                 std::to_string(cols));
  }
}

// std::round (half away from zero) for |v| <= 128 without a libm call, which x86-64's baseline
// (no SSE4.1 rounding instruction) would make for every weight: truncate, then step away from
// zero when the exact remainder is at least one half. Gives exactly roundf's results and
// vectorizes.
inline int round_half_away(float v) {
  int i = static_cast<int>(v);
  const float rest = v - static_cast<float>(i);
  i += (rest >= 0.5f) - (rest <= -0.5f);
  return i;
}

// ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x / d).
void quantize_q8_0(const float* x, int64_t cols, BlockQ8_0* out) {
  check_quantizable(DType::q8_0, x, cols, 65504.0f * 127.0f);  // d = max|x| / 127 must fit fp16
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock) {
    float amax = 0.0f;
    for (int i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = f32_to_f16(d);
    for (int i = 0; i < kBlock; ++i) out[b].q[i] = static_cast<int8_t>(round_half_away(x[i] * id));
  }
}

// ggml's quantize_row_q4_0_ref: the value of largest magnitude maps to -8, d = that value / -8,
// q = min(15, trunc(x / d + 8.5)); element i < 16 goes to the low nibble of byte i.
void quantize_q4_0(const float* x, int64_t cols, BlockQ4_0* out) {
  check_quantizable(DType::q4_0, x, cols, 65504.0f * 8.0f);
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock) {
    const float max = largest_magnitude(x, kBlock);
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = f32_to_f16(d);
    for (int i = 0; i < kBlock / 2; ++i) {
      const int lo = std::min(15, static_cast<int>(x[i] * id + 8.5f));
      const int hi = std::min(15, static_cast<int>(x[i + kBlock / 2] * id + 8.5f));
      out[b].qs[i] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

}  // namespace

void check_quantizable(DType dtype, const float* x, int64_t count, float limit) {
  for (int64_t i = 0; i < count; ++i) {
    if (!(std::fabs(x[i]) <= limit)) {
      throw Error(ErrorCode::invalid_argument,
                  "kernels: cannot quantize " + std::to_string(x[i]) + " to " +
                      std::string(dtype_name(dtype)) + " (non-finite or beyond the fp16 block scale)");
    }
  }
}

void quantize_row_f32(const float* src, int64_t cols, void* out) {
  std::memcpy(out, src, static_cast<size_t>(cols) * sizeof(float));
}
void quantize_row_f16(const float* src, int64_t cols, void* out) {
  for (int64_t c = 0; c < cols; ++c) static_cast<uint16_t*>(out)[c] = f32_to_f16(src[c]);
}
void quantize_row_bf16(const float* src, int64_t cols, void* out) {
  for (int64_t c = 0; c < cols; ++c) static_cast<uint16_t*>(out)[c] = f32_to_bf16(src[c]);
}
void quantize_row_q8_0(const float* src, int64_t cols, void* out) { quantize_q8_0(src, cols, static_cast<BlockQ8_0*>(out)); }
void quantize_row_q4_0(const float* src, int64_t cols, void* out) { quantize_q4_0(src, cols, static_cast<BlockQ4_0*>(out)); }

void dequantize_row_f32(const void* src, int64_t cols, float* out) noexcept {
  std::memcpy(out, src, static_cast<size_t>(cols) * sizeof(float));
}
void dequantize_row_f16(const void* src, int64_t cols, float* out) noexcept {
  for (int64_t c = 0; c < cols; ++c) out[c] = f16_to_f32(static_cast<const uint16_t*>(src)[c]);
}
void dequantize_row_bf16(const void* src, int64_t cols, float* out) noexcept {
  for (int64_t c = 0; c < cols; ++c) out[c] = bf16_to_f32(static_cast<const uint16_t*>(src)[c]);
}
void dequantize_row_q8_0(const void* src, int64_t cols, float* out) noexcept {
  const auto* blocks = static_cast<const BlockQ8_0*>(src);
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const float d = f16_to_f32(blocks[b].d);
    for (int i = 0; i < kBlock; ++i) out[b * kBlock + i] = d * static_cast<float>(blocks[b].q[i]);
  }
}
void dequantize_row_q4_0(const void* src, int64_t cols, float* out) noexcept {
  const auto* blocks = static_cast<const BlockQ4_0*>(src);
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const float d = f16_to_f32(blocks[b].d);
    for (int i = 0; i < kBlock / 2; ++i) {
      out[b * kBlock + i] = d * static_cast<float>((blocks[b].qs[i] & 15) - 8);
      out[b * kBlock + i + kBlock / 2] = d * static_cast<float>((blocks[b].qs[i] >> 4) - 8);
    }
  }
}

void quantize_row(DType dtype, const float* src, int64_t cols, void* out) {
  check_block_cols(dtype, cols);
  weight_type(dtype).quantize_row(src, cols, out);
}

void row_to_f32(const MatrixRef& w, int64_t row, float* out) {
  const size_t row_bytes = dtype_row_bytes(w.dtype, w.cols);
  const auto* base = static_cast<const unsigned char*>(w.data) + static_cast<size_t>(row) * row_bytes;
  if (w.layout != Layout::blocks) {
    std::vector<unsigned char> blocks(row_bytes);
    relayout_row(w.dtype, w.cols, base, w.layout, blocks.data(), Layout::blocks);
    return weight_type(w.dtype).dequantize_row(blocks.data(), w.cols, out);
  }
  weight_type(w.dtype).dequantize_row(base, w.cols, out);
}

void quantize_act_row(const float* x, int64_t cols, int8_t* q, float* d, int32_t* sums) noexcept {
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock, q += kBlock) {
    // Eight running maxima (one SIMD register's worth) instead of one serial chain; a NaN never
    // wins a comparison, whatever the order, so the result is the same.
    float lanes[8] = {};
    for (int i = 0; i < kBlock; i += 8) {
      for (int k = 0; k < 8; ++k) {
        const float a = std::fabs(x[i + k]);
        lanes[k] = a > lanes[k] ? a : lanes[k];
      }
    }
    float amax = 0.0f;
    for (float a : lanes) amax = a > amax ? a : amax;
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    d[b] = scale;
    int32_t sum = 0;
    for (int i = 0; i < kBlock; ++i) {
      // Adding 1.5 * 2^23 rounds |v| <= 2^22 half-to-even into the low mantissa bits, which is
      // exact and vectorizes; the clamp keeps NaN / infinity garbage in range (never -128).
      const float v = x[i] * inv + 12582912.0f;
      const int32_t r = std::bit_cast<int32_t>(v) - 0x4B400000;
      q[i] = static_cast<int8_t>(std::clamp(r, -127, 127));
      sum += q[i];
    }
    sums[b] = sum;
  }
}

void ActBuffer::quantize(const float* x, int64_t n, int64_t cols, ActRowQuantizer row) {
  const int64_t blocks = cols / kBlock;
  const auto [q, d, sums] = act_arrays<int32_t>(memory_, n, cols, blocks, 1);
  for (int64_t t = 0; t < n; ++t) {
    row(x + t * cols, cols, q + t * cols, d + t * blocks, sums + t * blocks);
  }
  acts_ = {n, cols, blocks, q, d, sums};
}

}  // namespace slim::kernels

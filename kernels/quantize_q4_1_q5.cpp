// Rows between f32 and q4_1 / q5_0 / q5_1 (layouts in slim/dtype.hpp, quant_blocks.hpp). The
// quantizers follow ggml's reference ones (ggml/src/ggml-quants.c, quantize_row_q4_1_ref,
// quantize_row_q5_0_ref, quantize_row_q5_1_ref) step by step, so the blocks match llama.cpp's:
//   q4_1 / q5_1: m = min x, d = (max x - min x) / 15 (31), q = trunc((x - m) / d + 0.5);
//   q5_0: the value of largest magnitude maps to -16, d = that value / -16,
//         q = min(31, trunc(x / d + 16.5)).
// 1 / d is taken of the f32 d, before it is rounded to fp16, as ggml does.
#include <algorithm>
#include <cmath>

#include "kernels/convert.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/weight_types.hpp"

namespace slim::kernels {
namespace {

// min(top, trunc(v)) for v >= 0, as ggml computes it. A block whose range is a few subnormals
// has a finite d but an infinite 1 / d, and v is then infinite or NaN (0 * inf): clamped first, so
// the conversion is always defined (NaN gives 0, as ggml's conversion happens to on x86).
inline int to_quant(float v, int top) { return static_cast<int>(std::min(std::max(0.0f, v), static_cast<float>(top))); }

// Quants q[0..31] (4 or 5 bits) into the block's nibbles and fifth bits.
template <typename Block>
void pack(const int (&q)[kBlock], Block& out) {
  for (int i = 0; i < kBlock / 2; ++i) out.qs[i] = static_cast<uint8_t>((q[i] & 15) | (q[i + kBlock / 2] & 15) << 4);
  if constexpr (requires { out.qh; }) {
    uint32_t qh = 0;
    for (int i = 0; i < kBlock; ++i) qh |= static_cast<uint32_t>(q[i] >> 4 & 1) << i;
    for (int k = 0; k < 4; ++k) out.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
  }
}

// q4_1 (top 15) and q5_1 (top 31).
template <typename Block, int kTop>
void quantize_min(const float* x, int64_t cols, Block* out) {
  // m and d = (max - min) / kTop must fit fp16: |x| <= 65504 is enough for both.
  check_quantizable(kTop == 15 ? DType::q4_1 : DType::q5_1, x, cols, 65504.0f);
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock) {
    float min = x[0], max = x[0];
    for (int i = 1; i < kBlock; ++i) {
      min = std::min(min, x[i]);
      max = std::max(max, x[i]);
    }
    const float d = (max - min) / static_cast<float>(kTop);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = f32_to_f16(d);
    out[b].m = f32_to_f16(min);
    int q[kBlock];
    // x - min >= 0, so the conversion truncates a value of at least 0.5: rounds half up.
    for (int i = 0; i < kBlock; ++i) q[i] = to_quant((x[i] - min) * id + 0.5f, kTop);
    pack(q, out[b]);
  }
}

void quantize_q5_0(const float* x, int64_t cols, BlockQ5_0* out) {
  check_quantizable(DType::q5_0, x, cols, 65504.0f * 16.0f);
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock) {
    const float max = largest_magnitude(x, kBlock);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = f32_to_f16(d);
    int q[kBlock];
    for (int i = 0; i < kBlock; ++i) q[i] = to_quant(x[i] * id + 16.5f, 31);
    pack(q, out[b]);
  }
}

// value = d * q + m for the min types, d * (q - 16) for q5_0; the product rounded before the sum,
// as ggml's dequantize_row_q4_1 / q5_1 compute it (two statements: never contracted to an FMA).
template <typename Block>
void dequantize(const void* src, int64_t cols, float* out) noexcept {
  const auto* blocks = static_cast<const Block*>(src);
  for (int64_t b = 0; b < cols / kBlock; ++b, out += kBlock) {
    const Block& blk = blocks[b];
    const float d = f16_to_f32(blk.d);
    if constexpr (requires { blk.m; }) {
      const float m = f16_to_f32(blk.m);
      for (int i = 0; i < kBlock; ++i) {
        out[i] = static_cast<float>(block_quant(blk, i)) * d;
        out[i] += m;
      }
    } else {
      for (int i = 0; i < kBlock; ++i) out[i] = static_cast<float>(block_quant(blk, i) - 16) * d;
    }
  }
}

}  // namespace

void quantize_row_q4_1(const float* src, int64_t cols, void* out) {
  quantize_min<BlockQ4_1, 15>(src, cols, static_cast<BlockQ4_1*>(out));
}
void quantize_row_q5_0(const float* src, int64_t cols, void* out) { quantize_q5_0(src, cols, static_cast<BlockQ5_0*>(out)); }
void quantize_row_q5_1(const float* src, int64_t cols, void* out) {
  quantize_min<BlockQ5_1, 31>(src, cols, static_cast<BlockQ5_1*>(out));
}

void dequantize_row_q4_1(const void* src, int64_t cols, float* out) noexcept { dequantize<BlockQ4_1>(src, cols, out); }
void dequantize_row_q5_0(const void* src, int64_t cols, float* out) noexcept { dequantize<BlockQ5_0>(src, cols, out); }
void dequantize_row_q5_1(const void* src, int64_t cols, float* out) noexcept { dequantize<BlockQ5_1>(src, cols, out); }

}  // namespace slim::kernels

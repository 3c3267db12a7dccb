// Portable SIMD matmul through xsimd, built without ISA flags (SSE2 on x86-64, NEON on AArch64):
// the fallback for CPUs without a hand-written kernel set, and the f32 / bf16 / f16 kernels of the
// NEON set.
//
// Columns go in chunks of 32: a tile of R weight rows x T activation rows decodes each weight chunk
// to f32 once and uses it for T activation rows. Block-quantized weights are multiplied as small
// integers held in f32: every product (|w| <= 128, |x| <= 127) and every partial sum of a block
// (< 2^24) is exact, so the integer part equals the reference's whatever the lane order; it is then
// scaled by d_w * d_x into a per-pair accumulator. The q4_1 / q5_1 minimum term m_w * (d_x * Σ q_x)
// goes into a scalar accumulator of its own, added after the horizontal sum. Each output is computed by the same sequence in
// any tile, so results do not depend on n or on the thread split.
#include <algorithm>
#include <xsimd/xsimd.hpp>

#include "kernels/convert.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::xsimd_impl {
namespace {

using Batch = xsimd::batch<float>;
constexpr int kLanes = static_cast<int>(Batch::size);
constexpr int kChunk = 32;
static_assert(kChunk % kLanes == 0);

template <typename Block>
const Block& block_at(const MatrixRef& w, int64_t r, int64_t c) {
  return static_cast<const Block*>(w.data)[r * (w.cols / kBlock) + c];
}

// Block c of row r of a q4_1 / q5_0 / q5_1 matrix as f32 quants less `offset`.
template <typename Block>
const float* quants_chunk(const MatrixRef& w, int64_t r, int64_t c, int offset, float* buf) {
  const Block& b = block_at<Block>(w, r, c);
  for (int i = 0; i < kChunk; ++i) buf[i] = static_cast<float>(block_quant(b, i) - offset);
  return buf;
}

// Decodes chunk `c` (32 columns) of weight row `r` to f32; returns where the values are.
const float* weight_chunk(const MatrixRef& w, int64_t r, int64_t c, float* buf) {
  switch (w.dtype) {
    case DType::f32: return static_cast<const float*>(w.data) + r * w.cols + c * kChunk;
    case DType::bf16: {
      const uint16_t* p = static_cast<const uint16_t*>(w.data) + r * w.cols + c * kChunk;
      for (int i = 0; i < kChunk; ++i) buf[i] = bf16_to_f32(p[i]);
      return buf;
    }
    case DType::f16: {
      const uint16_t* p = static_cast<const uint16_t*>(w.data) + r * w.cols + c * kChunk;
      for (int i = 0; i < kChunk; ++i) buf[i] = f16_to_f32(p[i]);
      return buf;
    }
    case DType::q8_0: {
      const BlockQ8_0& b = static_cast<const BlockQ8_0*>(w.data)[r * (w.cols / kBlock) + c];
      for (int i = 0; i < kChunk; ++i) buf[i] = static_cast<float>(b.q[i]);
      return buf;
    }
    case DType::q4_0: {
      const BlockQ4_0& b = static_cast<const BlockQ4_0*>(w.data)[r * (w.cols / kBlock) + c];
      for (int i = 0; i < kChunk / 2; ++i) {
        buf[i] = static_cast<float>((b.qs[i] & 15) - 8);
        buf[i + kChunk / 2] = static_cast<float>((b.qs[i] >> 4) - 8);
      }
      return buf;
    }
    case DType::q4_1: return quants_chunk<BlockQ4_1>(w, r, c, 0, buf);
    case DType::q5_0: return quants_chunk<BlockQ5_0>(w, r, c, 16, buf);
    case DType::q5_1: return quants_chunk<BlockQ5_1>(w, r, c, 0, buf);
    default: break;  // the K-quants: not in this set (the scalar set computes them)
  }
  return buf;
}

// The fp16 scale and (0 for the types without one) minimum of block c of row r.
struct BlockScales {
  float d, m;
};

template <typename Block>
BlockScales scales_of(const MatrixRef& w, int64_t r, int64_t c) {
  const Block& b = block_at<Block>(w, r, c);
  if constexpr (requires { b.m; }) return {f16_to_f32(b.d), f16_to_f32(b.m)};
  return {f16_to_f32(b.d), 0.0f};
}

BlockScales weight_scales(const MatrixRef& w, int64_t r, int64_t c) {
  switch (w.dtype) {
    case DType::q8_0: return scales_of<BlockQ8_0>(w, r, c);
    case DType::q4_1: return scales_of<BlockQ4_1>(w, r, c);
    case DType::q5_0: return scales_of<BlockQ5_0>(w, r, c);
    case DType::q5_1: return scales_of<BlockQ5_1>(w, r, c);
    default: return scales_of<BlockQ4_0>(w, r, c);
  }
}

bool has_min(DType dtype) { return dtype == DType::q4_1 || dtype == DType::q5_1; }

inline Batch dot_chunk(const float* w, const float* x, Batch acc) {
  for (int k = 0; k < kChunk; k += kLanes) {
    acc = xsimd::fma(Batch::load_unaligned(w + k), Batch::load_unaligned(x + k), acc);
  }
  return acc;
}

template <int R, int T>
void float_tile(const MatmulArgs& a, int64_t r, int64_t t) {
  const MatrixRef& w = a.w;
  const int64_t chunks = w.cols / kChunk;
  Batch acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = Batch(0.0f);
  alignas(64) float buf[R][kChunk];
  for (int64_t c = 0; c < chunks; ++c) {
    for (int i = 0; i < R; ++i) {
      const float* wc = weight_chunk(w, r + i, c, buf[i]);
      for (int j = 0; j < T; ++j) acc[i][j] = dot_chunk(wc, a.x + (t + j) * w.cols + c * kChunk, acc[i][j]);
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      float s = xsimd::hadd(acc[i][j]);
      for (int64_t col = chunks * kChunk; col < w.cols; ++col) {
        s += float_weight_at(w, (r + i) * w.cols + col) * a.x[(t + j) * w.cols + col];
      }
      a.y[(t + j) * w.rows + r + i] = s;
    }
  }
}

template <int R, int T>
void quant_tile(const MatmulArgs& a, int64_t r, int64_t t) {
  const QuantizedActs& xq = a.xq;
  Batch acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = Batch(0.0f);
  float mins[R][T] = {};
  const bool with_min = has_min(a.w.dtype);
  alignas(64) float wbuf[R][kChunk];
  alignas(64) float xbuf[T][kChunk];
  for (int64_t b = 0; b < xq.blocks; ++b) {
    for (int j = 0; j < T; ++j) {
      const int8_t* q = xq.q + (t + j) * xq.cols + b * kBlock;
      for (int k = 0; k < kChunk; ++k) xbuf[j][k] = static_cast<float>(q[k]);
    }
    for (int i = 0; i < R; ++i) {
      const float* wc = weight_chunk(a.w, r + i, b, wbuf[i]);
      const BlockScales sw = weight_scales(a.w, r + i, b);
      for (int j = 0; j < T; ++j) {
        const Batch dot = dot_chunk(wc, xbuf[j], Batch(0.0f));  // exact small integers
        const float dx = xq.d[(t + j) * xq.blocks + b];
        acc[i][j] = xsimd::fma(dot, Batch(sw.d * dx), acc[i][j]);
        if (with_min) mins[i][j] += sw.m * (dx * static_cast<float>(xq.sums[(t + j) * xq.blocks + b]));
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r + i] = xsimd::hadd(acc[i][j]) + mins[i][j];
}

template <int R, int T>
void any_tile(const MatmulArgs& a, int64_t r, int64_t t) {
  if (dtype_is_quantized(a.w.dtype)) return quant_tile<R, T>(a, r, t);
  return float_tile<R, T>(a, r, t);
}

}  // namespace

void matmul_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  constexpr int kR = 2, kT = 4;
  const int64_t full_t = a.n - a.n % kT;
  for (int64_t t = 0; t < full_t; t += kT) {
    int64_t r = r0;
    for (; r + kR <= r1; r += kR) any_tile<kR, kT>(a, r, t);
    for (; r < r1; ++r) any_tile<1, kT>(a, r, t);
  }
  for (int64_t t = full_t; t < a.n; ++t) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) any_tile<4, 1>(a, r, t);
    for (; r < r1; ++r) any_tile<1, 1>(a, r, t);
  }
}

}  // namespace slim::kernels::xsimd_impl

// Internal to the *_neon.cpp files: the AArch64 matmul for q8_0 / q4_0 / q4_1 / q5_0 / q5_1 weights, written once and
// compiled twice, with the dot product of 16 int8 pairs given by a policy:
//   Widening (Armv8.0): vmull_s8 / vmlal_s8 into s16 (two products <= 2*128*127 fit), then
//     pairwise-widening adds into s32;
//   DotProd (Armv8.2 +dotprod): SDOT (vdotq_s32), in matmul_q_dotprod_neon.cpp, which is built
//     with -march=armv8.2-a+dotprod and only called when getauxval reports HWCAP_ASIMDDP.
// q4_0 nibbles are widened to int8 in [-8, 7] once per weight block and used for T activation rows
// (q5_0's to [-16, 15], q4_1 / q5_1's to [0, 15] / [0, 31], the fifth bits spread to bytes by a
// table lookup and a bit test); the q4_1 / q5_1 minimum term m_w * (d_x * Σ q_x) goes into a
// scalar accumulator of its own, added after the horizontal sum.
// Each (weight row, activation row) pair keeps a 4-lane f32 accumulator, one FMA with d_w * d_x per
// block and one horizontal sum per row, the same sequence in every tile.
#pragma once

#include <arm_neon.h>

#include <type_traits>

#include "kernels/matmul_impl.hpp"

namespace slim::kernels {
namespace {

struct WidePair {
  int8x16_t lo, hi;  // elements 0..15, 16..31 of a block
};

inline WidePair load_weights(const BlockQ8_0& b) { return {vld1q_s8(b.q), vld1q_s8(b.q + 16)}; }
inline WidePair load_weights(const BlockQ4_0& b) {
  const uint8x16_t v = vld1q_u8(b.qs);
  const int8x16_t eight = vdupq_n_s8(8);
  return {vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(15))), eight),
          vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), eight)};
}

// The fifth bits of a q5 block as 0x10 per byte: values 0..15 (lo) and 16..31 (hi).
inline uint8x16x2_t fifth_bits(const uint8_t (&qh)[4]) {
  const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(q5_high_bits(qh)));
  const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
  const uint8x16_t lo_idx = vcombine_u8(vdup_n_u8(0), vdup_n_u8(1)), hi_idx = vcombine_u8(vdup_n_u8(2), vdup_n_u8(3));
  const uint8x16_t x10 = vdupq_n_u8(0x10);
  return {{vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, lo_idx), bit), x10), vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, hi_idx), bit), x10)}};
}

// q4_1 / q5_0 / q5_1: the quants less q5_0's offset 16.
template <typename Block>
inline WidePair load_low_bits(const Block& b) {
  const uint8x16_t v = vld1q_u8(b.qs);
  uint8x16_t lo = vandq_u8(v, vdupq_n_u8(15)), hi = vshrq_n_u8(v, 4);
  if constexpr (requires { b.qh; }) {
    const uint8x16x2_t h = fifth_bits(b.qh);
    lo = vorrq_u8(lo, h.val[0]);
    hi = vorrq_u8(hi, h.val[1]);
  }
  WidePair w{vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi)};
  if constexpr (std::is_same_v<Block, BlockQ5_0>) w = {vsubq_s8(w.lo, vdupq_n_s8(16)), vsubq_s8(w.hi, vdupq_n_s8(16))};
  return w;
}
inline WidePair load_weights(const BlockQ4_1& b) { return load_low_bits(b); }
inline WidePair load_weights(const BlockQ5_0& b) { return load_low_bits(b); }
inline WidePair load_weights(const BlockQ5_1& b) { return load_low_bits(b); }

inline float f16_scale(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

template <typename Dot, typename Block, int R, int T>
inline void q_tile(const MatmulArgs& a, int64_t r, int64_t t) {
  const QuantizedActs& xq = a.xq;
  const int64_t nb = xq.blocks;
  const Block* w = static_cast<const Block*>(a.w.data) + r * nb;
  constexpr bool kMin = requires(const Block& blk) { blk.m; };
  float32x4_t acc[R][T];
  float mins[R][T] = {};
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = vdupq_n_f32(0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    WidePair x[T];
    float dx[T];
    for (int j = 0; j < T; ++j) {
      const int8_t* q = xq.q + (t + j) * xq.cols + b * kBlock;
      x[j] = {vld1q_s8(q), vld1q_s8(q + 16)};
      dx[j] = xq.d[(t + j) * nb + b];
    }
    for (int i = 0; i < R; ++i) {
      const Block& blk = w[i * nb + b];
      const WidePair wv = load_weights(blk);
      const float dw = f16_scale(blk.d);
      for (int j = 0; j < T; ++j) {
        const int32x4_t dot = Dot::dot(wv.lo, x[j].lo, wv.hi, x[j].hi);
        acc[i][j] = vfmaq_n_f32(acc[i][j], vcvtq_f32_s32(dot), dw * dx[j]);
        if constexpr (kMin) mins[i][j] += f16_scale(blk.m) * (dx[j] * static_cast<float>(xq.sums[(t + j) * nb + b]));
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r + i] = vaddvq_f32(acc[i][j]) + mins[i][j];
}

template <typename Dot, typename Block>
void q_run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  constexpr int kR = 4, kT = 4;  // prefill tile: 16 accumulators of the 32 vector registers
  const int64_t full_t = a.n - a.n % kT;
  for (int64_t t = 0; t < full_t; t += kT) {
    int64_t r = r0;
    for (; r + kR <= r1; r += kR) q_tile<Dot, Block, kR, kT>(a, r, t);
    for (; r < r1; ++r) q_tile<Dot, Block, 1, kT>(a, r, t);
  }
  for (int64_t t = full_t; t < a.n; ++t) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) q_tile<Dot, Block, 4, 1>(a, r, t);
    for (; r < r1; ++r) q_tile<Dot, Block, 1, 1>(a, r, t);
  }
}


}  // namespace
}  // namespace slim::kernels

// Internal to the *_neon.cpp files: the AArch64 matmul for the K-quants (q4_k, q5_k, q6_k in
// Layout::blocks) against Q8_K activations, written once and compiled twice, with the sum of 16
// int8 products added to four int32 lanes given by a policy Dot::dot(acc, w, x):
//   the widening multiplies of Armv8.0 (vmull_s8 / vmlal_s8, then vpadalq_s16) in
//     matmul_kquants_neon.cpp (the neon set);
//   SDOT (vdotq_s32) in matmul_kquants_dotprod_neon.cpp, built with -march=armv8.2-a+dotprod and
//     only called when the CPU reports HWCAP_ASIMDDP (the neon_dotprod and neon_i8mm sets).
//
// Per super-block the integer sums are exact int32 lanes, as in the scalar reference: the weight
// values (q4_k / q5_k: 0..31, q6_k: q - 32) against 16 activations, times the sub-block scale
// (vmlaq_n_s32); the mins of q4_k / q5_k against the activation sums. The float combination per
// super-block into one 4-lane accumulator summed at the end of the row:
//   acc = fma(float(isum lanes), d * d_x, acc);  acc = fms(float(msum lanes), dmin * d_x, acc)
// the same for every output whatever the rows or n of the call.
#pragma once

#include <arm_neon.h>

#include "kernels/matmul_impl.hpp"

namespace slim::kernels {
namespace {

inline float kquant_f16(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

// Σ_j m_j (bsums_2j + bsums_2j+1) as four int32 lanes.
inline int32x4_t mins_dot(const uint8_t* m, const int16_t* bsums) {
  const int16x8_t pairs = vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8));
  const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(m)));
  return vmlal_s16(vmull_s16(vget_low_s16(pairs), vget_low_s16(mins)), vget_high_s16(pairs), vget_high_s16(mins));
}

template <typename Dot, bool kHigh, typename Block>
inline float32x4_t scale_min_step(float32x4_t acc, const Block& w, const int8_t* x, const int16_t* bsums, float dx) {
  uint8_t sc[8], m[8];
  unpack_scale_mins(w.scales, sc, m);
  const uint8x16_t nibbles = vdupq_n_u8(15);
  uint8x16_t qh[2];
  if constexpr (kHigh) qh[0] = vld1q_u8(w.qh), qh[1] = vld1q_u8(w.qh + 16);
  int32x4_t isum = vdupq_n_s32(0);
  for (int j = 0; j < 8; ++j) {
    int32x4_t dot = vdupq_n_s32(0);
    for (int i = 0; i < 2; ++i) {
      const uint8x16_t q = vld1q_u8(w.qs + 32 * (j / 2) + 16 * i);
      uint8x16_t v = j % 2 == 0 ? vandq_u8(q, nibbles) : vshrq_n_u8(q, 4);
      if constexpr (kHigh) {
        // Bit j of each qh byte as 16.
        const uint8x16_t bit = vandq_u8(vshlq_u8(qh[i], vdupq_n_s8(static_cast<int8_t>(-j))), vdupq_n_u8(1));
        v = vorrq_u8(v, vshlq_n_u8(bit, 4));
      }
      dot = Dot::dot(dot, vreinterpretq_s8_u8(v), vld1q_s8(x + 32 * j + 16 * i));
    }
    isum = vmlaq_n_s32(isum, dot, sc[j]);
  }
  acc = vfmaq_n_f32(acc, vcvtq_f32_s32(isum), kquant_f16(w.d) * dx);
  return vfmsq_f32(acc, vcvtq_f32_s32(mins_dot(m, bsums)), vdupq_n_f32(kquant_f16(w.dmin) * dx));
}

template <typename Dot>
inline float32x4_t step(float32x4_t acc, const BlockQ4_K& w, const int8_t* x, const int16_t* bsums, float dx) {
  return scale_min_step<Dot, false>(acc, w, x, bsums, dx);
}
template <typename Dot>
inline float32x4_t step(float32x4_t acc, const BlockQ5_K& w, const int8_t* x, const int16_t* bsums, float dx) {
  return scale_min_step<Dot, true>(acc, w, x, bsums, dx);
}
template <typename Dot>
inline float32x4_t step(float32x4_t acc, const BlockQ6_K& w, const int8_t* x, const int16_t*, float dx) {
  const uint8x16_t low4 = vdupq_n_u8(15), three = vdupq_n_u8(3);
  const int8x16_t offset = vdupq_n_s8(32);
  int32x4_t isum = vdupq_n_s32(0);
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 2; ++i) {
      // Values 16i.. of the four runs of 32 of this half (dequantize_row_q6_K's order).
      const uint8x16_t a = vld1q_u8(w.ql + 64 * h + 16 * i), b = vld1q_u8(w.ql + 64 * h + 32 + 16 * i);
      const uint8x16_t hb = vld1q_u8(w.qh + 32 * h + 16 * i);
      const uint8x16_t v[4] = {
          vorrq_u8(vandq_u8(a, low4), vshlq_n_u8(vandq_u8(hb, three), 4)),
          vorrq_u8(vandq_u8(b, low4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 2), three), 4)),
          vorrq_u8(vshrq_n_u8(a, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 4), three), 4)),
          vorrq_u8(vshrq_n_u8(b, 4), vshlq_n_u8(vshrq_n_u8(hb, 6), 4)),
      };
      for (int k = 0; k < 4; ++k) {
        const int e = 128 * h + 32 * k + 16 * i;  // its first element: sub-block e / 16
        const int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(v[k]), offset);
        isum = vmlaq_n_s32(isum, Dot::dot(vdupq_n_s32(0), q, vld1q_s8(x + e)), w.scales[e / 16]);
      }
    }
  }
  return vfmaq_n_f32(acc, vcvtq_f32_s32(isum), kquant_f16(w.d) * dx);
}

template <typename Dot, typename Block>
void kquant_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  const QuantizedActsK& xk = a.xk;
  for (int64_t t = 0; t < a.n; ++t) {
    for (int64_t r = r0; r < r1; ++r) {
      const Block* w = static_cast<const Block*>(a.w.data) + r * xk.blocks;
      float32x4_t acc = vdupq_n_f32(0.0f);
      for (int64_t b = 0; b < xk.blocks; ++b) {
        const int64_t at = t * xk.blocks + b;
        acc = step<Dot>(acc, w[b], xk.q + t * xk.cols + b * kSuperBlock, xk.bsums + at * 16, xk.d[at]);
      }
      a.y[t * a.w.rows + r] = vaddvq_f32(acc);
    }
  }
}

}  // namespace
}  // namespace slim::kernels

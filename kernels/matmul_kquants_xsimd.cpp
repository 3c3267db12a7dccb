// Portable K-quant matmul (q4_k and q6_k in Layout::blocks against Q8_K activations; q5_k is the
// scalar reference's in the xsimd set, kernel_sets.cpp) through
// xsimd, built without ISA flags as matmul_xsimd.cpp is: 4-lane batches (SSE2 on x86-64, NEON on
// AArch64).
//
// xsimd at the baseline has no 8-bit dot product, widening or fast integer multiply (SSE2
// multiplies int16 / int32 lane by lane), so the 8-bit values go to f32 lanes through 32-bit
// shifts: 16 bytes read as four int32 words, batch k holding byte k of every word ("dealt out").
// Weights and activations are dealt out alike, so their products pair up. Per lane a sub-block's
// partial sum (at most 8 products of |w| <= 32, |x| <= 128) times its scale (|s| <= 128) stays
// within 2^21: exact in f32; it goes to int32 and the sub-blocks add in int32, so isum and msum are
// exactly the scalar reference's (matmul_kquants.cpp). The float steps per super-block are the
// reference's too, in super-block order:
//   q4_k: y += (d * d_x) * isum - (dmin * d_x) * msum;   q6_k: y += (d * d_x) * isum
// Each output is computed by the same sequence in any tile: independent of n and the thread split.
#include <xsimd/xsimd.hpp>

#include "kernels/convert.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::xsimd_impl {
namespace {

using F4 = xsimd::make_sized_batch_t<float, 4>;
using Arch = F4::arch_type;
using I32 = xsimd::batch<int32_t, Arch>;
using U8 = xsimd::batch<uint8_t, Arch>;
static_assert(I32::size == 4 && U8::size == 16);

// The 16 bytes at p as four int32 words.
inline I32 words(const uint8_t* p) { return xsimd::bitwise_cast<I32>(U8::load_unaligned(p)); }

// `mask` of the bits from `shift` in byte k of each word.
inline I32 field(I32 v, int k, int shift, int32_t mask) { return (v >> (8 * k + shift)) & I32(mask); }

inline void store(I32 v, float* out) { xsimd::batch_cast<float>(v).store_aligned(out); }

// Activations q[0..256) dealt out: out[16c + 4k + l] = q[16c + 4l + k].
void deal_acts(const int8_t* q, float* out) {
  for (int c = 0; c < kSuperBlock / 16; ++c) {
    const I32 v = words(reinterpret_cast<const uint8_t*>(q) + 16 * c);
    for (int k = 0; k < 4; ++k) store((v << (24 - 8 * k)) >> 24, out + 16 * c + 4 * k);  // sign-extended byte k
  }
}

// q4_k's weight values (0..15, kquant_q()) dealt out like deal_acts.
void deal_weights(const BlockQ4_K& w, float* out) {
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 8; ++j) {
      const I32 q = words(w.qs + 32 * (j / 2) + 16 * h);
      for (int k = 0; k < 4; ++k) store(field(q, k, 4 * (j % 2), 15), out + 32 * j + 16 * h + 4 * k);
    }
  }
}

// q6_k's q - 32 (q6_value()), dealt out like deal_acts: element 128 h + 32 r + 16 c + i takes the
// nibble r / 2 of ql[64 h + 32 (r % 2) + 16 c + i] and bits 2r, 2r + 1 of qh[32 h + 16 c + i].
void deal_weights(const BlockQ6_K& w, float* out) {
  for (int h = 0; h < 2; ++h) {
    for (int c = 0; c < 2; ++c) {
      const I32 hb = words(w.qh + 32 * h + 16 * c);
      const I32 ql[2] = {words(w.ql + 64 * h + 16 * c), words(w.ql + 64 * h + 32 + 16 * c)};
      for (int r = 0; r < 4; ++r) {
        for (int k = 0; k < 4; ++k) {
          const I32 v = field(ql[r % 2], k, 4 * (r / 2), 15) | (field(hb, k, 2 * r, 3) << 4);
          store(v - I32(32), out + 128 * h + 32 * r + 16 * c + 4 * k);
        }
      }
    }
  }
}

// Σ_s scales[s] Σ_i w x over the `count` sub-blocks of `size` values: exact int32.
template <int kSize, int kCount, typename Scale>
int32_t scaled_sum(const float* w, const float* x, const Scale* scales) {
  I32 isum(0);
  for (int s = 0; s < kCount; ++s) {
    const float* ws = w + kSize * s;
    const float* xs = x + kSize * s;
    F4 dot = F4::load_aligned(ws) * F4::load_aligned(xs);
    for (int k = 4; k < kSize; k += 4) dot = xsimd::fma(F4::load_aligned(ws + k), F4::load_aligned(xs + k), dot);
    isum += xsimd::batch_cast<int32_t>(dot * F4(static_cast<float>(scales[s])));
  }
  return xsimd::hadd(isum);
}

// One super-block's term of an output (the reference's float steps).
template <typename Block>
float step(const Block& w, const float* wf, const float* xf, const int16_t* bsums, float dx) {
  uint8_t sc[8], m[8];
  unpack_scale_mins(w.scales, sc, m);
  const int32_t isum = scaled_sum<32, 8>(wf, xf, sc);
  int32_t msum = 0;
  for (int j = 0; j < 8; ++j) msum += int32_t{m[j]} * (bsums[2 * j] + bsums[2 * j + 1]);
  return (f16_to_f32(w.d) * dx) * static_cast<float>(isum) - (f16_to_f32(w.dmin) * dx) * static_cast<float>(msum);
}
float step(const BlockQ6_K& w, const float* wf, const float* xf, const int16_t*, float dx) {
  return (f16_to_f32(w.d) * dx) * static_cast<float>(scaled_sum<16, 16>(wf, xf, w.scales));
}

// Weight rows r..r+R-1 x activation rows t..t+T-1: each super-block of activations dealt out once
// for R rows, each weight super-block once for T activation rows.
template <typename Block, int R, int T>
void tile(const MatmulArgs& a, int64_t r, int64_t t) {
  const QuantizedActsK& xk = a.xk;
  alignas(16) float xf[T][kSuperBlock];
  alignas(16) float wf[kSuperBlock];
  float sum[R][T] = {};
  for (int64_t b = 0; b < xk.blocks; ++b) {
    for (int j = 0; j < T; ++j) deal_acts(xk.q + (t + j) * xk.cols + b * kSuperBlock, xf[j]);
    for (int i = 0; i < R; ++i) {
      const Block& w = static_cast<const Block*>(a.w.data)[(r + i) * xk.blocks + b];
      deal_weights(w, wf);
      for (int j = 0; j < T; ++j) {
        const int64_t at = (t + j) * xk.blocks + b;
        sum[i][j] += step(w, wf, xf[j], xk.bsums + at * 16, xk.d[at]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r + i] = sum[i][j];
}

template <typename Block>
void rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  constexpr int kR = 2, kT = 4;
  const int64_t full_t = a.n - a.n % kT;
  for (int64_t t = 0; t < full_t; t += kT) {
    int64_t r = r0;
    for (; r + kR <= r1; r += kR) tile<Block, kR, kT>(a, r, t);
    for (; r < r1; ++r) tile<Block, 1, kT>(a, r, t);
  }
  for (int64_t t = full_t; t < a.n; ++t) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) tile<Block, 4, 1>(a, r, t);
    for (; r < r1; ++r) tile<Block, 1, 1>(a, r, t);
  }
}

}  // namespace

void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1) { rows<BlockQ4_K>(a, r0, r1); }
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1) { rows<BlockQ6_K>(a, r0, r1); }

}  // namespace slim::kernels::xsimd_impl

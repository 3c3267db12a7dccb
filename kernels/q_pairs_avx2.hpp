// Internal to the AVX2 q8_0 / q4_0 kernel files (built with AVX2 flags, called after the CPU
// check): GGUF blocks taken two at a time.
//
// One 256-bit register holds the first halves of blocks b and b+1 (lanes 0-15 / 16-31), another
// the second halves, so the sums of both blocks come out of one madd chain side by side (lanes
// 0-3: block b, lanes 4-7: block b+1) and cost one int->float conversion and one FMA with the
// scale vector [d_b x4 | d_b+1 x4]. The products are exact:
//   q4_0: nibbles 0..15 are maddubs' unsigned operand; the offset 8 is taken off the int32 lanes
//         as 2 * (sum of the activation block) per lane, the sum computed once per matmul.
//   q8_0: maddubs(|w|, sign(x, w)) (|w| <= 128, |x| <= 127), widened to s32 before the halves
//         are added.
#pragma once

#include <immintrin.h>

#include "kernels/avx2_common.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::avx2 {

// [first 16 bytes at p0 | first 16 bytes at p1]
inline __m256i halves(const void* p0, const void* p1) {
  return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(p1), reinterpret_cast<const __m128i*>(p0));
}

// [v0 x4 | v1 x4] from {v0, v1, ...}
inline __m256 spread_pair(__m128 v) {
  return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(v), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}

// {f16(d0), f16(d1), 0, 0}
inline __m128 scale_pair(uint16_t d0, uint16_t d1) {
  return _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(uint32_t{d0} | uint32_t{d1} << 16)));
}

// Activation blocks b and b + 1 of row t as the pair type X wants them: the 8-bit values split into
// first and second halves (lo, hi), the block sums and the scales. An odd last block is paired
// with itself, the copy's scale set to zero, so it goes through the same sequence.
struct ActPair {
  __m256i lo, hi;
  int32_t sum0, sum1;
  float d0, d1;
};

inline ActPair act_pair(const QuantizedActs& xq, int64_t t, int64_t b) {
  const bool last_odd = b + 1 == xq.blocks;
  const int64_t b1 = last_odd ? b : b + 1;
  const int8_t* q = xq.q + t * xq.cols;
  const int64_t row = t * xq.blocks;
  return {halves(q + b * kBlock, q + b1 * kBlock), halves(q + b * kBlock + 16, q + b1 * kBlock + 16),
          xq.sums[row + b], xq.sums[row + b1], xq.d[row + b], last_odd ? 0.0f : xq.d[row + b1]};
}

// Each weight type: W (a loaded weight pair), X (a prepared activation pair; a decode call keeps
// a whole row of them in L1, so their size matters for long rows), dot() (exact int32 lanes, block b
// in lanes 0-3, b+1 in lanes 4-7) and scale() ([d_w,b * d_x,b x4 | d_w,b+1 * d_x,b+1 x4]).
struct Q4 {
  using Block = BlockQ4_0;
  struct W {
    __m256i lo, hi;  // nibbles as bytes 0..15
  };
  static constexpr int64_t kTileFromBlocks = 256;  // 128-byte pairs: 16 KiB at 8192 columns
  struct X {
    __m256i lo, hi;
    __m256i corr;  // [2 * sum_b x4 | 2 * sum_b+1 x4]: the offset 8 times the block's sum, per lane
    __m256 d;      // [d_b x4 | d_b+1 x4]
  };
  static W load(const Block& b0, const Block& b1) {
    const __m256i v = halves(b0.qs, b1.qs);
    const __m256i m = _mm256_set1_epi8(15);
    return {_mm256_and_si256(v, m), _mm256_and_si256(_mm256_srli_epi16(v, 4), m)};
  }
  static X prepare(const ActPair& a) {
    return {a.lo, a.hi, _mm256_setr_epi32(2 * a.sum0, 2 * a.sum0, 2 * a.sum0, 2 * a.sum0, 2 * a.sum1, 2 * a.sum1, 2 * a.sum1, 2 * a.sum1),
            _mm256_setr_ps(a.d0, a.d0, a.d0, a.d0, a.d1, a.d1, a.d1, a.d1)};
  }
  static __m256i dot(const W& w, const X& x) {
    // Each s16 lane is below 2 * 2 * 15 * 127, so the sum of the halves cannot overflow.
    const __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(w.lo, x.lo), _mm256_maddubs_epi16(w.hi, x.hi));
    return _mm256_sub_epi32(_mm256_madd_epi16(s, _mm256_set1_epi16(1)), x.corr);
  }
  static __m256 spread_d(const X& x) { return x.d; }
  static __m256 scale(__m128 dw, const X& x) { return _mm256_mul_ps(spread_pair(dw), x.d); }
};

struct Q8 {
  using Block = BlockQ8_0;
  struct W {
    __m256i lo, hi;
  };
  static constexpr int64_t kTileFromBlocks = 257;  // 96-byte pairs: 12 KiB at 8192 columns
  struct X {  // 96 bytes rather than 128: q8_0's long rows are memory-bound, not compute-bound
    __m256i lo, hi;
    float d[2];
  };
  static W load(const Block& b0, const Block& b1) { return {halves(b0.q, b1.q), halves(b0.q + 16, b1.q + 16)}; }
  static X prepare(const ActPair& a) { return {a.lo, a.hi, {a.d0, a.d1}}; }
  static __m256i dot(const W& w, const X& x) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i lo = _mm256_maddubs_epi16(_mm256_abs_epi8(w.lo), _mm256_sign_epi8(x.lo, w.lo));
    const __m256i hi = _mm256_maddubs_epi16(_mm256_abs_epi8(w.hi), _mm256_sign_epi8(x.hi, w.hi));
    return _mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones));
  }
  static __m256 spread_d(const X& x) {
    return spread_pair(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.d))));
  }
  // Multiplied before it is spread: the same products as spread(dw) * spread_d(x), lane by lane.
  static __m256 scale(__m128 dw, const X& x) {
    return spread_pair(_mm_mul_ps(dw, _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.d)))));
  }
};

// acc + (weight pair . activation pair x) * scale: the one instruction sequence of every output.
// scale is [d_w,b * d_x,b x4 | d_w,b+1 * d_x,b+1 x4], computed as Q::scale() (decode) or as
// spread(d_w) * Q::spread_d() (prefill, where each is reused): the same products either way.
template <typename Q>
inline __m256 step(__m256 acc, const typename Q::W& w, __m256 scale, const typename Q::X& x) {
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(Q::dot(w, x)), scale, acc);
}

// The pairs of activation rows t..t+T-1 from block `first` on into x[p * T + j].
template <typename Q, int T>
void prepare_pairs(const QuantizedActs& xq, int64_t t, int64_t first, typename Q::X* x) {
  for (int64_t p = 0; first + 2 * p < xq.blocks; ++p)
    for (int j = 0; j < T; ++j) x[p * T + j] = Q::prepare(act_pair(xq, t + j, first + 2 * p));
}

// Decode: acc plus the dot products of nb blocks of one weight row with activation pairs prepared
// for them, with the odd last block paired with itself.
template <typename Q>
inline __m256 pairs_dot(__m256 acc, const typename Q::Block* w, int64_t nb, const typename Q::X* x) {
  for (const auto* end = w + (nb & ~int64_t{1}); w != end; w += 2, ++x) {
    acc = step<Q>(acc, Q::load(w[0], w[1]), Q::scale(scale_pair(w[0].d, w[1].d), *x), *x);
  }
  if (nb % 2 != 0) acc = step<Q>(acc, Q::load(w[0], w[0]), Q::scale(scale_pair(w[0].d, w[0].d), *x), *x);
  return acc;
}

}  // namespace slim::kernels::avx2

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
//   q5_0: as q4_0 with the fifth bits ORed in (quants 0..31, offset 16: 4 * sum per lane);
//   q4_1 / q5_1: as q4_0 / q5_0 without an offset; the minimum term m_w * (d_x * sum) (m spread
//         like the scales, d_x * sum held in lanes 0 and 4 only) is the addend of the pair's FMA,
//         which then goes into the accumulator with one add: a chain of one add a pair rather
//         than two FMAs.
#pragma once

#include <immintrin.h>

#include <cstring>

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
  static constexpr bool kMin = false;
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

// Bytes of the 16 quants of each half of a pair as 0x10 where the fifth bit is set: byte i of
// 128-bit lane k gets bit i (lo) or 16 + i (hi) of block k's qh.
struct FifthBits {
  __m256i lo, hi;
};
inline FifthBits fifth_bits(const uint8_t (&qh0)[4], const uint8_t (&qh1)[4]) {
  const __m256i h = _mm256_set_m128i(_mm_cvtsi32_si128(static_cast<int>(q5_high_bits(qh1))),
                                     _mm_cvtsi32_si128(static_cast<int>(q5_high_bits(qh0))));
  // Each byte takes the byte of qh holding its bit, then tests its own bit.
  const __m256i lo_bytes = _mm256_shuffle_epi8(h, _mm256_setr_epi64x(0, 0x0101010101010101, 0, 0x0101010101010101));
  const __m256i hi_bytes = _mm256_shuffle_epi8(
      h, _mm256_setr_epi64x(0x0202020202020202, 0x0303030303030303, 0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  const __m256i x10 = _mm256_set1_epi8(0x10);
  return {_mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(lo_bytes, bit), bit), x10),
          _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hi_bytes, bit), bit), x10)};
}

// q4_1, q5_0, q5_1: nibbles (and fifth bits) as unsigned bytes against the activations; q5_0 takes
// its offset 16 off as 4 * sum per lane, q4_1 / q5_1 add their minimum term in step().
template <typename B>
struct QLow {
  using Block = B;
  static constexpr bool kFive = requires(const B& b) { b.qh; };
  static constexpr bool kMin = requires(const B& b) { b.m; };
  struct W {
    __m256i lo, hi;  // quants as bytes 0..15 (0..31)
    __m256 d, m;     // kMin: [d_b x4 | d_b+1 x4], [m_b x4 | m_b+1 x4], from one conversion
  };
  static constexpr int64_t kTileFromBlocks = 256;  // 128-byte pairs, as q4_0
  struct X {
    __m256i lo, hi;
    __m256i corr_or_s;  // q5_0: [4 * sum_b x4 | 4 * sum_b+1 x4]; kMin: as floats [d_x sum_b, 0, 0, 0 | d_x sum_b+1, 0, 0, 0]
    __m256 d;
  };
  static W load(const Block& b0, const Block& b1) {
    const __m256i v = halves(b0.qs, b1.qs);
    const __m256i m = _mm256_set1_epi8(15);
    W w{_mm256_and_si256(v, m), _mm256_and_si256(_mm256_srli_epi16(v, 4), m), _mm256_setzero_ps(), _mm256_setzero_ps()};
    if constexpr (kFive) {
      const FifthBits h = fifth_bits(b0.qh, b1.qh);
      w.lo = _mm256_or_si256(w.lo, h.lo);
      w.hi = _mm256_or_si256(w.hi, h.hi);
    }
    if constexpr (kMin) {
      // d and m are adjacent: {d_b, m_b, d_b+1, m_b+1} in one f16 -> f32 conversion.
      uint32_t dm0, dm1;
      std::memcpy(&dm0, &b0, 4);
      std::memcpy(&dm1, &b1, 4);
      const __m128 dm = _mm_cvtph_ps(_mm_unpacklo_epi32(_mm_cvtsi32_si128(static_cast<int>(dm0)), _mm_cvtsi32_si128(static_cast<int>(dm1))));
      const __m256 c = _mm256_castps128_ps256(dm);
      w.d = _mm256_permutevar8x32_ps(c, _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2));
      w.m = _mm256_permutevar8x32_ps(c, _mm256_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3));
    }
    return w;
  }
  static X prepare(const ActPair& a) {
    X x{a.lo, a.hi, _mm256_setzero_si256(), _mm256_setr_ps(a.d0, a.d0, a.d0, a.d0, a.d1, a.d1, a.d1, a.d1)};
    if constexpr (kMin) {
      const float s0 = a.d0 * static_cast<float>(a.sum0), s1 = a.d1 * static_cast<float>(a.sum1);
      x.corr_or_s = _mm256_castps_si256(_mm256_setr_ps(s0, 0, 0, 0, s1, 0, 0, 0));
    } else {
      x.corr_or_s = _mm256_setr_epi32(4 * a.sum0, 4 * a.sum0, 4 * a.sum0, 4 * a.sum0, 4 * a.sum1, 4 * a.sum1, 4 * a.sum1, 4 * a.sum1);
    }
    return x;
  }
  static __m256i dot(const W& w, const X& x) {
    // Each s16 lane is at most 2 * 2 * 31 * 127 = 15748: the sum of the halves cannot overflow.
    const __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(w.lo, x.lo), _mm256_maddubs_epi16(w.hi, x.hi));
    const __m256i d = _mm256_madd_epi16(s, _mm256_set1_epi16(1));
    if constexpr (kMin) return d;
    return _mm256_sub_epi32(d, x.corr_or_s);
  }
  static __m256 spread_d(const X& x) { return x.d; }
  static __m256 scale(__m128 dw, const X& x) { return _mm256_mul_ps(spread_pair(dw), x.d); }
  static __m256 min_term(const W& w, const X& x) { return _mm256_mul_ps(w.m, _mm256_castsi256_ps(x.corr_or_s)); }
};
using Q4_1 = QLow<BlockQ4_1>;
using Q5_0 = QLow<BlockQ5_0>;
using Q5_1 = QLow<BlockQ5_1>;

struct Q8 {
  using Block = BlockQ8_0;
  static constexpr bool kMin = false;
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
// The min types: acc + ((weight pair . activation pair x) * scale + m_w * (d_x * sum)).
template <typename Q>
inline __m256 step(__m256 acc, const typename Q::W& w, __m256 scale, const typename Q::X& x) {
  if constexpr (Q::kMin) return _mm256_add_ps(acc, _mm256_fmadd_ps(_mm256_cvtepi32_ps(Q::dot(w, x)), scale, Q::min_term(w, x)));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(Q::dot(w, x)), scale, acc);
}

// [d_w,b x4 | d_w,b+1 x4] of a loaded weight pair (the min types convert it in load()).
template <typename Q>
inline __m256 weight_scales(const typename Q::W& w, const typename Q::Block& b0, const typename Q::Block& b1) {
  if constexpr (Q::kMin) return w.d;
  return spread_pair(scale_pair(b0.d, b1.d));
}

// The decode scale of a pair: Q::scale() of the fp16 scales, the same products.
template <typename Q>
inline __m256 decode_scale(const typename Q::W& w, const typename Q::Block& b0, const typename Q::Block& b1,
                           const typename Q::X& x) {
  if constexpr (Q::kMin) return _mm256_mul_ps(w.d, x.d);
  return Q::scale(scale_pair(b0.d, b1.d), x);
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
    const typename Q::W wv = Q::load(w[0], w[1]);
    acc = step<Q>(acc, wv, decode_scale<Q>(wv, w[0], w[1], *x), *x);
  }
  if (nb % 2 != 0) {
    const typename Q::W wv = Q::load(w[0], w[0]);
    acc = step<Q>(acc, wv, decode_scale<Q>(wv, w[0], w[0], *x), *x);
  }
  return acc;
}

}  // namespace slim::kernels::avx2

// AVX2 matmul for q8_0 / q4_0 weights against 8-bit quantized activations. Built with -mavx2 -mfma
// -mf16c and only called after cpu_features() confirmed them.
//
// Blocks are taken two at a time: one 256-bit register holds the first halves of blocks b and b+1
// (lanes 0-15 / 16-31), another the second halves, so the sums of both blocks come out of one
// madd chain side by side (lanes 0-3: block b, lanes 4-7: block b+1) and cost one int->float
// conversion and one FMA with the scale vector [d_b x4 | d_b+1 x4]. The products are exact:
//   q4_0: nibbles 0..15 are maddubs' unsigned operand; the offset 8 is taken off as maddubs(8, x),
//         computed once per activation block pair (every s16 lane stays below 2*2*15*127).
//   q8_0: maddubs(|w|, sign(x, w)) (|w| <= 128, |x| <= 127), widened to s32 before the halves
//         are added.
// A tile of R weight rows x T activation rows widens each weight pair once for T activation rows
// (prefill) and loads each activation pair once for R weight rows (decode). Each (weight row,
// activation row) pair keeps an 8-lane f32 accumulator; the only horizontal sum is at the end of
// the row. Every output is computed by the same instruction sequence whatever the tile, so results
// do not depend on n or on how rows are split over threads.
#include <immintrin.h>

#include <algorithm>

#include "kernels/avx2_common.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::avx2 {
namespace {

// [first 16 bytes at p0 | first 16 bytes at p1]
inline __m256i halves(const void* p0, const void* p1) {
  return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(p1), reinterpret_cast<const __m128i*>(p0));
}

// Activation blocks b and b+1 of one row, split into first and second halves.
struct XPair {
  __m256i lo, hi, corr;
};

struct Q4 {
  using Block = BlockQ4_0;
  struct W {
    __m256i lo, hi;  // nibbles as bytes 0..15
  };
  static W load(const Block& b0, const Block& b1) {
    const __m256i v = halves(b0.qs, b1.qs);
    const __m256i m = _mm256_set1_epi8(15);
    return {_mm256_and_si256(v, m), _mm256_and_si256(_mm256_srli_epi16(v, 4), m)};
  }
  static XPair xpair(const int8_t* q0, const int8_t* q1) {
    const __m256i lo = halves(q0, q1), hi = halves(q0 + 16, q1 + 16);
    const __m256i eight = _mm256_set1_epi8(8);
    return {lo, hi, _mm256_add_epi16(_mm256_maddubs_epi16(eight, lo), _mm256_maddubs_epi16(eight, hi))};
  }
  static __m256i dot(const W& w, const XPair& x) {
    const __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(w.lo, x.lo), _mm256_maddubs_epi16(w.hi, x.hi));
    return _mm256_madd_epi16(_mm256_sub_epi16(s, x.corr), _mm256_set1_epi16(1));
  }
};

struct Q8 {
  using Block = BlockQ8_0;
  struct W {
    __m256i lo, hi;
  };
  static W load(const Block& b0, const Block& b1) { return {halves(b0.q, b1.q), halves(b0.q + 16, b1.q + 16)}; }
  static XPair xpair(const int8_t* q0, const int8_t* q1) {
    return {halves(q0, q1), halves(q0 + 16, q1 + 16), _mm256_setzero_si256()};
  }
  static __m256i dot(const W& w, const XPair& x) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i lo = _mm256_maddubs_epi16(_mm256_abs_epi8(w.lo), _mm256_sign_epi8(x.lo, w.lo));
    const __m256i hi = _mm256_maddubs_epi16(_mm256_abs_epi8(w.hi), _mm256_sign_epi8(x.hi, w.hi));
    return _mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones));
  }
};

// [f16(d0) x4 | f16(d1) x4]
inline __m256 scale_pair(uint16_t d0, uint16_t d1) {
  const __m128 d = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(uint32_t{d0} | uint32_t{d1} << 16)));
  return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}


// Outputs y[t+j][r+i] for i < R, j < T. An odd last block is paired with itself, the copy's
// activation scale set to zero, so it goes through the same sequence.
template <typename Q, int R, int T>
inline void tile(const MatmulArgs& a, int64_t r, int64_t t) {
  using Block = typename Q::Block;
  const QuantizedActs& xq = a.xq;
  const int64_t nb = xq.blocks;
  const Block* w = static_cast<const Block*>(a.w.data) + r * nb;
  const int8_t* xb = xq.q + t * xq.cols;
  const float* xd = xq.d + t * nb;
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2) {
    const bool last_odd = b + 1 == nb;
    const int64_t b1 = last_odd ? b : b + 1;
    XPair x[T];
    __m256 dx[T];
    for (int j = 0; j < T; ++j) {
      const int8_t* q = xb + j * xq.cols + b * kBlock;
      x[j] = Q::xpair(q, q + (b1 - b) * kBlock);
      const float d0 = xd[j * nb + b];
      const float d1 = last_odd ? 0.0f : xd[j * nb + b1];
      dx[j] = _mm256_setr_ps(d0, d0, d0, d0, d1, d1, d1, d1);
    }
    for (int i = 0; i < R; ++i) {
      // R rows are R interleaved streams of a few KiB each, and each tile starts R-1 new ones
      // that the hardware prefetcher would pick up late: fetch the same block of the next tile's
      // rows (measured: q4_0 decode at 2048x8192 ~1.5x faster than without).
      _mm_prefetch(reinterpret_cast<const char*>(w + (i + R) * nb + b), _MM_HINT_T1);
      const Block& w0 = w[i * nb + b];
      const Block& w1 = w[i * nb + b1];
      const typename Q::W wv = Q::load(w0, w1);
      const __m256 dw = scale_pair(w0.d, w1.d);
      for (int j = 0; j < T; ++j) {
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Q::dot(wv, x[j])), _mm256_mul_ps(dw, dx[j]), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r + i] = hsum(acc[i][j]);
}

template <typename Q>
void run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  constexpr int kR = 2, kT = 4;  // prefill tile
  const int64_t n = a.n;
  const int64_t full_t = n - n % kT;
  if (full_t > 0) {
    // Rows in groups whose weights (about 256 KiB) stay in L2 while every token tile passes by.
    const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
    const int64_t group = std::max<int64_t>(kR, (256 * 1024 / std::max<int64_t>(row_bytes, 1)) / kR * kR);
    for (int64_t g0 = r0; g0 < r1; g0 += group) {
      const int64_t g1 = std::min(r1, g0 + group);
      for (int64_t t = 0; t < full_t; t += kT) {
        int64_t r = g0;
        for (; r + kR <= g1; r += kR) tile<Q, kR, kT>(a, r, t);
        for (; r < g1; ++r) tile<Q, 1, kT>(a, r, t);
      }
    }
  }
  for (int64_t t = full_t; t < n; ++t) {  // decode and leftovers: 4 weight rows per activation load
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) tile<Q, 4, 1>(a, r, t);
    for (; r < r1; ++r) tile<Q, 1, 1>(a, r, t);
  }
}

}  // namespace

void matmul_q_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  if (a.w.dtype == DType::q8_0) return run<Q8>(a, r0, r1);
  return run<Q4>(a, r0, r1);
}

}  // namespace slim::kernels::avx2

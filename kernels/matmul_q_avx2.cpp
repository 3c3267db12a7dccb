// AVX2 matmul for q8_0 / q4_0 weights against 8-bit quantized activations. Built with -mavx2 -mfma
// -mf16c and only called after cpu_features() confirmed them.
//
// Per block of 32: the weights are widened to 32 bytes once and serve T activation rows; the
// products are formed with maddubs (u8 x s8 -> pairs summed in s16) and madd (pairs -> s32), which
// is exact here:
//   q4_0: nibbles 0..15 are the unsigned operand; the offset 8 is taken off as maddubs(8, x),
//         computed once per activation block (|pair| <= 15*127*2 and 8*127*2 fit in s16).
//   q8_0: maddubs(|w|, sign(x, w)); |w| <= 128 and |x| <= 127 so a pair is <= 32512.
// Each (weight row, activation row) pair keeps an 8-lane f32 accumulator, updated once per block by
// one FMA with d_w * d_x; the only horizontal sum is at the end of the row. Every output is
// computed by the same instruction sequence whatever the tile, so results do not depend on n or on
// how rows are split over threads.
#include <immintrin.h>

#include <algorithm>

#include "kernels/matmul_impl.hpp"

namespace slim::kernels::avx2 {
namespace {

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

struct Q4 {
  using Block = BlockQ4_0;
  struct W {
    __m256i u;  // 32 nibbles as bytes 0..15
  };
  static W load(const Block& b) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    return {_mm256_and_si256(both, _mm256_set1_epi8(15))};
  }
  struct X {
    __m256i x, corr;
  };
  static X prep(const int8_t* q) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
    return {x, _mm256_maddubs_epi16(_mm256_set1_epi8(8), x)};
  }
  static __m256i pairs(const W& w, const X& x) {
    return _mm256_sub_epi16(_mm256_maddubs_epi16(w.u, x.x), x.corr);
  }
};

struct Q8 {
  using Block = BlockQ8_0;
  struct W {
    __m256i w, abs;
  };
  static W load(const Block& b) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.q));
    return {w, _mm256_abs_epi8(w)};
  }
  struct X {
    __m256i x;
  };
  static X prep(const int8_t* q) { return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q))}; }
  static __m256i pairs(const W& w, const X& x) {
    return _mm256_maddubs_epi16(w.abs, _mm256_sign_epi8(x.x, w.w));
  }
};

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Outputs y[t+j][r+i] for i < R, j < T.
template <typename Q, int R, int T>
inline void tile(const MatmulArgs& a, int64_t r, int64_t t) {
  using Block = typename Q::Block;
  const QuantizedActs& xq = a.xq;
  const int64_t nb = xq.blocks;
  const Block* w = static_cast<const Block*>(a.w.data) + r * nb;
  const int8_t* xb = xq.q + t * xq.cols;
  const float* xd = xq.d + t * nb;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    typename Q::X x[T];
    for (int j = 0; j < T; ++j) x[j] = Q::prep(xb + j * xq.cols + b * kBlock);
    for (int i = 0; i < R; ++i) {
      const Block& blk = w[i * nb + b];
      const typename Q::W wv = Q::load(blk);
      const float dw = f16(blk.d);
      for (int j = 0; j < T; ++j) {
        const __m256i dot = _mm256_madd_epi16(Q::pairs(wv, x[j]), ones);
        const __m256 scale = _mm256_set1_ps(dw * xd[j * nb + b]);
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[i][j]);
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

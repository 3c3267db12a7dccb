// AVX2 + FMA dot_rows(), add_weighted_rows() (f32 or f16 rows), softmax(), silu_mul(), gelu_tanh_mul() and softcap(). Built with -mavx2 -mfma -mf16c and
// only called after cpu_features() confirmed them.
//
// dot_rows: eight keys at a time, one FMA chain each, whose eight sums come out of one transposing
// reduction (sums8) rather than eight horizontal sums.
//
// add_weighted_rows: 32 output columns of up to three outputs stay in registers while every row
// passes by, so out is read and written once and each row is loaded once per three outputs.
//
// Both prefetch the rows they will read 16 KiB ahead into L2 (RowPrefetch).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/avx2_common.hpp"
#include "kernels/kernel_set.hpp"
#include "kernels/matmul_impl.hpp"
#include "kernels/row_prefetch.hpp"

namespace slim::kernels::avx2 {

namespace {

// Eight values of a row, and one, as f32: f16 rows (an f16 KV cache) are converted exactly, so the
// same values give the same results in either type.
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) { return _cvtsh_ss(*p); }
// The column tails use std::fma: one rounding whichever type the row is, where a * b + c may or
// may not be contracted depending on how the operands were loaded.

// Lane k: the sum of a[k]'s eight lanes, added in the same order for every k:
// ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)).
inline __m256 sums8(const __m256* a) {
  const __m256 h01 = _mm256_hadd_ps(a[0], a[1]), h23 = _mm256_hadd_ps(a[2], a[3]);
  const __m256 h45 = _mm256_hadd_ps(a[4], a[5]), h67 = _mm256_hadd_ps(a[6], a[7]);
  // Lanes 0-3 of `low`: a[0..3]'s lanes 0-3 summed; lanes 4-7: their lanes 4-7; `high` for a[4..7].
  const __m256 low = _mm256_hadd_ps(h01, h23), high = _mm256_hadd_ps(h45, h67);
  return _mm256_add_ps(_mm256_permute2f128_ps(low, high, 0x20), _mm256_permute2f128_ps(low, high, 0x31));
}

// Rows t0..t0+7 (past `count`: the last row again, computed and not stored) against every query.
template <typename Row>
void dot_rows_8(const float* q, int64_t queries, const Row* rows, int64_t row_stride, int64_t count, int64_t cols,
                int64_t t0, float* out, int64_t out_stride) {
  const Row* r[8];
  for (int k = 0; k < 8; ++k) r[k] = rows + std::min(t0 + k, count - 1) * row_stride;
  const int64_t full = cols - cols % 8, valid = std::min<int64_t>(8, count - t0);
  for (int64_t g = 0; g < queries; ++g) {
    const float* qg = q + g * cols;
    __m256 acc[8];
    for (int k = 0; k < 8; ++k) acc[k] = _mm256_setzero_ps();
    for (int64_t d = 0; d < full; d += 8) {
      const __m256 qv = _mm256_loadu_ps(qg + d);
      for (int k = 0; k < 8; ++k) acc[k] = _mm256_fmadd_ps(qv, load8(r[k] + d), acc[k]);
    }
    float* o = out + g * out_stride + t0;
    if (full == cols && valid == 8) {
      _mm256_storeu_ps(o, sums8(acc));
      continue;
    }
    alignas(32) float s[8];
    _mm256_store_ps(s, sums8(acc));
    for (int64_t d = full; d < cols; ++d) {
      for (int k = 0; k < 8; ++k) s[k] = std::fma(qg[d], load1(r[k] + d), s[k]);
    }
    for (int64_t k = 0; k < valid; ++k) o[k] = s[k];
  }
}

// G outputs (G <= 3), columns d..d+31: each row's 32 values are loaded once for all G outputs,
// whose 4 x G accumulators are independent FMA chains.
template <int G, typename Row>
void weighted_rows_32(const float* w, int64_t w_stride, const Row* rows, int64_t count, int64_t cols, int64_t d,
                      float* out, const RowPrefetch* prefetch) {
  __m256 acc[G][4];
  for (int g = 0; g < G; ++g)
    for (int k = 0; k < 4; ++k) acc[g][k] = _mm256_loadu_ps(out + g * cols + d + 8 * k);
  for (int64_t t = 0; t < count; ++t) {
    if (prefetch) prefetch->rows(t, 1);
    __m256 r[4];
    for (int k = 0; k < 4; ++k) r[k] = load8(rows + t * cols + d + 8 * k);
    for (int g = 0; g < G; ++g) {
      const __m256 wt = _mm256_broadcast_ss(w + g * w_stride + t);
      for (int k = 0; k < 4; ++k) acc[g][k] = _mm256_fmadd_ps(wt, r[k], acc[g][k]);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int k = 0; k < 4; ++k) _mm256_storeu_ps(out + g * cols + d + 8 * k, acc[g][k]);
}

template <int G, typename Row>
void weighted_rows_group(const float* w, int64_t w_stride, const Row* rows, int64_t count, int64_t cols, float* out,
                         const RowPrefetch* prefetch) {
  int64_t d = 0;
  for (; d + 32 <= cols; d += 32, prefetch = nullptr) weighted_rows_32<G, Row>(w, w_stride, rows, count, cols, d, out, prefetch);
  for (int g = 0; g < G; ++g) {  // the columns after the last multiple of 32
    const float* wg = w + g * w_stride;
    float* o = out + g * cols;
    int64_t c = d;
    for (; c + 8 <= cols; c += 8) {
      __m256 a = _mm256_loadu_ps(o + c);
      for (int64_t t = 0; t < count; ++t) a = _mm256_fmadd_ps(_mm256_broadcast_ss(wg + t), load8(rows + t * cols + c), a);
      _mm256_storeu_ps(o + c, a);
    }
    for (; c < cols; ++c) {
      float sum = o[c];
      for (int64_t t = 0; t < count; ++t) sum = std::fma(wg[t], load1(rows + t * cols + c), sum);
      o[c] = sum;
    }
  }
}

// f over n values in eights; the tail through the same lanes.
template <typename F>
void each8(float* x, const float* other, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(x + i, f(_mm256_loadu_ps(x + i), other ? _mm256_loadu_ps(other + i) : _mm256_setzero_ps()));
  }
  if (i < n) {
    alignas(32) float a[8] = {}, b[8] = {};
    std::copy(x + i, x + n, a);
    if (other) std::copy(other + i, other + n, b);
    _mm256_store_ps(a, f(_mm256_load_ps(a), _mm256_load_ps(b)));
    std::copy(a, a + (n - i), x + i);
  }
}

// tanh of eight values (Cephes' tanhf, whose coefficients these are): for |y| < 0.625 the odd
// polynomial y + y z P(z), z = y^2, which keeps full relative precision near 0; above it
// (1 - t) / (1 + t) with t = e^-2|y| <= 1 (no overflow), the sign put back. NaN stays NaN.
inline __m256 tanh8(__m256 y) {
  const __m256 sign = _mm256_and_ps(y, _mm256_set1_ps(-0.0f));
  const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), y);
  const __m256 z = _mm256_mul_ps(y, y);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), a, a);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 t = exp_nonpositive(_mm256_mul_ps(a, _mm256_set1_ps(-2.0f)));
  const __m256 large = _mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t));
  // Both of |y|, the sign put back after (tanh(-0) = -0).
  const __m256 r = _mm256_or_ps(_mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ)), sign);
  return _mm256_blendv_ps(r, y, _mm256_cmp_ps(y, y, _CMP_UNORD_Q));
}

template <typename Row>
void dot_rows_of(const float* q, int64_t queries, const Row* rows, int64_t row_stride, int64_t count, int64_t cols,
                 float* out, int64_t out_stride) {
  const RowPrefetch prefetch(rows, row_stride, cols);
  for (int64_t t0 = 0; t0 < count; t0 += 8) {
    prefetch.rows(t0, 8);
    dot_rows_8(q, queries, rows, row_stride, count, cols, t0, out, out_stride);
  }
}

template <typename Row>
void add_weighted_rows_of(const float* w, int64_t w_stride, int64_t outputs, const Row* rows, int64_t count,
                          int64_t cols, float* out) {
  // The first pass over the rows prefetches them.
  const RowPrefetch prefetch(rows, cols, cols);
  const RowPrefetch* first = &prefetch;
  int64_t g = 0;
  for (; g + 3 <= outputs; g += 3, first = nullptr) {
    weighted_rows_group<3>(w + g * w_stride, w_stride, rows, count, cols, out + g * cols, first);
  }
  if (outputs - g == 2) weighted_rows_group<2>(w + g * w_stride, w_stride, rows, count, cols, out + g * cols, first);
  if (outputs - g == 1) weighted_rows_group<1>(w + g * w_stride, w_stride, rows, count, cols, out + g * cols, first);
}

}  // namespace

void dot_rows(const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count, int64_t cols,
              float* out, int64_t out_stride) {
  dot_rows_of(q, queries, rows, row_stride, count, cols, out, out_stride);
}

void dot_rows_f16(const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride, int64_t count,
                  int64_t cols, float* out, int64_t out_stride) {
  dot_rows_of(q, queries, rows, row_stride, count, cols, out, out_stride);
}

void add_weighted_rows(const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count, int64_t cols,
                       float* out) {
  add_weighted_rows_of(w, w_stride, outputs, rows, count, cols, out);
}

void add_weighted_rows_f16(const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows, int64_t count,
                           int64_t cols, float* out) {
  add_weighted_rows_of(w, w_stride, outputs, rows, count, cols, out);
}

void softmax(float* x, int64_t n) {
  const int64_t full = n - n % 8;
  __m256 m8 = _mm256_set1_ps(-INFINITY);
  for (int64_t i = 0; i < full; i += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(x + i));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  float max = std::max(_mm_cvtss_f32(m4), _mm_cvtss_f32(_mm_movehdup_ps(m4)));
  for (int64_t i = full; i < n; ++i) max = std::max(max, x[i]);

  const __m256 max8 = _mm256_set1_ps(max);
  __m256 sum8 = _mm256_setzero_ps();
  for (int64_t i = 0; i < full; i += 8) {
    const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + i), max8));
    _mm256_storeu_ps(x + i, e);
    sum8 = _mm256_add_ps(sum8, e);
  }
  float sum = hsum(sum8);
  if (full < n) {  // the tail through the same exp, eight lanes of which the first n - full count
    alignas(32) float tail[8];
    for (int i = 0; i < 8; ++i) tail[i] = full + i < n ? x[full + i] - max : -INFINITY;
    _mm256_store_ps(tail, exp_nonpositive(_mm256_load_ps(tail)));
    for (int64_t i = full; i < n; ++i) {
      x[i] = tail[i - full];
      sum += x[i];
    }
  }
  const __m256 inv8 = _mm256_set1_ps(1.0f / sum);
  for (int64_t i = 0; i < full; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv8));
  for (int64_t i = full; i < n; ++i) x[i] *= 1.0f / sum;
}

void silu_mul(float* gate, const float* up, int64_t n) {
  // silu(g) = g * sigma(g), sigma(g) = 1 / (1 + t) for g >= 0 and t / (1 + t) below, where
  // t = e^-|g| <= 1: e^x is only ever taken of x <= 0, so it cannot overflow.
  each8(gate, up, n, [](__m256 g, __m256 u) {
    const __m256 t = exp_nonpositive(_mm256_or_ps(g, _mm256_set1_ps(-0.0f)));
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 num = _mm256_blendv_ps(t, one, _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_GE_OQ));
    return _mm256_mul_ps(_mm256_mul_ps(g, _mm256_div_ps(num, _mm256_add_ps(one, t))), u);
  });
}

void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
  const __m256 beta = _mm256_set1_ps(0.7978845608028654f), kappa = _mm256_set1_ps(0.044715f);
  each8(gate, up, n, [&](__m256 x, __m256 u) {
    // The same operations, in the same order, as the portable loop: beta (x + kappa x^3).
    const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    const __m256 inner = _mm256_mul_ps(beta, _mm256_add_ps(x, _mm256_mul_ps(kappa, x3)));
    const __m256 half_x = _mm256_mul_ps(_mm256_set1_ps(0.5f), x);
    return _mm256_mul_ps(_mm256_mul_ps(half_x, _mm256_add_ps(_mm256_set1_ps(1.0f), tanh8(inner))), u);
  });
}

void softcap(float* x, int64_t n, float cap) {
  const __m256 c = _mm256_set1_ps(cap);
  each8(x, nullptr, n, [&](__m256 v, __m256) { return _mm256_mul_ps(tanh8(_mm256_div_ps(v, c)), c); });
}

// F16C's conversion rounds to nearest even like f32_to_f16(); the clamp (max, then min, whose
// second operand is returned for NaN: x goes second) keeps NaN and saturates the rest.
void to_f16_saturated(const float* x, int64_t n, uint16_t* out) {
  const __m256 lo = _mm256_set1_ps(-65504.0f), hi = _mm256_set1_ps(65504.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_loadu_ps(x + i)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  if (i < n) portable::to_f16_saturated(x + i, n - i, out + i);
}

void from_f16(const uint16_t* h, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load8(h + i));
  if (i < n) portable::from_f16(h + i, n - i, out + i);
}

}  // namespace slim::kernels::avx2

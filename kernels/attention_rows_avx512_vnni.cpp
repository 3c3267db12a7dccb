// AVX-512 dot_rows() and add_weighted_rows() (f32 or f16 rows) for the avx512_vnni set (the rest of
// its row operations are the AVX2 file's). Built with the AVX-512 F/BW/VL flags of the set and only
// called after cpu_features() confirmed them.
//
// dot_rows: sixteen keys at a time, one FMA chain of 16 lanes each (lane l sums the columns
// d = l mod 16, a partial last register masked), whose sixteen sums come out of one transposing
// reduction (sums16). Every key goes through the same steps wherever it falls in `count`.
//
// add_weighted_rows: 64 output columns of up to four outputs stay in registers while every row
// passes by: a head of 64 dimensions in one pass over its rows where AVX2 takes two. Each output
// value is the FMA chain out + w_0 r_0 + w_1 r_1 + ... in row order, as in every set, so results do
// not depend on how the rows are split into calls.
//
// f16 rows (an f16 KV cache) are converted exactly on loading, so the same values give the same
// bits as f32 rows. Both prefetch their rows 16 KiB ahead into L2 (row_prefetch.hpp).
//
// Measured on a Zen 5 EPYC against the AVX2 functions (1 thread, bench_matmul attention_rows, keys
// and values from DRAM, two runs each): f32 3 queries x 1024 keys of 64: 19.6 / 19.9 -> 16.1 / 15.9
// us, 4 x 1024 of 128: 66.2 / 68.5 -> 41.7 / 41.8; f16 10.6 / 10.7 -> 9.6 / 9.9, 30.2 / 31.2 ->
// 27.8 / 27.2; 7 queries unchanged. slim-bench tg32 @ d2048, 1 thread, q4_0: SmolLM2-135M 167 / 160
// -> 177 / 178 tokens/s, Qwen3-0.6B 29.9 / 30.9 -> 31.0 / 31.2; pp512 @ d2048 1.02-1.10x.
// Converting f16 rows once for all queries (16 rows on the stack) instead of per query was no
// faster (9.9 -> 10.3 us): not kept.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/matmul_impl.hpp"
#include "kernels/row_prefetch.hpp"

namespace slim::kernels::avx512_vnni {

namespace {

// The lanes of `mask` of 16 values of a row as f32 (zero elsewhere; masked-off lanes are not read).
inline __m512 load16(const float* p, __mmask16 mask) { return _mm512_maskz_loadu_ps(mask, p); }
// (maskz forms: GCC 12 flags the unmasked conversion's undefined register with -Wmaybe-uninitialized)
inline __m512 load16(const uint16_t* p, __mmask16 mask) { return _mm512_maskz_cvtph_ps(0xFFFF, _mm256_maskz_loadu_epi16(mask, p)); }

// The first n lanes (n <= 16).
inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << std::max<int64_t>(n, 0)) - 1);
}

// Lane k: the sum of a[k]'s sixteen lanes, added in the same order for every k. The shuffles are
// vector extensions (GCC 12's unpack / shuffle intrinsics trip -Wmaybe-uninitialized); as
// instructions: unpcklps / unpckhps, unpcklpd / unpckhpd, then vshuff32x4.
using F16 = float __attribute__((vector_size(64)));
inline F16 add_shuffled_lo_hi_ps(F16 p, F16 q) {  // unpacklo_ps + unpackhi_ps
  return __builtin_shufflevector(p, q, 0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29) +
         __builtin_shufflevector(p, q, 2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31);
}
inline F16 add_shuffled_lo_hi_pd(F16 p, F16 q) {  // unpacklo_pd + unpackhi_pd
  return __builtin_shufflevector(p, q, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29) +
         __builtin_shufflevector(p, q, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
}
inline F16 add_lane_pairs(F16 p, F16 q) {  // 128-bit lanes 0 + 1 and 2 + 3 of p, then of q
  return __builtin_shufflevector(p, q, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
         __builtin_shufflevector(p, q, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
}
inline __m512 sums16(const __m512* a) {
  // u[i], each 128-bit lane: [a(2i) 0+2, a(2i+1) 0+2, a(2i) 1+3, a(2i+1) 1+3] of that lane's values.
  F16 u[8];
  for (int i = 0; i < 8; ++i) u[i] = add_shuffled_lo_hi_ps(reinterpret_cast<F16>(a[2 * i]), reinterpret_cast<F16>(a[2 * i + 1]));
  // w[i], each 128-bit lane: the sums over that lane of a(4i) .. a(4i + 3).
  F16 w[4];
  for (int i = 0; i < 4; ++i) w[i] = add_shuffled_lo_hi_pd(u[2 * i], u[2 * i + 1]);
  // Two rounds of adding 128-bit lanes: then lanes 4j .. 4j + 3 hold the sums of a(4j) .. a(4j + 3).
  return reinterpret_cast<__m512>(add_lane_pairs(add_lane_pairs(w[0], w[1]), add_lane_pairs(w[2], w[3])));
}

// Rows t0..t0+15 (past `count`: the last row again, computed and not stored) against every query.
template <typename Row>
void dot_rows_16(const float* q, int64_t queries, const Row* rows, int64_t row_stride, int64_t count, int64_t cols,
                 int64_t t0, float* out, int64_t out_stride) {
  const Row* r[16];
  for (int k = 0; k < 16; ++k) r[k] = rows + std::min(t0 + k, count - 1) * row_stride;
  const int64_t full = cols - cols % 16;
  const __mmask16 tail = first_lanes(cols - full), all = 0xFFFF, valid = first_lanes(count - t0);
  for (int64_t g = 0; g < queries; ++g) {
    const float* qg = q + g * cols;
    __m512 acc[16];
    for (int k = 0; k < 16; ++k) acc[k] = _mm512_setzero_ps();
    for (int64_t d = 0; d < full; d += 16) {
      const __m512 qv = _mm512_loadu_ps(qg + d);
      for (int k = 0; k < 16; ++k) acc[k] = _mm512_fmadd_ps(qv, load16(r[k] + d, all), acc[k]);
    }
    if (full < cols) {
      const __m512 qv = _mm512_maskz_loadu_ps(tail, qg + full);
      for (int k = 0; k < 16; ++k) acc[k] = _mm512_fmadd_ps(qv, load16(r[k] + full, tail), acc[k]);
    }
    _mm512_mask_storeu_ps(out + g * out_stride + t0, valid, sums16(acc));
  }
}

// G outputs (G <= 4), columns d..d+63 (those below cols): each row's 64 values are loaded once for
// all G outputs, whose 4 x G accumulators are independent FMA chains.
template <int G, typename Row>
void weighted_rows_64(const float* w, int64_t w_stride, const Row* rows, int64_t count, int64_t cols, int64_t d,
                      float* out, const RowPrefetch* prefetch) {
  __mmask16 mask[4];
  for (int c = 0; c < 4; ++c) mask[c] = first_lanes(cols - d - 16 * c);
  __m512 acc[G][4];
  for (int g = 0; g < G; ++g)
    for (int c = 0; c < 4; ++c) acc[g][c] = _mm512_maskz_loadu_ps(mask[c], out + g * cols + d + 16 * c);
  for (int64_t t = 0; t < count; ++t) {
    if (prefetch) prefetch->rows(t, 1);
    __m512 r[4];
    for (int c = 0; c < 4; ++c) r[c] = load16(rows + t * cols + d + 16 * c, mask[c]);
    for (int g = 0; g < G; ++g) {
      const __m512 wt = _mm512_set1_ps(w[g * w_stride + t]);
      for (int c = 0; c < 4; ++c) acc[g][c] = _mm512_fmadd_ps(wt, r[c], acc[g][c]);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int c = 0; c < 4; ++c) _mm512_mask_storeu_ps(out + g * cols + d + 16 * c, mask[c], acc[g][c]);
}

template <int G, typename Row>
void weighted_rows_group(const float* w, int64_t w_stride, const Row* rows, int64_t count, int64_t cols, float* out,
                         const RowPrefetch* prefetch) {
  for (int64_t d = 0; d < cols; d += 64, prefetch = nullptr) weighted_rows_64<G, Row>(w, w_stride, rows, count, cols, d, out, prefetch);
}

template <typename Row>
void dot_rows_of(const float* q, int64_t queries, const Row* rows, int64_t row_stride, int64_t count, int64_t cols,
                 float* out, int64_t out_stride) {
  const RowPrefetch prefetch(rows, row_stride, cols);
  for (int64_t t0 = 0; t0 < count; t0 += 16) {
    prefetch.rows(t0, 16);
    dot_rows_16(q, queries, rows, row_stride, count, cols, t0, out, out_stride);
  }
}

template <typename Row>
void add_weighted_rows_of(const float* w, int64_t w_stride, int64_t outputs, const Row* rows, int64_t count,
                          int64_t cols, float* out) {
  // The first pass over the rows prefetches them.
  const RowPrefetch prefetch(rows, cols, cols);
  const RowPrefetch* first = &prefetch;
  int64_t g = 0;
  for (; g + 4 <= outputs; g += 4, first = nullptr) {
    weighted_rows_group<4>(w + g * w_stride, w_stride, rows, count, cols, out + g * cols, first);
  }
  const int64_t rest = outputs - g;
  if (rest == 3) weighted_rows_group<3>(w + g * w_stride, w_stride, rows, count, cols, out + g * cols, first);
  if (rest == 2) weighted_rows_group<2>(w + g * w_stride, w_stride, rows, count, cols, out + g * cols, first);
  if (rest == 1) weighted_rows_group<1>(w + g * w_stride, w_stride, rows, count, cols, out + g * cols, first);
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

}  // namespace slim::kernels::avx512_vnni

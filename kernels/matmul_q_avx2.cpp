// AVX2 matmul for q8_0 / q4_0 weights against 8-bit quantized activations. Built with -mavx2 -mfma
// -mf16c and only called after cpu_features() confirmed them.
//
// Blocks are taken two at a time: one 256-bit register holds the first halves of blocks b and b+1
// (lanes 0-15 / 16-31), another the second halves, so the sums of both blocks come out of one
// madd chain side by side (lanes 0-3: block b, lanes 4-7: block b+1) and cost one int->float
// conversion and one FMA with the scale vector [d_b x4 | d_b+1 x4]. The products are exact:
//   q4_0: nibbles 0..15 are maddubs' unsigned operand; the offset 8 is taken off the int32 lanes
//         as 2 * (sum of the activation block) per lane, the sum computed once per matmul.
//   q8_0: maddubs(|w|, sign(x, w)) (|w| <= 128, |x| <= 127), widened to s32 before the halves
//         are added.
// Every output is computed by the same instruction sequence whatever the tile, so results do not
// depend on n or on how rows are split over threads.
//
// Decode (one activation row) walks the weight rows one after the other: a single sequential
// stream is what the hardware prefetcher follows best. Measured on Zen 1 (1 thread, weights in
// DRAM on 2 MiB pages): q8_0 1536x576 at 20 GB/s one row at a time vs 6-10 GB/s for tiles of 2 or
// 4 interleaved rows, with or without software prefetch. Prefill tiles R weight rows x T
// activation rows. Each (weight row, activation row) pair keeps an 8-lane f32 accumulator until
// the end of the row.
#include <immintrin.h>

#include <algorithm>
#include <memory>

#include "kernels/avx2_common.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::avx2 {
namespace {

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

// Outputs y[t+j][r+i] for i < R, j < T from activation pairs prepared for these T rows
// (x[p * T + j]: pair p of row t + j); each weight pair is loaded once for T activation rows and
// each activation pair once for R weight rows.
template <typename Q, int R, int T>
inline void tile(const MatmulArgs& a, int64_t r, int64_t t, const typename Q::X* x) {
  using Block = typename Q::Block;
  const int64_t nb = a.xq.blocks;
  const Block* w = static_cast<const Block*>(a.w.data) + r * nb;
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2, x += T) {
    const int64_t b1 = b + 1 == nb ? b : b + 1;
    __m256 dx[T];
    for (int j = 0; j < T; ++j) dx[j] = Q::spread_d(x[j]);
    for (int i = 0; i < R; ++i) {
      if constexpr (R > 1) {
        // R rows are R interleaved streams, and each tile starts R-1 new ones that the hardware
        // prefetcher would pick up late: fetch the same block of the next tile's rows.
        _mm_prefetch(reinterpret_cast<const char*>(w + (i + R) * nb + b), _MM_HINT_T1);
      }
      const Block& w0 = w[i * nb + b];
      const Block& w1 = w[i * nb + b1];
      const typename Q::W wv = Q::load(w0, w1);
      const __m256 dw = spread_pair(scale_pair(w0.d, w1.d));
      for (int j = 0; j < T; ++j) acc[i][j] = step<Q>(acc[i][j], wv, _mm256_mul_ps(dw, dx[j]), x[j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r + i] = hsum(acc[i][j]);
}

// The pairs of activation rows t..t+T-1 into x[p * T + j].
template <typename Q, int T>
void prepare_rows(const QuantizedActs& xq, int64_t t, typename Q::X* x) {
  for (int64_t p = 0; p < (xq.blocks + 1) / 2; ++p)
    for (int j = 0; j < T; ++j) x[p * T + j] = Q::prepare(act_pair(xq, t + j, 2 * p));
}

// Decode: the dot product of one weight row (nb blocks) with activation pairs prepared once for
// all rows. The same steps as tile()'s, with the odd last block paired with itself.
template <typename Q>
inline float row_dot(const typename Q::Block* w, int64_t nb, const typename Q::X* x) {
  __m256 acc = _mm256_setzero_ps();
  for (const auto* end = w + (nb & ~int64_t{1}); w != end; w += 2, ++x) {
    acc = step<Q>(acc, Q::load(w[0], w[1]), Q::scale(scale_pair(w[0].d, w[1].d), *x), *x);
  }
  if (nb % 2 != 0) acc = step<Q>(acc, Q::load(w[0], w[0]), Q::scale(scale_pair(w[0].d, w[0].d), *x), *x);
  return hsum(acc);
}

template <typename Q>
void run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  using X = typename Q::X;
  constexpr int kR = 2, kT = 4;  // prefill tile
  const int64_t n = a.n, nb = a.xq.blocks, pairs = (nb + 1) / 2;
  const int64_t full_t = n - n % kT;
  const std::unique_ptr<X[]> x(new X[static_cast<size_t>(pairs * (full_t > 0 ? kT : 1))]);
  if (full_t > 0) {
    // Rows in groups whose weights (about 256 KiB) stay in L2 while every token tile passes by;
    // each token tile's pairs are prepared once per group.
    const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
    const int64_t group = std::max<int64_t>(kR, (256 * 1024 / std::max<int64_t>(row_bytes, 1)) / kR * kR);
    for (int64_t g0 = r0; g0 < r1; g0 += group) {
      const int64_t g1 = std::min(r1, g0 + group);
      for (int64_t t = 0; t < full_t; t += kT) {
        prepare_rows<Q, kT>(a.xq, t, x.get());
        int64_t r = g0;
        for (; r + kR <= g1; r += kR) tile<Q, kR, kT>(a, r, t, x.get());
        for (; r < g1; ++r) tile<Q, 1, kT>(a, r, t, x.get());
      }
    }
  }
  // Decode and leftovers, one activation row at a time, its pairs prepared once for all rows.
  const auto* w = static_cast<const typename Q::Block*>(a.w.data);
  for (int64_t t = full_t; t < n; ++t) {
    prepare_rows<Q, 1>(a.xq, t, x.get());
    int64_t r = r0;
    if (nb >= Q::kTileFromBlocks) {
      // Long rows: a row of prepared pairs (1.5-2 bytes a column) and the weight row it meets no
      // longer fit L1 together; tiles of 4 rows read each pair once for 4 rows (measured, 1
      // thread, 4096x14336: q8_0 20 vs 13 GB/s, q4_0 20 vs 9 GB/s; 3072x8192 q4_0 19 vs 8-13
      // GB/s, while q8_0 at 8192 columns is still faster one row at a time, 27 vs 22 GB/s).
      for (; r + 4 <= r1; r += 4) tile<Q, 4, 1>(a, r, t, x.get());
    }
    // Otherwise the weight rows one after the other: one sequential stream, which the hardware
    // prefetcher follows best.
    float* y = a.y + t * a.w.rows;
    for (; r < r1; ++r) y[r] = row_dot<Q>(w + r * nb, nb, x.get());
  }
}

}  // namespace

void matmul_q_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  if (a.w.dtype == DType::q8_0) return run<Q8>(a, r0, r1);
  return run<Q4>(a, r0, r1);
}

}  // namespace slim::kernels::avx2

// AVX2 matmul for the K-quants (q4_k, q5_k, q6_k) in the GGUF super-block layout against Q8_K
// activations (kquant_blocks.hpp). Built with -mavx2 -mfma -mf16c and only called after
// cpu_features() confirmed them.
//
// Per super-block the integer sums are exact int32 lanes: maddubs(unsigned weight values, int8
// activations) gives pairs below 2 * 63 * 127, madd with the sub-block scales widens them to
// int32. q6_k's offset 32 is taken off as 32 * Σ_k scales_k bsums_k, q4_k / q5_k's mins come from
// the activation sums as Σ_j m_j (bsums_2j + bsums_2j+1). The float combination per super-block,
// into one 8-lane accumulator summed at the end of the row:
//   acc = fma(float(isum lanes), d * d_x, acc);  acc = fnma(float(msum lanes), dmin * d_x, acc)
// (the scalar reference sums the same integers in a different order: the results agree to float
// rounding). Every output is computed by this sequence whatever the tile, so results do not depend
// on n or on how rows are split over threads.
//
// Decode walks the weight rows one after the other with the stream prefetched ahead (as q4_0's);
// prefill takes each weight super-block once for 4 activation rows.
#include <immintrin.h>

#include <algorithm>

#include "kernels/avx2_common.hpp"
#include "kernels/matmul_impl.hpp"
#include "kernels/stream_prefetch.hpp"

namespace slim::kernels::avx2 {
namespace {

inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Bytes 0-7: the eight 6-bit scales of a q4_k / q5_k block, bytes 8-15 its eight mins
// (unpack_scale_mins(), four bytes at a time). Reads 16 bytes at s: the 12 scale bytes and the
// first 4 of qs, inside the block.
inline __m128i scales_and_mins(const uint8_t* s) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  // Four-byte pieces: a = [s0-3 | s8-11 | s4-7 | s8-11], b = [0 | s0-3 | 0 | s4-7].
  const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i b = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  // Low bits: 6 of s0-3 / s4-7, the low nibbles of s8-11 (scales 4-7), the high ones (mins 4-7);
  // top bits: bits 6-7 of s0-3 / s4-7 moved to bits 4-5 (shifts within 16-bit lanes move each
  // byte's bits into its own byte, the masks keep only those).
  const __m128i low = _mm_or_si128(_mm_and_si128(a, _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0)),
                                   _mm_and_si128(_mm_srli_epi16(a, 4), _mm_setr_epi32(0, 0, 0, 0x0F0F0F0F)));
  return _mm_or_si128(low, _mm_and_si128(_mm_srli_epi16(b, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030)));
}

// int16 lanes all holding lane j of v (v holds eight int16 in each 128-bit half).
inline __m256i broadcast16(__m256i v, int j) { return _mm256_shuffle_epi8(v, _mm256_set1_epi16(static_cast<short>((2 * j + 1) << 8 | 2 * j))); }

// The rows of x: T activation rows' super-block b.
template <int T>
struct Acts {
  const int8_t* q[T];
  const int16_t* bsums[T];
  float d[T];
};

// q4_k and q5_k: the super-block's integer sums for T activation rows, and its mins as int16
// [m0, m0, m1, m1, ..., m7, m7] (one per run of 16 activations).
template <bool kHigh, typename Block, int T>
inline __m256i scale_min_dot(const Block& w, const Acts<T>& x, __m256i* isum) {
  const __m128i sm = scales_and_mins(w.scales);
  const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
  const __m256i nibbles = _mm256_set1_epi8(15);
  __m256i qh;
  if constexpr (kHigh) qh = load(w.qh);
  for (int j = 0; j < T; ++j) isum[j] = _mm256_setzero_si256();
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load(w.qs + 32 * c);
    __m256i lo = _mm256_and_si256(q, nibbles), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), nibbles);
    if constexpr (kHigh) {
      // Bit 2c (2c + 1) of each qh byte moved to bit 4: within a 16-bit lane the shifts move each
      // byte's own bits there.
      const __m256i sixteen = _mm256_set1_epi8(16);
      lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * c), 4), sixteen));
      hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * c + 1), 4), sixteen));
    }
    const __m256i s_lo = broadcast16(sc, 2 * c), s_hi = broadcast16(sc, 2 * c + 1);
    for (int j = 0; j < T; ++j) {
      const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load(x.q[j] + 64 * c)), s_lo);
      const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load(x.q[j] + 64 * c + 32)), s_hi);
      isum[j] = _mm256_add_epi32(isum[j], _mm256_add_epi32(p_lo, p_hi));
    }
  }
  return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
}

struct Q4K {
  using Block = BlockQ4_K;
  static constexpr bool kMins = true;
  template <int T>
  static __m256i dot(const Block& w, const Acts<T>& x, __m256i* isum) { return scale_min_dot<false>(w, x, isum); }
};

struct Q5K {
  using Block = BlockQ5_K;
  static constexpr bool kMins = true;
  template <int T>
  static __m256i dot(const Block& w, const Acts<T>& x, __m256i* isum) { return scale_min_dot<true>(w, x, isum); }
};

struct Q6K {
  using Block = BlockQ6_K;
  static constexpr bool kMins = false;
  template <int T>
  static __m256i dot(const Block& w, const Acts<T>& x, __m256i* isum) {
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
    const __m256i low4 = _mm256_set1_epi8(15), bits45 = _mm256_set1_epi8(0x30);
    for (int j = 0; j < T; ++j) {
      // The offset 32: 32 * Σ_k scales_k bsums_k, taken off at the start.
      const __m256i bs = load(x.bsums[j]);
      isum[j] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(bs, _mm256_cvtepi8_epi16(sc8)), 5));
    }
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load(w.ql + 64 * h), ql1 = load(w.ql + 64 * h + 32), qh = load(w.qh + 32 * h);
      // The four runs of 32 values of this half (dequantize_row_q6_K's order), 0..63 each: qh's
      // bit pairs 0-1, 2-3, 4-5, 6-7 moved to bits 4-5 (within a 16-bit lane, each byte's own).
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
          _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, bits45)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45)),
      };
      for (int k = 0; k < 4; ++k) {
        // Run r = 4h + k covers sub-blocks 2r (its first 16 values) and 2r + 1.
        const int r = 4 * h + k;
        const __m256i s = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(
            sc8, _mm_setr_epi8(static_cast<char>(2 * r), static_cast<char>(2 * r), static_cast<char>(2 * r), static_cast<char>(2 * r),
                               static_cast<char>(2 * r), static_cast<char>(2 * r), static_cast<char>(2 * r), static_cast<char>(2 * r),
                               static_cast<char>(2 * r + 1), static_cast<char>(2 * r + 1), static_cast<char>(2 * r + 1),
                               static_cast<char>(2 * r + 1), static_cast<char>(2 * r + 1), static_cast<char>(2 * r + 1),
                               static_cast<char>(2 * r + 1), static_cast<char>(2 * r + 1))));
        for (int j = 0; j < T; ++j) {
          isum[j] = _mm256_add_epi32(isum[j], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], load(x.q[j] + 128 * h + 32 * k)), s));
        }
      }
    }
    return _mm256_setzero_si256();
  }
};

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

template <typename K>
inline float dmin_of(const typename K::Block& w) {
  if constexpr (K::kMins) return f16(w.dmin);
  return 0.0f;
}

// Outputs y[t + j][r] for j < T: weight row r against activation rows t..t+T-1.
template <typename K, int T>
inline void tile(const MatmulArgs& a, int64_t r, int64_t t, StreamPrefetch* prefetch) {
  const QuantizedActsK& xk = a.xk;
  const int64_t nb = xk.blocks;
  const auto* w = static_cast<const typename K::Block*>(a.w.data) + r * nb;
  __m256 acc[T];
  for (int j = 0; j < T; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    if (prefetch != nullptr) prefetch->upto(w + b + 1);
    Acts<T> x;
    for (int j = 0; j < T; ++j) {
      const int64_t at = (t + j) * nb + b;
      x.q[j] = xk.q + (t + j) * xk.cols + b * kSuperBlock;
      x.bsums[j] = xk.bsums + at * 16;
      x.d[j] = xk.d[at];
    }
    __m256i isum[T];
    const __m256i mins = K::template dot<T>(w[b], x, isum);
    const float d = f16(w[b].d), dmin = dmin_of<K>(w[b]);
    for (int j = 0; j < T; ++j) {
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_set1_ps(d * x.d[j]), acc[j]);
      if constexpr (K::kMins) {
        const __m256i msum = _mm256_madd_epi16(load(x.bsums[j]), mins);
        acc[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin * x.d[j]), acc[j]);
      }
    }
  }
  for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r] = hsum(acc[j]);
}

template <typename K>
void run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  constexpr int kT = 4;  // prefill tile: activation rows per weight super-block loaded
  const int64_t n = a.n, full_t = n - n % kT;
  if (full_t > 0) {
    // Rows in groups whose weights (about 256 KiB) stay in L2 while every token tile passes by.
    const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
    const int64_t group = std::max<int64_t>(1, 256 * 1024 / std::max<int64_t>(row_bytes, 1));
    for (int64_t g0 = r0; g0 < r1; g0 += group) {
      const int64_t g1 = std::min(r1, g0 + group);
      for (int64_t t = 0; t < full_t; t += kT) {
        for (int64_t r = g0; r < g1; ++r) tile<K, kT>(a, r, t, nullptr);
      }
    }
  }
  // Decode and leftovers: the weight rows one after the other, one stream prefetched ahead.
  for (int64_t t = full_t; t < n; ++t) {
    StreamPrefetch prefetch(static_cast<const typename K::Block*>(a.w.data) + r0 * a.xk.blocks);
    for (int64_t r = r0; r < r1; ++r) tile<K, 1>(a, r, t, &prefetch);
  }
}

}  // namespace

void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1) { run<Q4K>(a, r0, r1); }
void matmul_rows_q5_k(const MatmulArgs& a, int64_t r0, int64_t r1) { run<Q5K>(a, r0, r1); }
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1) { run<Q6K>(a, r0, r1); }

}  // namespace slim::kernels::avx2

// AVX2 matmul for q8_0 / q4_0 / q4_1 / q5_0 / q5_1 weights in the groups8 layout (quant_blocks.hpp)
// against 8-bit quantized activations. Built with -mavx2 -mfma -mf16c and only called after
// cpu_features() confirmed them.
//
// A group is 8 blocks whose values lie so that 32-bit lane k of each 32-byte register holds block
// k. The activations of a group are dealt out the same way once per matmul (XGroup), so the
// integer dot products of all 8 blocks build up side by side, one per lane, and are scaled by one
// FMA with [d_w,k * d_x,k]: per 256 weights one f16 conversion, one int->float conversion and one
// FMA, where the GGUF layout needs four of each and a shuffle per pair of blocks. The products are
// exact:
//   q4_0: maddubs(nibble, x) <= 2 * 15 * 127 per 16-bit lane, so the 8 registers of a group add up
//         in 16 bits (<= 30480) before one madd widens them; the offset 8 comes off as 8 * (sum of
//         the activation block) per lane.
//   q8_0: maddubs(|w|, sign(x, w)) (|w| <= 128, |x| <= 127) is widened per register.
//   q4_1, q5_0, q5_1: see GLow below.
// The blocks after the last whole group (a row of 576 columns: 2 groups and 2 blocks) go through
// the pair code of the GGUF layout (q_pairs_avx2.hpp) on the same accumulators. Decode and prefill
// run the same instruction sequence for every output, so results do not depend on n or on how rows
// are split over threads.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu_features.hpp"
#include "kernels/q_pairs_avx2.hpp"
#include "kernels/scratch.hpp"
#include "kernels/stream_prefetch.hpp"

namespace slim::kernels::avx2 {
namespace {

// The activations of one group of one row, in the weights' order.
struct XGroup {
  __m256i a[kGroupBlocks];  // register r, lane k: values 4r .. 4r+3 of block k
  // Lane k: the weights' offset times the sum of block k's values (q4_0: 8, q5_0: 16, G::kOffset);
  // for the types with a minimum (no offset), d_x times that sum as f32 bits, what the minimum meets.
  __m256i corr_or_s;
  __m256 d;  // lane k: block k's scale
};

template <typename G>
XGroup prepare_group(const QuantizedActs& xq, int64_t t, int64_t g) {
  const int8_t* q = xq.q + t * xq.cols + g * kGroupBlocks * kBlock;
  alignas(32) int32_t lanes[kGroupBlocks][8];
  for (int r = 0; r < kGroupBlocks; ++r) {
    for (int k = 0; k < 8; ++k) std::memcpy(&lanes[r][k], q + k * kBlock + 4 * r, 4);
  }
  XGroup x;
  for (int r = 0; r < kGroupBlocks; ++r) x.a[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes[r]));
  const int64_t b = t * xq.blocks + g * kGroupBlocks;
  const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.sums + b));
  x.d = _mm256_loadu_ps(xq.d + b);
  if constexpr (G::kMin) {
    x.corr_or_s = _mm256_castps_si256(_mm256_mul_ps(x.d, _mm256_cvtepi32_ps(sums)));
  } else {
    x.corr_or_s = _mm256_mullo_epi32(sums, _mm256_set1_epi32(G::kOffset));
  }
  return x;
}

// Each weight type: dot<T>() gives the exact integer dot products of one weight group with the
// same group of T activation rows (x[j]), block k in lane k; Pair is the GGUF pair code for the
// blocks after the last group; kOffset and kMin as in q_pairs_avx2.hpp.
//
// q4_0, q4_1, q5_0, q5_1 (GroupQ4_0 / GroupQ4_1 / GroupQ5_0 / GroupQ5_1): the nibbles of chunk c
// give registers 2c (low) and 2c + 1 (high); q5's fifth bits for register r are bit plane r of qh
// (quant_blocks.hpp), moved to bit 4 of each byte by one 16-bit shift (bits move by at most 4, so
// none crosses into the next byte under the mask). maddubs' 16-bit sums stay exact: a pair of
// 4-bit registers gives at most 2 * 2 * 15 * 127 = 7620 a lane, 8 of them 30480; 5-bit ones give
// 15748 a pair, so q5 widens every two chunks.
template <typename Gr, typename P>
struct GLow {
  using Group = Gr;
  using Pair = P;
  static constexpr bool kFive = requires(const Gr& g) { g.qh; };
  static constexpr bool kMin = P::kMin;
  static constexpr int32_t kOffset = kMin ? 0 : kFive ? 16 : 8;
  static constexpr bool kPrefetch = true, kPrefetchRuns = true;  // see stream_prefetch.hpp
  // 16 at byte p where bit r of planes[p] is set.
  template <int r>
  static __m256i fifth_bits(__m256i planes) {
    const __m256i bit4 = _mm256_set1_epi8(16);
    if constexpr (r < 4) return _mm256_and_si256(_mm256_slli_epi16(planes, 4 - r), bit4);
    if constexpr (r == 4) return _mm256_and_si256(planes, bit4);
    if constexpr (r > 4) return _mm256_and_si256(_mm256_srli_epi16(planes, r - 4), bit4);
  }
  template <int T>
  static void dot(const Group& w, const XGroup* x, __m256i* out) {
    const __m256i m = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    __m256i s[T], planes;
    for (int j = 0; j < T; ++j) s[j] = _mm256_setzero_si256();
    if constexpr (kFive) {
      planes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
      for (int j = 0; j < T; ++j) out[j] = _mm256_setzero_si256();
    }
    const auto chunk = [&]<int c>() {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * c));
      __m256i lo = _mm256_and_si256(v, m), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
      if constexpr (kFive) {
        lo = _mm256_or_si256(lo, fifth_bits<2 * c>(planes));
        hi = _mm256_or_si256(hi, fifth_bits<2 * c + 1>(planes));
      }
      for (int j = 0; j < T; ++j) {
        s[j] = _mm256_add_epi16(
            s[j], _mm256_add_epi16(_mm256_maddubs_epi16(lo, x[j].a[2 * c]), _mm256_maddubs_epi16(hi, x[j].a[2 * c + 1])));
      }
      if constexpr (kFive && c % 2 == 1) {
        for (int j = 0; j < T; ++j) {
          out[j] = _mm256_add_epi32(out[j], _mm256_madd_epi16(s[j], ones));
          s[j] = _mm256_setzero_si256();
        }
      }
    };
    chunk.template operator()<0>();
    chunk.template operator()<1>();
    chunk.template operator()<2>();
    chunk.template operator()<3>();
    for (int j = 0; j < T; ++j) {
      if constexpr (!kFive) out[j] = _mm256_madd_epi16(s[j], ones);
      if constexpr (!kMin) out[j] = _mm256_sub_epi32(out[j], x[j].corr_or_s);
    }
  }
};
using G4 = GLow<GroupQ4_0, Q4>;
using G4_1 = GLow<GroupQ4_1, Q4_1>;
using G5_0 = GLow<GroupQ5_0, Q5_0>;
using G5_1 = GLow<GroupQ5_1, Q5_1>;

struct G8 {
  using Group = GroupQ8_0;
  using Pair = Q8;
  static constexpr bool kMin = false;
  static constexpr int32_t kOffset = 0;  // maddubs' sign trick: no offset
  static constexpr bool kPrefetch = false, kPrefetchRuns = false;
  template <int T>
  static void dot(const Group& w, const XGroup* x, __m256i* out) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int j = 0; j < T; ++j) out[j] = _mm256_setzero_si256();
    for (int r = 0; r < kGroupBlocks; ++r) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.q + 32 * r));
      const __m256i magnitude = _mm256_abs_epi8(v);
      for (int j = 0; j < T; ++j) {
        const __m256i p = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(x[j].a[r], v));
        out[j] = _mm256_add_epi32(out[j], _mm256_madd_epi16(p, ones));
      }
    }
  }
};

// G8 with its decode stream prefetched, for Intel CPUs (see vnni_q8_0_rows in q_groups_vnni.hpp).
struct G8Stream : G8 {
  static constexpr bool kPrefetch = true;
};

// acc[j] + (weight group . activation group x[j]) * [d_w,k * d_x,k] for j < T: the one step of
// every output's groups, in decode and prefill alike. The min types add m_w,k * (d_x,k sum_k) as
// the FMA's addend, as the pair code does (step() in q_pairs_avx2.hpp).
template <typename G, int T>
inline void group_step(__m256* acc, const typename G::Group& w, const XGroup* x) {
  __m256i dots[T];
  G::template dot<T>(w, x, dots);
  const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.d)));
  if constexpr (G::kMin) {
    const __m256 mw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.m)));
    for (int j = 0; j < T; ++j) {
      const __m256 min = _mm256_mul_ps(mw, _mm256_castsi256_ps(x[j].corr_or_s));
      acc[j] = _mm256_add_ps(acc[j], _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots[j]), _mm256_mul_ps(dw, x[j].d), min));
    }
  } else {
    for (int j = 0; j < T; ++j) acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots[j]), _mm256_mul_ps(dw, x[j].d), acc[j]);
  }
}

// Outputs y[t+j][r] for j < T: weight row r against activation rows t..t+T-1, whose groups are
// prepared in xg[g * T + j] and the pairs after them in xp[p * T + j]. Each weight group is loaded
// once for the T rows.
template <typename G, int T>
inline void row_tile(const MatmulArgs& a, int64_t r, int64_t t, const XGroup* xg, const typename G::Pair::X* xp) {
  using Pair = typename G::Pair;
  using Block = typename Pair::Block;
  const int64_t nb = a.xq.blocks, groups = nb / kGroupBlocks;
  const auto* w = reinterpret_cast<const typename G::Group*>(static_cast<const unsigned char*>(a.w.data) +
                                                             r * static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols)));
  __m256 acc[T];
  for (int j = 0; j < T; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t g = 0; g < groups; ++g, xg += T) group_step<G, T>(acc, w[g], xg);
  const Block* tail = reinterpret_cast<const Block*>(w + groups);
  const int64_t tail_blocks = nb - groups * kGroupBlocks;
  for (int64_t b = 0; b < tail_blocks; b += 2, xp += T) {
    const Block& w0 = tail[b];
    const Block& w1 = tail[b + 1 < tail_blocks ? b + 1 : b];
    const typename Pair::W wv = Pair::load(w0, w1);
    const __m256 dw = spread_pair(scale_pair(w0.d, w1.d));
    for (int j = 0; j < T; ++j) acc[j] = step<Pair>(acc[j], wv, _mm256_mul_ps(dw, Pair::spread_d(xp[j])), xp[j]);
  }
  for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r] = hsum(acc[j]);
}

// Decode: the groups of one weight row against one activation row (a loop of its own: through
// row_tile<G, 1> the same steps ran slower, 17.0 against 15.5 us per 1536x512 q4_0 matmul).
template <typename G>
inline __m256 groups_dot(const typename G::Group* w, int64_t groups, const XGroup* x, StreamPrefetch& prefetch) {
  __m256 acc = _mm256_setzero_ps();
  for (const auto* end = w + groups; w != end; ++w, ++x) {
    if constexpr (G::kPrefetch) prefetch.upto(w + 1);
    group_step<G, 1>(&acc, *w, x);
  }
  return acc;
}

// Decode of long rows: weight rows r..r+R-1 against one activation row, group by group, so each
// prepared activation group is read once for R rows (a long row's groups, 40 bytes a block, no
// longer stay in L1 beside the weight stream). The same steps as groups_dot() and pairs_dot().
template <typename G, int R>
inline void rows_dot(const MatmulArgs& a, int64_t r, const XGroup* xg, const typename G::Pair::X* xp, float* y) {
  using Block = typename G::Pair::Block;
  const int64_t nb = a.xq.blocks, groups = nb / kGroupBlocks;
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  const auto* first = static_cast<const unsigned char*>(a.w.data) + r * row_bytes;
  const typename G::Group* w[R];
  for (int i = 0; i < R; ++i) w[i] = reinterpret_cast<const typename G::Group*>(first + i * row_bytes);
  __m256 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    for (int i = 0; i < R; ++i) {
      // R interleaved streams, and the next tile's R start late for the hardware prefetcher.
      _mm_prefetch(reinterpret_cast<const char*>(w[i] + g) + R * row_bytes, _MM_HINT_T1);
      group_step<G, 1>(&acc[i], w[i][g], xg + g);
    }
  }
  for (int i = 0; i < R; ++i) {
    y[r + i] = hsum(pairs_dot<typename G::Pair>(acc[i], reinterpret_cast<const Block*>(w[i] + groups), nb - groups * kGroupBlocks, xp));
  }
}

// The groups and tail pairs of activation rows t..t+T-1.
template <typename G, int T>
void prepare(const QuantizedActs& xq, int64_t t, XGroup* xg, typename G::Pair::X* xp) {
  const int64_t groups = xq.blocks / kGroupBlocks;
  for (int64_t g = 0; g < groups; ++g)
    for (int j = 0; j < T; ++j) xg[g * T + j] = prepare_group<G>(xq, t + j, g);
  prepare_pairs<typename G::Pair, T>(xq, t, groups * kGroupBlocks, xp);
}

// Decode takes rows kTileRows at a time from kTileFromGroups groups a row (10240 columns: 12.5 KiB
// of prepared activations) on. Measured, 1 thread, GB/s of weights (bench_matmul n:1): 4096x14336
// q8_0 16.9 one row at a time, 16.3 / 21.6 / 25.8 in tiles of 2 / 4 / 8 rows, q4_0 17.9 and 13.9 /
// 19.6 / 22.5; 2048x8192 (32 groups) is faster one row at a time, q8_0 29.1 against 22.3 in
// tiles of 8.
constexpr int64_t kTileFromGroups = 40;
constexpr int kTileRows = 8;

// One tile of T activation rows (from t) over weight rows g0..g1 (for_each_tile). A run's first
// tile (t == 0) meets its weights in memory and prefetches them ahead (stream_prefetch.hpp); the
// tiles after it find them in L2.
template <typename G, int T>
void tiles(const MatmulArgs& a, int64_t g0, int64_t g1, int64_t t, XGroup* xg, typename G::Pair::X* xp) {
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  const auto* rows = static_cast<const unsigned char*>(a.w.data);
  prepare<G, T>(a.xq, t, xg, xp);
  StreamPrefetch prefetch(rows + g0 * row_bytes);
  for (int64_t r = g0; r < g1; ++r) {
    if (G::kPrefetchRuns && t == 0) prefetch.upto(rows + (r + 1) * row_bytes);
    row_tile<G, T>(a, r, t, xg, xp);
  }
}

template <typename G>
void run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  using X = typename G::Pair::X;
  using Block = typename G::Pair::Block;
  constexpr int kT = 4;  // prefill: activation rows per pass over a weight row
  const int64_t n = a.n, nb = a.xq.blocks, groups = nb / kGroupBlocks, tail_blocks = nb - groups * kGroupBlocks;
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  const int64_t per_row = n > 1 ? kT : 1;
  // Inline up to 16384 columns at decode, 4096 at prefill (20 KiB), and every tail (< 4 pairs).
  Scratch<XGroup, 64> xg(static_cast<size_t>(groups * per_row));
  Scratch<X, 4 * kT> xp(static_cast<size_t>((tail_blocks + 1) / 2 * per_row));
  if (n > 1) {
    const int64_t run_rows = std::max<int64_t>(1, 256 * 1024 / row_bytes);
    for_each_tile<kT>(n, r0, r1, run_rows, [&]<int T>(int64_t g0, int64_t g1, int64_t t) {
      tiles<G, T>(a, g0, g1, t, xg.get(), xp.get());
    });
    return;
  }
  // Decode: the weight rows one after the other, one sequential stream.
  prepare<G, 1>(a.xq, 0, xg.get(), xp.get());
  const auto* row = static_cast<const unsigned char*>(a.w.data) + r0 * row_bytes;
  int64_t r = r0;
  if (groups >= kTileFromGroups) {
    for (; r + kTileRows <= r1; r += kTileRows, row += kTileRows * row_bytes) rows_dot<G, kTileRows>(a, r, xg.get(), xp.get(), a.y);
  }
  StreamPrefetch prefetch(row);
  for (; r < r1; ++r, row += row_bytes) {
    const auto* w = reinterpret_cast<const typename G::Group*>(row);
    const __m256 acc = groups_dot<G>(w, groups, xg.get(), prefetch);
    if constexpr (G::kPrefetch) prefetch.upto(row + row_bytes);
    a.y[r] = hsum(pairs_dot<typename G::Pair>(acc, reinterpret_cast<const Block*>(w + groups), tail_blocks, xp.get()));
  }
}

}  // namespace

void matmul_rows_q8_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) {
  if (a.n == 1 && cpu_features().intel) return run<G8Stream>(a, r0, r1);
  run<G8>(a, r0, r1);
}
void matmul_rows_q4_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { run<G4>(a, r0, r1); }
void matmul_rows_q4_1_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { run<G4_1>(a, r0, r1); }
void matmul_rows_q5_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { run<G5_0>(a, r0, r1); }
void matmul_rows_q5_1_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { run<G5_1>(a, r0, r1); }

}  // namespace slim::kernels::avx2

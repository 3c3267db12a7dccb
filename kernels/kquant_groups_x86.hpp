// Internal to the x86 K-quant kernel files for the groups8 layout (matmul_kquants_groups_avx2.cpp,
// matmul_kquants_avx512_vnni.cpp): what their kernels share, in an unnamed namespace so each file,
// built with its own ISA flags, has its own copy.
//   - the scales of a GroupQ4_K / GroupQ5_K (kquant_blocks.hpp) unpacked for eight 32-bit lanes;
//   - the loops over rows and tiles, given a policy K: its Group, X (one activation row's
//     super-block, prepared once for every weight row it meets), W (one weight super-block,
//     loaded once for the activation rows of a tile), Acc, prepare(), load(), zero(), step(),
//     sum(), and its tile sizes kPrefillRows x kPrefillCols and kDecodeRows; optionally Pair,
//     PairAcc, pair(), zero_pair(), step_pair() and sum_pair() for two weight rows at once.
// Every output goes through the same steps in decode and prefill, so results do not depend on n
// or on how rows are split over threads.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/matmul_impl.hpp"
#include "kernels/scratch.hpp"
#include "kernels/stream_prefetch.hpp"

namespace slim::kernels {
namespace {

// A q4_k / q5_k group's factors: lane k of scales is sc_k, of mins dmin m_k; d in every lane.
struct GroupScales {
  __m256i scales;
  __m256 d, mins;
};

template <typename G>
inline GroupScales group_scales(const G& g) {
  // group_scale_mins() on all eight lanes: byte k widened to lane k gives sc_k in its low 6 bits
  // and m_k's top two in bits 6-7; the word of bytes 8-11 shifted right 4k gives m_k's low four.
  const __m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.scales)));
  uint32_t word;
  std::memcpy(&word, g.scales + 8, 4);
  const __m256i low = _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(word)), _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
  const __m256i mins = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(bytes, 2), _mm256_set1_epi32(0x30)),
                                       _mm256_and_si256(low, _mm256_set1_epi32(15)));
  return {_mm256_and_si256(bytes, _mm256_set1_epi32(63)), _mm256_set1_ps(_cvtsh_ss(g.d)),
          _mm256_mul_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(_cvtsh_ss(g.dmin)))};
}

// Lane k: d_x times the sum of sub-block k's 32 activations (bsums_2k + bsums_2k+1), what the
// mins of q4_k / q5_k meet.
inline __m256 scaled_sub_block_sums(const int16_t* bsums, __m256 d) {
  const __m256i sums = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums)), _mm256_set1_epi16(1));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(sums), d);
}

// Rows of this many super-blocks or more decode K::kDecodeRows at a time (as q4_0's groups).
constexpr int64_t kTileFromSuperBlocks = 40;

// The super-blocks of activation rows t..t+T-1 into x[b * T + j].
template <typename K, int T>
void kquant_groups_prepare(const QuantizedActsK& xk, int64_t t, typename K::X* x) {
  for (int64_t b = 0; b < xk.blocks; ++b)
    for (int j = 0; j < T; ++j) {
      const int64_t at = (t + j) * xk.blocks + b;
      x[b * T + j] = K::prepare(xk.q + (t + j) * xk.cols + b * kSuperBlock, xk.bsums + at * 16, xk.d[at]);
    }
}

// A policy with a Pair type (kquant_groups_tile's paired steps) works on two weight rows at once.
template <typename K>
concept PairsRows = requires { typename K::Pair; };

// The accumulators of a tile of R weight rows x T activation rows: one a row pair (K::PairAcc) or
// one a row (K::Acc) for each activation row. A tile over a range of super-blocks leaves them here
// for the next range (kquant_groups_tiles).
template <typename K, bool kPaired>
struct KquantAccOf {
  using type = typename K::Acc;
};
template <typename K>
struct KquantAccOf<K, true> {
  using type = typename K::PairAcc;
};
template <typename K, int R, int T>
struct KquantTileAcc {
  static constexpr bool kPaired = PairsRows<K> && R % 2 == 0;
  typename KquantAccOf<K, kPaired>::type v[kPaired ? R / 2 : R][T];
};

// Outputs y[t+j][r+i] for i < R, j < T: each weight super-block loaded once for the T activation
// rows, each prepared activation super-block once for the R weight rows. A decode tile (T = 1,
// R > 1: R interleaved streams) prefetches the same super-block of the next tile's rows; a single
// row (prefetch given) keeps its stream prefetched ahead. With carry, the tile covers super-blocks
// b0..b1 only (x at super-block b0): it starts from the accumulators carry holds unless b0 is 0,
// and leaves them there unless b1 is the row's end. Each accumulator then takes the super-blocks in
// the same order as without carry, so the same bits.
template <typename K, int R, int T>
inline void kquant_groups_tile(const MatmulArgs& a, int64_t r, int64_t t, const typename K::X* x, StreamPrefetch* prefetch,
                               KquantTileAcc<K, R, T>* carry = nullptr, int64_t b0 = 0, int64_t b1 = -1) {
  const int64_t nb = a.xk.blocks, row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  if (b1 < 0) b1 = nb;
  const bool resume = carry != nullptr && b0 > 0, leave = carry != nullptr && b1 < nb;
  const auto* first = static_cast<const unsigned char*>(a.w.data) + r * row_bytes;
  const typename K::Group* w[R];
  for (int i = 0; i < R; ++i) w[i] = reinterpret_cast<const typename K::Group*>(first + i * row_bytes);
  if constexpr (KquantTileAcc<K, R, T>::kPaired) {
    // Rows 2h and 2h + 1 share each register after the dot products (K::step_pair): the same
    // lane operations as K::step on each row's half, so the same bits as a row alone.
    typename K::PairAcc acc[R / 2][T];
    for (int h = 0; h < R / 2; ++h)
      for (int j = 0; j < T; ++j) acc[h][j] = resume ? carry->v[h][j] : K::zero_pair();
    for (int64_t b = b0; b < b1; ++b, x += T) {
      if (prefetch != nullptr) prefetch->upto(w[0] + b + 1);
      typename K::W wv[R];
      for (int i = 0; i < R; ++i) {
        if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(w[i] + b) + R * row_bytes, _MM_HINT_T1);
        wv[i] = K::load(w[i][b]);
      }
      typename K::Pair pairs[R / 2];
      for (int h = 0; h < R / 2; ++h) pairs[h] = K::pair(wv[2 * h], wv[2 * h + 1]);
      for (int j = 0; j < T; ++j)
        for (int h = 0; h < R / 2; ++h) acc[h][j] = K::step_pair(acc[h][j], wv[2 * h], wv[2 * h + 1], pairs[h], x[j]);
    }
    for (int h = 0; h < R / 2; ++h)
      for (int j = 0; j < T; ++j) {
        if (leave) {
          carry->v[h][j] = acc[h][j];
        } else {
          K::sum_pair(acc[h][j], a.y + (t + j) * a.w.rows + r + 2 * h);
        }
      }
  } else {
    typename K::Acc acc[R][T];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = resume ? carry->v[i][j] : K::zero();
    for (int64_t b = b0; b < b1; ++b, x += T) {
      if (prefetch != nullptr) prefetch->upto(w[0] + b + 1);
      typename K::W wv[R];
      for (int i = 0; i < R; ++i) {
        if constexpr (T == 1 && R > 1) _mm_prefetch(reinterpret_cast<const char*>(w[i] + b) + R * row_bytes, _MM_HINT_T1);
        wv[i] = K::load(w[i][b]);
      }
      for (int j = 0; j < T; ++j)
        for (int i = 0; i < R; ++i) acc[i][j] = K::step(acc[i][j], wv[i], x[j]);
    }
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) {
        if (leave) {
          carry->v[i][j] = acc[i][j];
        } else {
          a.y[(t + j) * a.w.rows + r + i] = K::sum(acc[i][j]);
        }
      }
  }
}

// Prefill tiles read a chunk of columns at a time where T rows of prepared activations exceed this
// much of L1 (32 KiB of Zen 5's 48; the tile's carried accumulators and the weights need the rest),
// each chunk this much: the activations are reread for every weight row pair, and from L2 they
// bound the tile.
constexpr size_t kPreparedActsL1 = 32 * 1024, kPreparedActsChunk = 24 * 1024;

// One tile of T activation rows (from t) over weight rows g0..g1, kR at a time (for_each_tile). A
// run's first tile (t == 0) meets its weights in memory and prefetches them ahead
// (stream_prefetch.hpp); the tiles after it find them in L2.
template <typename K, int T>
void kquant_groups_tiles(const MatmulArgs& a, int64_t g0, int64_t g1, int64_t t, typename K::X* x) {
  constexpr int kR = K::kPrefillRows;
  const int64_t nb = a.xk.blocks, row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  const auto* rows = static_cast<const unsigned char*>(a.w.data);
  kquant_groups_prepare<K, T>(a.xk, t, x);
  StreamPrefetch prefetch(rows + g0 * row_bytes);
  constexpr size_t kActs = T * sizeof(typename K::X);  // a super-block of T rows
  // The AVX2 policies' tiles of 4 rows gained nothing from chunks (Zen 5, q4_k 2048x8192 n:64 10.5
  // against 9.8-10.1 ms, n:512 level) and keep whole rows.
  if (K::kPrefillCols <= 4 || static_cast<size_t>(nb) * kActs <= kPreparedActsL1) {
    int64_t r = g0;
    for (; r + kR <= g1; r += kR) {
      if (t == 0) prefetch.upto(rows + (r + kR) * row_bytes);
      kquant_groups_tile<K, kR, T>(a, r, t, x, nullptr);
    }
    for (; r < g1; ++r) kquant_groups_tile<K, 1, T>(a, r, t, x, nullptr);
    return;
  }
  // Long rows: chunks of columns, every tile of the run through each chunk before the next one.
  const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>(kPreparedActsChunk / kActs));
  Scratch<KquantTileAcc<K, kR, T>, 32> pairs(static_cast<size_t>((g1 - g0) / kR));
  KquantTileAcc<K, 1, T> single[kR];
  for (int64_t b0 = 0; b0 < nb; b0 += chunk) {
    const int64_t b1 = std::min(nb, b0 + chunk);
    int64_t r = g0;
    for (int64_t i = 0; r + kR <= g1; r += kR, ++i) {
      if (t == 0 && b0 == 0) prefetch.upto(rows + (r + kR) * row_bytes);
      kquant_groups_tile<K, kR, T>(a, r, t, x + b0 * T, nullptr, pairs.get() + i, b0, b1);
    }
    for (int i = 0; r < g1; ++r, ++i) kquant_groups_tile<K, 1, T>(a, r, t, x + b0 * T, nullptr, single + i, b0, b1);
  }
}

// Prefill in tiles of up to kT activation rows, whose prepared super-blocks sit in x.
template <typename K, int kT>
void kquant_groups_prefill(const MatmulArgs& a, int64_t r0, int64_t r1, typename K::X* x) {
  constexpr int kR = K::kPrefillRows;
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  const int64_t run_rows = std::max<int64_t>(kR, 256 * 1024 / row_bytes / kR * kR);
  for_each_tile<kT>(a.n, r0, r1, run_rows, [&]<int T>(int64_t g0, int64_t g1, int64_t t) {
    kquant_groups_tiles<K, T>(a, g0, g1, t, x);
  });
}

template <typename K>
void kquant_groups_run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  constexpr int kT = K::kPrefillCols;
  const int64_t n = a.n, nb = a.xk.blocks;
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  // Inline up to 16384 columns at decode, 16384 / kT at prefill.
  Scratch<typename K::X, 64> x(static_cast<size_t>(nb * (n > 1 ? kT : 1)));
  if (n > 1) return kquant_groups_prefill<K, kT>(a, r0, r1, x.get());
  // Decode: long rows K::kDecodeRows at a time (as q4_0's), others one after the other as one
  // prefetched stream.
  kquant_groups_prepare<K, 1>(a.xk, 0, x.get());
  int64_t r = r0;
  if (nb >= kTileFromSuperBlocks) {
    for (; r + K::kDecodeRows <= r1; r += K::kDecodeRows) kquant_groups_tile<K, K::kDecodeRows, 1>(a, r, 0, x.get(), nullptr);
  }
  StreamPrefetch prefetch(static_cast<const unsigned char*>(a.w.data) + r * row_bytes);
  for (; r < r1; ++r) kquant_groups_tile<K, 1, 1>(a, r, 0, x.get(), &prefetch);
}

}  // namespace
}  // namespace slim::kernels

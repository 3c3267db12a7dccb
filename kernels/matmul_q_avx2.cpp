// AVX2 matmul for q8_0 / q4_0 / q4_1 / q5_0 / q5_1 weights in the GGUF block layout against 8-bit quantized
// activations, blocks taken two at a time (q_pairs_avx2.hpp); matrices in the groups8 layout go to
// matmul_q_groups_avx2.cpp. Built with -mavx2 -mfma -mf16c and only called after cpu_features()
// confirmed them.
//
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

#include "kernels/q_pairs_avx2.hpp"
#include "kernels/scratch.hpp"

namespace slim::kernels::avx2 {
namespace {

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
      const __m256 dw = weight_scales<Q>(wv, w0, w1);
      for (int j = 0; j < T; ++j) acc[i][j] = step<Q>(acc[i][j], wv, _mm256_mul_ps(dw, dx[j]), x[j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r + i] = hsum(acc[i][j]);
}

template <typename Q>
void run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  using X = typename Q::X;
  constexpr int kR = 2, kT = 4;  // prefill tile
  const int64_t n = a.n, nb = a.xq.blocks, pairs = (nb + 1) / 2;
  const int64_t full_t = n - n % kT;
  Scratch<X, 128> x(static_cast<size_t>(pairs * (full_t > 0 ? kT : 1)));  // inline: 8192 columns at decode
  if (full_t > 0) {
    // Rows in groups whose weights (about 256 KiB) stay in L2 while every token tile passes by;
    // each token tile's pairs are prepared once per group.
    const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
    const int64_t group = std::max<int64_t>(kR, (256 * 1024 / std::max<int64_t>(row_bytes, 1)) / kR * kR);
    for (int64_t g0 = r0; g0 < r1; g0 += group) {
      const int64_t g1 = std::min(r1, g0 + group);
      for (int64_t t = 0; t < full_t; t += kT) {
        prepare_pairs<Q, kT>(a.xq, t, 0, x.get());
        int64_t r = g0;
        for (; r + kR <= g1; r += kR) tile<Q, kR, kT>(a, r, t, x.get());
        for (; r < g1; ++r) tile<Q, 1, kT>(a, r, t, x.get());
      }
    }
  }
  // Decode and leftovers, one activation row at a time, its pairs prepared once for all rows.
  const auto* w = static_cast<const typename Q::Block*>(a.w.data);
  for (int64_t t = full_t; t < n; ++t) {
    prepare_pairs<Q, 1>(a.xq, t, 0, x.get());
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
    for (; r < r1; ++r) y[r] = hsum(pairs_dot<Q>(_mm256_setzero_ps(), w + r * nb, nb, x.get()));
  }
}

}  // namespace

void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1) { run<Q8>(a, r0, r1); }
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1) { run<Q4>(a, r0, r1); }
void matmul_rows_q4_1(const MatmulArgs& a, int64_t r0, int64_t r1) { run<Q4_1>(a, r0, r1); }
void matmul_rows_q5_0(const MatmulArgs& a, int64_t r0, int64_t r1) { run<Q5_0>(a, r0, r1); }
void matmul_rows_q5_1(const MatmulArgs& a, int64_t r0, int64_t r1) { run<Q5_1>(a, r0, r1); }

}  // namespace slim::kernels::avx2

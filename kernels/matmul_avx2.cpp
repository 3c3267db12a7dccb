// AVX2 + FMA + F16C matmul for f32, bf16 and f16 weights. Built with -mavx2 -mfma -mf16c and only
// called after cpu_features() confirmed them.
//
// A tile of R weight rows x T activation rows keeps R*T accumulators, so each weight load serves T
// tokens (prefill) and R independent FMA chains hide latency (decode). Every output is one chain
// over the columns in the same order whatever the tile, so results do not depend on n.
#include <immintrin.h>

#include <algorithm>

#include "kernels/convert.hpp"
#include "kernels/avx2_common.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::avx2 {
namespace {

struct F32 {
  using T = float;
  static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static float one(const float* p) { return *p; }
};
struct BF16 {
  using T = uint16_t;
  static __m256 load8(const uint16_t* p) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float one(const uint16_t* p) { return bf16_to_f32(*p); }
};
struct F16 {
  using T = uint16_t;
  static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float one(const uint16_t* p) { return f16_to_f32(*p); }
};

template <typename Fmt, int R, int T>
inline void tile(const typename Fmt::T* w, const float* x, int64_t cols, int64_t rows, float* y,
                 int64_t r, int64_t t) {
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  const int64_t full = cols - cols % 8;
  for (int64_t c = 0; c < full; c += 8) {
    __m256 xv[T];
    for (int j = 0; j < T; ++j) xv[j] = _mm256_loadu_ps(x + (t + j) * cols + c);
    for (int i = 0; i < R; ++i) {
      __m256 wv = Fmt::load8(w + (r + i) * cols + c);
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      float s = hsum(acc[i][j]);
      for (int64_t c = full; c < cols; ++c) s += Fmt::one(w + (r + i) * cols + c) * x[(t + j) * cols + c];
      y[(t + j) * rows + r + i] = s;
    }
  }
}

template <typename Fmt>
void run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  const MatrixRef& m = a.w;
  const float* x = a.x;
  float* y = a.y;
  const int64_t n = a.n;
  const auto* w = static_cast<const typename Fmt::T*>(m.data);
  const int64_t cols = m.cols, rows = m.rows;
  const int64_t full_t = n - n % 4;
  if (full_t > 0) {
    // Prefill: 2 weight rows x 4 tokens, rows in groups whose weights (about 256 KiB) stay in L2
    // while every token tile passes by.
    const int64_t row_bytes = cols * static_cast<int64_t>(sizeof(typename Fmt::T));
    const int64_t group = std::max<int64_t>(2, (256 * 1024 / std::max<int64_t>(row_bytes, 1)) / 2 * 2);
    for (int64_t g0 = r0; g0 < r1; g0 += group) {
      const int64_t g1 = std::min(r1, g0 + group);
      for (int64_t t = 0; t < full_t; t += 4) {
        int64_t r = g0;
        for (; r + 2 <= g1; r += 2) tile<Fmt, 2, 4>(w, x, cols, rows, y, r, t);
        for (; r < g1; ++r) tile<Fmt, 1, 4>(w, x, cols, rows, y, r, t);
      }
    }
  }
  for (int64_t t = full_t; t < n; ++t) {  // decode and leftovers: 4 weight rows x 1 token
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) tile<Fmt, 4, 1>(w, x, cols, rows, y, r, t);
    for (; r < r1; ++r) tile<Fmt, 1, 1>(w, x, cols, rows, y, r, t);
  }
}

}  // namespace

void matmul_rows_f32(const MatmulArgs& a, int64_t r0, int64_t r1) { run<F32>(a, r0, r1); }
void matmul_rows_f16(const MatmulArgs& a, int64_t r0, int64_t r1) { run<F16>(a, r0, r1); }
void matmul_rows_bf16(const MatmulArgs& a, int64_t r0, int64_t r1) { run<BF16>(a, r0, r1); }

}  // namespace slim::kernels::avx2

// AVX2 + FMA add_weighted_rows(). Built with -mavx2 -mfma -mf16c and only called after
// cpu_features() confirmed them.
//
// 32 output columns stay in registers while every row passes by (out is read and written once),
// two rows a step into separate accumulators: eight independent FMA chains hide the FMA latency.
#include <immintrin.h>

#include "kernels/matmul_impl.hpp"

namespace slim::kernels::avx2 {

void add_weighted_rows(const float* w, const float* rows, int64_t count, int64_t cols, float* out) {
  int64_t d = 0;
  for (; d + 32 <= cols; d += 32) {
    __m256 a[4], b[4];
    for (int k = 0; k < 4; ++k) {
      a[k] = _mm256_loadu_ps(out + d + 8 * k);
      b[k] = _mm256_setzero_ps();
    }
    int64_t t = 0;
    for (; t + 2 <= count; t += 2) {
      const __m256 w0 = _mm256_broadcast_ss(w + t), w1 = _mm256_broadcast_ss(w + t + 1);
      const float* r0 = rows + t * cols + d;
      const float* r1 = r0 + cols;
      for (int k = 0; k < 4; ++k) {
        a[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(r0 + 8 * k), a[k]);
        b[k] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(r1 + 8 * k), b[k]);
      }
    }
    if (t < count) {
      const __m256 w0 = _mm256_broadcast_ss(w + t);
      for (int k = 0; k < 4; ++k) a[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(rows + t * cols + d + 8 * k), a[k]);
    }
    for (int k = 0; k < 4; ++k) _mm256_storeu_ps(out + d + 8 * k, _mm256_add_ps(a[k], b[k]));
  }
  for (; d + 8 <= cols; d += 8) {
    __m256 a = _mm256_loadu_ps(out + d);
    for (int64_t t = 0; t < count; ++t) a = _mm256_fmadd_ps(_mm256_broadcast_ss(w + t), _mm256_loadu_ps(rows + t * cols + d), a);
    _mm256_storeu_ps(out + d, a);
  }
  for (; d < cols; ++d) {
    float s = out[d];
    for (int64_t t = 0; t < count; ++t) s += w[t] * rows[t * cols + d];
    out[d] = s;
  }
}

}  // namespace slim::kernels::avx2

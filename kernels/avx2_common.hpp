// Helpers shared by the AVX2 kernel files. Include only from *_avx2.cpp files, which are built
// with AVX2 flags and called after the CPU check.
#pragma once

#include <immintrin.h>

namespace slim::kernels::avx2 {

// The sum of the eight lanes.
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace slim::kernels::avx2

// AVX2 quantize_act_row(): the same bytes as the portable one (quantize.cpp), eight values a step.
// Built with -mavx2 -mfma -mf16c and only called after cpu_features() confirmed them. The portable
// loop, vectorised by the compiler, took 0.6-1.1 ns a value: about 3% of a SmolLM2-135M q4_0 token.
#include <immintrin.h>

#include "kernels/matmul_impl.hpp"

namespace slim::kernels::avx2 {

void quantize_act_row(const float* x, int64_t cols, int8_t* q, float* d, int32_t* sums) noexcept {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const __m256 round = _mm256_set1_ps(12582912.0f);  // 1.5 * 2^23, as in quantize_act_row
  const __m256i low = _mm256_set1_epi32(-127), high = _mm256_set1_epi32(127);
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock, q += kBlock) {
    __m256 v[4];
    for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(x + 8 * i);
    // max_ps(a, m) is a > m ? a : m, the portable running maxima: a NaN never wins.
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) m = _mm256_max_ps(_mm256_and_ps(v[i], magnitude), m);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    d[b] = scale;
    __m256i r[4];
    for (int i = 0; i < 4; ++i) {
      __m256 p = _mm256_mul_ps(v[i], _mm256_set1_ps(inv));
      // Keeps the compiler from fusing the multiply and the add into an FMA, which would round
      // once where the portable code rounds twice.
      __asm__("" : "+x"(p));
      r[i] = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(p, round)), _mm256_set1_epi32(0x4B400000));
      r[i] = _mm256_min_epi32(_mm256_max_epi32(r[i], low), high);
    }
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(r[0], r[1]), _mm256_add_epi32(r[2], r[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    sums[b] = _mm_cvtsi128_si32(s4);
    // The packs work within 128-bit halves: 4-byte piece j of half h holds values 4h..4h+3 of r[j];
    // the permutation puts the pieces back in order.
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]), _mm256_packs_epi32(r[2], r[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
}

}  // namespace slim::kernels::avx2

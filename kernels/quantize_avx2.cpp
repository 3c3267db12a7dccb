// AVX2 activation quantizers: quantize_act_row() (Q8_0, the portable one in quantize.cpp) and
// quantize_act_row_q8_k() (Q8_K, quantize_kquants.cpp), the same bytes as those, eight values a
// step. Built with -mavx2 -mfma -mf16c and only called after cpu_features() confirmed them. The
// portable Q8_0 loop, vectorised by the compiler, took 0.6-1.1 ns a value: about 3% of a
// SmolLM2-135M q4_0 token. The portable Q8_K one is not vectorised (its rounding through an
// integer mask): it was 28% of a q6_k prefill matmul (Zen 5, bench_matmul 576x1536 n:512).
#include <immintrin.h>

#include <cstring>

#include "kernels/kquant_blocks.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::avx2 {
namespace {

// The largest |x[i]| of n (a multiple of 8) values: max_ps(a, m) is a > m ? a : m, the portable
// running maxima, so a NaN never wins.
float abs_max(const float* x, int n) {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), magnitude), m);
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  return _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
}

// 32 rounded values (4 registers of 8 int32) as bytes in order: the packs work within 128-bit
// halves (4-byte piece j of half h holds values 4h..4h+3 of r[j]), the permutation puts the pieces
// back.
void store_bytes(const __m256i r[4], int8_t* q) {
  const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]), _mm256_packs_epi32(r[2], r[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

// [sum of t[0], ..., sum of t[7]]: the eight lanes of each register added.
__m256i lane_sums(const __m256i t[8]) {
  const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(t[0], t[1]), _mm256_hadd_epi32(t[2], t[3]));
  const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(t[4], t[5]), _mm256_hadd_epi32(t[6], t[7]));
  // a: [t0..t3 over lanes 0-3 | t0..t3 over lanes 4-7], b likewise for t4..t7.
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

}  // namespace

void quantize_act_row(const float* x, int64_t cols, int8_t* q, float* d, int32_t* sums) noexcept {
  const __m256 round = _mm256_set1_ps(12582912.0f);  // 1.5 * 2^23, as in quantize_act_row
  const __m256i low = _mm256_set1_epi32(-127), high = _mm256_set1_epi32(127);
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock, q += kBlock) {
    __m256 v[4];
    for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(x + 8 * i);
    const float amax = abs_max(x, kBlock);
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
    store_bytes(r, q);
  }
}

void quantize_act_row_q8_k(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums) noexcept {
  const __m256 round = _mm256_set1_ps(12582912.0f);  // nearest_int() of quantize_kquants.cpp
  const __m256i mantissa = _mm256_set1_epi32(0x007FFFFF), offset = _mm256_set1_epi32(0x00400000);
  const __m256i low = _mm256_set1_epi32(-127), high = _mm256_set1_epi32(127);
  for (int64_t b = 0; b < cols / kSuperBlock; ++b, x += kSuperBlock, q += kSuperBlock, bsums += 16) {
    const float amax = abs_max(x, kSuperBlock);
    const float iscale = 127.0f / amax;
    const bool usable = amax > 0.0f && iscale > 0.0f && iscale <= 3.4e38f;
    d[b] = usable ? 1 / iscale : 0.0f;
    if (!usable) {
      std::memset(q, 0, kSuperBlock);
      std::memset(bsums, 0, 16 * sizeof(int16_t));
      continue;
    }
    __m256i sums[16];  // register k: lanes summing sub-block k's 16 values
    for (int i = 0; i < kSuperBlock; i += 32) {
      __m256i r[4];
      for (int j = 0; j < 4; ++j) {
        __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), _mm256_set1_ps(iscale));
        __asm__("" : "+x"(p));  // no FMA: the portable code rounds the product first
        r[j] = _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(_mm256_add_ps(p, round)), mantissa), offset);
        r[j] = _mm256_min_epi32(_mm256_max_epi32(r[j], low), high);
      }
      sums[i / 16] = _mm256_add_epi32(r[0], r[1]);
      sums[i / 16 + 1] = _mm256_add_epi32(r[2], r[3]);
      store_bytes(r, q + i);
    }
    // |sum| <= 16 * 127 fits int16. packs interleaves 128-bit halves: [0-3, 8-11 | 4-7, 12-15].
    const __m256i packed = _mm256_packs_epi32(lane_sums(sums), lane_sums(sums + 8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(bsums), _mm256_permute4x64_epi64(packed, 0xD8));
  }
}

}  // namespace slim::kernels::avx2

// Internal to the *_avx512_vnni.cpp kernel files: the 512-bit policy of q_groups_vnni.hpp (its
// register type and operations), in an unnamed namespace like that header, so each including file,
// built with the AVX-512 flags, has its own copy.
#pragma once

#include <array>

#include "kernels/q_groups_vnni.hpp"

namespace slim::kernels::avx512_vnni {
namespace {

struct V512 {
  using Vec = __m512i;
  static constexpr int kBytes = 64;
  // Prefill tile: 2 weight rows x 4 activation rows (8 f32 accumulators, 8 registers of weights).
  static constexpr int kPrefillRows = 2, kPrefillCols = 4;
  static constexpr int kDecodeRows = 8;
  static Vec load(const void* p) { return _mm512_loadu_si512(p); }
  static Vec dp(Vec acc, Vec u, Vec s) { return _mm512_dpbusd_epi32(acc, u, s); }
  static Vec flip(Vec v) { return _mm512_xor_si512(v, _mm512_set1_epi8(-128)); }
  static Vec low_nibbles(Vec v) { return _mm512_and_si512(v, _mm512_set1_epi8(15)); }
  static Vec high_nibbles(Vec v) { return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(15)); }
  // Through GCC / clang vector shuffles: GCC 12's _mm512_zextsi256_si512, castsi512_si256 and
  // extracti64x4 read an "undefined" register that -Wmaybe-uninitialized flags.
  using I8 = int __attribute__((vector_size(32)));
  using I16 = int __attribute__((vector_size(64)));
  static Vec widen(__m256i v) {
    return reinterpret_cast<Vec>(__builtin_shufflevector(reinterpret_cast<I8>(v), I8{}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                         10, 11, 12, 13, 14, 15));
  }
  // Lanes k and k + 8 hold two parts of block k's sum.
  static __m256i narrow(Vec v) {
    const I16 s = reinterpret_cast<I16>(v);
    return _mm256_add_epi32(reinterpret_cast<__m256i>(__builtin_shufflevector(s, s, 0, 1, 2, 3, 4, 5, 6, 7)),
                            _mm512_maskz_extracti64x4_epi64(0xFF, v, 1));
  }
  static __m256i dp256(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  // Two weight rows in one register after their dot products (vnni_tile): lanes 0-7 row a's,
  // 8-15 row b's.
  static constexpr bool kPairRows = true;
  using F = __m512;
  static F zero_f() { return _mm512_setzero_ps(); }
  // [narrow(a) | narrow(b)]: the low halves of a and b plus their high halves.
  static Vec narrow_pair(Vec a, Vec b) {
    return _mm512_add_epi32(_mm512_maskz_shuffle_i64x2(0xFF, a, b, 0x44), _mm512_maskz_shuffle_i64x2(0xFF, a, b, 0xEE));
  }
  static F cvt(Vec v) { return _mm512_maskz_cvtepi32_ps(0xFFFF, v); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  // [lo | hi] and [v | v] through vector shuffles and vbroadcastf64x4 (GCC 12's cast / insert
  // intrinsics trip -Wmaybe-uninitialized).
  using F8 = float __attribute__((vector_size(32)));
  using F16 = float __attribute__((vector_size(64)));
  static F join(__m256 lo, __m256 hi) {
    return reinterpret_cast<F>(__builtin_shufflevector(reinterpret_cast<F8>(lo), reinterpret_cast<F8>(hi), 0, 1, 2, 3, 4,
                                                       5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  }
  static F twice(__m256 v) { return _mm512_castpd_ps(_mm512_maskz_broadcast_f64x4(0xFF, _mm256_castps_pd(v))); }
  static void split(F v, __m256& lo, __m256& hi) {
    const F16 f = reinterpret_cast<F16>(v);
    lo = reinterpret_cast<__m256>(__builtin_shufflevector(f, f, 0, 1, 2, 3, 4, 5, 6, 7));
    hi = reinterpret_cast<__m256>(__builtin_shufflevector(f, f, 8, 9, 10, 11, 12, 13, 14, 15));
  }
  // vnni_slots_portable() as a transpose: register v of the output (slots 2v, 2v + 1) lane L
  // takes 32-bit word G::slot_reg(2v + L / 8) of block L % 8; blocks 0-3 lie in the first two
  // 64-byte loads, 4-7 in the last two, at the same places, so one index vector serves both.
  template <typename G>
  static void slots(const int8_t* q, Vec* out) {
    static constexpr auto kIndex = [] {
      std::array<std::array<int, 16>, 4> index{};
      for (int v = 0; v < 4; ++v)
        for (int lane = 0; lane < 16; ++lane) {
          const int k = lane % 8;
          index[v][lane] = (k % 4 / 2) * 16 + (k % 2) * 8 + G::slot_reg(2 * v + lane / 8);
        }
      return index;
    }();
    const Vec in[4] = {load(q), load(q + 64), load(q + 128), load(q + 192)};
    for (int v = 0; v < 4; ++v) {
      const Vec index = _mm512_loadu_si512(kIndex[v].data());
      const Vec low = _mm512_permutex2var_epi32(in[0], index, in[1]), high = _mm512_permutex2var_epi32(in[2], index, in[3]);
      out[v] = _mm512_mask_blend_epi32(0xF0F0, low, high);
    }
  }
};


}  // namespace
}  // namespace slim::kernels::avx512_vnni

// AVX-VNNI matmul for q8_0 / q4_0 weights in the groups8 layout (q_groups_vnni.hpp): the
// VEX-encoded 256-bit vpdpbusd of Intel's Alder Lake and later, one group register a step. Built
// with -mavxvnni (and the AVX2 set's flags, no AVX-512) and only called after cpu_features()
// confirmed them.
#include "kernels/q_groups_vnni.hpp"

namespace slim::kernels::avx_vnni {
namespace {

struct V256 {
  using Vec = __m256i;
  static constexpr int kBytes = 32;
  // Prefill tile: 1 weight row x 4 activation rows; without AVX-512 there are 16 vector registers
  // and a row's group takes 8 of them.
  static constexpr int kPrefillRows = 1, kPrefillCols = 4;
  static constexpr int kDecodeRows = 4;
  static Vec load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static Vec dp(Vec acc, Vec u, Vec s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
  static Vec flip(Vec v) { return _mm256_xor_si256(v, _mm256_set1_epi8(-128)); }
  static Vec low_nibbles(Vec v) { return _mm256_and_si256(v, _mm256_set1_epi8(15)); }
  static Vec high_nibbles(Vec v) { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(15)); }
  static Vec widen(__m256i v) { return v; }
  static __m256i narrow(Vec v) { return v; }
  static __m256i dp256(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
  static constexpr bool kPairRows = false;  // tiles of one row (vnni_tile)
  using F = __m256;
  static F zero_f() { return _mm256_setzero_ps(); }
  template <typename G>
  static void slots(const int8_t* q, Vec* out) { vnni_slots_portable<G>(q, out); }
};

}  // namespace

void matmul_rows_q8_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { vnni_q8_0_rows<V256>(a, r0, r1); }
// q4_0 decode is the AVX2 file's: its 8-row tiles with the stream prefetched read the weights faster
// than 4 rows of 256-bit vpdpbusd (measured on a Xeon with AVX-VNNI, 1 thread, 2048x8192: 0.597 ms
// against 0.543), and both give every output bit for bit the same (the same exact integer dots
// and the same f32 steps, q_groups_vnni.hpp), so n still does not change a result.
void matmul_rows_q4_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) {
  if (a.n == 1) return avx2::matmul_rows_q4_0_groups8(a, r0, r1);
  vnni_q4_0_rows<V256>(a, r0, r1);
}

}  // namespace slim::kernels::avx_vnni

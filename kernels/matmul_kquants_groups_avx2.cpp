// AVX2 matmul for q4_k / q5_k / q6_k weights in the groups8 layout (kquant_blocks.hpp) against
// Q8_K activations: the avx2 and avx_vnni sets' K-quant kernels. Built with -mavx2 -mfma -mf16c
// and only called after cpu_features() confirmed them.
//
// The layout puts sub-block k of a super-block in 32-bit lane k of every register (q6_k: lanes
// 0-7 in the first half of each 64-byte register, 8-15 in the second), so maddubs products add up
// per sub-block in 16 bits, one madd with ones widens them to the sub-block sums, and the scales
// meet those sums in one vpmulld a super-block (the GGUF layout needs a maddubs and a madd with the
// scale for every 32 weights, and a shuffle to spread each scale). The 16-bit sums are exact:
//   q4_k: 8 registers of maddubs(nibble, x) <= 8 * 2 * 15 * 127 = 30480 before the madd;
//   q5_k: q <= 31, 4 registers at a time (31496);   q6_k: q <= 63, 2 at a time (32004).
// Per super-block, as the AVX-512 kernels (matmul_kquants_avx512_vnni.cpp) but on 256 bits:
//   q4_k / q5_k: acc = fma(float(sc_k Σ q x), d d_x, acc);  macc = fma(dmin m_k, d_x S_k, macc)
//   q6_k:        acc_h = fma(float(scales_k (Σ q x - 32 bsums_k)), d d_x, acc_h)  (h: the half)
// and the lanes summed at the end of the row.
#include <immintrin.h>

#include <cstring>

#include "kernels/avx2_common.hpp"
#include "kernels/kquant_groups_x86.hpp"

namespace slim::kernels::avx2 {
namespace {

inline __m256i load_bytes(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Register r of 32 bytes, lane k: the four activations at q + 32 k + 4 r (r < 8), or with q6_k's
// sub-blocks of 16 at q + 16 k + 4 r (r < 4, k < 8: one half).
template <int kStride, int kRegs>
void deal(const int8_t* q, __m256i* out) {
  alignas(32) int32_t lanes[kRegs][8];
  for (int r = 0; r < kRegs; ++r)
    for (int k = 0; k < 8; ++k) std::memcpy(&lanes[r][k], q + kStride * k + 4 * r, 4);
  for (int r = 0; r < kRegs; ++r) out[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes[r]));
}

struct Q4K {
  using Group = GroupQ4_K;
  static constexpr int kPrefillRows = 1, kPrefillCols = 4, kDecodeRows = 4;
  struct Acc {
    __m256 scaled, mins;
  };
  struct X {
    __m256i a[8];  // register r, lane k: activations 32k + 4r .. +3
    __m256 sums;   // lane k: d_x S_k
    __m256 d;      // d_x in every lane
  };
  struct W {
    __m256i q[8];  // chunk c's low nibbles in q[2c], its high ones in q[2c + 1]
    GroupScales s;
  };
  static X prepare(const int8_t* q, const int16_t* bsums, float d) {
    X x;
    deal<32, 8>(q, x.a);
    x.d = _mm256_set1_ps(d);
    x.sums = scaled_sub_block_sums(bsums, x.d);
    return x;
  }
  template <typename G>
  static W load(const G& g) {
    W w;
    const __m256i m = _mm256_set1_epi8(15);
    for (int c = 0; c < 4; ++c) {
      const __m256i v = load_bytes(g.qs + 32 * c);
      w.q[2 * c] = _mm256_and_si256(v, m);
      w.q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
    }
    w.s = group_scales(g);
    return w;
  }
  // Lane k: Σ q x over sub-block k, with 16-bit partial sums of kRun registers.
  template <int kRun>
  static __m256i dot(const W& w, const X& x) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i dot = _mm256_setzero_si256();
    for (int r0 = 0; r0 < 8; r0 += kRun) {
      __m256i s = _mm256_maddubs_epi16(w.q[r0], x.a[r0]);
      for (int r = r0 + 1; r < r0 + kRun; ++r) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(w.q[r], x.a[r]));
      dot = _mm256_add_epi32(dot, _mm256_madd_epi16(s, ones));
    }
    return dot;
  }
  static Acc zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static Acc combine(Acc acc, __m256i dot, const W& w, const X& x) {
    const __m256i isum = _mm256_mullo_epi32(dot, w.s.scales);
    return {_mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(w.s.d, x.d), acc.scaled),
            _mm256_fmadd_ps(w.s.mins, x.sums, acc.mins)};
  }
  static Acc step(Acc acc, const W& w, const X& x) { return combine(acc, dot<8>(w, x), w, x); }
  static float sum(Acc acc) { return hsum(_mm256_sub_ps(acc.scaled, acc.mins)); }
};

// q5_k: q4_k's nibbles with their fifth bits, read from the group's 64-bit masks: register (c, h)
// (chunk c, low or high nibbles) is 32 bits of mask 2 (c / 2) + h, from bit 32 (c % 2).
struct Q5K : Q4K {
  using Group = GroupQ5_K;
  static W load(const Group& g) {
    W w = Q4K::load(g);
    // Byte p of a register takes its bit from mask byte p / 8 (the shuffle), bit p % 8 (the test).
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3,
                                            3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
    for (int c = 0; c < 4; ++c)
      for (int h = 0; h < 2; ++h) {
        uint32_t mask;
        std::memcpy(&mask, g.qh + 8 * (2 * (c / 2) + h) + 4 * (c % 2), 4);
        const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(mask)), spread);
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
        w.q[2 * c + h] = _mm256_or_si256(w.q[2 * c + h], _mm256_and_si256(set, _mm256_set1_epi8(16)));
      }
    return w;
  }
  static Acc step(Acc acc, const W& w, const X& x) { return combine(acc, dot<4>(w, x), w, x); }
};

struct Q6K {
  using Group = GroupQ6_K;
  static constexpr int kPrefillRows = 1, kPrefillCols = 4, kDecodeRows = 4;
  struct Acc {
    __m256 half[2];
  };
  struct X {
    __m256i a[2][4];   // half h, register r, lane k: activations 16 (8h + k) + 4r .. +3
    __m256i init[2];   // lane k of half h: -32 bsums_8h+k
    __m256 d;          // d_x in every lane
  };
  struct W {
    __m256i q[2][4];   // half h, register r: 6-bit values
    __m256i scales[2];
    __m256 d;
  };
  static X prepare(const int8_t* q, const int16_t* bsums, float d) {
    X x;
    for (int h = 0; h < 2; ++h) {
      deal<16, 4>(q + 128 * h, x.a[h]);
      const __m256i sums = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8 * h)));
      x.init[h] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, 5));
    }
    x.d = _mm256_set1_ps(d);
    return x;
  }
  static W load(const Group& g) {
    W w;
    const __m256i low4 = _mm256_set1_epi8(15), bits45 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; ++h) {
      // Register r: its low 4 bits from a nibble of ql, its top two from bits 2r, 2r + 1 of qh
      // moved to bits 4-5 (shifts within 16-bit lanes move each byte's own bits there).
      const __m256i l0 = load_bytes(g.ql + 32 * h), l1 = load_bytes(g.ql + 64 + 32 * h), qh = load_bytes(g.qh + 32 * h);
      w.q[h][0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
      w.q[h][1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
      w.q[h][2] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(qh, bits45));
      w.q[h][3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
      w.scales[h] = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.scales + 8 * h)));
    }
    w.d = _mm256_set1_ps(_cvtsh_ss(g.d));
    return w;
  }
  static Acc zero() { return {{_mm256_setzero_ps(), _mm256_setzero_ps()}}; }
  static Acc step(Acc acc, const W& w, const X& x) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256 dd = _mm256_mul_ps(w.d, x.d);
    for (int h = 0; h < 2; ++h) {
      const __m256i s01 = _mm256_add_epi16(_mm256_maddubs_epi16(w.q[h][0], x.a[h][0]), _mm256_maddubs_epi16(w.q[h][1], x.a[h][1]));
      const __m256i s23 = _mm256_add_epi16(_mm256_maddubs_epi16(w.q[h][2], x.a[h][2]), _mm256_maddubs_epi16(w.q[h][3], x.a[h][3]));
      const __m256i dot = _mm256_add_epi32(x.init[h], _mm256_add_epi32(_mm256_madd_epi16(s01, ones), _mm256_madd_epi16(s23, ones)));
      acc.half[h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_mullo_epi32(dot, w.scales[h])), dd, acc.half[h]);
    }
    return acc;
  }
  static float sum(Acc acc) { return hsum(_mm256_add_ps(acc.half[0], acc.half[1])); }
};

}  // namespace

void matmul_rows_q4_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_groups_run<Q4K>(a, r0, r1); }
void matmul_rows_q5_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_groups_run<Q5K>(a, r0, r1); }
void matmul_rows_q6_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_groups_run<Q6K>(a, r0, r1); }

}  // namespace slim::kernels::avx2

// AVX-512 VNNI matmul for q4_k / q5_k / q6_k weights in the groups8 layout (kquant_blocks.hpp) against Q8_K
// activations. Built with the AVX-512 F/BW/VL/VNNI flags and only called after cpu_features()
// confirmed them.
//
// The layout puts sub-block k of a super-block in 32-bit lane k of every register (q4_k: lanes
// 0-7 of 8 nibble registers, two in each 512-bit load; q6_k: lanes 0-15 of 4 registers), so
// vpdpbusd sums each sub-block's products in its own lane and the sub-block scales meet the sums
// once per super-block, one f32 multiply-add for all of them. The activations are dealt out to
// match once per activation row (the slots of q_groups_vnni.hpp), and meet every weight row from
// there. Per super-block, the dot products in exact int32 lanes:
//   q4_k (q5_k with q = 0..31): dot_k = Σ q x over sub-block k, S_k = bsums_2k + bsums_2k+1
//         acc = fma(float(dot), (sc_k d) d_x, acc - (dmin m_k) (d_x S_k))   (8 lanes, the
//         subtraction one fnmadd; the factors in parentheses are made once per weight and once
//         per activation super-block)
//   q6_k: dot_k = Σ q x - 32 bsums_k   (q = 0..63 unsigned, the offset 32 taken off as 32 times
//         the sub-block's activation sum, which starts the lane)
//         acc = fma(float(dot), (scales_k d) d_x, acc)                                   (16 lanes)
// and the lanes summed at the end of the row. Every dot stays below 2^24 and sc_k d, scales_k d
// are exact in f32, so only the two last roundings of each term are left: vpmulld for the scales
// (2 uops and 10 cycles' latency on Intel) made prefill 6-14% slower (Xeon, 1 thread,
// bench_matmul n:64). For q4_k / q5_k two weight rows share each register after their dot
// products (step_pair: lanes 0-7 one row, 8-15 the other), the same lane operations as a row
// alone. Decode and prefill run these steps for every output, so results do not depend on n or
// on how rows are split over threads (the scalar reference adds the same integers in another
// order: the sets agree to float rounding).
#include <array>
#include <cstring>

#include "kernels/kquant_groups_x86.hpp"
#include "kernels/vnni_512.hpp"

namespace slim::kernels::avx512_vnni {
namespace {

// Every lane: GCC 12's unmasked forms of several AVX-512 conversions and shifts read an
// "undefined" register that -Wmaybe-uninitialized flags; the zero-masked forms with all lanes
// selected are the same instructions.
constexpr __mmask16 kAll = 0xFFFF;

struct Q4K {
  using Group = GroupQ4_K;
  // Tiles: 2 weight rows x 8 activation rows at prefill (paired rows: 7-15% faster than 4 at
  // n:64; long rows a chunk of columns at a time, kquant_groups_tiles), 8 rows at decode.
  static constexpr int kPrefillRows = 2, kPrefillCols = 8, kDecodeRows = V512::kDecodeRows;
  // The min term and then the scaled dots go into one accumulator: with a second one for the mins
  // a tile of 2 x 8 outputs needed 16 accumulator registers and spilled them and the weights to
  // the stack.
  using Acc = __m256;
  using Nibbles = VnniQ4<V512>;
  // One activation row's super-block, dealt out for the weight layout.
  struct X {
    __m512i a[4];
    __m256 sums;  // lane k: d_x times the sum of sub-block k's activations (bsums_2k + bsums_2k+1)
    __m256 d;     // d_x in every lane
  };
  struct W {
    Nibbles::W q;
    __m256 scales;  // lane k: sc_k d, exact in f32 (6 bits times an f16's 11)
    __m256 mins;    // lane k: dmin m_k
  };
  static X prepare(const int8_t* q, const int16_t* bsums, float d) {
    X x;
    V512::slots<Nibbles>(q, x.a);
    x.d = _mm256_set1_ps(d);
    x.sums = scaled_sub_block_sums(bsums, x.d);
    return x;
  }
  template <typename G>
  static W load(const G& g) {
    const GroupScales s = group_scales(g);
    return {Nibbles::load_qs(g.qs), _mm256_mul_ps(_mm256_cvtepi32_ps(s.scales), s.d), s.mins};
  }
  static Acc zero() { return _mm256_setzero_ps(); }
  static Acc step(Acc acc, const W& w, const X& x) {
    __m512i dot = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) dot = V512::dp(dot, w.q.v[c], x.a[c]);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(V512::narrow(dot)), _mm256_mul_ps(w.scales, x.d), _mm256_fnmadd_ps(w.mins, x.sums, acc));
  }
  static float sum(Acc acc) { return vnni_hsum<V512>(acc); }

  // Two rows a, b in one register each: lanes 0-7 row a's sub-blocks, 8-15 row b's, so the
  // steps after the dot products (scales, conversion, FMAs) run once for both.
  using PairAcc = __m512;
  struct Pair {
    __m512 scales, mins;
  };
  static Pair pair(const W& a, const W& b) { return {V512::join(a.scales, b.scales), V512::join(a.mins, b.mins)}; }
  static PairAcc zero_pair() { return _mm512_setzero_ps(); }
  static PairAcc step_pair(PairAcc acc, const W& a, const W& b, const Pair& p, const X& x) {
    __m512i da = _mm512_setzero_si512(), db = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      da = V512::dp(da, a.q.v[c], x.a[c]);
      db = V512::dp(db, b.q.v[c], x.a[c]);
    }
    return _mm512_fmadd_ps(V512::cvt(V512::narrow_pair(da, db)), _mm512_mul_ps(p.scales, V512::twice(x.d)),
                           _mm512_fnmadd_ps(p.mins, V512::twice(x.sums), acc));
  }
  static void sum_pair(PairAcc acc, float* y) {
    __m256 a, b;
    V512::split(acc, a, b);
    y[0] = vnni_hsum<V512>(a);
    y[1] = vnni_hsum<V512>(b);
  }
};

// q5_k: q4_k's steps on nibbles that get their fifth bit (16) from qh's mask of each register
// (one masked byte add).
struct Q5K : Q4K {
  using Group = GroupQ5_K;
  static W load(const Group& g) {
    W w = Q4K::load(g);
    for (int m = 0; m < 4; ++m) {
      uint64_t bits;
      std::memcpy(&bits, g.qh + 8 * m, 8);
      w.q.v[m] = _mm512_mask_add_epi8(w.q.v[m], _cvtu64_mask64(bits), w.q.v[m], _mm512_set1_epi8(16));
    }
    return w;
  }
};

struct Q6K {
  using Group = GroupQ6_K;
  // Prefill tiles of 8 activation rows: unpacking the six bits costs more than q4_k's nibbles, so
  // each weight super-block serves 8 (5-12% faster than 4, bench_matmul n:64 / n:512).
  static constexpr int kPrefillRows = 2, kPrefillCols = 8, kDecodeRows = V512::kDecodeRows;
  using Acc = __m512;
  struct X {
    __m512i a[4];  // register r, lane k: activations 16k + 4r .. +3
    __m512i init;  // lane k: -32 bsums_k
    __m512 d;      // d_x in every lane
  };
  struct W {
    __m512i q[4];
    __m512 scales;  // lane k: scales_k d, exact in f32 (8 bits times an f16's 11)
  };
  static X prepare(const int8_t* q, const int16_t* bsums, float d) {
    // Register r takes 32-bit word 4k + r of the 64 for lane k: words 0-31 (k < 8) from the first
    // two loads, 32-63 from the last two, at the same places.
    static constexpr auto kIndex = [] {
      std::array<std::array<int, 16>, 4> index{};
      for (int r = 0; r < 4; ++r)
        for (int k = 0; k < 16; ++k) index[r][k] = 4 * (k % 8) + r;
      return index;
    }();
    X x;
    const __m512i in[4] = {V512::load(q), V512::load(q + 64), V512::load(q + 128), V512::load(q + 192)};
    for (int r = 0; r < 4; ++r) {
      const __m512i index = _mm512_loadu_si512(kIndex[r].data());
      x.a[r] = _mm512_mask_blend_epi32(0xFF00, _mm512_permutex2var_epi32(in[0], index, in[1]),
                                       _mm512_permutex2var_epi32(in[2], index, in[3]));
    }
    const __m512i sums = _mm512_maskz_cvtepi16_epi32(kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums)));
    x.init = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_maskz_slli_epi32(kAll, sums, 5));
    x.d = _mm512_set1_ps(d);
    return x;
  }
  static W load(const Group& g) {
    const __m512i l0 = V512::load(g.ql), l1 = V512::load(g.ql + 64), h = V512::load(g.qh);
    const __m512i low4 = _mm512_set1_epi8(15), bits45 = _mm512_set1_epi8(0x30);
    // Register r: its low 4 bits from a nibble of ql, its top two from bits 2r, 2r + 1 of qh moved
    // to bits 4-5 (shifts within 16-bit lanes move each byte's own bits there, the mask keeps them).
    W w;
    w.q[0] = _mm512_or_si512(_mm512_and_si512(l0, low4), _mm512_and_si512(_mm512_slli_epi16(h, 4), bits45));
    w.q[1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), low4), _mm512_and_si512(_mm512_slli_epi16(h, 2), bits45));
    w.q[2] = _mm512_or_si512(_mm512_and_si512(l1, low4), _mm512_and_si512(h, bits45));
    w.q[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), low4), _mm512_and_si512(_mm512_srli_epi16(h, 2), bits45));
    const __m512i scales = _mm512_maskz_cvtepi8_epi32(kAll, _mm_loadu_si128(reinterpret_cast<const __m128i*>(g.scales)));
    w.scales = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(kAll, scales), _mm512_set1_ps(_cvtsh_ss(g.d)));
    return w;
  }
  static Acc zero() { return _mm512_setzero_ps(); }
  static Acc step(Acc acc, const W& w, const X& x) {
    __m512i dot = x.init;
    for (int r = 0; r < 4; ++r) dot = V512::dp(dot, w.q[r], x.a[r]);
    return _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(kAll, dot), _mm512_mul_ps(w.scales, x.d), acc);
  }
  // Two weight rows against one activation super-block: K::step on each, with each activation
  // register loaded once for both (the loads, 12 for 8 dot products a row pair, bounded the tile).
  struct PairAcc {
    Acc a, b;
  };
  struct Pair {};
  static Pair pair(const W&, const W&) { return {}; }
  static PairAcc zero_pair() { return {zero(), zero()}; }
  static PairAcc step_pair(PairAcc acc, const W& a, const W& b, Pair, const X& x) {
    __m512i da = x.init, db = x.init;
    for (int r = 0; r < 4; ++r) {
      const __m512i xa = x.a[r];
      da = V512::dp(da, a.q[r], xa);
      db = V512::dp(db, b.q[r], xa);
    }
    const __m512 d = x.d;
    return {_mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(kAll, da), _mm512_mul_ps(a.scales, d), acc.a),
            _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(kAll, db), _mm512_mul_ps(b.scales, d), acc.b)};
  }
  static void sum_pair(PairAcc acc, float* y) {
    y[0] = sum(acc.a);
    y[1] = sum(acc.b);
  }
  static float sum(Acc acc) {
    const __m512d v = _mm512_castps_pd(acc);
    return vnni_hsum<V512>(_mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, v, 0)),
                                         _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, v, 1))));
  }
};

}  // namespace

void matmul_rows_q4_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_groups_run<Q4K>(a, r0, r1); }
void matmul_rows_q5_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_groups_run<Q5K>(a, r0, r1); }
void matmul_rows_q6_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_groups_run<Q6K>(a, r0, r1); }

}  // namespace slim::kernels::avx512_vnni

// Internal to the VNNI kernel files (matmul_q_groups_avx512_vnni.cpp, ..._avx_vnni.cpp): matmul of
// the blocks of 32 (q8_0, q4_0 here; q4_1 / q5_0 / q5_1 in the 512-bit file) on the groups8 layout
// (quant_blocks.hpp) with the 8-bit dot product instruction vpdpbusd, which multiplies unsigned by
// signed bytes and adds each four products into a 32-bit lane in one step (AVX2 needs maddubs, madd and an add, and q8_0 abs and sign besides).
//
// Everything here is in an unnamed namespace: each including file gets its own copy, compiled with
// its own ISA flags, so no function built for AVX-512 can stand in for another file's at link time.
// A file passes a policy V: the register type (512 or 256 bits) and its operations.
//
// The products are exact:
//   q4_0: nibbles 0..15 are the unsigned operand; the offset 8 comes off as 8 * (sum of the
//         activation block), which starts the block's integer accumulator.
//   q8_0: weights are read as unsigned w + 128 (the sign bit flipped), so the offset 128 comes off
//         the same way: 128 * (sum of the activation block). |sum| <= 32 * 127, no overflow.
//   q5_0: quants 0..31 and the offset 16, as q4_0; q4_1 / q5_1: no offset, and the minimum m_w
//         meets d_x * (sum of the activation block) in one more FMA a group (kMin).
// A 512-bit register loads two of a group's 32-byte registers: lanes 0-7 and 8-15 then hold two
// partial sums of blocks 0-7, added into one 256-bit register (block k in lane k) before the
// scales, so each block's integer dot product is whole when it meets its scale. From there every
// output goes through the same f32 steps as in matmul_q_groups_avx2.cpp: per group
// acc += float(dot) * (d_w * d_x), then the blocks after the last group in GGUF pairs, then the
// sum of the eight lanes. Decode and prefill run the same steps for every output, so results do
// not depend on n or on how rows are split over threads.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu_features.hpp"
#include "kernels/matmul_impl.hpp"
#include "kernels/scratch.hpp"
#include "kernels/stream_prefetch.hpp"

namespace slim::kernels {
namespace {

// The activations of one group of one row, in the order the weight type reads them: slot s (32
// bytes at a + 32 s), lane k: values 4 G::slot_reg(s) .. +3 of block k.
template <typename V, bool kMin = false>
struct alignas(64) VnniXGroup {
  typename V::Vec a[256 / V::kBytes];
  __m256i init;  // lane k: -(offset * sum of block k), where the integer sum starts
  __m256 d;      // lane k: block k's scale
};
// For the weight types with a minimum (q4_1, q5_1): no offset, so the integer sums start at zero,
// and the minimum's term in init's place. The same size: at 8192 columns 4 rows of a larger
// group outgrew Zen 5's 48 KiB L1 (q4_1 2048x8192 n:512 66 ms against q4_0's 40).
template <typename V>
struct alignas(64) VnniXGroup<V, true> {
  typename V::Vec a[256 / V::kBytes];
  __m256 dsum;  // lane k: d_x times the sum of block k, what the weights' minimum meets
  __m256 d;     // lane k: block k's scale
};
// The activation group weight type G reads.
template <typename V, typename G>
using VnniX = VnniXGroup<V, G::kMin>;

// Where the integer sums of x's blocks start, in a V register.
template <typename V, bool kMin>
inline typename V::Vec vnni_init(const VnniXGroup<V, kMin>& x) {
  if constexpr (kMin) {
    return V::widen(_mm256_setzero_si256());
  } else {
    return V::widen(x.init);
  }
}

// Activation blocks b and b + 1 of one row after the last whole group (GGUF layout): first halves
// (values 0-15) of both blocks in lo, second halves in hi, so lanes 0-3 sum block b and 4-7 block
// b + 1. An odd last block is paired with itself, the copy's scale set to zero.
struct VnniXPair {
  __m256i lo, hi;
  __m256i init;  // lanes 0-3: -(offset * sum_b) / 4, lanes 4-7: the same for b + 1
  __m256 d;      // [d_b x4 | d_b+1 x4]
  __m256 dsum;   // types with a minimum: [d_b sum_b, 0, 0, 0 | d_b+1 sum_b+1, 0, 0, 0], one term a block
};

template <typename V>
inline float vnni_hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// [first 16 bytes at p0 | first 16 bytes at p1]
template <typename V>
inline __m256i vnni_halves(const void* p0, const void* p1) {
  return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(p1), reinterpret_cast<const __m128i*>(p0));
}

// Each weight type: kOffset (what the unsigned reading adds to every weight), kMin (whether its
// blocks have a minimum m: weight = d q + m, which meets d_x times the activations' sum as one more
// FMA a block, before the dot's), slot_reg() (the order of VnniXGroup's slots), W (one group of one
// row, loaded as unsigned bytes) and load_pair() (a pair of tail blocks, likewise).
// kStream: whether decode prefetches the weight stream (vnni_q8_0_rows says when).
template <typename V, bool kStream>
struct VnniQ8 {
  using Group = GroupQ8_0;
  using Block = BlockQ8_0;
  static constexpr int32_t kOffset = 128;
  static constexpr bool kMin = false;
  static constexpr bool kPairTailRows = true;  // see vnni_tiles
  static constexpr bool kPrefetch = kStream;
  static constexpr int slot_reg(int s) { return s; }
  static constexpr int kLoads = 256 / V::kBytes, kRegs = kLoads;
  struct W {
    typename V::Vec v[kRegs];
  };
  static W load(const Group& g) {
    W w;
    for (int c = 0; c < kLoads; ++c) w.v[c] = V::flip(V::load(g.q + V::kBytes * c));
    return w;
  }
  template <typename X>
  static typename V::Vec dot(typename V::Vec acc, const W& w, const X& x) {
    for (int c = 0; c < kLoads; ++c) acc = V::dp(acc, w.v[c], x.a[c]);
    return acc;
  }
  static void load_pair(const Block& b0, const Block& b1, __m256i& lo, __m256i& hi) {
    const __m256i flip = _mm256_set1_epi8(-128);
    lo = _mm256_xor_si256(vnni_halves<V>(b0.q, b1.q), flip);
    hi = _mm256_xor_si256(vnni_halves<V>(b0.q + 16, b1.q + 16), flip);
  }
};

template <typename V>
struct VnniQ4 {
  using Group = GroupQ4_0;
  using Block = BlockQ4_0;
  static constexpr int32_t kOffset = 8;
  static constexpr bool kMin = false;
  static constexpr bool kPairTailRows = false;
  static constexpr bool kPrefetch = true;  // see stream_prefetch.hpp
  // Load c of kBytes reads kBytes / 32 of the group's 32-byte chunks; its low nibbles fill
  // register 2c of W, its high nibbles register 2c + 1. Chunk k holds the activation registers 2k
  // (low nibbles) and 2k + 1 (high nibbles), quant_blocks.hpp.
  static constexpr int kLoads = 128 / V::kBytes, kRegs = 2 * kLoads;
  static constexpr int slot_reg(int s) {
    constexpr int h = V::kBytes / 32;  // chunks per load
    const int v = s / h, i = s % h;    // register v of W, sub-slot i
    return 2 * ((v / 2) * h + i) + v % 2;
  }
  struct W {
    typename V::Vec v[kRegs];
  };
  static W load(const Group& g) { return load_qs(g.qs); }
  // The 128 bytes of nibbles at qs in GroupQ4_0's order (a GroupQ4_K's are in the same order).
  static W load_qs(const uint8_t* qs) {
    W w;
    for (int c = 0; c < kLoads; ++c) {
      const typename V::Vec b = V::load(qs + V::kBytes * c);
      w.v[2 * c] = V::low_nibbles(b);
      w.v[2 * c + 1] = V::high_nibbles(b);
    }
    return w;
  }
  template <typename X>
  static typename V::Vec dot(typename V::Vec acc, const W& w, const X& x) {
    for (int c = 0; c < 2 * kLoads; ++c) acc = V::dp(acc, w.v[c], x.a[c]);
    return acc;
  }
  template <typename B>  // BlockQ4_0, BlockQ4_1
  static void load_pair(const B& b0, const B& b1, __m256i& lo, __m256i& hi) {
    const __m256i v = vnni_halves<V>(b0.qs, b1.qs), m = _mm256_set1_epi8(15);
    lo = _mm256_and_si256(v, m);
    hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
  }
};

// The 8 blocks of a group's activations at q (256 bytes) dealt out into VnniXGroup's slots, four
// bytes at a time: the portable way (a policy may have a faster one).
template <typename G>
void vnni_slots_portable(const int8_t* q, void* out) {
  auto* slots = static_cast<unsigned char*>(out);
  for (int s = 0; s < kGroupBlocks; ++s) {
    for (int k = 0; k < 8; ++k) std::memcpy(slots + 32 * s + 4 * k, q + k * kBlock + 4 * G::slot_reg(s), 4);
  }
}

template <typename V, typename G>
VnniX<V, G> vnni_prepare_group(const QuantizedActs& xq, int64_t t, int64_t g) {
  VnniX<V, G> x;
  V::template slots<G>(xq.q + t * xq.cols + g * kGroupBlocks * kBlock, x.a);
  const int64_t b = t * xq.blocks + g * kGroupBlocks;
  const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.sums + b));
  x.d = _mm256_loadu_ps(xq.d + b);
  if constexpr (G::kMin) {
    x.dsum = _mm256_mul_ps(x.d, _mm256_cvtepi32_ps(sums));
  } else {
    x.init = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_mullo_epi32(sums, _mm256_set1_epi32(G::kOffset)));
  }
  return x;
}

template <typename V, typename G>
VnniXPair vnni_prepare_pair(const QuantizedActs& xq, int64_t t, int64_t b) {
  const bool last_odd = b + 1 == xq.blocks;
  const int64_t b1 = last_odd ? b : b + 1, row = t * xq.blocks;
  const int8_t* q = xq.q + t * xq.cols;
  const int32_t c0 = -G::kOffset / 4 * xq.sums[row + b], c1 = -G::kOffset / 4 * xq.sums[row + b1];
  const float d0 = xq.d[row + b], d1 = last_odd ? 0.0f : xq.d[row + b1];
  // The same products as vnni_prepare_group's dsum.
  const float s0 = d0 * static_cast<float>(xq.sums[row + b]), s1 = d1 * static_cast<float>(xq.sums[row + b1]);
  return {vnni_halves<V>(q + b * kBlock, q + b1 * kBlock), vnni_halves<V>(q + b * kBlock + 16, q + b1 * kBlock + 16),
          _mm256_setr_epi32(c0, c0, c0, c0, c1, c1, c1, c1), _mm256_setr_ps(d0, d0, d0, d0, d1, d1, d1, d1),
          _mm256_setr_ps(s0, 0.0f, 0.0f, 0.0f, s1, 0.0f, 0.0f, 0.0f)};
}

// The groups of activation rows t..t+T-1 into xg[g * T + j], the tail pairs into xp[p * T + j].
template <typename V, typename G, int T>
void vnni_prepare(const QuantizedActs& xq, int64_t t, VnniX<V, G>* xg, VnniXPair* xp) {
  const int64_t groups = xq.blocks / kGroupBlocks;
  for (int64_t g = 0; g < groups; ++g)
    for (int j = 0; j < T; ++j) xg[g * T + j] = vnni_prepare_group<V, G>(xq, t + j, g);
  for (int64_t b = groups * kGroupBlocks, p = 0; b < xq.blocks; b += 2, ++p)
    for (int j = 0; j < T; ++j) xp[p * T + j] = vnni_prepare_pair<V, G>(xq, t + j, b);
}

// The weights of tail blocks b and b + 1 (b again when it is the last) and their two scales,
// each spread over its 4 lanes.
struct VnniWPair {
  __m256i lo, hi;
  __m256 d;
  __m256 m;  // types with a minimum: [m_b x4 | m_b+1 x4]
};

template <typename G>
inline VnniWPair vnni_load_pair(const typename G::Block* tail, int64_t b, int64_t tail_blocks) {
  const auto& w0 = tail[b];
  const auto& w1 = tail[b + 1 < tail_blocks ? b + 1 : b];
  VnniWPair p;
  G::load_pair(w0, w1, p.lo, p.hi);
  const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  const __m128 d2 = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(uint32_t{w0.d} | uint32_t{w1.d} << 16)));
  p.d = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d2), spread);
  if constexpr (G::kMin) {
    const __m128 m2 = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(uint32_t{w0.m} | uint32_t{w1.m} << 16)));
    p.m = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(m2), spread);
  }
  return p;
}

// acc (+ m_w * d_x sum_x with a minimum) + (the pair's exact integer dots with activation pair x)
// * [d_w * d_x]: the one step of every output's tail pairs, in decode and prefill alike.
template <typename V, bool kMin>
inline __m256 vnni_pair_step(__m256 acc, const VnniWPair& w, const VnniXPair& x) {
  if constexpr (kMin) acc = _mm256_fmadd_ps(w.m, x.dsum, acc);
  const __m256i dot = V::dp256(V::dp256(x.init, w.lo, x.lo), w.hi, x.hi);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(w.d, x.d), acc);
}

// Outputs y[t+j][r+i] for i < R, j < T: weight rows r..r+R-1 against activation rows t..t+T-1,
// whose groups are prepared in xg[g * T + j] and tail pairs in xp[p * T + j]. Each weight group is
// loaded once for the T rows, each activation group once for the R rows. For a decode tile (T = 1,
// R > 1: R interleaved streams) the same group of the next tile's rows is prefetched.
// With V::kPairRows (512 bits) rows 2h and 2h + 1 share each register after their dot products:
// lanes 0-7 hold row 2h's, 8-15 row 2h + 1's, so one narrowing add, one conversion, one scale
// product and one FMA serve both rows (each ran on one row's 8 lanes before). They are the same
// lane operations on the same values as a row alone, so the bits are the same.
template <typename V, typename G, int R, int T>
inline void vnni_tile(const MatmulArgs& a, int64_t r, int64_t t, const VnniX<V, G>* xg, const VnniXPair* xp) {
  using Block = typename G::Block;
  constexpr bool kPaired = V::kPairRows && R % 2 == 0;
  const int64_t nb = a.xq.blocks, groups = nb / kGroupBlocks, tail_blocks = nb - groups * kGroupBlocks;
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  const auto* first = static_cast<const unsigned char*>(a.w.data) + r * row_bytes;
  const typename G::Group* w[R];
  for (int i = 0; i < R; ++i) w[i] = reinterpret_cast<const typename G::Group*>(first + i * row_bytes);
  __m256 acc[R][T];  // paired: filled from `pairs` after the groups
  [[maybe_unused]] typename V::F pairs[kPaired ? R / 2 : 1][T];
  for (int j = 0; j < T; ++j) {
    if constexpr (kPaired) {
      for (int h = 0; h < R / 2; ++h) pairs[h][j] = V::zero_f();
    } else {
      for (int i = 0; i < R; ++i) acc[i][j] = _mm256_setzero_ps();
    }
  }
  for (int64_t g = 0; g < groups; ++g, xg += T) {
    // Register by register, each activation register loaded once for the R rows (loads, not
    // dot products, bound the tile otherwise); the integer sums are exact in any order.
    typename G::W wv[R];
    for (int i = 0; i < R; ++i) {
      if constexpr (T == 1 && R > 1) _mm_prefetch(reinterpret_cast<const char*>(w[i] + g) + R * row_bytes, _MM_HINT_T1);
      wv[i] = G::load(w[i][g]);
    }
    typename V::Vec dots[R][T];
    for (int j = 0; j < T; ++j) {
      const typename V::Vec init = vnni_init(xg[j]);
      for (int i = 0; i < R; ++i) dots[i][j] = init;
    }
    for (int c = 0; c < G::kRegs; ++c) {
      for (int j = 0; j < T; ++j) {
        const typename V::Vec xv = xg[j].a[c];
        for (int i = 0; i < R; ++i) dots[i][j] = V::dp(dots[i][j], wv[i].v[c], xv);
      }
    }
    __m256 dw[R];
    [[maybe_unused]] __m256 mw[R];
    for (int i = 0; i < R; ++i) {
      dw[i] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i][g].d)));
      if constexpr (G::kMin) mw[i] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i][g].m)));
    }
    if constexpr (kPaired) {
      typename V::F dx2[T];
      for (int j = 0; j < T; ++j) dx2[j] = V::twice(xg[j].d);
      for (int h = 0; h < R / 2; ++h) {
        const typename V::F dw2 = V::join(dw[2 * h], dw[2 * h + 1]);
        for (int j = 0; j < T; ++j) {
          if constexpr (G::kMin) pairs[h][j] = V::fmadd(V::join(mw[2 * h], mw[2 * h + 1]), V::twice(xg[j].dsum), pairs[h][j]);
          const typename V::F dots2 = V::cvt(V::narrow_pair(dots[2 * h][j], dots[2 * h + 1][j]));
          pairs[h][j] = V::fmadd(dots2, V::mul(dw2, dx2[j]), pairs[h][j]);
        }
      }
    } else {
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < T; ++j) {
          if constexpr (G::kMin) acc[i][j] = _mm256_fmadd_ps(mw[i], xg[j].dsum, acc[i][j]);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(V::narrow(dots[i][j])), _mm256_mul_ps(dw[i], xg[j].d), acc[i][j]);
        }
    }
  }
  if constexpr (kPaired)
    for (int h = 0; h < R / 2; ++h)
      for (int j = 0; j < T; ++j) V::split(pairs[h][j], acc[2 * h][j], acc[2 * h + 1][j]);
  for (int64_t b = 0; b < tail_blocks; b += 2, xp += T) {
    for (int i = 0; i < R; ++i) {
      const VnniWPair wp = vnni_load_pair<G>(reinterpret_cast<const Block*>(w[i] + groups), b, tail_blocks);
      for (int j = 0; j < T; ++j) acc[i][j] = vnni_pair_step<V, G::kMin>(acc[i][j], wp, xp[j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) a.y[(t + j) * a.w.rows + r + i] = vnni_hsum<V>(acc[i][j]);
}

// Decode of one short row: the steps of vnni_tile<V, G, 1, 1> with q4_0's stream prefetched.
template <typename V, typename G>
inline float vnni_row(const MatmulArgs& a, const unsigned char* row, const VnniX<V, G>* xg, const VnniXPair* xp,
                      StreamPrefetch& prefetch) {
  using Block = typename G::Block;
  const int64_t nb = a.xq.blocks, groups = nb / kGroupBlocks, tail_blocks = nb - groups * kGroupBlocks;
  const auto* w = reinterpret_cast<const typename G::Group*>(row);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    if constexpr (G::kPrefetch) prefetch.upto(w + g + 1);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[g].d)));
    const __m256i dot = V::narrow(G::dot(vnni_init(xg[g]), G::load(w[g]), xg[g]));
    if constexpr (G::kMin) acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[g].m))), xg[g].dsum, acc);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, xg[g].d), acc);
  }
  const Block* tail = reinterpret_cast<const Block*>(w + groups);
  for (int64_t b = 0, p = 0; b < tail_blocks; b += 2, ++p) {
    acc = vnni_pair_step<V, G::kMin>(acc, vnni_load_pair<G>(tail, b, tail_blocks), xp[p]);
  }
  if constexpr (G::kPrefetch) prefetch.upto(row + static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols)));
  return vnni_hsum<V>(acc);
}

// Decode takes long rows (from kTileFromGroups groups, as in the AVX2 file) V::kDecodeRows at a
// time, so each prepared activation group is read once for that many rows.
constexpr int64_t kVnniTileFromGroups = 40;

// One tile of T activation rows (from t) over weight rows g0..g1, kR at a time (for_each_tile). A
// run's first tile (t == 0) meets its weights in memory and prefetches them ahead
// (stream_prefetch.hpp), q8_0 as well as q4_0: on Zen 5 (1 thread) that made q8_0 at n = 8 (a
// batch of decoding sequences) 4864x896 0.66 -> 0.23 ms, 896x4864 0.37 -> 0.30, and slim-bench
// tg64 x8 SmolLM2-135M 355 / 360 -> 460 / 448 tokens/s, Qwen2.5-0.5B 175 / 163 -> 212 / 205,
// Llama-3.2-1B 75 / 69 -> 82 / 84; at n = 512 it changed nothing. The tiles after it find the
// weights in L2. Rows with blocks after their last group (576, 896 or 1152 columns) go one at a
// time, except q8_0's on AMD (G::kPairTailRows):
// - Xeon with AVX-512, 1 thread, n = 512, before rows were paired in registers: a tile of kR = 2
//   rows with the tail pairs ran slower than two of one row (q4_0 4864x896 27.0 against 20.0 ms,
//   1536x576 5.2 against 4.3; whole model pp512 Qwen2.5-0.5B q4_0 221 against 270 tokens/s,
//   q8_0 216 against 237).
// - Zen 5, 1 thread, paired rows: q8_0's two-row tiles win (bench_matmul n = 512, medians:
//   1536x576 3.44-3.78 -> 2.38-2.40 ms, 4864x896 15.1-15.6 -> 11.6-11.9; slim-bench pp512
//   SmolLM2-135M 945 / 952 -> 1083 / 1077 tokens/s, Qwen2.5-0.5B 372 / 371 -> 416 / 420), q4_0's
//   lose in whole models though they win alone (pp512 SmolLM2-135M 1164 / 1155 -> 1091 / 1088,
//   Qwen2.5-0.5B 475 / 467 -> 446 / 446).
template <typename V, typename G, int T>
void vnni_tiles(const MatmulArgs& a, int64_t g0, int64_t g1, int64_t t, VnniX<V, G>* xg, VnniXPair* xp) {
  constexpr int kR = V::kPrefillRows;
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  const auto* rows = static_cast<const unsigned char*>(a.w.data);
  vnni_prepare<V, G, T>(a.xq, t, xg, xp);
  StreamPrefetch prefetch(rows + g0 * row_bytes);
  const bool first = t == 0;
  int64_t r = g0;
  if (a.xq.blocks % kGroupBlocks == 0 || (V::kPairRows && G::kPairTailRows && !cpu_features().intel)) {
    for (; r + kR <= g1; r += kR) {
      if (first) prefetch.upto(rows + (r + kR) * row_bytes);
      vnni_tile<V, G, kR, T>(a, r, t, xg, xp);
    }
  }
  for (; r < g1; ++r) {
    if (first) prefetch.upto(rows + (r + 1) * row_bytes);
    vnni_tile<V, G, 1, T>(a, r, t, xg, xp);
  }
}

template <typename V, typename G>
void vnni_run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  constexpr int kR = V::kPrefillRows, kT = V::kPrefillCols;
  const int64_t n = a.n, nb = a.xq.blocks, groups = nb / kGroupBlocks, tail_blocks = nb - groups * kGroupBlocks;
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(a.w.dtype, a.w.cols));
  const int64_t per_row = n > 1 ? kT : 1;
  // Inline up to 16384 columns at decode, 4096 at prefill (20 KiB), and every tail (< 4 pairs).
  Scratch<VnniX<V, G>, 64> xg(static_cast<size_t>(groups * per_row));
  Scratch<VnniXPair, 4 * kT> xp(static_cast<size_t>((tail_blocks + 1) / 2 * per_row));
  if (n > 1) {
    const int64_t run_rows = std::max<int64_t>(kR, 256 * 1024 / row_bytes / kR * kR);
    for_each_tile<kT>(n, r0, r1, run_rows, [&]<int T>(int64_t g0, int64_t g1, int64_t t) {
      vnni_tiles<V, G, T>(a, g0, g1, t, xg.get(), xp.get());
    });
    return;
  }
  // Decode: the weight rows one after the other, one sequential stream.
  vnni_prepare<V, G, 1>(a.xq, 0, xg.get(), xp.get());
  int64_t r = r0;
  if (groups >= kVnniTileFromGroups) {
    for (; r + V::kDecodeRows <= r1; r += V::kDecodeRows) vnni_tile<V, G, V::kDecodeRows, 1>(a, r, 0, xg.get(), xp.get());
  }
  const auto* row = static_cast<const unsigned char*>(a.w.data) + r * row_bytes;
  StreamPrefetch prefetch(row);
  for (; r < r1; ++r, row += row_bytes) a.y[r] = vnni_row<V, G>(a, row, xg.get(), xp.get(), prefetch);
}

// q8_0 decode prefetches its weight stream on Intel CPUs only: on a Xeon with AVX-512 and
// AVX-VNNI (1 thread) that made Llama-3.2-1B q8_0 tg64 1.18x faster and SmolLM2-135M's 1.2-1.5x,
// where on AMD Zen the hardware prefetcher alone was as fast or faster (stream_prefetch.hpp).
// Prefetches never change a result.
template <typename V>
void vnni_q8_0_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  if (a.n == 1 && cpu_features().intel) return vnni_run<V, VnniQ8<V, true>>(a, r0, r1);
  vnni_run<V, VnniQ8<V, false>>(a, r0, r1);
}
template <typename V>
void vnni_q4_0_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  vnni_run<V, VnniQ4<V>>(a, r0, r1);
}

}  // namespace
}  // namespace slim::kernels

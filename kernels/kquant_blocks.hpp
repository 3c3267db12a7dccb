// Internal to kernels/: the GGUF K-quant super-blocks (q4_k, q5_k, q6_k: 256 weights each) and the
// 8-bit activations of 256 values (ggml's Q8_K) their dot products take. Layouts and value formulas
// as in ggml (ggml/src/ggml-common.h, block_q4_K / block_q5_K / block_q6_K / block_q8_K, and
// ggml-quants.c, dequantize_row_q4_K / _q5_K / _q6_K).
//   q4_k: 144 bytes = fp16 d, fp16 dmin, scales[12] (eight 6-bit scales sc_j and mins m_j, packed
//         as unpack_scale_mins() reads them), qs[128]; sub-block j (32 weights, j = 0..7): weight i
//         = d sc_j q - dmin m_j with q the low nibble of qs[32 (j/2) + i] for even j, the high one
//         for odd j.
//   q5_k: 176 bytes = q4_k's d, dmin and scales, qh[32], qs[128]: q4_k's nibble plus 16 times bit j
//         of qh[i], q in 0..31.
//   q6_k: 210 bytes = ql[128], qh[64], int8 scales[16], fp16 d; 16 sub-blocks of 16: weight =
//         d scales[k] (q - 32), q = 4 bits of ql and 2 of qh (dequantize_row_q6_K's order).
#pragma once

#include <cstdint>

#include "kernels/quant_blocks.hpp"

namespace slim::kernels {

constexpr int kSuperBlock = 256;

struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[kSuperBlock / 2];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[kSuperBlock / 8];
  uint8_t qs[kSuperBlock / 2];
};
struct BlockQ6_K {
  uint8_t ql[kSuperBlock / 2];
  uint8_t qh[kSuperBlock / 4];
  int8_t scales[kSuperBlock / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ4_K) == 144 && alignof(BlockQ4_K) == 2);
static_assert(sizeof(BlockQ5_K) == 176 && alignof(BlockQ5_K) == 2);
static_assert(sizeof(BlockQ6_K) == 210 && alignof(BlockQ6_K) == 2);

// The eight 6-bit scales and mins of a q4_k / q5_k block (ggml's get_scale_min_k4): j < 4 in the
// low 6 bits of bytes j and j + 4; j >= 4 as 4 low bits in byte j + 4 (scale low nibble, min high)
// and 2 high bits in the top bits of bytes j - 4 (scale) and j (min).
inline void unpack_scale_mins(const uint8_t* s, uint8_t* sc, uint8_t* m) noexcept {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
    sc[j + 4] = static_cast<uint8_t>((s[j + 8] & 15) | ((s[j] >> 6) << 4));
    m[j + 4] = static_cast<uint8_t>((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
  }
}

// The inverse: eight 6-bit scales and mins (each 0..63) packed into the 12 bytes at s.
inline void pack_scale_mins(const uint8_t* sc, const uint8_t* m, uint8_t* s) noexcept {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
    s[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
}

// q of weight 32 j + i of a q4_k block (0..15) / q5_k block (0..31).
inline int kquant_q(const BlockQ4_K& w, int j, int i) noexcept { return (w.qs[32 * (j / 2) + i] >> (4 * (j % 2))) & 15; }
inline int kquant_q(const BlockQ5_K& w, int j, int i) noexcept {
  return ((w.qs[32 * (j / 2) + i] >> (4 * (j % 2))) & 15) | (((w.qh[i] >> j) & 1) << 4);
}

// Element e of a q6_k block: which bytes and bits hold its 6-bit value (dequantize_row_q6_K's
// order: halves of 128, each four runs of 32 sharing ql's bytes by nibble and qh's by bit pair).
struct Q6Place {
  int ql, ql_shift, qh, qh_shift;
};
constexpr Q6Place q6_place(int e) noexcept {
  const int h = e / 128, k = (e % 128) / 32, l = e % 32;
  return {h * 64 + l + 32 * (k & 1), 4 * (k >> 1), h * 32 + l, 2 * k};
}
// q - 32 of element e of a q6_k block (-32..31).
inline int q6_value(const BlockQ6_K& w, int e) noexcept {
  const Q6Place p = q6_place(e);
  return (((w.ql[p.ql] >> p.ql_shift) & 15) | (((w.qh[p.qh] >> p.qh_shift) & 3) << 4)) - 32;
}

// Layout::groups8 of the K-quants (kernels.hpp): one super-block at a time, its values dealt out
// so that 32-bit lane k of every register a kernel loads holds four values of sub-block k. An
// 8-bit dot product instruction then sums each sub-block in its own lane, and the sub-block scales
// meet those sums once per super-block, one multiply for all lanes. The same size as the GGUF
// block, the scales and d / dmin where GGUF has them.
//   q4_k: 32-byte chunk c (0..3) of qs, lane k (0..7): low nibbles = values 8c..8c+3 of sub-block
//         k, high nibbles = values 8c+4..8c+7 (GroupQ4_0's order, a sub-block for a block). The
//         12 scale bytes repacked so that one widening load gives the scales: byte k (0..7) =
//         sc_k | (m_k >> 4) << 6, and bytes 8-11 as a little-endian word hold m_k & 15 in bits
//         4k..4k+3 (group_scale_mins()).
//   q5_k: q4_k's scales and nibbles, and the fifth bits as four 64-bit masks, one for each
//         64-byte register of nibbles a 512-bit kernel loads (the low nibbles of qs[0..64), their
//         high nibbles, the low and the high nibbles of qs[64..128)): bit p of mask m is the fifth
//         bit of byte p of register m (group_q5_k_bit()).
//   q6_k: 64-byte register r (0..3), lane k (0..15): values 4r..4r+3 of sub-block k; byte p of
//         register r keeps its low 4 bits in the low (r even) or high (r odd) nibble of
//         ql[64 (r / 2) + p], its top 2 bits in bits 2r, 2r + 1 of qh[p].
struct GroupQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];  // the group order above, not GGUF's
  uint8_t qs[kSuperBlock / 2];
};
struct GroupQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];                // as GroupQ4_K's
  uint8_t qh[kSuperBlock / 8];       // four little-endian 64-bit masks
  uint8_t qs[kSuperBlock / 2];       // as GroupQ4_K's
};
struct GroupQ6_K {
  uint8_t ql[kSuperBlock / 2];
  uint8_t qh[kSuperBlock / 4];
  int8_t scales[kSuperBlock / 16];
  uint16_t d;
};
static_assert(sizeof(GroupQ4_K) == sizeof(BlockQ4_K) && alignof(GroupQ4_K) == 2);
static_assert(sizeof(GroupQ5_K) == sizeof(BlockQ5_K) && alignof(GroupQ5_K) == 2);
static_assert(sizeof(GroupQ6_K) == sizeof(BlockQ6_K) && alignof(GroupQ6_K) == 2);

// A GroupQ4_K's scales and mins from its 12 scale bytes, and back.
inline void group_scale_mins(const uint8_t* s, uint8_t* sc, uint8_t* m) noexcept {
  const uint32_t low = uint32_t{s[8]} | uint32_t{s[9]} << 8 | uint32_t{s[10]} << 16 | uint32_t{s[11]} << 24;
  for (int k = 0; k < 8; ++k) {
    sc[k] = s[k] & 63;
    m[k] = static_cast<uint8_t>((s[k] >> 6) << 4 | ((low >> 4 * k) & 15));
  }
}
inline void pack_group_scale_mins(const uint8_t* sc, const uint8_t* m, uint8_t* s) noexcept {
  uint32_t low = 0;
  for (int k = 0; k < 8; ++k) {
    s[k] = static_cast<uint8_t>(sc[k] | (m[k] >> 4) << 6);
    low |= uint32_t{m[k] & 15u} << 4 * k;
  }
  for (int i = 0; i < 4; ++i) s[8 + i] = static_cast<uint8_t>(low >> 8 * i);
}

// Where value i (0..31) of sub-block k of a GroupQ4_K lies: byte of qs and nibble shift.
constexpr int group_q4_k_byte(int k, int i) noexcept { return 32 * (i / 8) + 4 * k + i % 4; }
constexpr int group_q4_k_shift(int i) noexcept { return i % 8 < 4 ? 0 : 4; }
// Where the fifth bit of value i (0..31) of sub-block k of a GroupQ5_K lies: bit index (0..255)
// into qh, mask m = index / 64. Value i is in chunk i / 8 of qs, in the low nibbles for i % 8 < 4.
constexpr int group_q5_k_bit(int k, int i) noexcept {
  const int chunk = i / 8, m = 2 * (chunk / 2) + (i % 8) / 4;
  return 64 * m + 32 * (chunk % 2) + 4 * k + i % 4;
}
// Where value i (0..15) of sub-block k of a GroupQ6_K lies: register and byte within it.
constexpr int group_q6_k_register(int i) noexcept { return i / 4; }
constexpr int group_q6_k_byte(int k, int i) noexcept { return 4 * k + i % 4; }

// n activation rows of `cols` values (a multiple of 256) as ggml's Q8_K: row t, super-block b holds
// q[t*cols + b*256 + i] with the f32 scale d[t*blocks + b] and the sums of its 16 runs of 16
// values bsums[(t*blocks + b)*16 + k] (the mins of q4_k / q5_k meet them once per 16 values).
struct QuantizedActsK {
  int64_t n = 0, cols = 0, blocks = 0;
  const int8_t* q = nullptr;
  const float* d = nullptr;
  const int16_t* bsums = nullptr;
};

using ActRowQuantizerK = void (*)(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums) noexcept;

// One activation row -> Q8_K blocks, as ggml's quantize_row_q8_K_ref: iscale = 127 / max|x|,
// q = round-half-even(x * iscale), d = 1 / iscale (ggml takes the sign of the largest value into
// both, which gives the same products d * q). A block whose iscale is 0 or not finite (zeros,
// denormal-only or non-finite values) gets d = 0 and q = 0.
void quantize_act_row_q8_k(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums) noexcept;

// Owns the memory behind a QuantizedActsK.
class ActBufferK {
 public:
  QuantizedActsK view() const noexcept { return acts_; }
  // The n rows of x, each through `row` (a kernel set's quantize_acts_k).
  void quantize(const float* x, int64_t n, int64_t cols, ActRowQuantizerK row);

 private:
  ActMemory memory_;
  QuantizedActsK acts_;
};

}  // namespace slim::kernels

// Layout::groups8: regrouping a row's GGUF blocks for the AVX2 kernels, and back (for files and the
// kernel sets that read only GGUF blocks). quant_blocks.hpp describes the group layouts.
#include <cstring>

#include "kernels/kernel_set.hpp"
#include "kernels/kquant_blocks.hpp"
#include "kernels/matmul_impl.hpp"
#include "kernels/weight_types.hpp"

namespace slim::kernels {
namespace {

// Both directions move whole 4-byte lanes (q4_0: 4 bytes of nibble pairs), the unit of the layout.
uint32_t load32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void store32(void* p, uint32_t v) { std::memcpy(p, &v, 4); }

void group(const BlockQ8_0* in, GroupQ8_0& out) {
  for (int k = 0; k < kGroupBlocks; ++k) {
    out.d[k] = in[k].d;
    for (int r = 0; r < 8; ++r) store32(out.q + 32 * r + 4 * k, load32(in[k].q + 4 * r));
  }
}

void ungroup(const GroupQ8_0& in, BlockQ8_0* out) {
  for (int k = 0; k < kGroupBlocks; ++k) {
    out[k].d = in.d[k];
    for (int r = 0; r < 8; ++r) store32(out[k].q + 4 * r, load32(in.q + 32 * r + 4 * k));
  }
}

// q4_0: GGUF byte qs[i] holds value i (low nibble) and value i + 16 (high nibble); lane k of chunk
// c holds values 8c..8c+3 (low nibbles) and 8c+4..8c+7 (high nibbles) of block k. So chunks 0 and
// 1 come from the low nibbles of qs[0..7] and qs[8..15], chunks 2 and 3 from their high nibbles.
constexpr uint32_t kLow = 0x0F0F0F0Fu, kHigh = 0xF0F0F0F0u;

// One GGUF block's nibbles (q4_0's qs, q5_0's too) into lane k of a group's chunks, and back.
void group_nibbles(const uint8_t* qs, int k, uint8_t* out) {
  for (int c = 0; c < 4; ++c) {
    const uint32_t a = load32(qs + 8 * (c % 2)), b = load32(qs + 8 * (c % 2) + 4);
    const uint32_t lane = c < 2 ? (a & kLow) | (b & kLow) << 4 : (a >> 4 & kLow) | (b & kHigh);
    store32(out + 32 * c + 4 * k, lane);
  }
}

void ungroup_nibbles(const uint8_t* in, int k, uint8_t* qs) {
  for (int half = 0; half < 2; ++half) {  // qs[8 half ..]: chunk `half` (low nibbles), chunk half + 2 (high)
    const uint32_t lo = load32(in + 32 * half + 4 * k), hi = load32(in + 32 * (half + 2) + 4 * k);
    store32(qs + 8 * half, (lo & kLow) | (hi & kLow) << 4);
    store32(qs + 8 * half + 4, (lo >> 4 & kLow) | (hi & kHigh));
  }
}

// q5's bit planes (quant_blocks.hpp): byte 4k + i of qh holds bits i, 4 + i, .., 28 + i of block
// k's fifth bits, bit 4r + i in plane r. Bits 0, 4, .., 28 of x packed into one byte, halving the
// gaps three times, and back.
uint8_t gather_planes(uint32_t x) {
  x &= 0x11111111u;
  x = (x | x >> 3) & 0x03030303u;
  x = (x | x >> 6) & 0x000F000Fu;
  return static_cast<uint8_t>(x | x >> 12);
}
uint32_t spread_planes(uint8_t byte) {
  uint32_t x = byte;
  x = (x | x << 12) & 0x000F000Fu;
  x = (x | x << 6) & 0x03030303u;
  return (x | x << 3) & 0x11111111u;
}

// q4_0 / q4_1 / q5_0 / q5_1: the scales (and minimums) in block order, the nibbles as above, and
// q5's fifth bits (bit i of GGUF qh for value i) in their bit planes (quant_blocks.hpp).
template <typename Block, typename Group>
void group(const Block* in, Group& out) {
  for (int k = 0; k < kGroupBlocks; ++k) {
    out.d[k] = in[k].d;
    if constexpr (requires { out.m; }) out.m[k] = in[k].m;
    group_nibbles(in[k].qs, k, out.qs);
    if constexpr (requires { out.qh; }) {
      const uint32_t high = q5_high_bits(in[k].qh);
      for (int i = 0; i < 4; ++i) out.qh[group_q5_byte(k, i)] = gather_planes(high >> i);
    }
  }
}

template <typename Group, typename Block>
void ungroup(const Group& in, Block* out) {
  for (int k = 0; k < kGroupBlocks; ++k) {
    out[k].d = in.d[k];
    if constexpr (requires { in.m; }) out[k].m = in.m[k];
    ungroup_nibbles(in.qs, k, out[k].qs);
    if constexpr (requires { in.qh; }) {
      uint32_t high = 0;
      for (int i = 0; i < 4; ++i) high |= spread_planes(in.qh[group_q5_byte(k, i)]) << i;
      // Little-endian, as q5_high_bits() reads it.
      for (int j = 0; j < 4; ++j) out[k].qh[j] = static_cast<uint8_t>(high >> 8 * j);
    }
  }
}

// The K-quants regroup within each super-block (kquant_blocks.hpp); d and dmin stay, q6_k's
// scales too. Four values of a sub-block at a time, as q4_0's group() (loading a model regroups every block):
// sub-blocks 2j and 2j + 1 share GGUF bytes qs[32j ..], 2j the low nibbles, 2j + 1 the high ones.
// The scales and mins in the group order. q4_k and q5_k alike.
template <typename Block, typename Group>
void group_scales_and_nibbles(const Block& in, Group& out) {
  out.d = in.d;
  out.dmin = in.dmin;
  uint8_t sc[8], m[8];
  unpack_scale_mins(in.scales, sc, m);
  pack_group_scale_mins(sc, m, out.scales);
  for (int c = 0; c < 4; ++c) {
    for (int j = 0; j < 4; ++j) {
      const uint32_t a = load32(in.qs + 32 * j + 8 * c), b = load32(in.qs + 32 * j + 8 * c + 4);
      store32(out.qs + 32 * c + 4 * (2 * j), (a & kLow) | (b & kLow) << 4);
      store32(out.qs + 32 * c + 4 * (2 * j + 1), (a >> 4 & kLow) | (b & kHigh));
    }
  }
}

template <typename Group, typename Block>
void ungroup_scales_and_nibbles(const Group& in, Block& out) {
  out.d = in.d;
  out.dmin = in.dmin;
  uint8_t sc[8], m[8];
  group_scale_mins(in.scales, sc, m);
  pack_scale_mins(sc, m, out.scales);
  std::memset(out.qs, 0, sizeof out.qs);
  for (int k = 0; k < 8; ++k)
    for (int i = 0; i < 32; ++i) {
      const int q = (in.qs[group_q4_k_byte(k, i)] >> group_q4_k_shift(i)) & 15;
      out.qs[32 * (k / 2) + i] |= static_cast<uint8_t>(q << 4 * (k % 2));
    }
}

void group(const BlockQ4_K& in, GroupQ4_K& out) { group_scales_and_nibbles(in, out); }
void ungroup(const GroupQ4_K& in, BlockQ4_K& out) { ungroup_scales_and_nibbles(in, out); }

// q5_k's fifth bits: bit j of GGUF qh[i] is value i of sub-block j.
void group(const BlockQ5_K& in, GroupQ5_K& out) {
  group_scales_and_nibbles(in, out);
  std::memset(out.qh, 0, sizeof out.qh);
  for (int k = 0; k < 8; ++k)
    for (int i = 0; i < 32; ++i) {
      const int bit = group_q5_k_bit(k, i);
      out.qh[bit / 8] |= static_cast<uint8_t>(((in.qh[i] >> k) & 1) << bit % 8);
    }
}

void ungroup(const GroupQ5_K& in, BlockQ5_K& out) {
  ungroup_scales_and_nibbles(in, out);
  std::memset(out.qh, 0, sizeof out.qh);
  for (int k = 0; k < 8; ++k)
    for (int i = 0; i < 32; ++i) {
      const int bit = group_q5_k_bit(k, i);
      out.qh[i] |= static_cast<uint8_t>(((in.qh[bit / 8] >> bit % 8) & 1) << k);
    }
}

// Four values at a time: lane k of register r holds GGUF elements 16k + 4r .. +3, which share a
// 4-byte word of ql (one nibble of each byte) and one of qh (one bit pair of each byte).
void group(const BlockQ6_K& in, GroupQ6_K& out) {
  out = {{}, {}, {}, in.d};
  std::memcpy(out.scales, in.scales, sizeof out.scales);
  for (int k = 0; k < 16; ++k) {
    for (int r = 0; r < 4; ++r) {
      const Q6Place place = q6_place(16 * k + 4 * r);
      const uint32_t low = load32(in.ql + place.ql) >> place.ql_shift & kLow;
      const uint32_t top = load32(in.qh + place.qh) >> place.qh_shift & 0x03030303u;
      uint8_t* ql = out.ql + 64 * (r / 2) + 4 * k;
      uint8_t* qh = out.qh + 4 * k;
      store32(ql, load32(ql) | low << 4 * (r % 2));
      store32(qh, load32(qh) | top << 2 * r);
    }
  }
}

void ungroup(const GroupQ6_K& in, BlockQ6_K& out) {
  out = {{}, {}, {}, in.d};
  std::memcpy(out.scales, in.scales, sizeof out.scales);
  for (int k = 0; k < 16; ++k)
    for (int i = 0; i < 16; ++i) {
      const int r = group_q6_k_register(i), p = group_q6_k_byte(k, i);
      const int q = ((in.ql[64 * (r / 2) + p] >> 4 * (r % 2)) & 15) | ((in.qh[p] >> 2 * r) & 3) << 4;
      const Q6Place place = q6_place(16 * k + i);
      out.ql[place.ql] |= static_cast<uint8_t>((q & 15) << place.ql_shift);
      out.qh[place.qh] |= static_cast<uint8_t>((q >> 4) << place.qh_shift);
    }
}

// A K-quant row: every super-block converted on its own.
template <typename Block, typename Group>
void relayout_super_blocks(int64_t blocks, const void* src, void* dst, bool to_groups) {
  for (int64_t b = 0; b < blocks; ++b) {
    if (to_groups) {
      group(static_cast<const Block*>(src)[b], static_cast<Group*>(dst)[b]);
    } else {
      ungroup(static_cast<const Group*>(src)[b], static_cast<Block*>(dst)[b]);
    }
  }
}

// Whole groups converted one way or the other; the blocks after them are copied as they are.
template <typename Block, typename Group>
void relayout(int64_t blocks, const void* src, void* dst, bool to_groups) {
  const int64_t groups = blocks / kGroupBlocks;
  for (int64_t g = 0; g < groups; ++g) {
    if (to_groups) {
      group(static_cast<const Block*>(src) + g * kGroupBlocks, static_cast<Group*>(dst)[g]);
    } else {
      ungroup(static_cast<const Group*>(src)[g], static_cast<Block*>(dst) + g * kGroupBlocks);
    }
  }
  const size_t done = static_cast<size_t>(groups) * sizeof(Group);
  std::memcpy(static_cast<unsigned char*>(dst) + done, static_cast<const unsigned char*>(src) + done,
              static_cast<size_t>(blocks % kGroupBlocks) * sizeof(Block));
}

}  // namespace

void to_groups8_q8_0(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ8_0, GroupQ8_0>(blocks, src, dst, true);
}
void from_groups8_q8_0(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ8_0, GroupQ8_0>(blocks, src, dst, false);
}
void to_groups8_q4_0(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ4_0, GroupQ4_0>(blocks, src, dst, true);
}
void from_groups8_q4_0(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ4_0, GroupQ4_0>(blocks, src, dst, false);
}

void to_groups8_q4_1(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ4_1, GroupQ4_1>(blocks, src, dst, true);
}
void from_groups8_q4_1(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ4_1, GroupQ4_1>(blocks, src, dst, false);
}
void to_groups8_q5_0(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ5_0, GroupQ5_0>(blocks, src, dst, true);
}
void from_groups8_q5_0(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ5_0, GroupQ5_0>(blocks, src, dst, false);
}
void to_groups8_q5_1(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ5_1, GroupQ5_1>(blocks, src, dst, true);
}
void from_groups8_q5_1(const void* src, int64_t blocks, void* dst) noexcept {
  relayout<BlockQ5_1, GroupQ5_1>(blocks, src, dst, false);
}

void to_groups8_q4_k(const void* src, int64_t blocks, void* dst) noexcept {
  relayout_super_blocks<BlockQ4_K, GroupQ4_K>(blocks, src, dst, true);
}
void from_groups8_q4_k(const void* src, int64_t blocks, void* dst) noexcept {
  relayout_super_blocks<BlockQ4_K, GroupQ4_K>(blocks, src, dst, false);
}
void to_groups8_q5_k(const void* src, int64_t blocks, void* dst) noexcept {
  relayout_super_blocks<BlockQ5_K, GroupQ5_K>(blocks, src, dst, true);
}
void from_groups8_q5_k(const void* src, int64_t blocks, void* dst) noexcept {
  relayout_super_blocks<BlockQ5_K, GroupQ5_K>(blocks, src, dst, false);
}
void to_groups8_q6_k(const void* src, int64_t blocks, void* dst) noexcept {
  relayout_super_blocks<BlockQ6_K, GroupQ6_K>(blocks, src, dst, true);
}
void from_groups8_q6_k(const void* src, int64_t blocks, void* dst) noexcept {
  relayout_super_blocks<BlockQ6_K, GroupQ6_K>(blocks, src, dst, false);
}

Layout preferred_layout(DType dtype) noexcept {
  return dtype_valid(dtype) && kernel_set(active_isa_id())->rows[static_cast<size_t>(dtype)][static_cast<size_t>(Layout::groups8)]
             ? Layout::groups8
             : Layout::blocks;
}

void relayout_row(DType dtype, int64_t cols, const void* src, Layout from, void* dst, Layout to) noexcept {
  const WeightType& type = weight_type(dtype);
  const int64_t blocks = cols / dtype_block_elems(dtype);
  if (from == to || type.to_groups8 == nullptr) {
    std::memcpy(dst, src, dtype_row_bytes(dtype, cols));
  } else if (to == Layout::groups8) {
    type.to_groups8(src, blocks, dst);
  } else {
    type.from_groups8(src, blocks, dst);
  }
}

}  // namespace slim::kernels

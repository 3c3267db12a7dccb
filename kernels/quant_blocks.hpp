// Internal to kernels/: the GGUF block layouts of q8_0 / q4_0 weights (see slim/dtype.hpp) and the
// 8-bit blocks activations are quantized to before a dot product with block-quantized weights.
#pragma once

#include <cstdint>

#include "kernels/kernels.hpp"
#include "kernels/scratch.hpp"

namespace slim::kernels {

constexpr int kBlock = 32;

struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t q[kBlock];
};
struct BlockQ4_0 {
  uint16_t d;        // fp16 scale
  uint8_t qs[kBlock / 2];  // element i < 16: low nibble of qs[i]; element i >= 16: high nibble of qs[i-16]
};
// q4_1 / q5_0 / q5_1 (slim/dtype.hpp): value i's fifth bit is bit i of qh read as a little-endian
// uint32 (q5_high_bit()).
struct BlockQ4_1 {
  uint16_t d, m;  // fp16 scale and minimum
  uint8_t qs[kBlock / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kBlock / 2];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[kBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && alignof(BlockQ8_0) == 2);
static_assert(sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(alignof(BlockQ4_1) == 2 && alignof(BlockQ5_0) == 2 && alignof(BlockQ5_1) == 2);

// The 32 fifth bits of a q5 block, bit i for value i.
inline uint32_t q5_high_bits(const uint8_t (&qh)[4]) noexcept {
  return uint32_t{qh[0]} | uint32_t{qh[1]} << 8 | uint32_t{qh[2]} << 16 | uint32_t{qh[3]} << 24;
}

// Value i of a 4-bit (q4_*) or 5-bit (q5_*) block before its offset or minimum: 0..15 or 0..31.
template <typename Block>
inline int block_quant(const Block& b, int i) noexcept {
  const int nibble = i < kBlock / 2 ? b.qs[i] & 15 : b.qs[i - kBlock / 2] >> 4;
  if constexpr (requires { b.qh; }) return nibble | static_cast<int>((q5_high_bits(b.qh) >> i) & 1u) << 4;
  return nibble;
}
static_assert(sizeof(BlockQ4_0) == 18 && alignof(BlockQ4_0) == 2);

// Layout::groups8 (kernels.hpp): 8 consecutive blocks of a row as one group of the same size. The
// values are dealt out four at a time so that in every 32-byte register a kernel loads, 32-bit
// lane k holds four values of block k: one 8-bit dot product instruction then works on all 8
// blocks at once, each block's integer sum builds up in its own lane, and the scales of the group
// become one f16 -> f32 conversion, one int -> float conversion and one FMA (the GGUF layout
// needs them once per pair of blocks).
constexpr int kGroupBlocks = 8;

// Register r (the 32 bytes at q + 32 r), lane k: values 4r .. 4r+3 of block k.
struct GroupQ8_0 {
  uint16_t d[kGroupBlocks];  // fp16 scales of blocks 0..7
  int8_t q[kGroupBlocks * kBlock];
};
// 32-byte chunk c, lane k: low nibbles = values 8c .. 8c+3 of block k, high nibbles = values
// 8c+4 .. 8c+7 (value v is a block's v-th weight in GGUF order, offset 8 as in BlockQ4_0). Masking
// the low nibbles gives the register of values 8c.., shifting down the high ones that of 8c+4...
struct GroupQ4_0 {
  uint16_t d[kGroupBlocks];
  uint8_t qs[kGroupBlocks * kBlock / 2];
};
// q5_0: GroupQ4_0's scales and nibbles, and the fifth bits in eight bit planes: bit r of qh[p] is
// the fifth bit of byte p of 32-byte register r, the register of values 4r..4r+3 of every block
// (chunk c's low nibbles are register 2c, its high ones 2c + 1). So value i of block k has its bit
// in byte 4k + i % 4 (group_q5_byte()), plane i / 4, and a kernel gets a
// register's fifth bits from one load of qh with a shift and an AND (AVX2) or a vptestmb (AVX-512).
struct GroupQ5_0 {
  uint16_t d[kGroupBlocks];
  uint8_t qh[kGroupBlocks * kBlock / 8];
  uint8_t qs[kGroupBlocks * kBlock / 2];
};
// q4_1 / q5_1: q4_0's / q5_0's groups with the eight fp16 minimums after the scales.
struct GroupQ4_1 {
  uint16_t d[kGroupBlocks], m[kGroupBlocks];
  uint8_t qs[kGroupBlocks * kBlock / 2];
};
struct GroupQ5_1 {
  uint16_t d[kGroupBlocks], m[kGroupBlocks];
  uint8_t qh[kGroupBlocks * kBlock / 8];
  uint8_t qs[kGroupBlocks * kBlock / 2];
};
static_assert(sizeof(GroupQ8_0) == kGroupBlocks * sizeof(BlockQ8_0) && alignof(GroupQ8_0) == 2);
static_assert(sizeof(GroupQ4_1) == kGroupBlocks * sizeof(BlockQ4_1) && alignof(GroupQ4_1) == 2);
static_assert(sizeof(GroupQ5_1) == kGroupBlocks * sizeof(BlockQ5_1) && alignof(GroupQ5_1) == 2);
static_assert(sizeof(GroupQ4_0) == kGroupBlocks * sizeof(BlockQ4_0) && alignof(GroupQ4_0) == 2);
static_assert(sizeof(GroupQ5_0) == kGroupBlocks * sizeof(BlockQ5_0) && alignof(GroupQ5_0) == 2);

// The byte of qh that holds the fifth bit of value i (0..31) of block k of a GroupQ5_0 / GroupQ5_1
// (in bit plane i / 4).
constexpr int group_q5_byte(int k, int i) noexcept { return 4 * k + i % 4; }

// n activation rows of `cols` values as 8-bit blocks: row t, block b holds q[t*cols + b*32 + i]
// with scale d[t*blocks + b] (f32, so no precision is lost to an fp16 scale) and the sum of its
// 32 integers sums[t*blocks + b] (q4_0 kernels take the weights' offset 8 off as 8 * sum once per
// block instead of once per weight row).
struct QuantizedActs {
  int64_t n = 0, cols = 0, blocks = 0;
  const int8_t* q = nullptr;
  const float* d = nullptr;
  const int32_t* sums = nullptr;
};

using ActRowQuantizer = void (*)(const float* x, int64_t cols, int8_t* q, float* d, int32_t* sums) noexcept;

// The memory of one matmul's quantized activations, in 64-byte lines: inline up to 20 KiB (a
// decode row of 16384 columns takes 1.25 bytes a column), on the heap beyond.
struct alignas(64) ActLine {
  unsigned char bytes[64];
};
using ActMemory = Scratch<ActLine, 20 * 1024 / 64>;

// Where n rows of quantized activations go in `memory`: the int8 values (64-byte aligned), then
// an f32 scale a block, then `sums_per_block` sums a block (QuantizedActs and QuantizedActsK).
template <class Sum>
struct ActArrays {
  int8_t* q;
  float* d;
  Sum* sums;
};
template <class Sum>
ActArrays<Sum> act_arrays(ActMemory& memory, int64_t n, int64_t cols, int64_t blocks, int64_t sums_per_block) {
  const size_t q_bytes = (static_cast<size_t>(n * cols) + 63) / 64 * 64;
  const size_t d_bytes = static_cast<size_t>(n * blocks) * sizeof(float);
  const size_t bytes = q_bytes + d_bytes + static_cast<size_t>(n * blocks * sums_per_block) * sizeof(Sum) + 64;
  auto* q = reinterpret_cast<int8_t*>(memory.data((bytes + 63) / 64));
  auto* d = reinterpret_cast<float*>(q + q_bytes);
  return {q, d, reinterpret_cast<Sum*>(d + n * blocks)};
}

// Owns the memory behind a QuantizedActs.
class ActBuffer {
 public:
  QuantizedActs view() const noexcept { return acts_; }
  // The n rows of x, each through `row` (a kernel set's quantize_acts).
  void quantize(const float* x, int64_t n, int64_t cols, ActRowQuantizer row);

 private:
  ActMemory memory_;
  QuantizedActs acts_;
};

// One activation row -> 8-bit blocks: d = max|x| / 127, q = round-half-even(x / d) in [-127, 127];
// a block of zeros (or non-finite values) gets d = 0 and q = 0; sums[b] = the sum of block b's q.
// Every kernel set sees these same bytes: avx2 has its own version, which writes identical ones.
void quantize_act_row(const float* x, int64_t cols, int8_t* q, float* d, int32_t* sums) noexcept;

}  // namespace slim::kernels

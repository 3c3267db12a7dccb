// NEON kernel set with the Armv8.6 int8 matrix multiply (FEAT_I8MM: Apple M2 and later, Graviton 3
// and 4, Neoverse V1/V2/N2, recent Snapdragon). Built with -march=armv8.2-a+dotprod+i8mm; matmul()
// only calls it when the CPU reports HWCAP2_I8MM.
//
// SMMLA (vmmlaq_s32) multiplies a 2x8 int8 matrix by the transpose of another 2x8 one into a 2x2
// int32 tile: with a = two weight rows' values 8c..8c+7 and b = two activation rows' same values,
// lane 2i + j gains a_i . b_j, four outputs from one instruction where SDOT gives partial sums of
// one. Four of them cover a block of 32 values. (Arm A64 ISA, SMMLA; llama.cpp uses the same tile
// in its q8_0 dot product.)
//
// Every output, wherever it lies in a tile and whatever n is, is one lane of such a tile and gets
// the same steps block by block: the exact integer dot of the block (|dot| <= 32 * 128 * 127 is
// exact in f32), one f32 product d_w * d_x and one FMA. A tile whose second weight or activation
// row would lie past the end uses its first one twice and stores only the real lanes, so odd row
// counts and decode (n = 1) run the same instructions: results do not depend on n, on the tile
// an output falls in, or on the thread count.
#include "kernels/matmul_q_neon.hpp"

namespace slim::kernels::neon_i8mm {
namespace {

// One block of two rows as SMMLA operands: c[k] holds values 8k..8k+7 of row 0, then of row 1.
struct RowPair {
  int8x16_t c[4];
};

inline int8x16_t zip_lo(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
inline int8x16_t zip_hi(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}

inline RowPair pair_rows(const WidePair& r0, const WidePair& r1) {
  return {{zip_lo(r0.lo, r1.lo), zip_hi(r0.lo, r1.lo), zip_lo(r0.hi, r1.hi), zip_hi(r0.hi, r1.hi)}};
}

// Lanes (w0.x0, w0.x1, w1.x0, w1.x1) of one block.
inline int32x4_t block_dots(const RowPair& w, const RowPair& x) {
  int32x4_t s = vmmlaq_s32(vdupq_n_s32(0), w.c[0], x.c[0]);
  s = vmmlaq_s32(s, w.c[1], x.c[1]);
  s = vmmlaq_s32(s, w.c[2], x.c[2]);
  return vmmlaq_s32(s, w.c[3], x.c[3]);
}

// Outputs of weight rows r .. r + 2R - 1 (those below r1) against activation rows t .. t + 2T - 1
// (those below n): R x T tiles of 2 x 2.
template <typename Block, int R, int T>
void tile(const MatmulArgs& a, int64_t r, int64_t r1, int64_t t) {
  const QuantizedActs& xq = a.xq;
  const int64_t nb = xq.blocks, n = a.n;
  const Block* w = static_cast<const Block*>(a.w.data);
  const Block* wrow[2 * R];  // a missing second row of a pair repeats the first
  for (int i = 0; i < 2 * R; ++i) wrow[i] = w + (i % 2 == 1 && r + i >= r1 ? r + i - 1 : r + i) * nb;
  int64_t xrow[2 * T];
  for (int j = 0; j < 2 * T; ++j) xrow[j] = t + j < n ? t + j : t + j - 1;
  float32x4_t acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = vdupq_n_f32(0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    RowPair x[T];
    float32x4_t dx[T];  // (d_x0, d_x1, d_x0, d_x1)
    for (int j = 0; j < T; ++j) {
      const int8_t* q0 = xq.q + xrow[2 * j] * xq.cols + b * kBlock;
      const int8_t* q1 = xq.q + xrow[2 * j + 1] * xq.cols + b * kBlock;
      x[j] = pair_rows({vld1q_s8(q0), vld1q_s8(q0 + 16)}, {vld1q_s8(q1), vld1q_s8(q1 + 16)});
      const float d0 = xq.d[xrow[2 * j] * nb + b], d1 = xq.d[xrow[2 * j + 1] * nb + b];
      const float d[4] = {d0, d1, d0, d1};
      dx[j] = vld1q_f32(d);
    }
    for (int i = 0; i < R; ++i) {
      const Block& b0 = wrow[2 * i][b];
      const Block& b1 = wrow[2 * i + 1][b];
      const RowPair wp = pair_rows(load_weights(b0), load_weights(b1));
      const float e0 = f16_scale(b0.d), e1 = f16_scale(b1.d);
      const float e[4] = {e0, e0, e1, e1};
      const float32x4_t dw = vld1q_f32(e);
      for (int j = 0; j < T; ++j) {
        acc[i][j] = vfmaq_f32(acc[i][j], vcvtq_f32_s32(block_dots(wp, x[j])), vmulq_f32(dw, dx[j]));
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      float lanes[4];
      vst1q_f32(lanes, acc[i][j]);
      for (int ii = 0; ii < 2; ++ii) {
        for (int jj = 0; jj < 2; ++jj) {
          const int64_t row = r + 2 * i + ii, tok = t + 2 * j + jj;
          if (row < r1 && tok < n) a.y[tok * a.w.rows + row] = lanes[2 * ii + jj];
        }
      }
    }
  }
}

template <typename Block>
void q_run(const MatmulArgs& a, int64_t r0, int64_t r1) {
  // Prefill: 4 weight rows x 4 activation rows a tile (as the other NEON sets), 4 f32 and 8
  // activation operand registers live; decode and the last odd rows: 8 weight rows x 1.
  constexpr int kR = 2, kT = 2, kDecodeR = 4;
  const int64_t full_t = a.n - a.n % (2 * kT);
  for (int64_t t = 0; t < full_t; t += 2 * kT) {
    int64_t r = r0;
    for (; r + 2 * kR <= r1; r += 2 * kR) tile<Block, kR, kT>(a, r, r1, t);
    for (; r < r1; r += 2) tile<Block, 1, kT>(a, r, r1, t);
  }
  for (int64_t t = full_t; t < a.n; t += 2) {
    int64_t r = r0;
    for (; r + 2 * kDecodeR <= r1; r += 2 * kDecodeR) tile<Block, kDecodeR, 1>(a, r, r1, t);
    for (; r < r1; r += 2) tile<Block, 1, 1>(a, r, r1, t);
  }
}

}  // namespace

void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<BlockQ8_0>(a, r0, r1); }
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<BlockQ4_0>(a, r0, r1); }

}  // namespace slim::kernels::neon_i8mm

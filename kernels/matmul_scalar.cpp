// The scalar reference: plain loops that define what every other implementation computes.
// Block-quantized weights: each block contributes float(integer dot product) * (d_w * d_x), summed
// over the blocks in order; for q4_1 / q5_1 the block's term is float(Σ q_w q_x) * (d_w * d_x) +
// m_w * (d_x * float(Σ q_x)), the second product with the activation block's integer sum
// (QuantizedActs::sums), as ggml's vec_dot_q4_1_q8_1 does with its q8_1 sums.
#include <type_traits>
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::scalar {
namespace {

void float_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  const MatrixRef& w = a.w;
  for (int64_t t = 0; t < a.n; ++t) {
    const float* xt = a.x + t * w.cols;
    for (int64_t r = r0; r < r1; ++r) {
      float sum = 0.0f;
      for (int64_t c = 0; c < w.cols; ++c) sum += float_weight_at(w, r * w.cols + c) * xt[c];
      a.y[t * w.rows + r] = sum;
    }
  }
}

int32_t block_dot(const BlockQ8_0& w, const int8_t* x) {
  int32_t s = 0;
  for (int i = 0; i < kBlock; ++i) s += int32_t{w.q[i]} * x[i];
  return s;
}

int32_t block_dot(const BlockQ4_0& w, const int8_t* x) {
  int32_t s = 0;
  for (int i = 0; i < kBlock / 2; ++i) {
    s += ((w.qs[i] & 15) - 8) * int32_t{x[i]};
    s += ((w.qs[i] >> 4) - 8) * int32_t{x[i + kBlock / 2]};
  }
  return s;
}

// q4_1 / q5_0 / q5_1: the quants against the activations, q5_0's offset 16 included.
template <typename Block>
int32_t block_dot(const Block& w, const int8_t* x) {
  constexpr int kOffset = std::is_same_v<Block, BlockQ5_0> ? 16 : 0;
  int32_t s = 0;
  for (int i = 0; i < kBlock; ++i) s += (block_quant(w, i) - kOffset) * int32_t{x[i]};
  return s;
}

template <typename Block>
void quant_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  const QuantizedActs& xq = a.xq;
  std::vector<Block> blocks(static_cast<size_t>(xq.blocks));  // a groups8 row as GGUF blocks
  for (int64_t r = r0; r < r1; ++r) {
    const Block* w = static_cast<const Block*>(a.w.data) + r * xq.blocks;
    if (a.w.layout != Layout::blocks) {
      relayout_row(a.w.dtype, a.w.cols, w, a.w.layout, blocks.data(), Layout::blocks);
      w = blocks.data();
    }
    for (int64_t t = 0; t < a.n; ++t) {
      float sum = 0.0f;
      for (int64_t b = 0; b < xq.blocks; ++b) {
        const int32_t dot = block_dot(w[b], xq.q + t * xq.cols + b * kBlock);
        const float dx = xq.d[t * xq.blocks + b];
        if constexpr (requires { w[b].m; }) {
          sum += static_cast<float>(dot) * (f16_to_f32(w[b].d) * dx) +
                 f16_to_f32(w[b].m) * (dx * static_cast<float>(xq.sums[t * xq.blocks + b]));
        } else {
          sum += static_cast<float>(dot) * (f16_to_f32(w[b].d) * dx);
        }
      }
      a.y[t * a.w.rows + r] = sum;
    }
  }
}

}  // namespace

void matmul_rows_float(const MatmulArgs& a, int64_t r0, int64_t r1) { float_rows(a, r0, r1); }
void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1) { quant_rows<BlockQ8_0>(a, r0, r1); }
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1) { quant_rows<BlockQ4_0>(a, r0, r1); }
void matmul_rows_q4_1(const MatmulArgs& a, int64_t r0, int64_t r1) { quant_rows<BlockQ4_1>(a, r0, r1); }
void matmul_rows_q5_0(const MatmulArgs& a, int64_t r0, int64_t r1) { quant_rows<BlockQ5_0>(a, r0, r1); }
void matmul_rows_q5_1(const MatmulArgs& a, int64_t r0, int64_t r1) { quant_rows<BlockQ5_1>(a, r0, r1); }

}  // namespace slim::kernels::scalar

// The scalar reference: plain loops that define what every other implementation computes.
// Block-quantized weights: each block contributes float(integer dot product) * (d_w * d_x), summed
// over the blocks in order.
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
        sum += static_cast<float>(dot) * (f16_to_f32(w[b].d) * xq.d[t * xq.blocks + b]);
      }
      a.y[t * a.w.rows + r] = sum;
    }
  }
}

}  // namespace

void matmul_rows_float(const MatmulArgs& a, int64_t r0, int64_t r1) { float_rows(a, r0, r1); }
void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1) { quant_rows<BlockQ8_0>(a, r0, r1); }
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1) { quant_rows<BlockQ4_0>(a, r0, r1); }

}  // namespace slim::kernels::scalar

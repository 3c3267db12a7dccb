// The scalar reference for the K-quants against Q8_K activations (kquant_blocks.hpp), which defines
// what every other kernel set computes. Per super-block b of a weight row and an activation row:
//   q4_k / q5_k: isum = Σ_j sc_j Σ_i q x,  msum = Σ_j m_j (bsums[2j] + bsums[2j+1])  (exact int32)
//                y += (d * d_x) * isum - (dmin * d_x) * msum
//   q6_k:        isum = Σ_k scales_k Σ_i (q - 32) x                                      (exact int32)
//                y += (d * d_x) * isum
// summed over the super-blocks in order (ggml's ggml_vec_dot_q4_K_q8_K_generic forms the same
// integer sums). A groups8 row is read through its GGUF blocks.
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/kquant_blocks.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::scalar {
namespace {

template <typename Block>
float superblock_dot(const Block& w, const int8_t* x, const int16_t* bsums, float dx) {
  uint8_t sc[8], m[8];
  unpack_scale_mins(w.scales, sc, m);
  int32_t isum = 0, msum = 0;
  for (int j = 0; j < 8; ++j) {
    int32_t dot = 0;
    for (int i = 0; i < 32; ++i) dot += kquant_q(w, j, i) * int32_t{x[32 * j + i]};
    isum += int32_t{sc[j]} * dot;
    msum += int32_t{m[j]} * (bsums[2 * j] + bsums[2 * j + 1]);
  }
  return (f16_to_f32(w.d) * dx) * static_cast<float>(isum) - (f16_to_f32(w.dmin) * dx) * static_cast<float>(msum);
}

float superblock_dot(const BlockQ6_K& w, const int8_t* x, const int16_t*, float dx) {
  int32_t isum = 0;
  for (int k = 0; k < 16; ++k) {
    int32_t dot = 0;
    for (int i = 0; i < 16; ++i) dot += q6_value(w, 16 * k + i) * int32_t{x[16 * k + i]};
    isum += int32_t{w.scales[k]} * dot;
  }
  return (f16_to_f32(w.d) * dx) * static_cast<float>(isum);
}

template <typename Block>
void kquant_rows(const MatmulArgs& a, int64_t r0, int64_t r1) {
  const QuantizedActsK& xk = a.xk;
  std::vector<Block> blocks(static_cast<size_t>(xk.blocks));  // a groups8 row as GGUF blocks
  for (int64_t r = r0; r < r1; ++r) {
    const Block* w = static_cast<const Block*>(a.w.data) + r * xk.blocks;
    if (a.w.layout != Layout::blocks) {
      relayout_row(a.w.dtype, a.w.cols, w, a.w.layout, blocks.data(), Layout::blocks);
      w = blocks.data();
    }
    for (int64_t t = 0; t < a.n; ++t) {
      float sum = 0.0f;
      for (int64_t b = 0; b < xk.blocks; ++b) {
        const int64_t at = t * xk.blocks + b;
        sum += superblock_dot(w[b], xk.q + t * xk.cols + b * kSuperBlock, xk.bsums + at * 16, xk.d[at]);
      }
      a.y[t * a.w.rows + r] = sum;
    }
  }
}

}  // namespace

void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<BlockQ4_K>(a, r0, r1); }
void matmul_rows_q5_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<BlockQ5_K>(a, r0, r1); }
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<BlockQ6_K>(a, r0, r1); }

}  // namespace slim::kernels::scalar

// Internal to kernels/: the per-ISA implementations behind matmul(). Each computes output rows
// [r0, r1) of y = x · wᵀ for all n activation rows; matmul() picks them from the kernel set
// (kernel_set.hpp), quantizes the activations (for q8_0 / q4_0 weights) and splits rows over threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include "kernels/convert.hpp"
#include "kernels/kernels.hpp"
#include "kernels/kquant_blocks.hpp"
#include "kernels/quant_blocks.hpp"

namespace slim::kernels {

// Element `index` of a float-type matrix (f32, bf16, f16) as f32: the scalar tails of the kernels.
inline float float_weight_at(const MatrixRef& w, int64_t index) {
  switch (w.dtype) {
    case DType::f32: return static_cast<const float*>(w.data)[index];
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(w.data)[index]);
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(w.data)[index]);
    default: return 0.0f;
  }
}

// Prefill's order over weight rows r0..r1 and n activation rows: the weight rows in runs of
// run_rows (about 256 KiB, which stay in L2 while every tile passes by), and in each run the
// activation rows in tiles of kT, the last one narrower when n is not a multiple of kT, so a batch
// of a few sequences reads each weight from memory once. tile.template operator()<T>(g0, g1, t)
// computes activation rows t..t+T-1 against weight rows g0..g1; t == 0 is a run's first tile, the
// one that meets its weights in memory.
template <int kT, typename F>
inline void for_each_tile(int64_t n, int64_t r0, int64_t r1, int64_t run_rows, F&& tile) {
  const int64_t full_t = n - n % kT;
  for (int64_t g0 = r0; g0 < r1; g0 += run_rows) {
    const int64_t g1 = std::min(r1, g0 + run_rows);
    for (int64_t t = 0; t < full_t; t += kT) tile.template operator()<kT>(g0, g1, t);
    // The rest as one tile whose width, known at run time, becomes a template argument.
    [&]<int... I>(std::integer_sequence<int, I...>) {
      (void)((n - full_t == I + 1 ? (tile.template operator()<I + 1>(g0, g1, full_t), true) : false) || ...);
    }(std::make_integer_sequence<int, kT - 1>{});
  }
}

struct MatmulArgs {
  MatrixRef w;
  const float* x = nullptr;  // n x w.cols f32 activations
  QuantizedActs xq;          // the same activations as 8-bit blocks (block dtypes only)
  int64_t n = 0;
  float* y = nullptr;  // n x w.rows
  QuantizedActsK xk;   // the same activations as ggml's Q8_K (K-quant dtypes only)
};

using MatmulRowsFn = void (*)(const MatmulArgs& a, int64_t r0, int64_t r1);

// The rows functions of each kernel set, registered in its KernelSet (kernel_sets.cpp): a name ends
// in the dtype it computes, and in _groups8 for that layout; a function without a dtype in its
// name serves every dtype of its set.
namespace scalar {
void matmul_rows_float(const MatmulArgs& a, int64_t r0, int64_t r1);  // f32 / f16 / bf16
void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1);   // either layout
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1);   // either layout
void matmul_rows_q4_1(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_1(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1);
}
namespace xsimd_impl {
void matmul_rows(const MatmulArgs& a, int64_t r0, int64_t r1);  // the float types and the blocks of 32
// The K-quants in blocks (matmul_kquants_xsimd.cpp).
void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1);
}
#if defined(SLIM_HAVE_AVX2_KERNELS)
namespace avx2 {
void matmul_rows_f32(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_f16(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_bf16(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_1(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_1(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q8_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_1_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_1_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void dot_rows(const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count, int64_t cols,
              float* out, int64_t out_stride);
void add_weighted_rows(const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count, int64_t cols,
                       float* out);
void dot_rows_f16(const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride, int64_t count,
                  int64_t cols, float* out, int64_t out_stride);
void add_weighted_rows_f16(const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows, int64_t count,
                           int64_t cols, float* out);
void softmax(float* x, int64_t n);  // n >= 1
void silu_mul(float* gate, const float* up, int64_t n);
void gelu_tanh_mul(float* gate, const float* up, int64_t n);
void softcap(float* x, int64_t n, float cap);
void to_f16_saturated(const float* x, int64_t n, uint16_t* out);
void from_f16(const uint16_t* h, int64_t n, float* out);
void quantize_act_row(const float* x, int64_t cols, int8_t* q, float* d, int32_t* sums) noexcept;
void quantize_act_row_q8_k(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums) noexcept;
void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q6_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
}
// The VNNI sets: q8_0 / q4_0 in groups8 with vpdpbusd (q_groups_vnni.hpp), avx512_vnni q4_1 /
// q5_0 / q5_1 and the K-quants
// too (matmul_kquants_avx512_vnni.cpp); everything else, the row operations and the activation
// quantizer are avx2's.
namespace avx512_vnni {
void matmul_rows_q8_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_1_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_1_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q6_k_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
// 512-bit attention row operations (attention_rows_avx512_vnni.cpp); the others are AVX2's.
void dot_rows(const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count, int64_t cols,
              float* out, int64_t out_stride);
void add_weighted_rows(const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count, int64_t cols,
                       float* out);
void dot_rows_f16(const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride, int64_t count,
                  int64_t cols, float* out, int64_t out_stride);
void add_weighted_rows_f16(const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows, int64_t count,
                           int64_t cols, float* out);
}
namespace avx_vnni {
void matmul_rows_q8_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1);
}
#endif
#if defined(SLIM_HAVE_NEON_KERNELS)
// q8_0 / q4_0 (and, without i8mm code of their own, q4_1 / q5_0 / q5_1) in blocks; the float
// types are xsimd's (its NEON code).
namespace neon {
void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_1(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_1(const MatmulArgs& a, int64_t r0, int64_t r1);
// The K-quants (matmul_kquants_neon.cpp).
void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1);
}
namespace neon_dotprod {
void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_1(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_1(const MatmulArgs& a, int64_t r0, int64_t r1);
// The K-quants (matmul_kquants_dotprod_neon.cpp), also the neon_i8mm set's.
void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q5_k(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1);
}
namespace neon_i8mm {
void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1);
}
#endif

}  // namespace slim::kernels

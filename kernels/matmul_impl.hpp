// Internal to kernels/: the per-ISA implementations behind matmul(). Each computes output rows
// [r0, r1) of y = x · wᵀ for all n activation rows, for every dtype; matmul() quantizes the
// activations (for q8_0 / q4_0 weights) and splits rows over threads.
#pragma once

#include <cstdint>

#include "kernels/convert.hpp"
#include "kernels/kernels.hpp"
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

struct MatmulArgs {
  MatrixRef w;
  const float* x = nullptr;  // n x w.cols f32 activations
  QuantizedActs xq;          // the same activations as 8-bit blocks (block dtypes only)
  int64_t n = 0;
  float* y = nullptr;  // n x w.rows
};

using MatmulRowsFn = void (*)(const MatmulArgs& a, int64_t r0, int64_t r1);

// Whether kernel set `isa` has its own code for Layout::groups8 matrices (avx2 and the VNNI sets;
// the others leave them to the scalar reference).
constexpr bool reads_groups8(Isa isa) noexcept { return isa == Isa::avx2 || isa == Isa::avx512_vnni || isa == Isa::avx_vnni; }

namespace scalar {
void matmul_rows(const MatmulArgs& a, int64_t r0, int64_t r1);
}
namespace xsimd_impl {
void matmul_rows(const MatmulArgs& a, int64_t r0, int64_t r1);
}
#if defined(SLIM_HAVE_AVX2_KERNELS)
namespace avx2 {
void matmul_rows(const MatmulArgs& a, int64_t r0, int64_t r1);
void matmul_q_rows(const MatmulArgs& a, int64_t r0, int64_t r1);         // q8_0 / q4_0 only
void matmul_q_groups_rows(const MatmulArgs& a, int64_t r0, int64_t r1);  // q8_0 / q4_0 in groups8
void dot_rows(const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count, int64_t cols,
              float* out, int64_t out_stride);
void add_weighted_rows(const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count, int64_t cols,
                       float* out);
void softmax(float* x, int64_t n);  // n >= 1
void silu_mul(float* gate, const float* up, int64_t n);
void gelu_tanh_mul(float* gate, const float* up, int64_t n);
void softcap(float* x, int64_t n, float cap);
void quantize_act_row(const float* x, int64_t cols, int8_t* q, float* d, int32_t* sums) noexcept;
}
// The VNNI sets: q8_0 / q4_0 in groups8 with vpdpbusd (q_groups_vnni.hpp); everything else, the
// row operations and the activation quantizer are avx2's.
namespace avx512_vnni {
void matmul_q_groups_rows(const MatmulArgs& a, int64_t r0, int64_t r1);
}
namespace avx_vnni {
void matmul_q_groups_rows(const MatmulArgs& a, int64_t r0, int64_t r1);
}
#endif
#if defined(SLIM_HAVE_NEON_KERNELS)
namespace neon {
void matmul_rows(const MatmulArgs& a, int64_t r0, int64_t r1);
}
namespace neon_dotprod {
void matmul_rows(const MatmulArgs& a, int64_t r0, int64_t r1);
}
namespace neon_i8mm {
void matmul_rows(const MatmulArgs& a, int64_t r0, int64_t r1);
}
#endif

}  // namespace slim::kernels

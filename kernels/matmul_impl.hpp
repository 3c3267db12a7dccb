// Internal to kernels/: the per-ISA implementations behind matmul(). Each computes output rows
// [r0, r1) of y = x · wᵀ for all n activation rows; matmul() splits rows over threads.
#pragma once

#include <cstdint>

#include "kernels/kernels.hpp"

namespace slim::kernels {

using MatmulRowsFn = void (*)(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                              int64_t r1);

namespace scalar {
void matmul_rows(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0, int64_t r1);
}
#if defined(SLIM_HAVE_AVX2_KERNELS)
namespace avx2 {
void matmul_rows(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0, int64_t r1);
}
#endif

}  // namespace slim::kernels

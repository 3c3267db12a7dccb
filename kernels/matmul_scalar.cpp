// The scalar reference: plain loops that define what every other implementation computes.
#include "kernels/convert.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels::scalar {
namespace {

float weight_at(const MatrixRef& w, int64_t index) {
  switch (w.dtype) {
    case DType::f32: return static_cast<const float*>(w.data)[index];
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(w.data)[index]);
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(w.data)[index]);
  }
  return 0.0f;
}

}  // namespace

void matmul_rows(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0, int64_t r1) {
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * w.cols;
    for (int64_t r = r0; r < r1; ++r) {
      float sum = 0.0f;
      for (int64_t c = 0; c < w.cols; ++c) sum += weight_at(w, r * w.cols + c) * xt[c];
      y[t * w.rows + r] = sum;
    }
  }
}

}  // namespace slim::kernels::scalar

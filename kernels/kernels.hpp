// The kernel interface: everything the engine asks of the math kernels. Kernels know nothing of
// models, files or tokens: they see matrices, vectors and a thread count.
#pragma once

#include <cstdint>

#include "slim/dtype.hpp"

namespace slim::kernels {

// A read-only weight matrix of rows x cols, row-major, each row `cols` elements of `dtype`.
struct MatrixRef {
  DType dtype = DType::f32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

// y = x · wᵀ for a batch of n activation rows: y[t*w.rows + r] = Σ_c w[r][c] · x[t*w.cols + c].
// Each output is computed the same way whatever n and the thread count are, so prefill (n > 1) and
// decode (n = 1) give bit-identical results. threads <= 0 means one thread.
void matmul(const MatrixRef& w, const float* x, int64_t n, float* y, int threads);

// Row `row` of w converted to f32 (embedding lookups).
void row_to_f32(const MatrixRef& w, int64_t row, float* out);

// The name of the kernel set in use on this CPU ("avx2", "scalar", ...).
const char* active_isa() noexcept;

}  // namespace slim::kernels

// matmul(): picks the kernel set for this CPU once, and splits output rows over threads.
#include <algorithm>
#include <cstring>

#include "kernels/convert.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels {
namespace {

struct KernelSet {
  const char* name;
  MatmulRowsFn matmul_rows;
};

KernelSet choose() noexcept {
#if defined(SLIM_HAVE_AVX2_KERNELS)
  if (cpu_features().avx2_fma_f16c) return {"avx2", avx2::matmul_rows};
#endif
  return {"scalar", scalar::matmul_rows};
}

const KernelSet& kernel_set() noexcept {
  static const KernelSet set = choose();
  return set;
}

// Below this many multiply-adds a thread team costs more than it saves.
constexpr int64_t kMinWorkPerThread = 1 << 15;

}  // namespace

void matmul(const MatrixRef& w, const float* x, int64_t n, float* y, int threads) {
  const MatmulRowsFn rows_fn = kernel_set().matmul_rows;
  const int64_t work = w.rows * w.cols * n;
  const int team = static_cast<int>(std::clamp<int64_t>(work / kMinWorkPerThread, 1, std::max(threads, 1)));
  if (team <= 1) {
    rows_fn(w, x, n, y, 0, w.rows);
    return;
  }
  // Contiguous row ranges, multiples of 8 rows, so no two threads write the same cache line of y
  // (for n = 1) and each thread streams its own part of the weights.
  const int64_t chunk = (w.rows + team - 1) / team;
  const int64_t aligned = (chunk + 7) / 8 * 8;
#pragma omp parallel num_threads(team)
  {
#pragma omp for schedule(static)
    for (int i = 0; i < team; ++i) {
      const int64_t r0 = std::min<int64_t>(w.rows, i * aligned);
      const int64_t r1 = std::min<int64_t>(w.rows, r0 + aligned);
      if (r0 < r1) rows_fn(w, x, n, y, r0, r1);
    }
  }
}

void row_to_f32(const MatrixRef& w, int64_t row, float* out) {
  const int64_t base = row * w.cols;
  switch (w.dtype) {
    case DType::f32:
      std::memcpy(out, static_cast<const float*>(w.data) + base, static_cast<size_t>(w.cols) * sizeof(float));
      return;
    case DType::bf16:
      for (int64_t c = 0; c < w.cols; ++c) out[c] = bf16_to_f32(static_cast<const uint16_t*>(w.data)[base + c]);
      return;
    case DType::f16:
      for (int64_t c = 0; c < w.cols; ++c) out[c] = f16_to_f32(static_cast<const uint16_t*>(w.data)[base + c]);
      return;
  }
}

const char* active_isa() noexcept { return kernel_set().name; }

}  // namespace slim::kernels

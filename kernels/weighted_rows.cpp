// add_weighted_rows(): the portable loop (the compiler vectorises it for the baseline ISA) and the
// choice of the AVX2 version where the active kernel set is avx2.
#include <string>

#include "kernels/matmul_impl.hpp"
#include "slim/error.hpp"

namespace slim::kernels {
namespace {

// Four rows a pass, so out is loaded and stored once per four rows.
void add_weighted_rows_portable(const float* w, const float* rows, int64_t count, int64_t cols, float* out) {
  int64_t t = 0;
  for (; t + 4 <= count; t += 4) {
    const float* r = rows + t * cols;
    const float w0 = w[t], w1 = w[t + 1], w2 = w[t + 2], w3 = w[t + 3];
    for (int64_t d = 0; d < cols; ++d) {
      out[d] += (w0 * r[d] + w1 * r[cols + d]) + (w2 * r[2 * cols + d] + w3 * r[3 * cols + d]);
    }
  }
  for (; t < count; ++t) {
    for (int64_t d = 0; d < cols; ++d) out[d] += w[t] * rows[t * cols + d];
  }
}

using WeightedRowsFn = void (*)(const float*, const float*, int64_t, int64_t, float*);

WeightedRowsFn weighted_rows_fn(Isa isa) noexcept {
#if defined(SLIM_HAVE_AVX2_KERNELS)
  if (isa == Isa::avx2) return avx2::add_weighted_rows;
#else
  (void)isa;
#endif
  return add_weighted_rows_portable;
}

}  // namespace

void add_weighted_rows(const float* w, const float* rows, int64_t count, int64_t cols, float* out) {
  static const WeightedRowsFn fn = weighted_rows_fn(active_isa_id());
  fn(w, rows, count, cols, out);
}

void add_weighted_rows_with(Isa isa, const float* w, const float* rows, int64_t count, int64_t cols, float* out) {
  if (!isa_supported(isa)) {
    throw Error(ErrorCode::unsupported,
                std::string("kernels: kernel set '") + isa_name(isa) + "' is not available on this CPU");
  }
  weighted_rows_fn(isa)(w, rows, count, cols, out);
}

}  // namespace slim::kernels

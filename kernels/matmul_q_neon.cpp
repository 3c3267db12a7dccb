// NEON kernel set without the dot product extension: 8-bit products by widening multiplies.
#include "kernels/matmul_q_neon.hpp"

namespace slim::kernels::neon {
namespace {

struct Widening {
  static int32x4_t dot(int8x16_t w0, int8x16_t x0, int8x16_t w1, int8x16_t x1) {
    int16x8_t p0 = vmull_s8(vget_low_s8(w0), vget_low_s8(x0));
    p0 = vmlal_s8(p0, vget_high_s8(w0), vget_high_s8(x0));
    int16x8_t p1 = vmull_s8(vget_low_s8(w1), vget_low_s8(x1));
    p1 = vmlal_s8(p1, vget_high_s8(w1), vget_high_s8(x1));
    return vpadalq_s16(vpaddlq_s16(p0), p1);
  }
};

}  // namespace

void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<Widening, BlockQ8_0>(a, r0, r1); }
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<Widening, BlockQ4_0>(a, r0, r1); }
void matmul_rows_q4_1(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<Widening, BlockQ4_1>(a, r0, r1); }
void matmul_rows_q5_0(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<Widening, BlockQ5_0>(a, r0, r1); }
void matmul_rows_q5_1(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<Widening, BlockQ5_1>(a, r0, r1); }

}  // namespace slim::kernels::neon

// NEON kernel set without the dot product extension (Armv8.0: Cortex-A53 / A72, Raspberry Pi 4):
// the K-quants against Q8_K activations (matmul_kquants_neon.hpp) with widening multiplies. Two
// products of |w| <= 32 and |x| <= 128 sum to at most 8192: exact in the int16 lanes of vmull_s8 /
// vmlal_s8, then added pairwise into the int32 lanes.
#include "kernels/matmul_kquants_neon.hpp"

namespace slim::kernels::neon {
namespace {

struct Widening {
  static int32x4_t dot(int32x4_t acc, int8x16_t w, int8x16_t x) {
    const int16x8_t p = vmlal_s8(vmull_s8(vget_low_s8(w), vget_low_s8(x)), vget_high_s8(w), vget_high_s8(x));
    return vpadalq_s16(acc, p);
  }
};

}  // namespace

void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<Widening, BlockQ4_K>(a, r0, r1); }
void matmul_rows_q5_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<Widening, BlockQ5_K>(a, r0, r1); }
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<Widening, BlockQ6_K>(a, r0, r1); }

}  // namespace slim::kernels::neon

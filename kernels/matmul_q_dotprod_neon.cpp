// NEON kernel set with the Armv8.2 dot product instructions. Built with -march=armv8.2-a+dotprod;
// matmul() only calls it when the CPU reports HWCAP_ASIMDDP.
#include "kernels/matmul_q_neon.hpp"

namespace slim::kernels::neon_dotprod {
namespace {

struct DotProd {
  static int32x4_t dot(int8x16_t w0, int8x16_t x0, int8x16_t w1, int8x16_t x1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, x0), w1, x1);
  }
};

}  // namespace

void matmul_rows_q8_0(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<DotProd, BlockQ8_0>(a, r0, r1); }
void matmul_rows_q4_0(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<DotProd, BlockQ4_0>(a, r0, r1); }
void matmul_rows_q4_1(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<DotProd, BlockQ4_1>(a, r0, r1); }
void matmul_rows_q5_0(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<DotProd, BlockQ5_0>(a, r0, r1); }
void matmul_rows_q5_1(const MatmulArgs& a, int64_t r0, int64_t r1) { q_run<DotProd, BlockQ5_1>(a, r0, r1); }

}  // namespace slim::kernels::neon_dotprod

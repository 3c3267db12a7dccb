// NEON (Armv8.2 dot product) matmul for the K-quants against Q8_K activations
// (matmul_kquants_neon.hpp): SDOT sums 16 products. Built with -march=armv8.2-a+dotprod;
// matmul() only calls it when the CPU reports HWCAP_ASIMDDP (the neon_dotprod and neon_i8mm sets).
#include "kernels/matmul_kquants_neon.hpp"

namespace slim::kernels::neon_dotprod {
namespace {

struct DotProd {
  static int32x4_t dot(int32x4_t acc, int8x16_t w, int8x16_t x) { return vdotq_s32(acc, w, x); }
};

}  // namespace

void matmul_rows_q4_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<DotProd, BlockQ4_K>(a, r0, r1); }
void matmul_rows_q5_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<DotProd, BlockQ5_K>(a, r0, r1); }
void matmul_rows_q6_k(const MatmulArgs& a, int64_t r0, int64_t r1) { kquant_rows<DotProd, BlockQ6_K>(a, r0, r1); }

}  // namespace slim::kernels::neon_dotprod

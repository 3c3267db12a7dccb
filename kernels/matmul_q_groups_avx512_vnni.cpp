// AVX-512 VNNI matmul for q8_0 / q4_0 weights in the groups8 layout (q_groups_vnni.hpp): vpdpbusd on
// 512-bit registers, each loading two of a group's 32-byte registers. Built with -mavx512f
// -mavx512bw -mavx512vl -mavx512vnni (and the AVX2 set's flags) and only called after
// cpu_features() confirmed them all.
#include "kernels/vnni_512.hpp"

namespace slim::kernels::avx512_vnni {

void matmul_rows_q8_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { vnni_q8_0_rows<V512>(a, r0, r1); }
void matmul_rows_q4_0_groups8(const MatmulArgs& a, int64_t r0, int64_t r1) { vnni_q4_0_rows<V512>(a, r0, r1); }

}  // namespace slim::kernels::avx512_vnni

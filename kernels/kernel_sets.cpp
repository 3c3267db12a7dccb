// The kernel sets (kernel_set.hpp): which function each set computes each weight type and layout
// with, its activation quantizer and its row operations. A set that builds on another starts as a
// copy of it: the VNNI sets are avx2 with their own groups8 code for q8_0 / q4_0 (avx512_vnni's for
// q4_1 / q5_0 / q5_1 and the K-quants too), the NEON sets xsimd with their own q8_0 / q4_0 / q4_1 /
// q5_0 / q5_1 and K-quant code (widening multiplies in neon, SDOT in neon_dotprod / neon_i8mm);
// xsimd has its own q4_k / q6_k code and leaves q5_k to the scalar reference. Only the x86 sets read
// groups8.
#include "kernels/kernel_set.hpp"

namespace slim::kernels {
namespace {

constexpr size_t at(DType dtype) { return static_cast<size_t>(dtype); }
constexpr size_t kBlocks = static_cast<size_t>(Layout::blocks), kGroups8 = static_cast<size_t>(Layout::groups8);

constexpr RowOps kPortableOps = {portable::dot_rows,     portable::add_weighted_rows, portable::dot_rows_f16,
                                 portable::add_weighted_rows_f16, portable::softmax, portable::silu_mul,
                                 portable::gelu_tanh_mul, portable::softcap, portable::to_f16_saturated,
                                 portable::from_f16};

constexpr KernelSet scalar_set() {
  KernelSet s{Isa::scalar};
  for (DType d : {DType::f32, DType::f16, DType::bf16}) s.rows[at(d)][kBlocks] = scalar::matmul_rows_float;
  s.rows[at(DType::q8_0)][kBlocks] = scalar::matmul_rows_q8_0;
  s.rows[at(DType::q4_0)][kBlocks] = scalar::matmul_rows_q4_0;
  s.rows[at(DType::q4_1)][kBlocks] = scalar::matmul_rows_q4_1;
  s.rows[at(DType::q5_0)][kBlocks] = scalar::matmul_rows_q5_0;
  s.rows[at(DType::q5_1)][kBlocks] = scalar::matmul_rows_q5_1;
  s.rows[at(DType::q4_k)][kBlocks] = scalar::matmul_rows_q4_k;
  s.rows[at(DType::q5_k)][kBlocks] = scalar::matmul_rows_q5_k;
  s.rows[at(DType::q6_k)][kBlocks] = scalar::matmul_rows_q6_k;
  s.quantize_acts = quantize_act_row;
  s.quantize_acts_k = quantize_act_row_q8_k;
  s.ops = kPortableOps;
  return s;
}

constexpr KernelSet xsimd_set() {
  KernelSet s{Isa::xsimd};
  // Every float type and the blocks of 32 in one function; q4_k and q6_k in their own. q5_k stays
  // the scalar reference's: GCC vectorizes that loop well, and the xsimd kernel decoded 0.7-0.9x
  // as fast (SSE2 build, bench_matmul 896x4864 / 2048x8192 n:1, December 3).
  for (DType d : all_dtypes()) {
    if (dtype_block_elems(d) <= 32) s.rows[at(d)][kBlocks] = xsimd_impl::matmul_rows;
  }
  s.rows[at(DType::q4_k)][kBlocks] = xsimd_impl::matmul_rows_q4_k;
  s.rows[at(DType::q6_k)][kBlocks] = xsimd_impl::matmul_rows_q6_k;
  s.quantize_acts = quantize_act_row;
  s.quantize_acts_k = quantize_act_row_q8_k;
  s.ops = kPortableOps;
  return s;
}

#if defined(SLIM_HAVE_AVX2_KERNELS)
constexpr KernelSet avx2_set() {
  KernelSet s{Isa::avx2};
  s.rows[at(DType::f32)][kBlocks] = avx2::matmul_rows_f32;
  s.rows[at(DType::f16)][kBlocks] = avx2::matmul_rows_f16;
  s.rows[at(DType::bf16)][kBlocks] = avx2::matmul_rows_bf16;
  s.rows[at(DType::q8_0)][kBlocks] = avx2::matmul_rows_q8_0;
  s.rows[at(DType::q4_0)][kBlocks] = avx2::matmul_rows_q4_0;
  s.rows[at(DType::q4_1)][kBlocks] = avx2::matmul_rows_q4_1;
  s.rows[at(DType::q5_0)][kBlocks] = avx2::matmul_rows_q5_0;
  s.rows[at(DType::q5_1)][kBlocks] = avx2::matmul_rows_q5_1;
  s.rows[at(DType::q8_0)][kGroups8] = avx2::matmul_rows_q8_0_groups8;
  s.rows[at(DType::q4_0)][kGroups8] = avx2::matmul_rows_q4_0_groups8;
  s.rows[at(DType::q4_1)][kGroups8] = avx2::matmul_rows_q4_1_groups8;
  s.rows[at(DType::q5_0)][kGroups8] = avx2::matmul_rows_q5_0_groups8;
  s.rows[at(DType::q5_1)][kGroups8] = avx2::matmul_rows_q5_1_groups8;
  s.rows[at(DType::q4_k)][kBlocks] = avx2::matmul_rows_q4_k;
  s.rows[at(DType::q5_k)][kBlocks] = avx2::matmul_rows_q5_k;
  s.rows[at(DType::q6_k)][kBlocks] = avx2::matmul_rows_q6_k;
  s.rows[at(DType::q4_k)][kGroups8] = avx2::matmul_rows_q4_k_groups8;
  s.rows[at(DType::q5_k)][kGroups8] = avx2::matmul_rows_q5_k_groups8;
  s.rows[at(DType::q6_k)][kGroups8] = avx2::matmul_rows_q6_k_groups8;
  s.quantize_acts = avx2::quantize_act_row;
  s.quantize_acts_k = avx2::quantize_act_row_q8_k;
  s.ops = {avx2::dot_rows, avx2::add_weighted_rows, avx2::dot_rows_f16, avx2::add_weighted_rows_f16,
           avx2::softmax,   avx2::silu_mul,          avx2::gelu_tanh_mul, avx2::softcap,
           avx2::to_f16_saturated, avx2::from_f16};
  return s;
}

constexpr KernelSet vnni_set(Isa isa, MatmulRowsFn q8_0_groups8, MatmulRowsFn q4_0_groups8) {
  KernelSet s = avx2_set();
  s.isa = isa;
  s.rows[at(DType::q8_0)][kGroups8] = q8_0_groups8;
  s.rows[at(DType::q4_0)][kGroups8] = q4_0_groups8;
  return s;
}
#endif

#if defined(SLIM_HAVE_NEON_KERNELS)
// q4_1 / q5_0 / q5_1 rows of a NEON set.
struct NeonLowBits {
  MatmulRowsFn q4_1, q5_0, q5_1;
};
constexpr NeonLowBits kNeonLowBits = {neon::matmul_rows_q4_1, neon::matmul_rows_q5_0, neon::matmul_rows_q5_1};
// i8mm CPUs have the dot product: the i8mm set uses these too.
constexpr NeonLowBits kDotprodLowBits = {neon_dotprod::matmul_rows_q4_1, neon_dotprod::matmul_rows_q5_0,
                                         neon_dotprod::matmul_rows_q5_1};

constexpr KernelSet neon_set(Isa isa, MatmulRowsFn q8_0, MatmulRowsFn q4_0, NeonLowBits low) {
  KernelSet s = xsimd_set();
  s.isa = isa;
  s.rows[at(DType::q8_0)][kBlocks] = q8_0;
  s.rows[at(DType::q4_0)][kBlocks] = q4_0;
  s.rows[at(DType::q4_1)][kBlocks] = low.q4_1;
  s.rows[at(DType::q5_0)][kBlocks] = low.q5_0;
  s.rows[at(DType::q5_1)][kBlocks] = low.q5_1;
  // The K-quants: widening multiplies in neon, SDOT in the dot product sets.
  const bool dotprod = isa != Isa::neon;
  s.rows[at(DType::q4_k)][kBlocks] = dotprod ? neon_dotprod::matmul_rows_q4_k : neon::matmul_rows_q4_k;
  s.rows[at(DType::q5_k)][kBlocks] = dotprod ? neon_dotprod::matmul_rows_q5_k : neon::matmul_rows_q5_k;
  s.rows[at(DType::q6_k)][kBlocks] = dotprod ? neon_dotprod::matmul_rows_q6_k : neon::matmul_rows_q6_k;
  return s;
}
#endif

constexpr KernelSet kScalar = scalar_set();
constexpr KernelSet kXsimd = xsimd_set();
#if defined(SLIM_HAVE_AVX2_KERNELS)
constexpr KernelSet kAvx2 = avx2_set();
constexpr KernelSet avx512_vnni_set() {
  KernelSet s = vnni_set(Isa::avx512_vnni, avx512_vnni::matmul_rows_q8_0_groups8, avx512_vnni::matmul_rows_q4_0_groups8);
  s.rows[at(DType::q4_1)][kGroups8] = avx512_vnni::matmul_rows_q4_1_groups8;
  s.rows[at(DType::q5_0)][kGroups8] = avx512_vnni::matmul_rows_q5_0_groups8;
  s.rows[at(DType::q5_1)][kGroups8] = avx512_vnni::matmul_rows_q5_1_groups8;
  s.rows[at(DType::q4_k)][kGroups8] = avx512_vnni::matmul_rows_q4_k_groups8;
  s.rows[at(DType::q5_k)][kGroups8] = avx512_vnni::matmul_rows_q5_k_groups8;
  s.rows[at(DType::q6_k)][kGroups8] = avx512_vnni::matmul_rows_q6_k_groups8;
  s.ops.dot_rows = avx512_vnni::dot_rows;
  s.ops.add_weighted_rows = avx512_vnni::add_weighted_rows;
  s.ops.dot_rows_f16 = avx512_vnni::dot_rows_f16;
  s.ops.add_weighted_rows_f16 = avx512_vnni::add_weighted_rows_f16;
  return s;
}
constexpr KernelSet kAvx512Vnni = avx512_vnni_set();
constexpr KernelSet kAvxVnni = vnni_set(Isa::avx_vnni, avx_vnni::matmul_rows_q8_0_groups8, avx_vnni::matmul_rows_q4_0_groups8);
#endif
#if defined(SLIM_HAVE_NEON_KERNELS)
constexpr KernelSet kNeon = neon_set(Isa::neon, neon::matmul_rows_q8_0, neon::matmul_rows_q4_0, kNeonLowBits);
constexpr KernelSet kNeonDotprod =
    neon_set(Isa::neon_dotprod, neon_dotprod::matmul_rows_q8_0, neon_dotprod::matmul_rows_q4_0, kDotprodLowBits);
constexpr KernelSet kNeonI8mm =
    neon_set(Isa::neon_i8mm, neon_i8mm::matmul_rows_q8_0, neon_i8mm::matmul_rows_q4_0, kDotprodLowBits);
#endif


}  // namespace

const KernelSet* kernel_set(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar: return &kScalar;
    case Isa::xsimd: return &kXsimd;
#if defined(SLIM_HAVE_AVX2_KERNELS)
    case Isa::avx2: return &kAvx2;
    case Isa::avx512_vnni: return &kAvx512Vnni;
    case Isa::avx_vnni: return &kAvxVnni;
#endif
#if defined(SLIM_HAVE_NEON_KERNELS)
    case Isa::neon: return &kNeon;
    case Isa::neon_dotprod: return &kNeonDotprod;
    case Isa::neon_i8mm: return &kNeonI8mm;
#endif
    default: return nullptr;
  }
}

MatmulRowsFn rows_for(const KernelSet& set, DType dtype, Layout layout) noexcept {
  const MatmulRowsFn own = set.rows[at(dtype)][static_cast<size_t>(layout)];
  return own != nullptr ? own : kScalar.rows[at(dtype)][kBlocks];
}

}  // namespace slim::kernels

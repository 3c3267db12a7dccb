// The kernel interface: everything the engine asks of the math kernels. Kernels know nothing of
// models, files or tokens: they see matrices, vectors and a thread team.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/thread_team.hpp"
#include "slim/dtype.hpp"

namespace slim::kernels {

// How the rows of a quantized matrix lie in memory (float dtypes are always `blocks`):
//   blocks:  the row's GGUF blocks one after another, the file layout;
//   groups8: the blocks of 32: each run of 8 whole blocks regrouped (quant_blocks.hpp, GroupQ8_0,
//            GroupQ4_0, GroupQ4_1, GroupQ5_0, GroupQ5_1) so a kernel sums 8 blocks side by side,
//            one block per 32-bit lane; the blocks after the last whole group stay GGUF blocks.
//            The K-quants: each super-block's
//            values regrouped the same way within it, one sub-block per lane (kquant_blocks.hpp,
//            GroupQ4_K / GroupQ5_K / GroupQ6_K). The AVX2 and VNNI kernels read it fastest.
// Both take dtype_row_bytes() bytes a row and only move bytes within a row, so a range of rows is
// still a matrix of the same layout (Phi-3's fused projections are split that way).
enum class Layout : uint8_t { blocks, groups8 };

// A read-only weight matrix of rows x cols, row-major; each row is dtype_row_bytes(dtype, cols)
// bytes (for the blocks of 32: cols / 32 blocks, cols a multiple of 32, laid out as `layout` says).
struct MatrixRef {
  DType dtype = DType::f32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  Layout layout = Layout::blocks;
};

// The layout the active kernel set reads fastest for dtype: groups8 for q8_0 / q4_0 and the
// K-quants under avx2, avx512_vnni and avx_vnni, blocks otherwise. Kernel sets
// without their own groups8 code compute such a matrix with the scalar reference (correct,
// slow), so weights are stored in the layout this names.
Layout preferred_layout(DType dtype) noexcept;

// One row of `cols` values of dtype, from layout `from` at src to layout `to` at dst (src and dst
// must not overlap; a plain copy when the layouts are equal or dtype is not block-quantized).
void relayout_row(DType dtype, int64_t cols, const void* src, Layout from, void* dst, Layout to) noexcept;

// y = x · wᵀ for a batch of n activation rows: y[t*w.rows + r] = Σ_c w[r][c] · x[t*w.cols + c].
// Each output is computed the same way whatever n and the thread count are, so prefill (n > 1) and
// decode (n = 1) give bit-identical results. Small products use fewer of the team's threads.
//
// For q8_0 / q4_0 weights the activations are first quantized (once per call) to 8-bit blocks of 32
// with an f32 scale per block (d = max|x| / 127, q = round-half-even(x / d), |q| <= 127), and each
// block's dot product is an exact integer sum scaled by d_weight * d_activation.
void matmul(const MatrixRef& w, const float* x, int64_t n, float* y, ThreadTeam& team);

// matmul() of several matrices with the same number of columns and the same activations:
// ys[i] = x · ws[i]ᵀ. The activations are quantized once and one thread team shares the rows of
// all of them (a layer's q, k and v projections; an MLP's gate and up), each output computed
// exactly as matmul() computes it.
void matmul_many(std::span<const MatrixRef> ws, const float* x, int64_t n, std::span<float* const> ys, ThreadTeam& team);

// out[g * out_stride + t] = Σ_d q[g * cols + d] · rows[t * row_stride + d] for g < queries, t < count:
// attention's scores of the heads of a query group against `count` keys, each key read from memory
// once for the group. Every score goes through the same steps wherever it falls in `count`, so
// cutting the positions differently does not change it. One thread; AVX2 in the avx2 and avx_vnni
// sets, AVX-512 in avx512_vnni, a loop the compiler vectorises for the baseline ISA otherwise.
void dot_rows(const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count, int64_t cols,
              float* out, int64_t out_stride);

// out[g * cols + d] += Σ_t w[g * w_stride + t] · rows[t * cols + d] for g < outputs, d < cols, over
// `count` f32 rows: attention's sums of the value rows weighted by the probabilities of each head
// of a query group (each row is read once for the group). One thread; AVX2 in the avx2 and avx_vnni
// sets, AVX-512 in avx512_vnni, a loop the compiler vectorises for the baseline ISA otherwise. Each
// output adds the rows in order, so splitting them into calls does not change it.
void add_weighted_rows(const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count, int64_t cols,
                       float* out);

// dot_rows() and add_weighted_rows() over f16 rows (IEEE binary16: an f16 KV cache): each value is
// converted to f32 exactly and then goes through the same steps as in the f32 functions, so rows
// holding the same values give bit-identical results in f16 and in f32.
void dot_rows_f16(const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride, int64_t count,
                  int64_t cols, float* out, int64_t out_stride);
void add_weighted_rows_f16(const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows, int64_t count,
                           int64_t cols, float* out);

// In-place softmax of n values: x[i] = e^(x[i] - max) / Σ e^(x[j] - max). AVX2 computes e^x with
// a polynomial within 2 ulp of std::exp; the other sets call std::exp.
void softmax(float* x, int64_t n);

// gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g): the gated MLP's activation. AVX2
// computes e^x with softmax()'s polynomial; the other sets call std::exp.
void silu_mul(float* gate, const float* up, int64_t n);

// gate[i] = gelu(gate[i]) * up[i] with PyTorch's tanh approximation (gelu(approximate="tanh"),
// transformers' "gelu_pytorch_tanh"): 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))), Gemma's
// GeGLU. AVX2 computes tanh with tanh_cap()'s formula; the other sets call std::tanh.
void gelu_tanh_mul(float* gate, const float* up, int64_t n);

// In place x[i] = tanh(x[i] / cap) * cap: Gemma 2's soft-capping of attention scores and logits.
// AVX2: an odd polynomial below |y| = 0.625 and (1 - e^-2|y|) / (1 + e^-2|y|) above (Cephes'
// tanhf), within a few ulp of std::tanh; NaN stays NaN.
void softcap(float* x, int64_t n, float cap);

// out[i] = x[i] as f16, rounded to nearest even, saturated at ±65504 (the largest finite f16) so
// that large values do not become infinities; NaN stays NaN. An f16 KV cache's conversion. And
// back: out[i] = h[i] as f32 (exact).
void to_f16_saturated(const float* x, int64_t n, uint16_t* out);
void from_f16(const uint16_t* h, int64_t n, float* out);

// Row `row` of w converted to f32 (embedding lookups); w.cols values, in either layout.
void row_to_f32(const MatrixRef& w, int64_t row, float* out);

// One row of `cols` f32 values stored as dtype into dtype_row_bytes(dtype, cols) bytes at out:
// the load-time conversion / quantization of weights. q8_0 and q4_0 follow ggml's reference
// quantizers (quantize_row_q8_0_ref / quantize_row_q4_0_ref), so the blocks match llama.cpp's.
// Throws slim::Error(invalid_argument) if a block dtype gets cols that is not a multiple of 32.
void quantize_row(DType dtype, const float* src, int64_t cols, void* out);

// The kernel sets. Each is a complete implementation of matmul for every dtype; `scalar` is the
// reference that defines the results, the others agree with it exactly in their integer parts
// and to rounding in their float parts.
enum class Isa : uint8_t {
  scalar,        // plain C++ loops
  xsimd,         // portable SIMD through xsimd, built for the baseline of the target architecture
  avx2,          // x86-64 AVX2 + FMA + F16C
  avx512_vnni,   // x86-64 AVX-512 F/BW/VL/VNNI: vpdpbusd for q8_0 / q4_0 / K-quants in groups8, the rest as avx2
  avx_vnni,      // x86-64 AVX-VNNI (256-bit, VEX): the same, without AVX-512
  neon,          // AArch64 Advanced SIMD, widening multiplies for 8-bit dot products
  neon_dotprod,  // AArch64 with the Armv8.2 dot product instructions (SDOT)
  neon_i8mm,     // AArch64 with the int8 matrix multiply (SMMLA, FEAT_I8MM)
};

const char* isa_name(Isa isa) noexcept;

// Whether `isa` is built into this binary and the CPU can execute it.
bool isa_supported(Isa isa) noexcept;

// Whether `isa` is built into this binary (the sets of another architecture are not), and what
// it needs of the CPU, in words: why a set is not supported.
bool isa_built(Isa isa) noexcept;
const char* isa_requirement(Isa isa) noexcept;

// The kernel set matmul() uses: the best one the CPU supports, unless the environment variable
// SLIM_KERNELS names another supported one (scalar, xsimd, avx2, avx512_vnni, avx_vnni, neon,
// neon_dotprod, neon_i8mm; read once).
Isa active_isa_id() noexcept;

// The name of the kernel set in use on this CPU ("avx2", "scalar", ...).
const char* active_isa() noexcept;

// matmul() with a given kernel set (tests and benchmarks). Throws slim::Error(unsupported) if
// isa_supported(isa) is false.
void matmul_with(Isa isa, const MatrixRef& w, const float* x, int64_t n, float* y, ThreadTeam& team);

// dot_rows(), add_weighted_rows(), softmax(), silu_mul(), gelu_tanh_mul() and softcap() with a given kernel set (tests and
// benchmarks); sets without their own version use the portable loops. Throw
// slim::Error(unsupported) as matmul_with() does.
void dot_rows_with(Isa isa, const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count,
                   int64_t cols, float* out, int64_t out_stride);
void add_weighted_rows_with(Isa isa, const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count,
                            int64_t cols, float* out);
void dot_rows_f16_with(Isa isa, const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride,
                       int64_t count, int64_t cols, float* out, int64_t out_stride);
void add_weighted_rows_f16_with(Isa isa, const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows,
                                int64_t count, int64_t cols, float* out);
void softmax_with(Isa isa, float* x, int64_t n);
void silu_mul_with(Isa isa, float* gate, const float* up, int64_t n);
void gelu_tanh_mul_with(Isa isa, float* gate, const float* up, int64_t n);
void softcap_with(Isa isa, float* x, int64_t n, float cap);
void to_f16_saturated_with(Isa isa, const float* x, int64_t n, uint16_t* out);
void from_f16_with(Isa isa, const uint16_t* h, int64_t n, float* out);

}  // namespace slim::kernels

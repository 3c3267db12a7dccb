// Internal to kernels/: one struct per kernel set (Isa) holding everything that set computes with,
// chosen once by the dispatcher (matmul.cpp, attention_rows.cpp) instead of a switch per call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.hpp"
#include "kernels/matmul_impl.hpp"

namespace slim::kernels {

inline constexpr size_t kLayoutCount = 2;  // Layout::blocks, Layout::groups8

// The single-thread row operations of attention and the MLP (kernels.hpp describes each).
struct RowOps {
  void (*dot_rows)(const float*, int64_t, const float*, int64_t, int64_t, int64_t, float*, int64_t);
  void (*add_weighted_rows)(const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*);
  void (*dot_rows_f16)(const float*, int64_t, const uint16_t*, int64_t, int64_t, int64_t, float*, int64_t);
  void (*add_weighted_rows_f16)(const float*, int64_t, int64_t, const uint16_t*, int64_t, int64_t, float*);
  void (*softmax)(float*, int64_t);
  void (*silu_mul)(float*, const float*, int64_t);
  void (*gelu_tanh_mul)(float*, const float*, int64_t);
  void (*softcap)(float*, int64_t, float);
  void (*to_f16_saturated)(const float*, int64_t, uint16_t*);
  void (*from_f16)(const uint16_t*, int64_t, float*);
};

struct KernelSet {
  Isa isa;
  // rows[dtype][layout] computes output rows [r0, r1) of y = x · wᵀ. nullptr where the set has no
  // code of its own: the scalar set's rows[dtype][blocks] computes it (it reads either layout).
  // A set reading groups8 for a dtype is what makes that dtype's preferred_layout() groups8.
  MatmulRowsFn rows[kDTypeCount][kLayoutCount] = {};
  ActRowQuantizer quantize_acts = nullptr;     // ActFormat::q8_32 activations
  ActRowQuantizerK quantize_acts_k = nullptr;  // ActFormat::q8_k activations
  RowOps ops{};
};

// The set of isa if it is built into this binary (whether the CPU runs it: isa_supported()),
// else nullptr.
const KernelSet* kernel_set(Isa isa) noexcept;

// The rows function set uses for (dtype, layout), with the scalar stand-in described above.
MatmulRowsFn rows_for(const KernelSet& set, DType dtype, Layout layout) noexcept;

// The portable row operations (attention_rows.cpp): the sets without their own use them.
namespace portable {
void dot_rows(const float* q, int64_t queries, const float* rows, int64_t row_stride, int64_t count, int64_t cols,
              float* out, int64_t out_stride);
void add_weighted_rows(const float* w, int64_t w_stride, int64_t outputs, const float* rows, int64_t count, int64_t cols,
                       float* out);
void dot_rows_f16(const float* q, int64_t queries, const uint16_t* rows, int64_t row_stride, int64_t count,
                  int64_t cols, float* out, int64_t out_stride);
void add_weighted_rows_f16(const float* w, int64_t w_stride, int64_t outputs, const uint16_t* rows, int64_t count,
                           int64_t cols, float* out);
void softmax(float* x, int64_t n);
void silu_mul(float* gate, const float* up, int64_t n);
void gelu_tanh_mul(float* gate, const float* up, int64_t n);
void softcap(float* x, int64_t n, float cap);
void to_f16_saturated(const float* x, int64_t n, uint16_t* out);
void from_f16(const uint16_t* h, int64_t n, float* out);
}  // namespace portable

}  // namespace slim::kernels

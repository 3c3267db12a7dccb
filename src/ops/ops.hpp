// Element-wise and row-wise operations of the transformer blocks, on f32 activations. Plain loops
// the compiler vectorises; the heavy work (matmul) lives in kernels/.
#pragma once

#include <cstdint>

namespace slim::ops {

// out = x / sqrt(mean(x²) + eps) * weight, for one row of n values (transformers' RMSNorm in f32).
void rms_norm(const float* x, const float* weight, int64_t n, double eps, float* out);

// x[i] += bias[i] for each of `rows` rows of n values.
void add_bias(float* x, const float* bias, int64_t rows, int64_t n);

// x[i] += y[i].
void add(float* x, const float* y, int64_t n);

// gate[i] = silu(gate[i]) * up[i]: the SwiGLU activation.
void silu_mul(float* gate, const float* up, int64_t n);

// gate[i] = gelu(gate[i]) * up[i] with the tanh approximation (PyTorch's gelu(approximate="tanh"),
// transformers' "gelu_pytorch_tanh"): the GeGLU activation of Gemma.
void gelu_tanh_mul(float* gate, const float* up, int64_t n);

// gate[i] = gelu(gate[i]) * up[i] with the exact, erf-based GELU.
void gelu_mul(float* gate, const float* up, int64_t n);

// x[i] = tanh(x[i] / cap) * cap: Gemma 2's soft-capping of attention scores and logits.
void softcap(float* x, int64_t n, float cap);

// x[i] *= s.
void scale(float* x, int64_t n, float s);

// In-place softmax of n scores with std::exp whatever the CPU (the MoE router: its top-k choice
// should not depend on the machine); attention uses the faster kernels::softmax.
void softmax(float* x, int64_t n);

// Rotary embedding in transformers' rotate-half layout over the first d = rotary_dim values of a
// head: for i < d/2 the pair (x[i], x[i + d/2]) is rotated by the angle whose cosine and sine are
// cos[i], sin[i]; values from d on are left as they are (partial rotary, Phi-4-mini).
void rope_rotate_half(float* x, const float* cos, const float* sin, int64_t rotary_dim);

}  // namespace slim::ops

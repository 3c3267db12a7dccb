#include "ops/ops.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kernels/kernels.hpp"

namespace slim::ops {

void rms_norm(const float* x, const float* weight, int64_t n, double eps, float* out) {
  // Eight partial sums, which the compiler keeps in vector registers instead of one serial chain
  // of additions (PyTorch's reduction is not serial either).
  float part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) part[k] += x[i + k] * x[i + k];
  }
  float sum_sq = ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
  for (; i < n; ++i) sum_sq += x[i] * x[i];
  const float mean = sum_sq / static_cast<float>(n);
  const float inv = 1.0f / std::sqrt(mean + static_cast<float>(eps));
  for (i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv);
}

void add_bias(float* x, const float* bias, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) x[r * n + i] += bias[i];
}

void add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void silu_mul(float* gate, const float* up, int64_t n) { kernels::silu_mul(gate, up, n); }

void gelu_tanh_mul(float* gate, const float* up, int64_t n) { kernels::gelu_tanh_mul(gate, up, n); }

void gelu_mul(float* gate, const float* up, int64_t n) {
  const auto inv_sqrt2 = static_cast<float>(1.0 / std::numbers::sqrt2);
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = x * 0.5f * (1.0f + std::erf(x * inv_sqrt2)) * up[i];
  }
}

void softcap(float* x, int64_t n, float cap) { kernels::softcap(x, n, cap); }

void scale(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void softmax(float* x, int64_t n) { kernels::softmax_with(kernels::Isa::scalar, x, n); }

void rope_rotate_half(float* x, const float* cos, const float* sin, int64_t rotary_dim) {
  const int64_t half = rotary_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

}  // namespace slim::ops

#include "model/blocks.hpp"

#include "kernels/kernels.hpp"
#include "ops/ops.hpp"

namespace slim {

void linear(const Linear& l, const float* x, int64_t n, float* y, int threads) {
  kernels::matmul(l.matrix(), x, n, y, threads);
  if (!l.bias.empty()) ops::add_bias(y, l.bias.data_as<float>(), n, l.out());
}

void gated_mlp(const Mlp& m, Activation act, const float* x, int64_t n, float* gate, float* up, float* out,
               int threads) {
  linear(m.gate, x, n, gate, threads);
  linear(m.up, x, n, up, threads);
  const int64_t count = n * m.gate.out();
  switch (act) {
    case Activation::silu: ops::silu_mul(gate, up, count); break;
    case Activation::gelu_tanh: ops::gelu_tanh_mul(gate, up, count); break;
    case Activation::gelu: ops::gelu_mul(gate, up, count); break;
  }
  linear(m.down, gate, n, out, threads);
}

}  // namespace slim

#include "model/blocks.hpp"

#include "kernels/kernels.hpp"
#include "ops/ops.hpp"
#include "slim/error.hpp"

namespace slim {

void linear(const Linear& l, const float* x, int64_t n, float* y, kernels::ThreadTeam& team) {
  const Linear* one[] = {&l};
  linear_many(one, x, n, {&y, 1}, team);
}

void linear_many(std::span<const Linear* const> ls, const float* x, int64_t n, std::span<float* const> ys,
                 kernels::ThreadTeam& team) {
  constexpr size_t kMax = 4;
  if (ls.size() > kMax || ls.size() != ys.size()) throw Error(ErrorCode::invalid_argument, "linear_many: at most four layers, one output each");
  kernels::MatrixRef ws[kMax];
  for (size_t i = 0; i < ls.size(); ++i) ws[i] = ls[i]->matrix();
  kernels::matmul_many({ws, ls.size()}, x, n, ys, team);
  for (size_t i = 0; i < ls.size(); ++i) {
    if (!ls[i]->bias.empty()) ops::add_bias(ys[i], ls[i]->bias.data_as<float>(), n, ls[i]->out());
  }
}

void gated_mlp(const Mlp& m, Activation act, const float* x, int64_t n, float* gate, float* up, float* out,
               kernels::ThreadTeam& team) {
  const Linear* gate_up[] = {&m.gate, &m.up};
  float* outs[] = {gate, up};
  linear_many(gate_up, x, n, outs, team);
  for_chunks(team, n * m.gate.out(), [&](int64_t begin, int64_t end) {
    switch (act) {
      case Activation::silu: ops::silu_mul(gate + begin, up + begin, end - begin); break;
      case Activation::gelu_tanh: ops::gelu_tanh_mul(gate + begin, up + begin, end - begin); break;
      case Activation::gelu: ops::gelu_mul(gate + begin, up + begin, end - begin); break;
    }
  });
  linear(m.down, gate, n, out, team);
}

}  // namespace slim

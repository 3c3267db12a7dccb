// Building blocks shared by the decoder layer and the mixture of experts: a linear layer and the
// gated MLP, each over a batch of n activation rows.
#pragma once

#include <cstdint>

#include "model/config.hpp"
#include "model/weights.hpp"

namespace slim {

// y = x·Wᵀ + b for n rows of x.
void linear(const Linear& l, const float* x, int64_t n, float* y, int threads);

// out = down(act(gate(x)) * up(x)) for n rows; gate and up are scratch of n × intermediate floats.
void gated_mlp(const Mlp& m, Activation act, const float* x, int64_t n, float* gate, float* up, float* out,
               int threads);

}  // namespace slim

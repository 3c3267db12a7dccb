// Building blocks shared by the decoder layer and the mixture of experts: a linear layer and the
// gated MLP, each over a batch of n activation rows.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/thread_team.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"

namespace slim {

// y = x·Wᵀ + b for n rows of x.
void linear(const Linear& l, const float* x, int64_t n, float* y, kernels::ThreadTeam& team);

// ys[i] = x·W_iᵀ + b_i for up to four layers with the same input (q, k, v; gate, up): the
// activations are quantized once and one thread team shares all the rows.
void linear_many(std::span<const Linear* const> ls, const float* x, int64_t n, std::span<float* const> ys,
                 kernels::ThreadTeam& team);

// f(begin, end) over [0, count) in chunks dealt out to the team, for elementwise work (the MLP's
// activation, the logits' soft-cap): any split gives the same bits. Left serial, Gemma 2's GeGLU
// alone held its prefill to 1.33x from 1 to 2 threads (issue #22).
template <class F>
void for_chunks(kernels::ThreadTeam& team, int64_t count, F&& f) {
  constexpr int64_t kChunk = 8192;
  const int64_t chunks = (count + kChunk - 1) / kChunk;
  if (chunks <= 1 || team.size() == 1) return f(int64_t{0}, count);
  const int threads = static_cast<int>(chunks < team.size() ? chunks : team.size());
  team.for_static(threads, chunks, [&](int64_t c) { f(c * kChunk, c * kChunk + kChunk < count ? c * kChunk + kChunk : count); });
}

// out = down(act(gate(x)) * up(x)) for n rows; gate and up are scratch of n × intermediate floats.
void gated_mlp(const Mlp& m, Activation act, const float* x, int64_t n, float* gate, float* up, float* out,
               kernels::ThreadTeam& team);

}  // namespace slim

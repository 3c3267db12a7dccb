#include "model/moe.hpp"

#include <algorithm>
#include <cmath>

#include "model/blocks.hpp"
#include "ops/ops.hpp"

namespace slim {
namespace {

size_t sz(int64_t n) { return static_cast<size_t>(n); }

// The router of one token (transformers 4.47 MixtralSparseMoeBlock / Qwen2MoeSparseMoeBlock):
// softmax over all experts in f32, the top_k largest (ties to the lower index), renormalised to
// sum to 1 when the config asks for it.
void route(const MoeConfig& m, float* probs, int32_t* choice, float* weight) {
  ops::softmax(probs, m.num_experts);
  float sum = 0.0f;
  for (int64_t k = 0; k < m.top_k; ++k) {
    int64_t best = -1;
    for (int64_t e = 0; e < m.num_experts; ++e) {
      const bool taken = std::find(choice, choice + k, static_cast<int32_t>(e)) != choice + k;
      if (!taken && (best < 0 || probs[e] > probs[best])) best = e;
    }
    choice[k] = static_cast<int32_t>(best);
    weight[k] = probs[best];
    sum += weight[k];
  }
  if (m.normalize_top_k) {
    for (int64_t k = 0; k < m.top_k; ++k) weight[k] /= sum;
  }
}

}  // namespace

MoeScratch::MoeScratch(const ModelConfig& c, int64_t max_tokens)
    : router(sz(max_tokens * c.moe.num_experts)),
      choice(sz(max_tokens * c.moe.top_k)),
      weight(choice.size()),
      x(sz(max_tokens * c.hidden_size)),
      gate(sz(max_tokens * std::max(c.moe.expert_intermediate_size, c.moe.shared_expert_intermediate_size))),
      up(gate.size()),
      y(x.size()) {
  rows.reserve(sz(max_tokens));
  row_weight.reserve(sz(max_tokens));
}

void moe_forward(const ModelConfig& c, const MoeWeights& w, const float* x, int64_t n, float* out, MoeScratch& s,
                 kernels::ThreadTeam& team) {
  const MoeConfig& m = c.moe;
  const int64_t hidden = c.hidden_size, experts = m.num_experts, top_k = m.top_k;

  linear(w.router, x, n, s.router.data(), team);
  for (int64_t t = 0; t < n; ++t) {
    route(m, s.router.data() + sz(t * experts), s.choice.data() + sz(t * top_k), s.weight.data() + sz(t * top_k));
  }

  std::fill(out, out + n * hidden, 0.0f);
  for (int64_t e = 0; e < experts; ++e) {
    // The tokens routed to expert e, gathered into consecutive rows: one matmul per matrix.
    s.rows.clear();
    s.row_weight.clear();
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t k = 0; k < top_k; ++k) {
        if (s.choice[sz(t * top_k + k)] != e) continue;
        s.rows.push_back(t);
        s.row_weight.push_back(s.weight[sz(t * top_k + k)]);
      }
    }
    if (s.rows.empty()) continue;  // an expert nobody chose is never read
    const auto count = static_cast<int64_t>(s.rows.size());
    for (int64_t r = 0; r < count; ++r) {
      std::copy(x + s.rows[sz(r)] * hidden, x + (s.rows[sz(r)] + 1) * hidden, s.x.data() + sz(r * hidden));
    }
    gated_mlp(w.experts[sz(e)], c.traits.activation, s.x.data(), count, s.gate.data(), s.up.data(), s.y.data(),
              team);
    for (int64_t r = 0; r < count; ++r) {
      float* dst = out + s.rows[sz(r)] * hidden;
      const float* y = s.y.data() + sz(r * hidden);
      const float wt = s.row_weight[sz(r)];
      for (int64_t d = 0; d < hidden; ++d) dst[d] += y[d] * wt;
    }
  }

  if (w.has_shared()) {
    // Qwen2-MoE: out += sigmoid(shared_gate(x)) · shared_expert(x).
    gated_mlp(w.shared, c.traits.activation, x, n, s.gate.data(), s.up.data(), s.y.data(), team);
    linear(w.shared_gate, x, n, s.router.data(), team);
    for (int64_t t = 0; t < n; ++t) {
      const float g = 1.0f / (1.0f + std::exp(-s.router[sz(t)]));
      float* dst = out + t * hidden;
      const float* y = s.y.data() + sz(t * hidden);
      for (int64_t d = 0; d < hidden; ++d) dst[d] += g * y[d];
    }
  }
}

}  // namespace slim

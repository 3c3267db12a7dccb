// The sparse mixture-of-experts MLP (Mixtral, Qwen2-MoE) over a batch of tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/thread_team.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"

namespace slim {

// Scratch memory for up to max_tokens tokens a call.
struct MoeScratch {
  MoeScratch(const ModelConfig& c, int64_t max_tokens);
  std::vector<float> router;         // [n, num_experts] logits, then probabilities
  std::vector<int32_t> choice;       // [n, top_k] chosen experts, best first
  std::vector<float> weight;         // [n, top_k] their weights
  std::vector<int64_t> rows;         // tokens routed to the expert being run
  std::vector<float> row_weight;     // and their weights for it
  std::vector<float> x, gate, up, y;  // the gathered rows and the expert's activations
};

// out = Σ over each token's top_k experts of weight · expert(x) (+ the shared expert): n rows of
// hidden values. Tokens are grouped by expert, so each expert's matrices are read once a call, and
// only experts some token chose are read at all. Contributions are added in expert order, as
// transformers' index_add_ loop does, so results do not depend on n.
void moe_forward(const ModelConfig& c, const MoeWeights& w, const float* x, int64_t n, float* out, MoeScratch& s,
                 kernels::ThreadTeam& team);

}  // namespace slim

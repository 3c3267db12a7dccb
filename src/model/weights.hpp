// The tensors of a decoder-only transformer, as the forward pass reads them. Matrices stay in their
// stored dtype (usually views into the mapped file); norms and biases are converted to f32.
#pragma once

#include <vector>

#include "io/safetensors.hpp"
#include "kernels/kernels.hpp"
#include "model/config.hpp"
#include "slim/tensor.hpp"

namespace slim {

// y = x·Wᵀ (+ bias). weight is [out, in]; bias, when present, is [out] f32.
struct Linear {
  Tensor weight;
  Tensor bias;
  int64_t out() const { return weight.dim(0); }
  int64_t in() const { return weight.dim(1); }
  kernels::MatrixRef matrix() const { return {weight.dtype(), weight.data(), weight.dim(0), weight.dim(1)}; }
};

// A gated MLP: down(act(gate(x)) * up(x)). Also one expert of a mixture of experts.
struct Mlp {
  Linear gate, up, down;
};

// A sparse mixture of experts: a router picks top_k experts a token.
struct MoeWeights {
  Linear router;             // [num_experts, hidden]
  std::vector<Mlp> experts;
  Mlp shared;                // Qwen2-MoE: an expert every token goes through (empty otherwise)
  Linear shared_gate;        // [1, hidden]: the shared expert's output × sigmoid(shared_gate(x))
  bool has_shared() const { return !shared.down.weight.empty(); }
};

struct LayerWeights {
  Tensor attn_norm;       // [hidden] f32 (Gemma: already 1 + weight)
  Linear q, k, v, o;
  Tensor post_attn_norm;  // Gemma 2: on the attention output, before the residual add (else empty)
  Tensor mlp_norm;        // [hidden] f32
  Mlp mlp;                // dense layers
  MoeWeights moe;         // mixture-of-experts layers (no experts otherwise)
  Tensor post_mlp_norm;   // Gemma 2: on the MLP output, before the residual add (else empty)
  // Phi-3 stores q/k/v and gate/up fused; q, k, v, gate and up are then row-range views of these
  // (rows of a row-major matrix are contiguous, so no copy), which stay alive here. Splitting the
  // weights rather than one matmul's output keeps the forward pass Llama's, with no strided copy
  // of the activations; the three matmuls read the same weight bytes as one would.
  Tensor fused_qkv, fused_gate_up;
};

struct Weights {
  Tensor embed;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  Tensor final_norm;  // [hidden] f32
  Linear lm_head;     // shares embed's memory when tied
};

// Reads and checks every tensor the config calls for. Throws slim::Error naming the tensor.
Weights load_weights(const ModelConfig& config, const io::WeightFiles& files);

// Bytes of weights one decoded token reads: every matrix once, the head included; of the experts,
// top_k out of num_experts on average.
uint64_t weight_bytes_per_token(const ModelConfig& config, const Weights& w);

}  // namespace slim

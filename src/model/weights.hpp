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

struct LayerWeights {
  Tensor attn_norm;  // [hidden] f32
  Linear q, k, v, o;
  Tensor mlp_norm;   // [hidden] f32
  Linear gate, up, down;
};

struct Weights {
  Tensor embed;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  Tensor final_norm;  // [hidden] f32
  Linear lm_head;     // shares embed's memory when tied
};

// Reads and checks every tensor the config calls for. Throws slim::Error naming the tensor.
Weights load_weights(const ModelConfig& config, const io::WeightFiles& files);

// Bytes of weights one decoded token reads: every matrix once, the head included.
uint64_t weight_bytes_per_token(const Weights& w);

}  // namespace slim

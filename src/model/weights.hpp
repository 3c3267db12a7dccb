// The tensors of a decoder-only transformer, as the forward pass reads them. Matrices come from a
// TensorSource (a model folder's files, views where no conversion is asked for, or random values)
// in the dtype LoadOptions.weights asks for; norms and biases are f32.
#pragma once

#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "io/safetensors_writer.hpp"
#include "kernels/kernels.hpp"
#include "model/config.hpp"
#include "slim/tensor.hpp"

namespace slim {

// y = x·Wᵀ (+ bias). weight is [out, in], its rows laid out as `layout` says (q8_0 / q4_0 in
// kernels::preferred_layout(), the layout the kernels read fastest); bias, when present, is [out] f32.
struct Linear {
  Tensor weight;
  Tensor bias;
  kernels::Layout layout = kernels::Layout::blocks;
  int64_t out() const { return weight.dim(0); }
  int64_t in() const { return weight.dim(1); }
  kernels::MatrixRef matrix() const { return {weight.dtype(), weight.data(), weight.dim(0), weight.dim(1), layout}; }
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
  Tensor q_norm, k_norm;  // [head_dim] f32: Qwen3 / Gemma 3's norm of each head's q and k (else empty)
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
  kernels::Layout embed_layout = kernels::Layout::blocks;
  std::vector<LayerWeights> layers;
  Tensor final_norm;  // [hidden] f32
  Linear lm_head;     // shares embed's memory when tied
};

// Where build_weights takes each tensor from (model/weight_sources.hpp has the implementations).
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // The matrix `name` of [rows, cols], in its final dtype and, for q8_0 / q4_0, with its rows in
  // kernels::preferred_layout(dtype). Throws slim::Error naming the tensor. Its values may be
  // filled in only by finish().
  virtual Tensor matrix(const std::string& name, int64_t rows, int64_t cols) = 0;
  // The vector `name` of n values as f32, as stored (a Gemma norm before its 1 + weight).
  virtual Tensor vector(const std::string& name, int64_t n, bool is_norm) = 0;
  // Fills every matrix handed out (converting or generating them all in one go on the thread
  // team). build_weights calls it last.
  virtual void finish() {}
};

// Builds every tensor the config calls for from `source`. `saved` gets each tensor under its file
// name as Model::save writes it (matrices as built, vectors as stored; a tied head only once).
Weights build_weights(const ModelConfig& config, TensorSource& source, std::vector<io::NamedTensor>& saved);

// The [rows, cols] of every matrix the config calls for, in build order (the size check before
// allocating, and load progress, use it).
struct MatrixShape {
  int64_t rows, cols;
};
std::vector<MatrixShape> matrix_shapes(const ModelConfig& config);

// Bytes of weights one decoded token reads: every matrix once, the head included; of the experts,
// top_k out of num_experts on average.
uint64_t weight_bytes_per_token(const ModelConfig& config, const Weights& w);

}  // namespace slim

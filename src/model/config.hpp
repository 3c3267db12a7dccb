// The typed contents of a Hugging Face config.json, with each architecture's defaults applied.
// Architectures share one transformer block; what sets a family apart is the small BlockTraits
// struct below (plus its tensor names in weights.cpp). docs/architecture.md, "Adding a model
// family", walks through it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slim/limits.hpp"

namespace slim {

enum class Arch {
  llama,     // LlamaForCausalLM: Llama 2/3, SmolLM/SmolLM2, TinyLlama
  qwen2,     // Qwen2ForCausalLM: Qwen2, Qwen2.5 (q/k/v biases)
  gemma,     // GemmaForCausalLM: Gemma 1, CodeGemma
  gemma2,    // Gemma2ForCausalLM
  phi3,      // Phi3ForCausalLM: Phi-3 / Phi-3.5 mini (fused projections, longrope)
  mixtral,   // MixtralForCausalLM (sparse MoE)
  qwen2moe,  // Qwen2MoeForCausalLM: Qwen1.5-MoE, Qwen2-MoE (shared expert)
  qwen3,     // Qwen3ForCausalLM (per-head q/k norms)
  qwen3moe,  // Qwen3MoeForCausalLM (q/k norms, MoE without a shared expert)
  gemma3,    // Gemma3ForCausalLM (gemma3_text): Gemma 2's block, q/k norms, 5 local : 1 global
  smollm3,   // SmolLM3ForCausalLM: Llama's block, some layers without RoPE
};

struct RopeScaling {
  enum class Type { none, linear, llama3, longrope, yarn };
  Type type = Type::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  int64_t original_max_position_embeddings = 0;  // llama3, longrope, yarn
  std::vector<double> short_factor, long_factor;  // longrope: rotary_dim/2 values each
  // yarn: the rotations bounding the ramp between extrapolated and interpolated frequencies, and
  // whether its ends are rounded to whole dims.
  double beta_fast = 32.0, beta_slow = 1.0;
  bool truncate = true;
  // yarn: cos/sin's factor as set (0: derived from `factor`, or from mscale / mscale_all_dim
  // when both are set; 0 means unset for those two as well).
  double attention_factor = 0.0;
  double mscale = 0.0, mscale_all_dim = 0.0;
};

// The activation of the gated MLP: down(act(gate(x)) * up(x)).
enum class Activation {
  silu,       // SwiGLU (Llama, Qwen, Phi-3, Mixtral)
  gelu_tanh,  // GeGLU with tanh-approximated GELU ("gelu_pytorch_tanh", Gemma)
  gelu,       // GeGLU with exact (erf) GELU
};

// Which layers attend only to the last `sliding_window` positions.
enum class SlidingPattern {
  none,        // every layer is global
  all,         // every layer is local (Mistral-style sliding_window: Phi-3, Mixtral)
  even_layers, // layers 0, 2, 4, ... local, the others global (Gemma 2)
  listed,      // BlockTraits::local_layers says (Gemma 3's layer_types)
};

// Everything in which one family's decoder block differs from Llama's. Defaults are Llama's.
struct BlockTraits {
  bool norm_adds_one = false;        // RMSNorm scales by (1 + weight) (Gemma)
  bool scale_embeddings = false;     // embeddings × sqrt(hidden_size) (Gemma)
  Activation activation = Activation::silu;
  bool sandwich_norms = false;       // extra norms on the attention and MLP outputs (Gemma 2)
  double query_scale = 0.0;          // scores = q·k × query_scale; 0 = 1/sqrt(head_dim)
  double attn_softcap = 0.0;         // scores = tanh(scores / cap) × cap before the mask; 0 = off
  double final_softcap = 0.0;        // the same on the output logits; 0 = off
  SlidingPattern sliding = SlidingPattern::none;
  int64_t sliding_window = 0;        // positions a local layer sees, itself included
  bool fused_qkv = false;            // one qkv_proj matrix: [q rows | k rows | v rows] (Phi-3)
  bool fused_gate_up = false;        // one gate_up_proj matrix: [gate rows | up rows] (Phi-3)
  std::vector<bool> local_layers;    // SlidingPattern::listed: per layer, whether it is local
  bool qk_norm = false;              // RMSNorm of each head's q and k before RoPE (Qwen3, Gemma 3)
  double local_rope_theta = 0.0;     // local layers' RoPE base, unscaled (Gemma 3); 0 = the global RoPE
  std::vector<bool> no_rope_layers;  // per layer, whether it skips RoPE (SmolLM3); empty = none does
};

// Sparse mixture-of-experts MLP settings (num_experts == 0: a dense MLP in every layer).
struct MoeConfig {
  int64_t num_experts = 0;
  int64_t top_k = 0;
  int64_t expert_intermediate_size = 0;
  bool normalize_top_k = true;              // renormalise the chosen experts' weights to sum to 1
  int64_t shared_expert_intermediate_size = 0;  // 0 = no shared expert (Qwen2-MoE has one)
  int64_t sparse_step = 1;                  // Qwen2-MoE decoder_sparse_step
  std::vector<int64_t> dense_layers;        // Qwen2-MoE mlp_only_layers
};

struct ModelConfig {
  Arch arch = Arch::llama;
  std::string architecture;  // as config.json names it, e.g. "LlamaForCausalLM"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t rotary_dim = 0;  // the leading dims of each head that RoPE rotates (Phi-4-mini: 0.75 × head_dim)
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;   // q/k/v projections carry biases
  bool o_bias = false;     // the attention output projection carries a bias
  bool mlp_bias = false;   // gate/up/down projections carry biases
  BlockTraits traits;
  MoeConfig moe;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;

  // Whether layer `layer` attends only to the last traits.sliding_window positions.
  bool is_local_layer(int64_t layer) const;
  // Whether layer `layer` applies RoPE.
  bool has_rope(int64_t layer) const {
    return traits.no_rope_layers.empty() || !traits.no_rope_layers[static_cast<size_t>(layer)];
  }
  // Whether layer `layer` has a mixture-of-experts MLP (otherwise a dense one).
  bool is_moe_layer(int64_t layer) const;
};

// The architectures slim runs, as config.json names them.
std::vector<std::string_view> supported_architectures();

// Parses config.json text; `source` names the file in error messages. Throws slim::Error
// (invalid_config / unsupported) naming the field at fault.
ModelConfig parse_config(std::string_view json_text, const std::string& source);
ModelConfig load_config(const std::filesystem::path& model_dir, const Limits& limits = {});
// The text of a config.json file, at most Limits::max_json_bytes. Throws slim::Error naming the file.
std::string read_config_file(const std::filesystem::path& path, const Limits& limits = {});

}  // namespace slim

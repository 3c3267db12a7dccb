// The typed contents of a Hugging Face config.json, with each architecture's defaults applied.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slim {

enum class Arch {
  llama,  // LlamaForCausalLM: Llama 2/3, SmolLM/SmolLM2, TinyLlama
  qwen2,  // Qwen2ForCausalLM: Qwen2, Qwen2.5 (q/k/v biases)
};

struct RopeScaling {
  enum class Type { none, linear, llama3 };
  Type type = Type::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  int64_t original_max_position_embeddings = 0;
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
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;   // q/k/v projections carry biases
  bool o_bias = false;     // the attention output projection carries a bias
  bool mlp_bias = false;   // gate/up/down projections carry biases
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
};

// The architectures slim runs, as config.json names them.
std::vector<std::string_view> supported_architectures();

// Parses config.json text; `source` names the file in error messages. Throws slim::Error
// (invalid_config / unsupported) naming the field at fault.
ModelConfig parse_config(std::string_view json_text, const std::string& source);
ModelConfig load_config(const std::filesystem::path& model_dir);

}  // namespace slim

#include "model/gguf_model.hpp"

#include <cmath>
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slim/error.hpp"

namespace slim {
namespace {

using nlohmann::json;

// general.architecture -> the transformers class (and model_type) slim's config reader knows it
// by. A llama file with experts is Mixtral (llama.cpp's converter writes Mixtral as llama).
struct GgufArch {
  std::string_view gguf, hf, model_type;
};
constexpr GgufArch kArchs[] = {
    {"llama", "LlamaForCausalLM", "llama"},         {"qwen2", "Qwen2ForCausalLM", "qwen2"},
    {"qwen2moe", "Qwen2MoeForCausalLM", "qwen2_moe"}, {"qwen3", "Qwen3ForCausalLM", "qwen3"},
    {"qwen3moe", "Qwen3MoeForCausalLM", "qwen3_moe"}, {"gemma", "GemmaForCausalLM", "gemma"},
    {"gemma2", "Gemma2ForCausalLM", "gemma2"},      {"gemma3", "Gemma3ForCausalLM", "gemma3_text"},
    {"phi3", "Phi3ForCausalLM", "phi3"},            {"smollm3", "SmolLM3ForCausalLM", "smollm3"},
};
constexpr GgufArch kMixtral = {"llama", "MixtralForCausalLM", "mixtral"};

[[noreturn]] void bad(const io::GgufFile& g, const std::string& what) {
  throw Error(ErrorCode::invalid_format, g.path().string() + ": " + what);
}

// GGUF's names for the tensors of one layer, after "model.layers.N." / "blk.N." (llama.cpp's
// gguf-py/gguf/tensor_mapping.py and constants.py: the llama, qwen2, qwen2moe, qwen3(moe), gemma,
// gemma2/3, phi3 and smollm3 entries).
constexpr std::pair<std::string_view, std::string_view> kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},  // Qwen3, Gemma 3
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},  // Gemma 2 / 3's four norms
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"self_attn.qkv_proj.weight", "attn_qkv.weight"},  // Phi-3's fused [q | k | v]
    {"mlp.gate_up_proj.weight", "ffn_up.weight"},      // Phi-3's fused [gate | up]
    {"mlp.gate.weight", "ffn_gate_inp.weight"},        // the MoE router (Qwen)
    {"block_sparse_moe.gate.weight", "ffn_gate_inp.weight"},  // (Mixtral)
    {"mlp.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight"},  // Qwen2-MoE's shared expert
    {"mlp.shared_expert.up_proj.weight", "ffn_up_shexp.weight"},
    {"mlp.shared_expert.down_proj.weight", "ffn_down_shexp.weight"},
    {"mlp.shared_expert_gate.weight", "ffn_gate_inp_shexp.weight"},
};

// Experts are stacked into one [experts, rows, cols] tensor a projection: HF's
// "<moe>.experts.E.<proj>.weight" is slice E of "blk.N.<stacked>".
constexpr std::pair<std::string_view, std::string_view> kExpertNames[] = {
    {"gate_proj", "ffn_gate_exps.weight"}, {"up_proj", "ffn_up_exps.weight"}, {"down_proj", "ffn_down_exps.weight"},  // Qwen
    {"w1", "ffn_gate_exps.weight"},        {"w3", "ffn_up_exps.weight"},      {"w2", "ffn_down_exps.weight"},       // Mixtral
};

}  // namespace

// Gemma 2 / 3 call the attention output's norm post_attention_layernorm, which is the MLP's input
// norm (ffn_norm) everywhere else.
GgufName gguf_tensor_name(const std::string& hf, bool sandwich_norms) {
  if (hf == "model.embed_tokens.weight") return {"token_embd.weight"};
  if (hf == "model.norm.weight") return {"output_norm.weight"};
  if (hf == "lm_head.weight") return {"output.weight"};
  constexpr std::string_view prefix = "model.layers.";
  if (hf.compare(0, prefix.size(), prefix) != 0) return {};
  const size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return {};
  const std::string blk = "blk." + hf.substr(prefix.size(), dot - prefix.size()) + ".";
  const std::string_view rest = std::string_view(hf).substr(dot + 1);
  if (rest == "post_attention_layernorm.weight") return {blk + (sandwich_norms ? "post_attention_norm.weight" : "ffn_norm.weight")};
  for (const auto& [from, to] : kLayerNames) {
    if (rest == from) return {blk + std::string(to)};
  }
  // "<moe>.experts.E.<proj>.weight", moe being "mlp" or "block_sparse_moe".
  for (std::string_view moe : {"mlp.experts.", "block_sparse_moe.experts."}) {
    if (rest.substr(0, moe.size()) != moe) continue;
    const std::string_view tail = rest.substr(moe.size());
    const size_t end = tail.find('.');
    if (end == 0 || end == std::string_view::npos || end > 6) return {};
    int64_t expert = 0;
    for (char ch : tail.substr(0, end)) {
      if (ch < '0' || ch > '9') return {};
      expert = expert * 10 + (ch - '0');
    }
    for (const auto& [proj, stacked] : kExpertNames) {
      if (tail.substr(end + 1) == std::string(proj) + ".weight") return {blk + std::string(stacked), expert};
    }
  }
  return {};
}

Tensor permute_qk_rows(const Tensor& t, int64_t head_dim, bool to_gguf) {
  const int64_t rows = t.dim(0);
  const size_t row_bytes = t.nbytes() / static_cast<size_t>(rows);
  Tensor out = Tensor::zeros(t.dtype(), t.shape());
  const auto* src = static_cast<const std::byte*>(t.data());
  auto* dst = static_cast<std::byte*>(out.mutable_data());
  const int64_t half = head_dim / 2;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t head = r / head_dim, in_head = r % head_dim;
    // HF row head * head_dim + s * half + j is GGUF row head * head_dim + 2j + s.
    const int64_t gguf = head * head_dim + 2 * (in_head % half) + in_head / half;
    const int64_t hf = head * head_dim + (in_head % 2) * half + in_head / 2;
    const int64_t from = to_gguf ? hf : gguf;
    std::memcpy(dst + static_cast<size_t>(r) * row_bytes, src + static_cast<size_t>(from) * row_bytes, row_bytes);
  }
  return out;
}

namespace {

// An F32 vector tensor of `n` values (RoPE factors), as doubles.
std::vector<double> factor_tensor(const io::GgufFile& g, const std::string& name, int64_t n) {
  const io::GgufTensorInfo* info = g.find_tensor(name);
  if (info->type != io::ggml_f32 || info->dims.size() != 1 || info->dims[0] != n) {
    bad(g, "tensor '" + name + "' must be F32 of " + std::to_string(n) + " values (half the rotated dims)");
  }
  const Tensor t = g.tensor(*info);
  return {t.data_as<float>(), t.data_as<float>() + n};
}

// What llama.cpp's loader derives for Gemma 2 and 3 where their files have no key (llama-model.cpp,
// load_hparams): queries scaled by 1/sqrt(head_dim), except for the 27B models (46 and 62 layers)
// whose query_pre_attn_scalar is hidden / heads; Gemma 2 alternates local and global layers,
// Gemma 3 has one global layer in 6 and its local layers rotate with base 10000 unscaled.
// `<arch>.attention.scale`, `<arch>.attention.sliding_window_pattern` and
// `<arch>.rope.freq_base_swa` are read where present (slim writes them; newer llama.cpp reads the
// last two).
void add_gemma2_keys(const io::GgufFile& g, const std::string& a, json& c) {
  const int64_t hidden = c["hidden_size"], heads = c["num_attention_heads"], layers = c["num_hidden_layers"];
  if (heads <= 0) bad(g, "metadata key '" + a + ".attention.head_count' must be positive");
  const int64_t head_dim = c.contains("head_dim") ? c["head_dim"].get<int64_t>() : hidden / heads;
  const bool is_27b = (a == "gemma2" && layers == 46) || (a == "gemma3" && layers == 62);
  double scalar = static_cast<double>(is_27b ? hidden / heads : head_dim);
  if (auto scale = g.number(a + ".attention.scale")) {
    if (!(*scale > 0.0) || !std::isfinite(*scale)) bad(g, "metadata key '" + a + ".attention.scale' must be positive");
    scalar = 1.0 / (*scale * *scale);
  }
  c["query_pre_attn_scalar"] = scalar;
  const auto attn_cap = g.number(a + ".attn_logit_softcapping");
  const auto final_cap = g.number(a + ".final_logit_softcapping");
  if (a == "gemma2") {
    if (attn_cap) c["attn_logit_softcapping"] = *attn_cap;
    if (final_cap) c["final_logit_softcapping"] = *final_cap;
    return;
  }
  c["attn_logit_softcapping"] = attn_cap ? json(*attn_cap) : json(nullptr);
  c["final_logit_softcapping"] = final_cap ? json(*final_cap) : json(nullptr);
  c["sliding_window_pattern"] = g.integer(a + ".attention.sliding_window_pattern").value_or(6);
  c["rope_local_base_freq"] = g.number(a + ".rope.freq_base_swa").value_or(10000.0);
}

// YaRN's keys as llama.cpp names them, turned into transformers' rope_scaling. The converter
// (convert_hf_to_gguf.py, TextModel.set_gguf_parameters) writes `factor`,
// `original_context_length` and, where config.json sets them, attention_factor as
// `yarn_attn_factor` and `yarn_beta_fast` / `yarn_beta_slow`; llama.cpp takes the original context
// to be context_length when absent. `yarn_log_multiplier` is mscale_all_dim with mscale 1, as
// llama.cpp reads it (llama-context.cpp; DeepSeek-V2's 0.1 × is its own, an architecture slim does
// not read). llama.cpp's `yarn_ext_factor` other than 1 and `attn_factor` other than 1 change the
// result in ways transformers' YaRN has no field for: refused.
json yarn_rope_scaling(const io::GgufFile& g, const std::string& a, int64_t context_length) {
  auto number = [&](const std::string& name) {
    const std::string key = a + ".rope.scaling." + name;
    const auto v = g.number(key);
    if (v && !std::isfinite(*v)) bad(g, "metadata key '" + key + "' must be finite");
    return v;
  };
  const auto factor = number("factor");
  if (!factor) bad(g, "has " + a + ".rope.scaling.type 'yarn' but no metadata key '" + a + ".rope.scaling.factor'");
  json s = {{"rope_type", "yarn"},
            {"factor", *factor},
            {"original_max_position_embeddings",
             g.integer(a + ".rope.scaling.original_context_length").value_or(context_length)}};
  if (auto v = number("yarn_attn_factor")) s["attention_factor"] = *v;
  if (auto v = number("yarn_beta_fast")) s["beta_fast"] = *v;
  if (auto v = number("yarn_beta_slow")) s["beta_slow"] = *v;
  if (auto v = number("yarn_log_multiplier")) {
    s["mscale"] = 1.0;
    s["mscale_all_dim"] = *v;
  }
  for (const char* name : {"yarn_ext_factor", "attn_factor"}) {
    if (auto v = number(name); v && *v != 1.0) {
      throw Error(ErrorCode::unsupported, g.path().string() + ": " + a + ".rope.scaling." + name + " " +
                                              std::to_string(*v) + " is not supported with yarn (slim reads 1)");
    }
  }
  return s;
}

constexpr int64_t kMaxLayers = 1024;  // num_hidden_layers' bound in config.cpp

// Mixtral, Qwen2-MoE and Qwen3-MoE. The routers' renormalisation is fixed by llama.cpp per
// architecture (llama-graph.cpp build_moe_ffn's norm_w): Mixtral and Qwen3-MoE renormalise the
// top-k weights, Qwen2-MoE does not. A layer without a router is a dense one (mlp_only_layers).
void add_moe_keys(const io::GgufFile& g, const std::string& a, json& c) {
  const auto count = g.integer(a + ".expert_count"), used = g.integer(a + ".expert_used_count");
  if (!count || *count <= 0) bad(g, "has no metadata key '" + a + ".expert_count'");
  if (!used || *used <= 0) bad(g, "has no metadata key '" + a + ".expert_used_count'");
  if (a == "llama") {
    c["num_local_experts"] = *count;
    c["num_experts_per_tok"] = *used;
    return;
  }
  c["num_experts"] = *count;
  c["num_experts_per_tok"] = *used;
  const int64_t ff = c["intermediate_size"];
  c["moe_intermediate_size"] = g.integer(a + ".expert_feed_forward_length").value_or(ff / *used);
  if (a == "qwen2moe") c["shared_expert_intermediate_size"] = g.integer(a + ".expert_shared_feed_forward_length").value_or(ff);
  c["norm_topk_prob"] = a == "qwen3moe";
  json dense = json::array();
  const int64_t layers = c["num_hidden_layers"];
  if (layers > kMaxLayers) return;  // the config reader refuses it
  for (int64_t l = 0; l < layers; ++l) {
    if (g.find_tensor("blk." + std::to_string(l) + ".ffn_gate_inp.weight") == nullptr) dense.push_back(l);
  }
  c["mlp_only_layers"] = dense;
}

}  // namespace

std::string gguf_architectures() {
  std::string list;
  for (const auto& a : kArchs) list += (list.empty() ? "" : ", ") + std::string(a.gguf);
  return list;
}

std::string gguf_config_json(const io::GgufFile& g) {
  const auto arch_name = g.string("general.architecture");
  if (!arch_name) bad(g, "has no metadata key 'general.architecture'");
  const GgufArch* arch = nullptr;
  for (const auto& a : kArchs) {
    if (a.gguf == *arch_name) arch = &a;
  }
  if (arch == nullptr) {
    throw Error(ErrorCode::unsupported, g.path().string() + ": general.architecture '" + std::string(*arch_name) +
                                            "' is not supported (slim reads GGUF files of: " + gguf_architectures() + ")");
  }
  const std::string a(arch->gguf);
  if (a == "llama" && g.integer("llama.expert_count").value_or(0) > 0) arch = &kMixtral;
  auto required = [&](const std::string& key) {
    const auto v = g.integer(a + "." + key);
    if (!v) bad(g, "has no metadata key '" + a + "." + key + "'");
    return *v;
  };
  json c;
  c["architectures"] = {std::string(arch->hf)};
  c["model_type"] = std::string(arch->model_type);
  c["hidden_size"] = required("embedding_length");
  c["intermediate_size"] = required("feed_forward_length");
  c["num_hidden_layers"] = required("block_count");
  c["num_attention_heads"] = required("attention.head_count");
  c["num_key_value_heads"] = g.integer(a + ".attention.head_count_kv").value_or(required("attention.head_count"));
  c["max_position_embeddings"] = required("context_length");
  if (auto eps = g.number(a + ".attention.layer_norm_rms_epsilon")) c["rms_norm_eps"] = *eps;
  if (auto theta = g.number(a + ".rope.freq_base")) c["rope_theta"] = *theta;
  if (auto head_dim = g.integer(a + ".attention.key_length")) c["head_dim"] = *head_dim;
  const int64_t head_dim = g.integer(a + ".attention.key_length").value_or(required("embedding_length") / std::max<int64_t>(1, required("attention.head_count")));
  if (auto value_length = g.integer(a + ".attention.value_length"); value_length && *value_length != head_dim) {
    throw Error(ErrorCode::unsupported, g.path().string() + ": " + a + ".attention.value_length " + std::to_string(*value_length) +
                                            " differs from the key length " + std::to_string(head_dim) + "; slim needs them equal");
  }
  int64_t rotary_dim = head_dim;
  if (auto rope_dim = g.integer(a + ".rope.dimension_count"); rope_dim && *rope_dim != head_dim) {
    if (a != "phi3" || *rope_dim <= 0 || *rope_dim > head_dim) {
      throw Error(ErrorCode::unsupported, g.path().string() + ": " + a + ".rope.dimension_count " + std::to_string(*rope_dim) +
                                              " is not the head size " + std::to_string(head_dim) + "; slim rotates whole heads for " + a);
    }
    // Phi-4-mini rotates the leading part of each head.
    rotary_dim = *rope_dim;
    c["partial_rotary_factor"] = static_cast<double>(*rope_dim) / static_cast<double>(head_dim);
  }
  if (auto window = g.integer(a + ".attention.sliding_window"); window && *window > 0) c["sliding_window"] = *window;
  if (auto original = g.integer(a + ".rope.scaling.original_context_length")) c["original_max_position_embeddings"] = *original;
  const std::string scaling(g.string(a + ".rope.scaling.type").value_or("none"));
  if (scaling == "linear") {
    c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", g.number(a + ".rope.scaling.factor").value_or(1.0)}};
  } else if (scaling == "yarn") {
    c["rope_scaling"] = yarn_rope_scaling(g, a, required("context_length"));
  } else if (scaling != "none") {
    throw Error(ErrorCode::unsupported, g.path().string() + ": " + a + ".rope.scaling.type '" + scaling +
                                            "' is not supported (slim reads none, linear and yarn)");
  }
  if (g.find_tensor("rope_freqs.weight") != nullptr) {
    // Llama 3.1's scaling as llama.cpp's converter stores it: one factor a rotated pair, each
    // dividing its frequency. That is longrope with the same short and long factors and no
    // attention scaling (original_max_position_embeddings = the context length).
    if (scaling != "none") bad(g, "has both " + a + ".rope.scaling.type and tensor 'rope_freqs.weight'");
    const std::vector<double> factors = factor_tensor(g, "rope_freqs.weight", rotary_dim / 2);
    c["rope_scaling"] = {{"rope_type", "longrope"}, {"short_factor", factors}, {"long_factor", factors},
                         {"original_max_position_embeddings", required("context_length")}};
  }
  // Phi-3's longrope: its two factor lists as tensors, original_max_position_embeddings above.
  const bool has_long = g.find_tensor("rope_factors_long.weight") != nullptr;
  if (has_long != (g.find_tensor("rope_factors_short.weight") != nullptr)) {
    bad(g, "has only one of the tensors 'rope_factors_long.weight' and 'rope_factors_short.weight'");
  }
  if (has_long) {
    if (c.contains("rope_scaling")) bad(g, "has rope_factors_long.weight besides another RoPE scaling");
    c["rope_scaling"] = {{"rope_type", "longrope"},
                         {"short_factor", factor_tensor(g, "rope_factors_short.weight", rotary_dim / 2)},
                         {"long_factor", factor_tensor(g, "rope_factors_long.weight", rotary_dim / 2)}};
  }
  const io::GgufTensorInfo* embed = g.find_tensor("token_embd.weight");
  if (embed == nullptr || embed->dims.size() != 2) bad(g, "has no 2-dimensional tensor 'token_embd.weight'");
  c["vocab_size"] = embed->dims[1];
  c["tie_word_embeddings"] = g.find_tensor("output.weight") == nullptr;
  // Gemma's GeGLU (tanh GELU); the others' SwiGLU.
  const bool gemma_family = a == "gemma" || a == "gemma2" || a == "gemma3";
  c["hidden_act"] = c["hidden_activation"] = gemma_family ? "gelu_pytorch_tanh" : "silu";
  if (a == "gemma2" || a == "gemma3") add_gemma2_keys(g, a, c);
  if (arch->hf == "MixtralForCausalLM" || a == "qwen2moe" || a == "qwen3moe") add_moe_keys(g, a, c);
  // llama.cpp runs SmolLM3 with RoPE left out of every 4th layer, a fixed step with no key
  // (src/models/smollm3.cpp, n_no_rope_layer_step); so does slim for its files.
  if (a == "smollm3") c["no_rope_layer_interval"] = 4;
  if (auto bos = g.integer("tokenizer.ggml.bos_token_id")) c["bos_token_id"] = *bos;
  if (auto eos = g.integer("tokenizer.ggml.eos_token_id")) c["eos_token_id"] = *eos;
  return c.dump(1);
}

TensorLookup gguf_tensor_lookup(const io::GgufFile& g, const ModelConfig& config) {
  // llama.cpp's converter permutes q/k for GGML's interleaved RoPE in the llama-derived classes
  // (LlamaModel.undo_permute: Llama, Mixtral, SmolLM3), not for Qwen, Gemma or Phi-3.
  const bool permuted_qk = config.arch == Arch::llama || config.arch == Arch::mixtral || config.arch == Arch::smollm3;
  // llama.cpp's converter stores Gemma's RMSNorm weights with the + 1 of (1 + weight) added (every
  // *norm.weight, Gemma 3's q/k norms too); slim's loader adds it itself (norm_adds_one), so it is
  // taken off here.
  const bool norms_add_one = config.traits.norm_adds_one;
  const bool sandwich = config.traits.sandwich_norms;
  const int64_t head_dim = config.head_dim;
  return [&g, permuted_qk, norms_add_one, sandwich, head_dim](const std::string& hf) {
    const GgufName where = gguf_tensor_name(hf, sandwich);
    const std::string& name = where.name;
    const io::GgufTensorInfo* info = name.empty() ? nullptr : g.find_tensor(name);
    if (info == nullptr) {
      throw Error(ErrorCode::missing_tensor, g.path().string() + ": tensor '" + (name.empty() ? hf : name) + "' (" + hf +
                                                 ") is missing from the file");
    }
    if (where.expert >= 0) {
      if (info->dims.size() != 3 || where.expert >= info->dims[2]) {
        bad(g, "tensor '" + name + "' has no expert " + std::to_string(where.expert) + " (it must be [experts, rows, cols])");
      }
      return g.slice(*info, where.expert);
    }
    Tensor t = g.tensor(*info);
    if (name.ends_with(".ffn_gate_inp_shexp.weight") && t.shape().size() == 1) {
      // Stored as a vector; transformers' shared_expert_gate is a [1, hidden] linear layer.
      const int64_t shape[] = {1, t.dim(0)};
      if (!t.owns_memory()) return Tensor::view(t.dtype(), shape, t.data());
      Tensor out = Tensor::zeros(t.dtype(), shape);
      std::memcpy(out.mutable_data(), t.data(), t.nbytes());
      return out;
    }
    if (norms_add_one && name.ends_with("norm.weight")) {
      if (t.dtype() != DType::f32 || t.shape().size() != 1) bad(g, "tensor '" + name + "' must be a vector of F32");
      Tensor out = Tensor::zeros(DType::f32, t.shape());
      for (int64_t i = 0; i < t.dim(0); ++i) out.mutable_data_as<float>()[i] = t.data_as<float>()[i] - 1.0f;
      return out;
    }
    const bool qk = name.ends_with(".attn_q.weight") || name.ends_with(".attn_k.weight") ||
                    name.ends_with(".attn_q.bias") || name.ends_with(".attn_k.bias");
    if (permuted_qk && qk) {
      if (t.dim(0) % head_dim != 0) {
        bad(g, "tensor '" + name + "' has " + std::to_string(t.dim(0)) + " rows, not whole heads of " + std::to_string(head_dim));
      }
      if (t.shape().size() == 1) {  // a bias: one value a row
        const int64_t shape[] = {t.dim(0), 1};
        Tensor rows = permute_qk_rows(Tensor::view(t.dtype(), shape, t.data()), head_dim, false);
        Tensor out = Tensor::zeros(t.dtype(), t.shape());
        std::memcpy(out.mutable_data(), rows.data(), rows.nbytes());
        return out;
      }
      return permute_qk_rows(t, head_dim, false);
    }
    return t;
  };
}

}  // namespace slim

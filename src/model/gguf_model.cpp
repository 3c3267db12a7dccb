#include "model/gguf_model.hpp"

#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slim/error.hpp"

namespace slim {
namespace {

using nlohmann::json;

// general.architecture -> the transformers class slim's config reader knows it by.
struct GgufArch {
  std::string_view gguf, hf;
};
constexpr GgufArch kArchs[] = {{"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"gemma", "GemmaForCausalLM"},
                               {"gemma2", "Gemma2ForCausalLM"}, {"phi3", "Phi3ForCausalLM"}};

[[noreturn]] void bad(const io::GgufFile& g, const std::string& what) {
  throw Error(ErrorCode::invalid_format, g.path().string() + ": " + what);
}

// GGUF's names for the tensors of one layer, after "model.layers.N." / "blk.N." (llama.cpp's
// gguf-py/gguf/tensor_mapping.py, the llama, qwen2 and gemma entries).
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
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"self_attn.qkv_proj.weight", "attn_qkv.weight"},  // Phi-3's fused [q | k | v]
    {"mlp.gate_up_proj.weight", "ffn_up.weight"},      // Phi-3's fused [gate | up]
};
// Gemma 2's four norms a layer (its post_attention_layernorm normalises the attention output).
constexpr std::pair<std::string_view, std::string_view> kGemma2Norms[] = {
    {"post_attention_layernorm.weight", "post_attention_norm.weight"},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
};

}  // namespace

std::string gguf_tensor_name(const std::string& hf, Arch arch) {
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  constexpr std::string_view prefix = "model.layers.";
  if (hf.compare(0, prefix.size(), prefix) != 0) return "";
  const size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return "";
  const std::string_view rest = std::string_view(hf).substr(dot + 1);
  for (const auto& [from, to] : kGemma2Norms) {
    if (arch == Arch::gemma2 && rest == from) return "blk." + hf.substr(prefix.size(), dot - prefix.size()) + "." + std::string(to);
  }
  for (const auto& [from, to] : kLayerNames) {
    if (rest == from) return "blk." + hf.substr(prefix.size(), dot - prefix.size()) + "." + std::string(to);
  }
  return "";
}

namespace {

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

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
  auto required = [&](const std::string& key) {
    const auto v = g.integer(a + "." + key);
    if (!v) bad(g, "has no metadata key '" + a + "." + key + "'");
    return *v;
  };
  json c;
  c["architectures"] = {std::string(arch->hf)};
  c["model_type"] = a;
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
  } else if (scaling != "none") {
    throw Error(ErrorCode::unsupported, g.path().string() + ": " + a + ".rope.scaling.type '" + scaling +
                                            "' is not supported (slim reads none and linear)");
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
  c["hidden_act"] = a == "gemma" || a == "gemma2" ? "gelu_pytorch_tanh" : "silu";
  if (a == "gemma2") {
    // llama.cpp's defaults where the keys are absent; GGUF has no query_pre_attn_scalar, so as
    // llama.cpp does: hidden / heads for the 27B model (46 layers), the head size otherwise.
    c["hidden_activation"] = "gelu_pytorch_tanh";
    c["attn_logit_softcapping"] = g.number(a + ".attn_logit_softcapping").value_or(50.0);
    c["final_logit_softcapping"] = g.number(a + ".final_logit_softcapping").value_or(30.0);
    c["query_pre_attn_scalar"] = required("block_count") == 46 ? required("embedding_length") / std::max<int64_t>(1, required("attention.head_count")) : head_dim;
  }
  if (auto bos = g.integer("tokenizer.ggml.bos_token_id")) c["bos_token_id"] = *bos;
  if (auto eos = g.integer("tokenizer.ggml.eos_token_id")) c["eos_token_id"] = *eos;
  return c.dump(1);
}

TensorLookup gguf_tensor_lookup(const io::GgufFile& g, const ModelConfig& config) {
  const bool permuted_qk = config.arch == Arch::llama;
  const Arch arch = config.arch;
  // llama.cpp's converter stores Gemma's RMSNorm weights with the + 1 of (1 + weight) added;
  // slim's loader adds it itself (norm_adds_one), so it is taken off here.
  const bool norms_add_one = config.traits.norm_adds_one;
  const int64_t head_dim = config.head_dim;
  return [&g, permuted_qk, norms_add_one, head_dim, arch](const std::string& hf) {
    const std::string name = gguf_tensor_name(hf, arch);
    const io::GgufTensorInfo* info = name.empty() ? nullptr : g.find_tensor(name);
    if (info == nullptr) {
      throw Error(ErrorCode::missing_tensor, g.path().string() + ": tensor '" + (name.empty() ? hf : name) + "' (" + hf +
                                                 ") is missing from the file");
    }
    Tensor t = g.tensor(*info);
    if (norms_add_one && ends_with(name, "norm.weight")) {
      if (t.dtype() != DType::f32 || t.shape().size() != 1) bad(g, "tensor '" + name + "' must be a vector of F32");
      Tensor out = Tensor::zeros(DType::f32, t.shape());
      for (int64_t i = 0; i < t.dim(0); ++i) out.mutable_data_as<float>()[i] = t.data_as<float>()[i] - 1.0f;
      return out;
    }
    const bool qk = ends_with(name, ".attn_q.weight") || ends_with(name, ".attn_k.weight") ||
                    ends_with(name, ".attn_q.bias") || ends_with(name, ".attn_k.bias");
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

#include "model/config.hpp"

#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

#include "limits_check.hpp"
#include "slim/error.hpp"

namespace slim {
namespace {

using nlohmann::json;

struct ArchName {
  std::string_view name;
  Arch arch;
};
constexpr ArchName kArchitectures[] = {
    {"LlamaForCausalLM", Arch::llama},
    {"Qwen2ForCausalLM", Arch::qwen2},
    {"GemmaForCausalLM", Arch::gemma},
    {"Gemma2ForCausalLM", Arch::gemma2},
    {"Phi3ForCausalLM", Arch::phi3},
    {"MixtralForCausalLM", Arch::mixtral},
    {"Qwen2MoeForCausalLM", Arch::qwen2moe},
    {"Qwen3ForCausalLM", Arch::qwen3},
    {"Qwen3MoeForCausalLM", Arch::qwen3moe},
    {"Gemma3ForCausalLM", Arch::gemma3},
    {"SmolLM3ForCausalLM", Arch::smollm3},
};

class Reader {
 public:
  // `prefix` names a nested object's fields in errors ("rope_scaling.").
  Reader(const json& j, const std::string& source, std::string prefix = "")
      : j_(j), source_(source), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(ErrorCode::invalid_config, source_ + ": field '" + prefix_ + field + "' " + what);
  }
  const std::string& source() const { return source_; }
  bool has(const char* field) const { return j_.contains(field) && !j_.at(field).is_null(); }

  int64_t integer(const char* field, std::optional<int64_t> fallback = std::nullopt, int64_t min = 1,
                  int64_t max = int64_t{1} << 40) const {
    if (!has(field)) {
      if (fallback) return *fallback;
      fail(field, "is missing");
    }
    const json& v = j_.at(field);
    if (!v.is_number_integer()) fail(field, "must be an integer");
    int64_t x = v.get<int64_t>();
    if (x < min || x > max) fail(field, "is " + std::to_string(x) + ", outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return x;
  }
  double number(const char* field, double fallback, double min, double max) const {
    if (!has(field)) return fallback;
    const json& v = j_.at(field);
    if (!v.is_number()) fail(field, "must be a number");
    double x = v.get<double>();
    if (!(x >= min && x <= max)) fail(field, "is " + v.dump() + ", outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return x;
  }
  bool boolean(const char* field, bool fallback) const {
    if (!has(field)) return fallback;
    const json& v = j_.at(field);
    if (!v.is_boolean()) fail(field, "must be true or false");
    return v.get<bool>();
  }
  std::string string(const char* field, const std::string& fallback) const {
    if (!has(field)) return fallback;
    const json& v = j_.at(field);
    if (!v.is_string()) fail(field, "must be a string");
    return v.get<std::string>();
  }
  // A number that config.json may set to null to turn a feature off: absent gives `fallback`,
  // null gives 0 (off).
  double number_or_off(const char* field, double fallback, double min, double max) const {
    if (j_.contains(field) && j_.at(field).is_null()) return 0.0;
    return number(field, fallback, min, max);
  }
  std::vector<double> numbers(const char* field, size_t count) const {
    if (!has(field)) fail(field, "is missing");
    const json& v = j_.at(field);
    if (!v.is_array() || v.size() != count) fail(field, "must be a list of " + std::to_string(count) + " numbers");
    std::vector<double> out;
    for (const json& x : v) {
      if (!x.is_number() || !(x.get<double>() > 0.0)) fail(field, "must hold positive numbers");
      out.push_back(x.get<double>());
    }
    return out;
  }
  const json& raw(const char* field) const { return j_.at(field); }

 private:
  const json& j_;
  const std::string& source_;
  std::string prefix_;
};

// YaRN as transformers 5.x reads it (src/transformers/modeling_rope_utils.py:
// _compute_yarn_parameters, and RotaryEmbeddingConfigMixin's standardize_rope_params and
// _validate_yarn_rope_parameters). original_max_position_embeddings: rope_scaling's, else the
// top level's, else max_position_embeddings. (5.x lets the top level win only for config classes
// that declare the field, Phi-3's; 4.47 ignored the field and used max_position_embeddings.)
// factor is required; null means max_position_embeddings / original. A zero beta means its
// default, as Python's `or` does. Where transformers only warns (beta_fast below beta_slow) or
// would divide by zero (rope_theta 1), slim refuses.
RopeScaling parse_yarn(const Reader& r, const Reader& rs, const json& v, const ModelConfig& c) {
  RopeScaling s;
  s.type = RopeScaling::Type::yarn;
  const char* original = "original_max_position_embeddings";
  s.original_max_position_embeddings = rs.has(original) ? rs.integer(original) : r.integer(original, c.max_position_embeddings);
  if (!v.contains("factor")) rs.fail("factor", "is missing");
  s.factor = v.at("factor").is_null() ? static_cast<double>(c.max_position_embeddings) /
                                            static_cast<double>(s.original_max_position_embeddings)
                                      : rs.number("factor", 1.0, 1e-6, 1e6);
  s.attention_factor = rs.number("attention_factor", 0.0, 1e-6, 1e6);
  s.mscale = rs.number("mscale", 0.0, 0.0, 1e6);
  s.mscale_all_dim = rs.number("mscale_all_dim", 0.0, 0.0, 1e6);
  s.beta_fast = rs.number("beta_fast", 32.0, 0.0, 1e6);
  s.beta_slow = rs.number("beta_slow", 1.0, 0.0, 1e6);
  if (s.beta_fast == 0.0) s.beta_fast = 32.0;
  if (s.beta_slow == 0.0) s.beta_slow = 1.0;
  if (s.beta_fast < s.beta_slow) {
    rs.fail("beta_fast", "must be at least beta_slow (" + std::to_string(s.beta_slow) + ")");
  }
  s.truncate = rs.boolean("truncate", true);
  if (c.rope_theta <= 1.0) r.fail("rope_theta", "must exceed 1 for yarn rope_scaling");
  return s;
}

RopeScaling parse_rope_scaling(const Reader& r, const ModelConfig& c) {
  RopeScaling s;
  if (!r.has("rope_scaling")) return s;
  const json& v = r.raw("rope_scaling");
  if (!v.is_object()) r.fail("rope_scaling", "must be an object or null");
  Reader rs(v, r.source(), "rope_scaling.");
  // transformers accepts both "rope_type" and the older "type".
  std::string type = rs.string("rope_type", rs.string("type", "default"));
  if (type == "default") return s;
  if (type == "linear") {
    s.type = RopeScaling::Type::linear;
    s.factor = rs.number("factor", 1.0, 1e-6, 1e6);
    return s;
  }
  if (type == "llama3") {
    s.type = RopeScaling::Type::llama3;
    s.factor = rs.number("factor", 8.0, 1e-6, 1e6);
    s.low_freq_factor = rs.number("low_freq_factor", 1.0, 1e-6, 1e6);
    s.high_freq_factor = rs.number("high_freq_factor", 4.0, 1e-6, 1e6);
    if (s.high_freq_factor <= s.low_freq_factor) rs.fail("high_freq_factor", "must exceed low_freq_factor");
    s.original_max_position_embeddings = rs.integer("original_max_position_embeddings", 8192);
    return s;
  }
  if (type == "longrope") {
    // Phi-3's scaling: per-frequency factors, short ones up to original_max_position_embeddings
    // (read from rope_scaling or, as Phi-3 stores it, from the top level). One factor a rotated
    // pair: Phi-4-mini rotates only part of each head.
    s.type = RopeScaling::Type::longrope;
    const auto half = static_cast<size_t>(c.rotary_dim / 2);
    s.short_factor = rs.numbers("short_factor", half);
    s.long_factor = rs.numbers("long_factor", half);
    s.original_max_position_embeddings =
        rs.integer("original_max_position_embeddings", r.integer("original_max_position_embeddings", 4096, 2), 2);
    return s;
  }
  if (type == "yarn") return parse_yarn(r, rs, v, c);
  throw Error(ErrorCode::unsupported, r.source() + ": rope_scaling type '" + type +
                                          "' is not supported (supported: default, linear, llama3, longrope, yarn)");
}

std::vector<int32_t> parse_token_ids(const Reader& r, const char* field) {
  std::vector<int32_t> ids;
  if (!r.has(field)) return ids;
  const json& v = r.raw(field);
  auto one = [&](const json& x) {
    if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > INT32_MAX) {
      r.fail(field, "must be a token id or a list of token ids");
    }
    ids.push_back(static_cast<int32_t>(x.get<int64_t>()));
  };
  if (v.is_array()) {
    for (const json& x : v) one(x);
  } else {
    one(v);
  }
  return ids;
}

Activation parse_activation(const Reader& r, const ModelConfig& c) {
  // transformers 4.47: Gemma 2's MLP reads hidden_activation, Gemma's hidden_act (both default to
  // gelu_pytorch_tanh); a Gemma config that sets hidden_activation means it, so it wins there too.
  const bool gemma_family = c.arch == Arch::gemma || c.arch == Arch::gemma2 || c.arch == Arch::gemma3;
  const char* field = "hidden_act";
  if (c.arch == Arch::gemma2 || c.arch == Arch::gemma3 || (c.arch == Arch::gemma && r.has("hidden_activation"))) {
    field = "hidden_activation";
  }
  const std::string act = r.string(field, gemma_family ? "gelu_pytorch_tanh" : "silu");
  if (act == "silu" || act == "swish") return Activation::silu;
  if (act == "gelu_pytorch_tanh") return Activation::gelu_tanh;
  if (act == "gelu") return Activation::gelu;
  throw Error(ErrorCode::unsupported, r.source() + ": " + field + " '" + act + "' is not supported for " +
                                          c.architecture + " (supported: silu, gelu_pytorch_tanh, gelu)");
}

// A Mistral-style sliding_window (null or absent = none): every layer local.
void parse_sliding_window_all(const Reader& r, BlockTraits& t) {
  if (!r.has("sliding_window")) return;
  t.sliding = SlidingPattern::all;
  t.sliding_window = r.integer("sliding_window");
}

// A list of one entry a layer (layer_types, no_rope_layers), checked for its length.
const json& per_layer_list(const Reader& r, const char* field, const ModelConfig& c) {
  const json& v = r.raw(field);
  if (!v.is_array() || static_cast<int64_t>(v.size()) != c.num_layers) {
    r.fail(field, "must be a list of num_hidden_layers (" + std::to_string(c.num_layers) + ") entries");
  }
  return v;
}

// layer_types (transformers 4.53): per layer, whether it is local. Absent: none is.
std::vector<bool> parse_layer_types(const Reader& r, const ModelConfig& c) {
  std::vector<bool> local(static_cast<size_t>(c.num_layers), false);
  if (!r.has("layer_types")) return local;
  const json& v = per_layer_list(r, "layer_types", c);
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string type = v[i].is_string() ? v[i].get<std::string>() : "";
    if (type != "sliding_attention" && type != "full_attention") {
      r.fail("layer_types", "entry " + std::to_string(i) + " must be \"sliding_attention\" or \"full_attention\"");
    }
    local[i] = type == "sliding_attention";
  }
  return local;
}

// Families whose real checkpoints never slide (Qwen3, SmolLM3): a sliding layer is refused rather
// than run as a global one.
void refuse_sliding(const Reader& r, const ModelConfig& c) {
  if (r.boolean("use_sliding_window", false)) {
    throw Error(ErrorCode::unsupported, r.source() + ": field 'use_sliding_window' is true; sliding-window "
                                                     "attention is not supported for " + c.architecture);
  }
  for (bool local : parse_layer_types(r, c)) {
    if (local) {
      throw Error(ErrorCode::unsupported, r.source() + ": field 'layer_types' has a sliding_attention layer; "
                                                       "sliding-window attention is not supported for " + c.architecture);
    }
  }
}

// Gemma 3: layer_types, or else every sliding_window_pattern-th layer global (Gemma3TextConfig).
void parse_gemma3_layers(const Reader& r, const ModelConfig& c, BlockTraits& t) {
  t.sliding = SlidingPattern::listed;
  t.sliding_window = r.integer("sliding_window", 4096);
  if (r.has("layer_types")) {
    t.local_layers = parse_layer_types(r, c);
    return;
  }
  const char* field = r.has("sliding_window_pattern") ? "sliding_window_pattern" : "_sliding_window_pattern";
  const int64_t pattern = r.integer(field, 6, 1, 1024);
  for (int64_t l = 0; l < c.num_layers; ++l) t.local_layers.push_back((l + 1) % pattern != 0);
}

// SmolLM3: no_rope_layers holds 1 for a layer with RoPE, 0 for one without; absent, every
// no_rope_layer_interval-th layer goes without (SmolLM3Config).
std::vector<bool> parse_no_rope_layers(const Reader& r, const ModelConfig& c) {
  std::vector<bool> no_rope;
  if (r.has("no_rope_layers")) {
    for (const json& x : per_layer_list(r, "no_rope_layers", c)) {
      if (!x.is_number_integer() || (x.get<int64_t>() != 0 && x.get<int64_t>() != 1)) {
        r.fail("no_rope_layers", "must hold 1 (RoPE) or 0 (no RoPE) for each layer");
      }
      no_rope.push_back(x.get<int64_t>() == 0);
    }
  } else {
    const int64_t interval = r.integer("no_rope_layer_interval", 4, 1, 1024);
    for (int64_t l = 0; l < c.num_layers; ++l) no_rope.push_back((l + 1) % interval == 0);
  }
  return no_rope;
}

BlockTraits parse_traits(const Reader& r, const ModelConfig& c) {
  BlockTraits t;
  t.activation = parse_activation(r, c);
  switch (c.arch) {
    case Arch::llama:
    case Arch::qwen2:
      break;
    case Arch::qwen2moe:
      if (r.boolean("use_sliding_window", false)) {
        throw Error(ErrorCode::unsupported, r.source() + ": field 'use_sliding_window' is true; sliding-window "
                                                         "attention is not supported for " + c.architecture);
      }
      break;
    case Arch::gemma:
      t.norm_adds_one = t.scale_embeddings = true;
      break;
    case Arch::gemma2:
      // Defaults are Gemma2Config's (transformers 4.47); a soft-cap set to null is off.
      t.norm_adds_one = t.scale_embeddings = t.sandwich_norms = true;
      t.query_scale = std::pow(r.number("query_pre_attn_scalar", 256.0, 1e-6, 1e9), -0.5);
      t.attn_softcap = r.number_or_off("attn_logit_softcapping", 50.0, 1e-6, 1e9);
      t.final_softcap = r.number_or_off("final_logit_softcapping", 30.0, 1e-6, 1e9);
      t.sliding = SlidingPattern::even_layers;
      t.sliding_window = r.integer("sliding_window", 4096);
      break;
    case Arch::phi3:
      t.fused_qkv = t.fused_gate_up = true;
      parse_sliding_window_all(r, t);
      break;
    case Arch::mixtral:
      parse_sliding_window_all(r, t);
      break;
    case Arch::qwen3:
    case Arch::qwen3moe:
      t.qk_norm = true;
      refuse_sliding(r, c);
      break;
    case Arch::gemma3:
      // Gemma 2's block without soft-caps by default (Gemma3TextConfig, transformers 4.53), q/k
      // norms, and local layers on their own unscaled RoPE.
      t.norm_adds_one = t.scale_embeddings = t.sandwich_norms = t.qk_norm = true;
      t.query_scale = std::pow(r.number("query_pre_attn_scalar", 256.0, 1e-6, 1e9), -0.5);
      t.attn_softcap = r.number_or_off("attn_logit_softcapping", 0.0, 1e-6, 1e9);
      t.final_softcap = r.number_or_off("final_logit_softcapping", 0.0, 1e-6, 1e9);
      t.local_rope_theta = r.number("rope_local_base_freq", 10000.0, 1.0, 1e12);
      parse_gemma3_layers(r, c, t);
      break;
    case Arch::smollm3:
      refuse_sliding(r, c);
      t.no_rope_layers = parse_no_rope_layers(r, c);
      break;
  }
  return t;
}

MoeConfig parse_moe(const Reader& r, const ModelConfig& c) {
  MoeConfig m;
  if (c.arch == Arch::mixtral) {
    m.num_experts = r.integer("num_local_experts", 8, 1, 4096);
    m.top_k = r.integer("num_experts_per_tok", 2, 1, 4096);
    m.expert_intermediate_size = c.intermediate_size;
  } else if (c.arch == Arch::qwen2moe || c.arch == Arch::qwen3moe) {
    // Qwen2MoeConfig's defaults (Qwen1.5-MoE-A2.7B), Qwen3MoeConfig's (Qwen3-30B-A3B; no shared expert).
    const bool qwen3 = c.arch == Arch::qwen3moe;
    m.num_experts = r.integer("num_experts", qwen3 ? 128 : 60, 1, 4096);
    m.top_k = r.integer("num_experts_per_tok", qwen3 ? 8 : 4, 1, 4096);
    m.expert_intermediate_size = r.integer("moe_intermediate_size", qwen3 ? 768 : 1408);
    if (!qwen3) m.shared_expert_intermediate_size = r.integer("shared_expert_intermediate_size", 5632);
    m.normalize_top_k = r.boolean("norm_topk_prob", false);
    m.sparse_step = r.integer("decoder_sparse_step", 1, 1, 1024);
    if (r.has("mlp_only_layers")) {
      const json& v = r.raw("mlp_only_layers");
      if (!v.is_array()) r.fail("mlp_only_layers", "must be a list of layer indices");
      for (const json& x : v) {
        if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() >= c.num_layers) {
          r.fail("mlp_only_layers", "must hold layer indices below num_hidden_layers");
        }
        m.dense_layers.push_back(x.get<int64_t>());
      }
    }
  } else {
    return m;
  }
  if (m.top_k > m.num_experts) r.fail("num_experts_per_tok", "exceeds the number of experts");
  return m;
}

}  // namespace

bool ModelConfig::is_local_layer(int64_t layer) const {
  switch (traits.sliding) {
    case SlidingPattern::none: return false;
    case SlidingPattern::all: return true;
    case SlidingPattern::even_layers: return layer % 2 == 0;  // Gemma 2: `not bool(layer_idx % 2)`
    case SlidingPattern::listed: return traits.local_layers[static_cast<size_t>(layer)];
  }
  return false;
}

bool ModelConfig::is_moe_layer(int64_t layer) const {
  if (moe.num_experts == 0) return false;
  for (int64_t d : moe.dense_layers) {
    if (d == layer) return false;
  }
  return (layer + 1) % moe.sparse_step == 0;
}

std::vector<std::string_view> supported_architectures() {
  std::vector<std::string_view> out;
  for (const auto& a : kArchitectures) out.push_back(a.name);
  return out;
}

ModelConfig parse_config(std::string_view json_text, const std::string& source) {
  json j = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded()) throw Error(ErrorCode::invalid_config, source + ": not valid JSON");
  if (!j.is_object()) throw Error(ErrorCode::invalid_config, source + ": not a JSON object");
  Reader r(j, source);
  ModelConfig c;

  if (!r.has("architectures") || !r.raw("architectures").is_array() || r.raw("architectures").empty() ||
      !r.raw("architectures")[0].is_string()) {
    r.fail("architectures", "must be a non-empty list of class names");
  }
  c.architecture = r.raw("architectures")[0].get<std::string>();
  bool known = false;
  for (const auto& a : kArchitectures) {
    if (a.name == c.architecture) {
      c.arch = a.arch;
      known = true;
    }
  }
  if (!known) {
    std::string list;
    for (const auto& a : kArchitectures) list += (list.empty() ? "" : ", ") + std::string(a.name);
    throw Error(ErrorCode::unsupported,
                source + ": architecture '" + c.architecture + "' is not supported (supported: " + list + ")");
  }

  const bool gemma_family = c.arch == Arch::gemma || c.arch == Arch::gemma2 || c.arch == Arch::gemma3;
  c.vocab_size = r.integer("vocab_size");
  c.hidden_size = r.integer("hidden_size");
  c.intermediate_size = r.integer("intermediate_size");
  c.num_layers = r.integer("num_hidden_layers", std::nullopt, 1, 1024);
  c.num_heads = r.integer("num_attention_heads", std::nullopt, 1, 4096);
  c.num_kv_heads = r.integer("num_key_value_heads", c.num_heads, 1, 4096);
  if (c.num_heads % c.num_kv_heads != 0) {
    r.fail("num_key_value_heads", "must divide num_attention_heads (" + std::to_string(c.num_heads) + ")");
  }
  if (gemma_family) {
    c.head_dim = r.integer("head_dim", 256, 2, 1024);  // GemmaConfig / Gemma2Config / Gemma3TextConfig default
  } else if (c.arch == Arch::qwen3) {
    c.head_dim = r.integer("head_dim", 128, 2, 1024);  // Qwen3Config's, whatever hidden_size is
  } else {
    if (c.hidden_size % c.num_heads != 0 && !r.has("head_dim")) {
      r.fail("num_attention_heads", "must divide hidden_size when head_dim is absent");
    }
    c.head_dim = r.integer("head_dim", c.hidden_size / c.num_heads, 2, 1024);
  }
  if (c.head_dim % 2 != 0) r.fail("head_dim", "must be even for rotary embeddings");
  c.rotary_dim = c.head_dim;
  if (c.arch == Arch::phi3) {
    // Phi-4-mini rotates the first int(head_dim × partial_rotary_factor) dims of each head.
    const double factor = r.number("partial_rotary_factor", 1.0, 1e-6, 1.0);
    c.rotary_dim = static_cast<int64_t>(static_cast<double>(c.head_dim) * factor);
    if (c.rotary_dim < 2 || c.rotary_dim % 2 != 0) {
      r.fail("partial_rotary_factor", "must rotate an even number of dims (head_dim " + std::to_string(c.head_dim) + ")");
    }
  }
  c.max_position_embeddings = r.integer("max_position_embeddings", 2048, 1, int64_t{1} << 24);
  const bool eps_1e5 = c.arch == Arch::phi3 || c.arch == Arch::mixtral;  // their config classes' defaults
  c.rms_norm_eps = r.number("rms_norm_eps", eps_1e5 ? 1e-5 : 1e-6, 0.0, 1.0);
  const double theta = c.arch == Arch::mixtral || c.arch == Arch::gemma3 ? 1e6 : c.arch == Arch::smollm3 ? 2e6 : 10000.0;
  c.rope_theta = r.number("rope_theta", theta, 1.0, 1e12);
  c.rope_scaling = parse_rope_scaling(r, c);
  c.traits = parse_traits(r, c);
  c.moe = parse_moe(r, c);

  switch (c.arch) {
    case Arch::llama:
      c.qkv_bias = c.o_bias = r.boolean("attention_bias", false);
      c.mlp_bias = r.boolean("mlp_bias", false);
      break;
    case Arch::qwen2:
    case Arch::qwen2moe:
      c.qkv_bias = true;  // Qwen2Attention always has q/k/v biases and none on o_proj
      break;
    case Arch::gemma:
    case Arch::gemma2:
    case Arch::gemma3:
    case Arch::qwen3:
    case Arch::qwen3moe:
      c.qkv_bias = c.o_bias = r.boolean("attention_bias", false);
      break;
    case Arch::smollm3:
      c.qkv_bias = c.o_bias = r.boolean("attention_bias", false);
      c.mlp_bias = r.boolean("mlp_bias", false);
      break;
    case Arch::phi3:
    case Arch::mixtral:
      break;  // no biases
  }
  // Gemma and SmolLM3 tie their head to the embedding unless config.json says otherwise.
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", gemma_family || c.arch == Arch::smollm3);

  auto bos = parse_token_ids(r, "bos_token_id");
  if (!bos.empty()) c.bos_token_id = bos.front();
  c.eos_token_ids = parse_token_ids(r, "eos_token_id");
  return c;
}

std::string read_config_file(const std::filesystem::path& path, const Limits& limits) {
  return read_file_limited(path, limits.max_json_bytes, "max_json_bytes");
}

ModelConfig load_config(const std::filesystem::path& model_dir, const Limits& limits) {
  const auto path = model_dir / "config.json";
  return parse_config(read_config_file(path, limits), path.string());
}

}  // namespace slim

#include "model/gguf_model_writer.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <numbers>

#include "io/gguf_writer.hpp"
#include "kernels/kernels.hpp"
#include "limits_check.hpp"
#include "model/gguf_model.hpp"
#include "model/model_impl.hpp"
#include "model/rope.hpp"
#include "slim/error.hpp"
#include "tokenizer/gguf_tokenizer.hpp"
#include "tokenizer/tokenizer_json.hpp"

namespace slim {
namespace {

using nlohmann::json;

[[noreturn]] void unsupported(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCode::unsupported, path.string() + ": cannot write as GGUF: " + what);
}

// general.architecture of the families slim's GGUF reader loads (gguf_model.cpp).
const char* gguf_arch(Arch arch) {
  switch (arch) {
    case Arch::llama: return "llama";
    case Arch::mixtral: return "llama";  // llama.cpp's converter writes Mixtral as llama with experts
    case Arch::qwen2: return "qwen2";
    case Arch::qwen2moe: return "qwen2moe";
    case Arch::qwen3: return "qwen3";
    case Arch::qwen3moe: return "qwen3moe";
    case Arch::gemma: return "gemma";
    case Arch::gemma2: return "gemma2";
    case Arch::gemma3: return "gemma3";
    case Arch::phi3: return "phi3";
    case Arch::smollm3: return "smollm3";
  }
  return nullptr;
}

// The families whose q/k rows llama.cpp's converter permutes (its Llama class and those derived).
bool permutes_qk(Arch arch) { return arch == Arch::llama || arch == Arch::mixtral || arch == Arch::smollm3; }

// llama.cpp's general.file_type (llama_ftype) of the weight matrices' type.
uint32_t file_type(DType t) {
  switch (t) {
    case DType::f16: return 1;
    case DType::q4_0: return 2;
    case DType::q8_0: return 7;
    case DType::bf16: return 32;
    // As llama-quantize labels its files of these types (the fixtures' general.file_type).
    case DType::q4_1: return 3;
    case DType::q5_0: return 8;
    case DType::q5_1: return 9;
    case DType::q4_k: return 15;  // LLAMA_FTYPE_MOSTLY_Q4_K_M
    case DType::q5_k: return 17;  // Q5_K_M
    case DType::q6_k: return 18;
    default: return 0;
  }
}

Tensor f32_vector(const std::vector<double>& values) {
  Tensor t = Tensor::zeros(DType::f32, {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) t.mutable_data_as<float>()[i] = static_cast<float>(values[i]);
  return t;
}

// Llama 3.1's rope_scaling as convert_hf_to_gguf.py's LlamaModel stores it: one factor a rotated
// pair (1 for high frequencies, `factor` for low ones, blended between), dividing its frequency.
std::vector<double> llama3_rope_factors(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  const auto old_len = static_cast<double>(s.original_max_position_embeddings);
  std::vector<double> factors;
  for (int64_t i = 0; i < c.rotary_dim / 2; ++i) {
    const double freq = 1.0 / std::pow(c.rope_theta, 2.0 * static_cast<double>(i) / static_cast<double>(c.rotary_dim));
    const double wavelen = 2 * std::numbers::pi / freq;
    if (wavelen < old_len / s.high_freq_factor) {
      factors.push_back(1.0);
    } else if (wavelen > old_len / s.low_freq_factor) {
      factors.push_back(s.factor);
    } else {
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      factors.push_back(1.0 / ((1 - smooth) / s.factor + smooth));
    }
  }
  return factors;
}

// YaRN as convert_hf_to_gguf.py writes it (TextModel.set_gguf_parameters): the factor, the
// original context and, where they are not the defaults, the betas. attention_factor goes in as
// yarn_attn_factor, as the converter writes it; mscale / mscale_all_dim have no key there, so the
// attention factor they give goes in instead, which reads back the same. truncate false has no
// key at all (llama.cpp always rounds the ramp's ends).
void add_yarn_keys(const ModelConfig& c, const std::string& a, const std::filesystem::path& path, io::GgufWriter& w) {
  const RopeScaling& s = c.rope_scaling;
  if (!s.truncate) unsupported(path, "rope_scaling yarn with truncate false");
  if (s.original_max_position_embeddings > UINT32_MAX) unsupported(path, "original_max_position_embeddings above 2^32");
  w.add_string(a + ".rope.scaling.type", "yarn");
  w.add_f32(a + ".rope.scaling.factor", static_cast<float>(s.factor));
  w.add_u32(a + ".rope.scaling.original_context_length", static_cast<uint32_t>(s.original_max_position_embeddings));
  if (s.attention_factor > 0.0 || (s.mscale != 0.0 && s.mscale_all_dim != 0.0)) {
    w.add_f32(a + ".rope.scaling.yarn_attn_factor", rope_attention_factor(c));
  }
  if (s.beta_fast != 32.0) w.add_f32(a + ".rope.scaling.yarn_beta_fast", static_cast<float>(s.beta_fast));
  if (s.beta_slow != 1.0) w.add_f32(a + ".rope.scaling.yarn_beta_slow", static_cast<float>(s.beta_slow));
}

// Gemma 2 and 3: llama.cpp derives the query scale from the head size (hidden / heads for the
// 27B models); where the model's differs, `<arch>.attention.scale` carries it (slim reads it,
// llama.cpp does not). Gemma 2's soft-caps are always on in llama.cpp; Gemma 3's layers are one
// global in every sliding_window_pattern, its local ones on freq_base_swa.
void add_gemma_keys(const ModelConfig& c, const std::string& a, const std::filesystem::path& path, io::GgufWriter& w) {
  const bool is_27b = c.num_layers == (c.arch == Arch::gemma2 ? 46 : 62);
  const int64_t scalar = is_27b ? c.hidden_size / c.num_heads : c.head_dim;
  if (static_cast<float>(c.traits.query_scale) != static_cast<float>(std::pow(static_cast<double>(scalar), -0.5))) {
    w.add_f32(a + ".attention.scale", static_cast<float>(c.traits.query_scale));
  }
  if (c.arch == Arch::gemma2) {
    if (c.traits.attn_softcap == 0 || c.traits.final_softcap == 0) unsupported(path, "gemma2 without its soft-caps");
  }
  if (c.traits.attn_softcap > 0) w.add_f32(a + ".attn_logit_softcapping", static_cast<float>(c.traits.attn_softcap));
  if (c.traits.final_softcap > 0) w.add_f32(a + ".final_logit_softcapping", static_cast<float>(c.traits.final_softcap));
  if (c.arch != Arch::gemma3) return;
  int64_t period = 0;
  for (int64_t p = 1; p <= c.num_layers && period == 0; ++p) {
    bool fits = true;
    for (int64_t l = 0; l < c.num_layers; ++l) fits = fits && c.is_local_layer(l) == ((l + 1) % p != 0);
    if (fits) period = p;
  }
  if (period == 0) unsupported(path, "gemma3 layer_types other than one global layer in every N");
  w.add_u32(a + ".attention.sliding_window_pattern", static_cast<uint32_t>(period));
  w.add_f32(a + ".rope.freq_base_swa", static_cast<float>(c.traits.local_rope_theta));
}

// Mixtral, Qwen2-MoE, Qwen3-MoE. Whether the top-k weights are renormalised has no key: llama.cpp
// fixes it per architecture (Mixtral and Qwen3-MoE do, Qwen2-MoE does not).
void add_moe_keys(const ModelConfig& c, const std::string& a, const std::filesystem::path& path, io::GgufWriter& w) {
  const MoeConfig& m = c.moe;
  if (m.normalize_top_k != (c.arch != Arch::qwen2moe)) {
    unsupported(path, c.architecture + (m.normalize_top_k ? " with" : " without") + " norm_topk_prob");
  }
  w.add_u32(a + ".expert_count", static_cast<uint32_t>(m.num_experts));
  w.add_u32(a + ".expert_used_count", static_cast<uint32_t>(m.top_k));
  if (c.arch == Arch::mixtral) {
    if (m.expert_intermediate_size != c.intermediate_size) unsupported(path, "Mixtral experts of another size than intermediate_size");
    return;
  }
  w.add_u32(a + ".expert_feed_forward_length", static_cast<uint32_t>(m.expert_intermediate_size));
  if (m.shared_expert_intermediate_size > 0) {
    w.add_u32(a + ".expert_shared_feed_forward_length", static_cast<uint32_t>(m.shared_expert_intermediate_size));
  }
}

// The experts of one stacked GGUF tensor, in expert order, as one [experts, rows, cols] tensor of
// GGUF blocks (rows held regrouped in memory go back to blocks).
Tensor stack_experts(const std::vector<const io::NamedTensor*>& experts, const std::string& name,
                     const std::filesystem::path& path) {
  for (const io::NamedTensor* e : experts) {
    if (e == nullptr) unsupported(path, "tensor '" + name + "' misses an expert");
  }
  const Tensor& first = experts[0]->tensor;
  for (const io::NamedTensor* e : experts) {
    if (e->tensor.dtype() != first.dtype() || e->tensor.shape().size() != 2 || e->tensor.dim(0) != first.dim(0) ||
        e->tensor.dim(1) != first.dim(1)) {
      unsupported(path, "the experts of '" + name + "' differ in type or shape");
    }
  }
  const int64_t rows = first.dim(0), cols = first.dim(1);
  const size_t row_bytes = dtype_row_bytes(first.dtype(), cols);
  const int64_t shape[] = {static_cast<int64_t>(experts.size()), rows, cols};
  Tensor out = Tensor::zeros(first.dtype(), shape);
  auto* dst = static_cast<std::byte*>(out.mutable_data());
  for (const io::NamedTensor* e : experts) {
    const auto* src = static_cast<const std::byte*>(e->tensor.data());
    for (int64_t r = 0; r < rows; ++r, dst += row_bytes) {
      if (e->layout == kernels::Layout::blocks) {
        std::memcpy(dst, src + static_cast<size_t>(r) * row_bytes, row_bytes);
      } else {
        kernels::relayout_row(first.dtype(), cols, src + static_cast<size_t>(r) * row_bytes, e->layout, dst, kernels::Layout::blocks);
      }
    }
  }
  return out;
}

// The <arch>.* keys gguf_config_json reads back, and the RoPE factor tensors.
void add_hyperparameters(const ModelConfig& c, const std::string& a, const std::filesystem::path& path, io::GgufWriter& w,
                         std::vector<std::pair<std::string, Tensor>>& extra) {
  auto u32 = [&](const std::string& key, int64_t v) { w.add_u32(a + "." + key, static_cast<uint32_t>(v)); };
  u32("context_length", c.max_position_embeddings);
  u32("embedding_length", c.hidden_size);
  u32("block_count", c.num_layers);
  u32("feed_forward_length", c.intermediate_size);
  u32("attention.head_count", c.num_heads);
  u32("attention.head_count_kv", c.num_kv_heads);
  w.add_f32(a + ".rope.freq_base", static_cast<float>(c.rope_theta));
  w.add_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  // An explicit head_dim; Gemma's always, as its converter writes it (GemmaConfig's default is 256
  // whatever the hidden size).
  const bool gemma23 = c.arch == Arch::gemma2 || c.arch == Arch::gemma3;
  // (Qwen3's config reader defaults head_dim to 128 whatever the hidden size.)
  if (c.head_dim * c.num_heads != c.hidden_size || c.arch == Arch::gemma || gemma23 || c.arch == Arch::qwen3 ||
      c.arch == Arch::qwen3moe) {
    u32("attention.key_length", c.head_dim);
    u32("attention.value_length", c.head_dim);
  }
  if (c.rotary_dim != c.head_dim && c.arch != Arch::phi3) unsupported(path, "partial rotary embeddings outside phi3");
  u32("rope.dimension_count", c.rotary_dim);
  if (c.traits.sliding == SlidingPattern::all || gemma23) u32("attention.sliding_window", c.traits.sliding_window);
  if (gemma23) add_gemma_keys(c, a, path, w);
  if (c.moe.num_experts > 0) add_moe_keys(c, a, path, w);
  if (c.arch == Arch::smollm3) {
    // No key says which layers skip RoPE: GGUF readers leave it out of every 4th (gguf_model.cpp).
    for (int64_t l = 0; l < c.num_layers; ++l) {
      const bool skips = !c.traits.no_rope_layers.empty() && c.traits.no_rope_layers[static_cast<size_t>(l)];
      if (skips != ((l + 1) % 4 == 0)) unsupported(path, "smollm3 layers without RoPE other than every 4th");
    }
  }
  const RopeScaling& s = c.rope_scaling;
  switch (s.type) {
    case RopeScaling::Type::none: break;
    case RopeScaling::Type::linear:
      w.add_string(a + ".rope.scaling.type", "linear");
      w.add_f32(a + ".rope.scaling.factor", static_cast<float>(s.factor));
      break;
    case RopeScaling::Type::yarn: add_yarn_keys(c, a, path, w); break;
    case RopeScaling::Type::llama3:
      if (c.arch != Arch::llama) unsupported(path, "rope_scaling llama3 outside llama");
      extra.emplace_back("rope_freqs.weight", f32_vector(llama3_rope_factors(c)));
      break;
    case RopeScaling::Type::longrope:
      if (c.arch == Arch::phi3) {
        u32("rope.scaling.original_context_length", s.original_max_position_embeddings);
        extra.emplace_back("rope_factors_long.weight", f32_vector(s.long_factor));
        extra.emplace_back("rope_factors_short.weight", f32_vector(s.short_factor));
      } else if (c.arch == Arch::llama && s.short_factor == s.long_factor &&
                 s.original_max_position_embeddings == c.max_position_embeddings) {
        extra.emplace_back("rope_freqs.weight", f32_vector(s.short_factor));  // read from such a tensor
      } else {
        unsupported(path, "rope_scaling longrope outside phi3");
      }
      break;
  }
}

// What slim's GGUF reader assumes of each family, checked so that the file reads back as this
// model: biases (Qwen2's q/k/v only) and the activation.
void check_family(const ModelConfig& c, const std::filesystem::path& path) {
  if (c.o_bias) unsupported(path, "attention output biases (attention_bias)");
  if (c.mlp_bias) unsupported(path, "MLP biases (mlp_bias)");
  const bool biased = c.arch == Arch::qwen2 || c.arch == Arch::qwen2moe;
  if (c.qkv_bias != biased) unsupported(path, c.architecture + (c.qkv_bias ? " with" : " without") + " q/k/v biases");
  const bool gemma = c.arch == Arch::gemma || c.arch == Arch::gemma2 || c.arch == Arch::gemma3;
  const Activation act = gemma ? Activation::gelu_tanh : Activation::silu;
  if (c.traits.activation != act) unsupported(path, "the MLP activation (hidden_act) of this " + c.architecture);
}

// general.name: the model's folder or file name. Phi-3's tokenizer strips the whitespace after
// its chat tokens, which GGUF readers apply when the name says Phi-3.
std::string model_name(const Model::Impl& impl, bool rstrip) {
  std::string name = impl.dir.empty() ? "slim random" : impl.dir.stem().string();
  std::string lower = name;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (rstrip && impl.config.arch == Arch::phi3 && lower.find("phi-3") == std::string::npos &&
      lower.find("phi3") == std::string::npos) {
    name = "Phi-3 " + name;
  }
  return name;
}

// The tokenizer keys: a GGUF model's as they are, a folder's made from tokenizer.json. Returns
// whether an added token has rstrip (model_name).
bool add_tokenizer(const Model& model, io::GgufWriter& w) {
  const Model::Impl& impl = model.impl();
  if (impl.gguf) {
    for (const auto& [key, value] : impl.gguf->metadata()) {
      if (key.rfind("tokenizer.", 0) == 0) w.copy(*impl.gguf, key);
    }
    return false;
  }
  if (impl.dir.empty() || !model.has_tokenizer()) {
    // No vocabulary to write; keep the config's special ids, which the reader takes from here.
    if (impl.config.bos_token_id) w.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*impl.config.bos_token_id));
    if (!impl.config.eos_token_ids.empty()) w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(impl.config.eos_token_ids[0]));
    return false;
  }
  const auto json_path = impl.dir / "tokenizer.json", config_path = impl.dir / "tokenizer_config.json";
  const tok::TokenizerFile file = tok::parse_tokenizer_json(
      read_file_limited(json_path, impl.limits.max_tokenizer_json_bytes, "max_tokenizer_json_bytes"), impl.limits);
  json config;
  if (std::filesystem::is_regular_file(config_path)) {
    config = json::parse(read_file_limited(config_path, impl.limits.max_json_bytes, "max_json_bytes"), nullptr, false);
    if (!config.is_object()) config = json();
  }
  auto warn = [&](const std::string& message) {
    if (impl.log) impl.log(LogLevel::warning, json_path.string() + ": " + message);
  };
  const bool rstrip = tok::add_gguf_tokenizer(file, config, model.tokenizer(), impl.config.vocab_size, w, warn);
  // The template the model renders with (a folder without one: its family's built-in one).
  try {
    w.add_string("tokenizer.chat_template", model.chat_template().source());
  } catch (const Error&) {
    // No template and no built-in one for the family: the file has none either.
  }
  return rstrip;
}

}  // namespace

void write_gguf_model(const Model& model, const std::filesystem::path& path, const std::function<void(float)>& progress) {
  const Model::Impl& impl = model.impl();
  const ModelConfig& c = impl.config;
  const char* arch = gguf_arch(c.arch);
  if (arch == nullptr) {
    unsupported(path, "architecture " + c.architecture + " (slim writes GGUF files of: " + gguf_architectures() + ")");
  }
  check_family(c, path);
  const std::string a = arch;

  io::GgufWriter w;
  w.add_string("general.architecture", a);
  io::GgufWriter tokenizer_keys;  // written after the hyperparameters, as llama.cpp's converter orders them
  const bool rstrip = add_tokenizer(model, tokenizer_keys);
  if (impl.gguf && impl.gguf->find("general.name") != nullptr) {
    w.copy(*impl.gguf, "general.name");
  } else {
    w.add_string("general.name", model_name(impl, rstrip));
  }
  w.add_u32("general.file_type", file_type(model.weights_dtype()));
  // ggml's quantization format version (GGML_QNT_VERSION), which llama-quantize writes into every
  // file it makes (F16 included); llama.cpp's converter's F32 files go without.
  if (model.weights_dtype() != DType::f32) w.add_u32("general.quantization_version", 2);
  w.add_u32("general.alignment", io::GgufWriter::kAlignment);
  std::vector<std::pair<std::string, Tensor>> extra;  // RoPE factors
  add_hyperparameters(c, a, path, w, extra);
  w.append(tokenizer_keys);

  // Experts are gathered into one stacked tensor a projection, written where its first expert was.
  std::map<std::string, std::vector<const io::NamedTensor*>> experts;
  std::vector<std::string> order;
  for (const io::NamedTensor& t : impl.saved) {
    const GgufName where = gguf_tensor_name(t.name, c.traits.sandwich_norms);
    const std::string& name = where.name;
    if (name.empty()) unsupported(path, "tensor '" + t.name + "' has no GGUF name");
    if (where.expert >= 0) {
      auto& slots = experts[name];
      if (slots.empty()) order.push_back(name);
      if (where.expert >= c.moe.num_experts) unsupported(path, "tensor '" + t.name + "' is past the expert count");
      slots.resize(static_cast<size_t>(c.moe.num_experts), nullptr);
      slots[static_cast<size_t>(where.expert)] = &t;
      continue;
    }
    order.push_back(name);
    Tensor x = t.tensor;
    if (permutes_qk(c.arch) && (name.find(".attn_q.") != std::string::npos || name.find(".attn_k.") != std::string::npos)) {
      x = permute_qk_rows(x, c.head_dim, /*to_gguf=*/true);
    } else if (c.traits.norm_adds_one && name.ends_with("norm.weight")) {
      // llama.cpp's converter stores Gemma's norms (Gemma 3's q/k norms too) with the + 1 of
      // (1 + weight) added.
      Tensor plus = Tensor::zeros(DType::f32, x.shape());
      for (int64_t i = 0; i < x.numel(); ++i) plus.mutable_data_as<float>()[i] = x.data_as<float>()[i] + 1.0f;
      x = plus;
    } else if (name.ends_with(".ffn_gate_inp_shexp.weight")) {
      // transformers' [1, hidden] shared_expert_gate is a vector in GGUF.
      const int64_t shape[] = {x.numel()};
      x = Tensor::view(x.dtype(), shape, x.data());
    }
    w.add_tensor(name, x, t.layout);
  }
  for (const std::string& name : order) {
    auto it = experts.find(name);
    if (it == experts.end()) continue;
    w.add_tensor(name, stack_experts(it->second, name, path));
  }
  for (const auto& [name, t] : extra) w.add_tensor(name, t);
  w.write(path, progress);
}

}  // namespace slim

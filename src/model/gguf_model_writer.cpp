#include "model/gguf_model_writer.hpp"

#include <cmath>
#include <numbers>

#include "io/gguf_writer.hpp"
#include "limits_check.hpp"
#include "model/gguf_model.hpp"
#include "model/model_impl.hpp"
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
    case Arch::qwen2: return "qwen2";
    case Arch::gemma: return "gemma";
    case Arch::gemma2: return "gemma2";
    case Arch::phi3: return "phi3";
    default: return nullptr;
  }
}

// llama.cpp's general.file_type (llama_ftype) of the weight matrices' type.
uint32_t file_type(DType t) {
  switch (t) {
    case DType::f16: return 1;
    case DType::q4_0: return 2;
    case DType::q8_0: return 7;
    case DType::bf16: return 32;
    default: return 0;
  }
}

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
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
  if (c.head_dim * c.num_heads != c.hidden_size || c.arch == Arch::gemma || c.arch == Arch::gemma2) {
    u32("attention.key_length", c.head_dim);
    u32("attention.value_length", c.head_dim);
  }
  if (c.rotary_dim != c.head_dim && c.arch != Arch::phi3) unsupported(path, "partial rotary embeddings outside phi3");
  u32("rope.dimension_count", c.rotary_dim);
  if (c.traits.sliding == SlidingPattern::all || c.arch == Arch::gemma2) u32("attention.sliding_window", c.traits.sliding_window);
  if (c.arch == Arch::gemma2) {
    // llama.cpp applies both soft-caps always, and scales queries by the head size (hidden /
    // heads in the 27B model): a query_pre_attn_scalar of anything else has no key to say so.
    if (c.traits.attn_softcap == 0 || c.traits.final_softcap == 0) unsupported(path, "gemma2 without its soft-caps");
    const int64_t scalar = c.num_layers == 46 ? c.hidden_size / c.num_heads : c.head_dim;
    if (c.traits.query_scale != std::pow(static_cast<double>(scalar), -0.5)) {
      unsupported(path, "gemma2 with a query_pre_attn_scalar other than " + std::to_string(scalar) +
                            " (GGUF readers take it from the head size)");
    }
    w.add_f32(a + ".attn_logit_softcapping", static_cast<float>(c.traits.attn_softcap));
    w.add_f32(a + ".final_logit_softcapping", static_cast<float>(c.traits.final_softcap));
  }
  const RopeScaling& s = c.rope_scaling;
  switch (s.type) {
    case RopeScaling::Type::none: break;
    case RopeScaling::Type::linear:
      w.add_string(a + ".rope.scaling.type", "linear");
      w.add_f32(a + ".rope.scaling.factor", static_cast<float>(s.factor));
      break;
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
  if (c.qkv_bias != (c.arch == Arch::qwen2)) unsupported(path, c.architecture + (c.qkv_bias ? " with" : " without") + " q/k/v biases");
  const Activation act = c.arch == Arch::gemma || c.arch == Arch::gemma2 ? Activation::gelu_tanh : Activation::silu;
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

  for (const io::NamedTensor& t : impl.saved) {
    const std::string name = gguf_tensor_name(t.name, c.arch);
    if (name.empty()) unsupported(path, "tensor '" + t.name + "' has no GGUF name");
    Tensor x = t.tensor;
    if (c.arch == Arch::llama && (name.find(".attn_q.") != std::string::npos || name.find(".attn_k.") != std::string::npos)) {
      x = permute_qk_rows(x, c.head_dim, /*to_gguf=*/true);
    } else if (c.traits.norm_adds_one && ends_with(name, "norm.weight")) {
      // llama.cpp's converter stores Gemma's norms with the + 1 of (1 + weight) added.
      Tensor plus = Tensor::zeros(DType::f32, x.shape());
      for (int64_t i = 0; i < x.numel(); ++i) plus.mutable_data_as<float>()[i] = x.data_as<float>()[i] + 1.0f;
      x = plus;
    }
    w.add_tensor(name, x, t.layout);
  }
  for (const auto& [name, t] : extra) w.add_tensor(name, t);
  w.write(path, progress);
}

}  // namespace slim

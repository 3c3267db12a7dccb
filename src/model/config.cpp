#include "model/config.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

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
};

class Reader {
 public:
  Reader(const json& j, const std::string& source) : j_(j), source_(source) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(ErrorCode::invalid_config, source_ + ": field '" + field + "' " + what);
  }
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
  const json& raw(const char* field) const { return j_.at(field); }

 private:
  const json& j_;
  const std::string& source_;
};

RopeScaling parse_rope_scaling(const Reader& r, const std::string& source) {
  RopeScaling s;
  if (!r.has("rope_scaling")) return s;
  const json& v = r.raw("rope_scaling");
  if (!v.is_object()) r.fail("rope_scaling", "must be an object or null");
  Reader rs(v, source);
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
    if (s.high_freq_factor <= s.low_freq_factor) {
      r.fail("rope_scaling.high_freq_factor", "must exceed low_freq_factor");
    }
    s.original_max_position_embeddings = rs.integer("original_max_position_embeddings", 8192);
    return s;
  }
  throw Error(ErrorCode::unsupported, source + ": rope_scaling type '" + type +
                                          "' is not supported (supported: default, linear, llama3)");
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

}  // namespace

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

  c.vocab_size = r.integer("vocab_size");
  c.hidden_size = r.integer("hidden_size");
  c.intermediate_size = r.integer("intermediate_size");
  c.num_layers = r.integer("num_hidden_layers", std::nullopt, 1, 1024);
  c.num_heads = r.integer("num_attention_heads", std::nullopt, 1, 4096);
  c.num_kv_heads = r.integer("num_key_value_heads", c.num_heads, 1, 4096);
  if (c.num_heads % c.num_kv_heads != 0) {
    r.fail("num_key_value_heads", "must divide num_attention_heads (" + std::to_string(c.num_heads) + ")");
  }
  if (c.hidden_size % c.num_heads != 0 && !r.has("head_dim")) {
    r.fail("num_attention_heads", "must divide hidden_size when head_dim is absent");
  }
  c.head_dim = r.integer("head_dim", c.hidden_size / c.num_heads, 2, 1024);
  if (c.head_dim % 2 != 0) r.fail("head_dim", "must be even for rotary embeddings");
  c.max_position_embeddings = r.integer("max_position_embeddings", 2048, 1, int64_t{1} << 24);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6, 0.0, 1.0);
  c.rope_theta = r.number("rope_theta", 10000.0, 1.0, 1e12);
  c.rope_scaling = parse_rope_scaling(r, source);

  const std::string act = r.string("hidden_act", "silu");
  if (act != "silu") {
    throw Error(ErrorCode::unsupported, source + ": hidden_act '" + act + "' is not supported for " + c.architecture);
  }

  switch (c.arch) {
    case Arch::llama:
      c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
      c.qkv_bias = c.o_bias = r.boolean("attention_bias", false);
      c.mlp_bias = r.boolean("mlp_bias", false);
      break;
    case Arch::qwen2:
      c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
      c.qkv_bias = true;  // Qwen2Attention always has q/k/v biases and none on o_proj
      break;
  }

  auto bos = parse_token_ids(r, "bos_token_id");
  if (!bos.empty()) c.bos_token_id = bos.front();
  c.eos_token_ids = parse_token_ids(r, "eos_token_id");
  return c;
}

ModelConfig load_config(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::io, path.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path.string());
}

}  // namespace slim

#include "model/weights.hpp"

#include <cstring>

#include "kernels/kernels.hpp"
#include "slim/error.hpp"

namespace slim {
namespace {

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class Loader {
 public:
  Loader(const io::WeightFiles& files) : files_(files) {}

  Tensor matrix(const std::string& name, int64_t rows, int64_t cols) const {
    Tensor t = files_.tensor(name);
    check_shape(name, t, {rows, cols});
    return t;
  }
  // A vector converted to f32 (norm weights and biases are small and read on every token).
  Tensor vector_f32(const std::string& name, int64_t n) const {
    Tensor t = files_.tensor(name);
    check_shape(name, t, {n});
    if (t.dtype() == DType::f32 && t.owns_memory()) return t;
    Tensor out = Tensor::zeros(DType::f32, {n});
    kernels::row_to_f32({t.dtype(), t.data(), 1, n}, 0, out.mutable_data_as<float>());
    return out;
  }
  Linear linear(const std::string& prefix, int64_t out, int64_t in, bool bias) const {
    Linear l;
    l.weight = matrix(prefix + ".weight", out, in);
    if (bias) l.bias = vector_f32(prefix + ".bias", out);
    return l;
  }

 private:
  static void check_shape(const std::string& name, const Tensor& t, std::initializer_list<int64_t> want) {
    std::span<const int64_t> w(want.begin(), want.size());
    if (!std::equal(t.shape().begin(), t.shape().end(), w.begin(), w.end())) {
      throw Error(ErrorCode::invalid_format, "tensor '" + name + "' has shape " + shape_string(t.shape()) +
                                                 " but the config implies " + shape_string(w));
    }
  }
  const io::WeightFiles& files_;
};

}  // namespace

Weights load_weights(const ModelConfig& c, const io::WeightFiles& files) {
  Loader load(files);
  Weights w;
  const int64_t q_dim = c.num_heads * c.head_dim;
  const int64_t kv_dim = c.num_kv_heads * c.head_dim;
  w.embed = load.matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights l;
    l.attn_norm = load.vector_f32(p + "input_layernorm.weight", c.hidden_size);
    l.q = load.linear(p + "self_attn.q_proj", q_dim, c.hidden_size, c.qkv_bias);
    l.k = load.linear(p + "self_attn.k_proj", kv_dim, c.hidden_size, c.qkv_bias);
    l.v = load.linear(p + "self_attn.v_proj", kv_dim, c.hidden_size, c.qkv_bias);
    l.o = load.linear(p + "self_attn.o_proj", c.hidden_size, q_dim, c.o_bias);
    l.mlp_norm = load.vector_f32(p + "post_attention_layernorm.weight", c.hidden_size);
    l.gate = load.linear(p + "mlp.gate_proj", c.intermediate_size, c.hidden_size, c.mlp_bias);
    l.up = load.linear(p + "mlp.up_proj", c.intermediate_size, c.hidden_size, c.mlp_bias);
    l.down = load.linear(p + "mlp.down_proj", c.hidden_size, c.intermediate_size, c.mlp_bias);
    w.layers.push_back(std::move(l));
  }
  w.final_norm = load.vector_f32("model.norm.weight", c.hidden_size);
  // A tied head reuses the embedding; some tied checkpoints still store lm_head.weight, and
  // transformers ties them anyway, so the embedding wins.
  if (c.tie_word_embeddings) {
    w.lm_head.weight = w.embed;
  } else {
    w.lm_head.weight = load.matrix("lm_head.weight", c.vocab_size, c.hidden_size);
  }
  return w;
}

uint64_t weight_bytes_per_token(const Weights& w) {
  uint64_t total = 0;
  for (const auto& l : w.layers) {
    for (const Linear* m : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) total += m->weight.nbytes();
  }
  return total + w.lm_head.weight.nbytes();
}

}  // namespace slim

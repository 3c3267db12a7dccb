#include "model/weights.hpp"


#include "kernels/kernels.hpp"
#include "slim/error.hpp"

namespace slim {
namespace {

class Loader {
 public:
  Loader(TensorSource& source, bool norm_adds_one, std::vector<io::NamedTensor>& saved)
      : source_(source), norm_adds_one_(norm_adds_one), saved_(saved) {}

  // Block-quantized matrices come in the kernels' preferred layout (TensorSource::matrix).
  Tensor matrix(const std::string& name, int64_t rows, int64_t cols) const {
    Tensor t = source_.matrix(name, rows, cols);
    saved_.push_back({name, t, kernels::preferred_layout(t.dtype())});
    return t;
  }
  // A vector converted to f32 (norm weights and biases are small and read on every token).
  Tensor vector_f32(const std::string& name, int64_t n) const {
    Tensor t = source_.vector(name, n, false);
    saved_.push_back({name, t});
    return t;
  }
  // An RMSNorm weight; Gemma's norms scale by (1 + weight), folded in here once (f32, as
  // transformers computes `1.0 + self.weight.float()`). The stored weight is what gets saved.
  Tensor norm(const std::string& name, int64_t n) const {
    Tensor t = source_.vector(name, n, true);
    saved_.push_back({name, t});
    if (!norm_adds_one_) return t;
    Tensor out = Tensor::zeros(DType::f32, {n});
    for (int64_t i = 0; i < n; ++i) out.mutable_data_as<float>()[i] = 1.0f + t.data_as<float>()[i];
    return out;
  }
  Linear linear(const std::string& prefix, int64_t out, int64_t in, bool bias) const {
    Linear l;
    l.weight = matrix(prefix + ".weight", out, in);
    l.layout = kernels::preferred_layout(l.weight.dtype());
    if (bias) l.bias = vector_f32(prefix + ".bias", out);
    return l;
  }

 private:
  TensorSource& source_;
  bool norm_adds_one_;
  std::vector<io::NamedTensor>& saved_;
};

// Where one family's tensor names differ from Llama's (model.layers.N.<name>).
struct TensorNames {
  std::string mlp_norm = "post_attention_layernorm";
  std::string post_attn_norm, post_mlp_norm;  // Gemma 2's extra norms
  std::string moe = "mlp";                    // the mixture-of-experts block
  std::string expert_gate = "gate_proj", expert_up = "up_proj", expert_down = "down_proj";
};

TensorNames tensor_names(Arch arch) {
  TensorNames n;
  if (arch == Arch::gemma2 || arch == Arch::gemma3) {
    // Gemma 2's "post_attention_layernorm" normalises the attention output; the MLP's input norm
    // is "pre_feedforward_layernorm".
    n.mlp_norm = "pre_feedforward_layernorm";
    n.post_attn_norm = "post_attention_layernorm";
    n.post_mlp_norm = "post_feedforward_layernorm";
  }
  if (arch == Arch::mixtral) {
    n.moe = "block_sparse_moe";
    n.expert_gate = "w1";
    n.expert_up = "w3";
    n.expert_down = "w2";
  }
  return n;
}

// Rows [first, first + count) of a row-major matrix: a view, since its rows are contiguous.
Linear row_range(const Tensor& t, int64_t first, int64_t count) {
  const size_t row_bytes = t.nbytes() / static_cast<size_t>(t.dim(0));
  const auto* base = static_cast<const std::byte*>(t.data());
  Linear l;
  const int64_t shape[] = {count, t.dim(1)};
  l.weight = Tensor::view(t.dtype(), shape, base + static_cast<size_t>(first) * row_bytes);
  l.layout = kernels::preferred_layout(t.dtype());  // the layouts move bytes only within a row
  return l;
}

Mlp load_mlp(const Loader& load, const std::string& p, const TensorNames& names, int64_t hidden, int64_t inter,
             bool bias) {
  Mlp m;
  m.gate = load.linear(p + names.expert_gate, inter, hidden, bias);
  m.up = load.linear(p + names.expert_up, inter, hidden, bias);
  m.down = load.linear(p + names.expert_down, hidden, inter, bias);
  return m;
}

void load_attention(const ModelConfig& c, const Loader& load, const std::string& p, LayerWeights& l) {
  const int64_t q_dim = c.num_heads * c.head_dim;
  const int64_t kv_dim = c.num_kv_heads * c.head_dim;
  if (c.traits.fused_qkv) {
    l.fused_qkv = load.matrix(p + "self_attn.qkv_proj.weight", q_dim + 2 * kv_dim, c.hidden_size);
    l.q = row_range(l.fused_qkv, 0, q_dim);
    l.k = row_range(l.fused_qkv, q_dim, kv_dim);
    l.v = row_range(l.fused_qkv, q_dim + kv_dim, kv_dim);
  } else {
    l.q = load.linear(p + "self_attn.q_proj", q_dim, c.hidden_size, c.qkv_bias);
    l.k = load.linear(p + "self_attn.k_proj", kv_dim, c.hidden_size, c.qkv_bias);
    l.v = load.linear(p + "self_attn.v_proj", kv_dim, c.hidden_size, c.qkv_bias);
  }
  l.o = load.linear(p + "self_attn.o_proj", c.hidden_size, q_dim, c.o_bias);
  if (c.traits.qk_norm) {
    l.q_norm = load.norm(p + "self_attn.q_norm.weight", c.head_dim);
    l.k_norm = load.norm(p + "self_attn.k_norm.weight", c.head_dim);
  }
}

void load_mlp_block(const ModelConfig& c, const Loader& load, const std::string& p, int64_t layer,
                    const TensorNames& names, LayerWeights& l) {
  const int64_t hidden = c.hidden_size;
  if (c.is_moe_layer(layer)) {
    const std::string m = p + names.moe + ".";
    l.moe.router = load.linear(m + "gate", c.moe.num_experts, hidden, false);
    for (int64_t e = 0; e < c.moe.num_experts; ++e) {
      l.moe.experts.push_back(load_mlp(load, m + "experts." + std::to_string(e) + ".", names, hidden,
                                       c.moe.expert_intermediate_size, false));
    }
    if (c.moe.shared_expert_intermediate_size > 0) {
      l.moe.shared = load_mlp(load, m + "shared_expert.", TensorNames{}, hidden,
                              c.moe.shared_expert_intermediate_size, false);
      l.moe.shared_gate = load.linear(m + "shared_expert_gate", 1, hidden, false);
    }
  } else if (c.traits.fused_gate_up) {
    const int64_t inter = c.intermediate_size;
    l.fused_gate_up = load.matrix(p + "mlp.gate_up_proj.weight", 2 * inter, hidden);
    l.mlp.gate = row_range(l.fused_gate_up, 0, inter);
    l.mlp.up = row_range(l.fused_gate_up, inter, inter);
    l.mlp.down = load.linear(p + "mlp.down_proj", hidden, inter, c.mlp_bias);
  } else {
    l.mlp = load_mlp(load, p + "mlp.", TensorNames{}, hidden, c.intermediate_size, c.mlp_bias);
  }
}

}  // namespace

Weights build_weights(const ModelConfig& c, TensorSource& source, std::vector<io::NamedTensor>& saved) {
  const Loader load(source, c.traits.norm_adds_one, saved);
  const TensorNames names = tensor_names(c.arch);
  Weights w;
  w.embed = load.matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size);
  w.embed_layout = kernels::preferred_layout(w.embed.dtype());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights l;
    l.attn_norm = load.norm(p + "input_layernorm.weight", c.hidden_size);
    load_attention(c, load, p, l);
    if (c.traits.sandwich_norms) {
      l.post_attn_norm = load.norm(p + names.post_attn_norm + ".weight", c.hidden_size);
      l.post_mlp_norm = load.norm(p + names.post_mlp_norm + ".weight", c.hidden_size);
    }
    l.mlp_norm = load.norm(p + names.mlp_norm + ".weight", c.hidden_size);
    load_mlp_block(c, load, p, i, names, l);
    w.layers.push_back(std::move(l));
  }
  w.final_norm = load.norm("model.norm.weight", c.hidden_size);
  // A tied head reuses the embedding; some tied checkpoints still store lm_head.weight, and
  // transformers ties them anyway, so the embedding wins.
  if (c.tie_word_embeddings) {
    w.lm_head.weight = w.embed;
    w.lm_head.layout = w.embed_layout;
  } else {
    w.lm_head.weight = load.matrix("lm_head.weight", c.vocab_size, c.hidden_size);
    w.lm_head.layout = kernels::preferred_layout(w.lm_head.weight.dtype());
  }
  source.finish();
  return w;
}

std::vector<MatrixShape> matrix_shapes(const ModelConfig& c) {
  const int64_t hidden = c.hidden_size;
  const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
  std::vector<MatrixShape> out = {{c.vocab_size, hidden}};
  auto mlp = [&](int64_t inter) {
    out.push_back({inter, hidden});
    out.push_back({inter, hidden});
    out.push_back({hidden, inter});
  };
  for (int64_t l = 0; l < c.num_layers; ++l) {
    if (c.traits.fused_qkv) {
      out.push_back({q_dim + 2 * kv_dim, hidden});
    } else {
      out.insert(out.end(), {{q_dim, hidden}, {kv_dim, hidden}, {kv_dim, hidden}});
    }
    out.push_back({hidden, q_dim});
    if (c.is_moe_layer(l)) {
      out.push_back({c.moe.num_experts, hidden});
      for (int64_t e = 0; e < c.moe.num_experts; ++e) mlp(c.moe.expert_intermediate_size);
      if (c.moe.shared_expert_intermediate_size > 0) {
        mlp(c.moe.shared_expert_intermediate_size);
        out.push_back({1, hidden});
      }
    } else if (c.traits.fused_gate_up) {
      out.push_back({2 * c.intermediate_size, hidden});
      out.push_back({hidden, c.intermediate_size});
    } else {
      mlp(c.intermediate_size);
    }
  }
  if (!c.tie_word_embeddings) out.push_back({c.vocab_size, hidden});
  return out;
}

uint64_t weight_bytes_per_token(const ModelConfig& c, const Weights& w) {
  uint64_t total = 0;
  auto add = [&](const Linear& m) { total += m.weight.nbytes(); };
  auto add_mlp = [&](const Mlp& m) {
    if (m.down.weight.empty()) return;
    add(m.gate);
    add(m.up);
    add(m.down);
  };
  for (const auto& l : w.layers) {
    for (const Linear* m : {&l.q, &l.k, &l.v, &l.o}) add(*m);
    add_mlp(l.mlp);
    if (l.moe.experts.empty()) continue;
    add(l.moe.router);
    add_mlp(l.moe.shared);
    if (l.moe.has_shared()) add(l.moe.shared_gate);
    uint64_t experts = 0;
    for (const Mlp& e : l.moe.experts) experts += e.gate.weight.nbytes() + e.up.weight.nbytes() + e.down.weight.nbytes();
    total += experts / static_cast<uint64_t>(c.moe.num_experts) * static_cast<uint64_t>(c.moe.top_k);
  }
  return total + w.lm_head.weight.nbytes();
}

}  // namespace slim

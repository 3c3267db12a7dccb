// A naive, cache-free forward pass in double precision for the tests to compare slim's against:
// every position's logits recomputed from scratch with an explicit attention mask.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/kernels.hpp"
#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "model/rope.hpp"
#include "slim/slim.hpp"

namespace slim::test {

using Matrix = std::vector<std::vector<double>>;  // [position][feature]

// The logits at every position of `tokens`, computed from scratch in double precision with an
// explicit attention mask: no KV cache, no chunks, no ring buffer. Dense-MLP models only. With
// kv_type f16 the keys (after RoPE) and values are rounded to f16 first, as an f16 cache holds them.
class NaiveReference {
 public:
  explicit NaiveReference(const slim::Model& model, slim::DType kv_type = slim::DType::f32)
      : c_(model.impl().config), w_(model.impl().weights), kv_type_(kv_type) {
    REQUIRE(c_.moe.num_experts == 0);
    inv_freq_ = slim::rope_inv_freq(c_);
    attention_factor_ = slim::rope_attention_factor(c_);
    local_inv_freq_ = slim::rope_inv_freq_local(c_);
    if (local_inv_freq_.empty()) local_inv_freq_ = inv_freq_;
  }

  // The global layers' RoPE from elsewhere (a test's own computation of a scaling) instead of
  // slim's: their frequencies and the factor cos and sin are multiplied by.
  NaiveReference& with_rope(const std::vector<float>& inv_freq, double attention_factor) {
    const bool local_is_global = local_inv_freq_ == inv_freq_;
    inv_freq_ = inv_freq;
    if (local_is_global) local_inv_freq_ = inv_freq;
    attention_factor_ = attention_factor;
    return *this;
  }

  Matrix logits(const std::vector<int32_t>& tokens) const {
    const size_t n = tokens.size();
    Matrix x(n);
    for (size_t t = 0; t < n; ++t) {
      x[t] = row(w_.embed, tokens[t]);
      if (c_.traits.scale_embeddings) {
        for (double& v : x[t]) v *= static_cast<float>(std::sqrt(double(c_.hidden_size)));
      }
    }
    for (int64_t l = 0; l < c_.num_layers; ++l) {
      const slim::LayerWeights& lw = w_.layers[size_t(l)];
      Matrix h = apply(norm(x, lw.attn_norm), [&](const auto& v) { return v; });
      Matrix a = attention(h, l, lw);
      if (c_.traits.sandwich_norms) a = norm(a, lw.post_attn_norm);
      add(x, a);
      Matrix m = mlp(norm(x, lw.mlp_norm), lw.mlp);
      if (c_.traits.sandwich_norms) m = norm(m, lw.post_mlp_norm);
      add(x, m);
    }
    Matrix out = apply(norm(x, w_.final_norm), [&](const auto& v) { return matvec(w_.lm_head, v); });
    if (c_.traits.final_softcap > 0) {
      for (auto& r : out) {
        for (double& v : r) v = std::tanh(v / c_.traits.final_softcap) * c_.traits.final_softcap;
      }
    }
    return out;
  }

 private:
  std::vector<double> row(const slim::Tensor& m, int64_t r) const {
    std::vector<float> f(size_t(m.dim(1)));
    slim::kernels::row_to_f32({m.dtype(), m.data(), m.dim(0), m.dim(1)}, r, f.data());
    return {f.begin(), f.end()};
  }
  std::vector<double> matvec(const slim::Linear& l, const std::vector<double>& v) const {
    std::vector<double> y(size_t(l.out()));
    for (int64_t r = 0; r < l.out(); ++r) {
      const auto wr = row(l.weight, r);
      double s = l.bias.empty() ? 0.0 : l.bias.data_as<float>()[r];
      for (size_t i = 0; i < v.size(); ++i) s += wr[i] * v[i];
      y[size_t(r)] = s;
    }
    return y;
  }
  template <typename F>
  static Matrix apply(const Matrix& x, F f) {
    Matrix y;
    for (const auto& r : x) y.push_back(f(r));
    return y;
  }
  Matrix norm(const Matrix& x, const slim::Tensor& weight) const {
    return apply(x, [&](const std::vector<double>& r) {
      double ss = 0;
      for (double v : r) ss += v * v;
      const double inv = 1.0 / std::sqrt(ss / double(r.size()) + c_.rms_norm_eps);
      std::vector<double> y(r.size());
      for (size_t i = 0; i < r.size(); ++i) y[i] = r[i] * inv * weight.data_as<float>()[i];
      return y;
    });
  }
  static void add(Matrix& x, const Matrix& y) {
    for (size_t t = 0; t < x.size(); ++t)
      for (size_t i = 0; i < x[t].size(); ++i) x[t][i] += y[t][i];
  }
  // RMSNorm of each head_dim-long head of v (Qwen3 / Gemma 3's q and k norms).
  void head_norm(std::vector<double>& v, const slim::Tensor& weight) const {
    const size_t hd = size_t(c_.head_dim);
    for (size_t h = 0; h < v.size() / hd; ++h) {
      const Matrix one = norm({std::vector<double>(v.begin() + long(h * hd), v.begin() + long((h + 1) * hd))}, weight);
      std::copy(one[0].begin(), one[0].end(), v.begin() + long(h * hd));
    }
  }
  // Rotates the first rotary_dim dims of a head, scaled by `factor` (the rest pass through).
  void rope(std::vector<double>& v, size_t head, int64_t pos, const std::vector<float>& inv_freq, double factor) const {
    const size_t hd = size_t(c_.head_dim), half = size_t(c_.rotary_dim) / 2;
    for (size_t i = 0; i < half; ++i) {
      const double angle = double(static_cast<float>(pos) * inv_freq[i]);
      const double a = v[head * hd + i], b = v[head * hd + i + half];
      v[head * hd + i] = (a * std::cos(angle) - b * std::sin(angle)) * factor;
      v[head * hd + i + half] = (b * std::cos(angle) + a * std::sin(angle)) * factor;
    }
  }
  Matrix attention(const Matrix& h, int64_t layer, const slim::LayerWeights& lw) const {
    const size_t n = h.size(), hd = size_t(c_.head_dim);
    const size_t heads = size_t(c_.num_heads), group = heads / size_t(c_.num_kv_heads);
    Matrix q = apply(h, [&](const auto& v) { return matvec(lw.q, v); });
    Matrix k = apply(h, [&](const auto& v) { return matvec(lw.k, v); });
    Matrix v = apply(h, [&](const auto& r) { return matvec(lw.v, r); });
    const bool local = c_.is_local_layer(layer);
    const auto& inv_freq = local ? local_inv_freq_ : inv_freq_;
    const double factor = local && c_.traits.local_rope_theta != 0.0 ? 1.0 : attention_factor_;  // local: unscaled
    for (size_t t = 0; t < n; ++t) {
      if (c_.traits.qk_norm) {
        head_norm(q[t], lw.q_norm);
        head_norm(k[t], lw.k_norm);
      }
      if (!c_.has_rope(layer)) continue;
      for (size_t hh = 0; hh < heads; ++hh) rope(q[t], hh, int64_t(t), inv_freq, factor);
      for (size_t hh = 0; hh < size_t(c_.num_kv_heads); ++hh) rope(k[t], hh, int64_t(t), inv_freq, factor);
    }
    if (kv_type_ == slim::DType::f16) {
      for (size_t t = 0; t < n; ++t) {
        for (double& x : k[t]) x = slim::kernels::f16_to_f32(slim::round_kv_f16(static_cast<float>(x)));
        for (double& x : v[t]) x = slim::kernels::f16_to_f32(slim::round_kv_f16(static_cast<float>(x)));
      }
    }
    const double scale = c_.traits.query_scale > 0 ? c_.traits.query_scale : 1.0 / std::sqrt(double(hd));
    const double cap = c_.traits.attn_softcap;
    Matrix out(n, std::vector<double>(heads * hd, 0.0));
    for (size_t i = 0; i < n; ++i) {
      for (size_t hh = 0; hh < heads; ++hh) {
        const size_t kvh = hh / group;
        std::vector<double> s(n, -INFINITY);
        for (size_t j = 0; j < n; ++j) {
          const bool masked = j > i || (c_.is_local_layer(layer) && i - j >= size_t(c_.traits.sliding_window));
          if (masked) continue;
          double d = 0;
          for (size_t e = 0; e < hd; ++e) d += q[i][hh * hd + e] * k[j][kvh * hd + e];
          d *= scale;
          s[j] = cap > 0 ? std::tanh(d / cap) * cap : d;
        }
        double mx = -INFINITY, sum = 0;
        for (double x : s) mx = std::max(mx, x);
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (size_t j = 0; j < n; ++j)
          for (size_t e = 0; e < hd; ++e) out[i][hh * hd + e] += s[j] / sum * v[j][kvh * hd + e];
      }
    }
    return apply(out, [&](const auto& r) { return matvec(lw.o, r); });
  }
  Matrix mlp(const Matrix& h, const slim::Mlp& m) const {
    return apply(h, [&](const std::vector<double>& r) {
      auto g = matvec(m.gate, r);
      const auto u = matvec(m.up, r);
      for (size_t i = 0; i < g.size(); ++i) {
        const double x = g[i];
        switch (c_.traits.activation) {
          case slim::Activation::silu: g[i] = x / (1 + std::exp(-x)); break;
          case slim::Activation::gelu_tanh:
            g[i] = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
            break;
          case slim::Activation::gelu: g[i] = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); break;
        }
        g[i] *= u[i];
      }
      return matvec(m.down, g);
    });
  }

  const slim::ModelConfig& c_;
  const slim::Weights& w_;
  slim::DType kv_type_;
  std::vector<float> inv_freq_, local_inv_freq_;
  double attention_factor_ = 1.0;
};

}  // namespace slim::test

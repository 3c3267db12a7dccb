#include "model/transformer.hpp"

#include <omp.h>

#include <cmath>

#include "kernels/kernels.hpp"
#include "ops/ops.hpp"

namespace slim {
namespace {

size_t sz(int64_t n) { return static_cast<size_t>(n); }

// y = x·Wᵀ + b for n rows of x.
void linear(const Linear& l, const float* x, int64_t n, float* y, int threads) {
  kernels::matmul(l.matrix(), x, n, y, threads);
  if (!l.bias.empty()) ops::add_bias(y, l.bias.data_as<float>(), n, l.out());
}

float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Causal attention of n query tokens (positions pos..pos+n-1) over the cache of one layer.
void attention(const ModelConfig& c, KvCache& cache, int64_t layer, ForwardBuffers& b, int64_t n, int64_t pos,
               int threads) {
  const int64_t hd = c.head_dim, heads = c.num_heads, group = c.num_heads / c.num_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t context = cache.capacity();
  const int64_t work = n * heads * (pos + n) * hd;
  const int team = work > (1 << 16) ? threads : 1;
#pragma omp parallel for collapse(2) schedule(static) num_threads(team)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t h = 0; h < heads; ++h) {
      float* scores = b.scores.data() + sz(omp_get_thread_num() * context);
      const float* q = b.q.data() + sz((i * heads + h) * hd);
      const int64_t kv_head = h / group;
      const int64_t len = pos + i + 1;  // causal: this token sees itself and all before it
      for (int64_t j = 0; j < len; ++j) scores[j] = dot(q, cache.k(layer, kv_head, j), hd) * scale;
      ops::softmax(scores, len);
      float* out = b.attn.data() + sz((i * heads + h) * hd);
      for (int64_t d = 0; d < hd; ++d) out[d] = 0.0f;
      for (int64_t j = 0; j < len; ++j) {
        const float* v = cache.v(layer, kv_head, j);
        const float w = scores[j];
        for (int64_t d = 0; d < hd; ++d) out[d] += w * v[d];
      }
    }
  }
}

}  // namespace

ForwardBuffers::ForwardBuffers(const ModelConfig& c, int64_t max_tokens_, int64_t context, int threads)
    : max_tokens(max_tokens_),
      x(sz(max_tokens * c.hidden_size)),
      xn(x.size()),
      q(sz(max_tokens * c.num_heads * c.head_dim)),
      k(sz(max_tokens * c.num_kv_heads * c.head_dim)),
      v(k.size()),
      attn(q.size()),
      gate(sz(max_tokens * c.intermediate_size)),
      up(gate.size()),
      scores(sz(context * std::max(threads, 1))) {}

void forward(const Model::Impl& m, KvCache& cache, const RopeTable& rope, ForwardBuffers& b,
             std::span<const int32_t> tokens, int64_t pos, bool all_logits, float* logits) {
  const ModelConfig& c = m.config;
  const Weights& w = m.weights;
  const int threads = m.threads;
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t hidden = c.hidden_size, hd = c.head_dim;

  const kernels::MatrixRef embed{w.embed.dtype(), w.embed.data(), c.vocab_size, hidden};
  for (int64_t i = 0; i < n; ++i) kernels::row_to_f32(embed, tokens[sz(i)], b.x.data() + sz(i * hidden));

  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& lw = w.layers[sz(l)];

    for (int64_t i = 0; i < n; ++i) {
      ops::rms_norm(b.x.data() + sz(i * hidden), lw.attn_norm.data_as<float>(), hidden, c.rms_norm_eps,
                    b.xn.data() + sz(i * hidden));
    }
    linear(lw.q, b.xn.data(), n, b.q.data(), threads);
    linear(lw.k, b.xn.data(), n, b.k.data(), threads);
    linear(lw.v, b.xn.data(), n, b.v.data(), threads);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = pos + i;
      for (int64_t h = 0; h < c.num_heads; ++h) {
        ops::rope_rotate_half(b.q.data() + sz((i * c.num_heads + h) * hd), rope.cos_at(p), rope.sin_at(p), hd);
      }
      for (int64_t h = 0; h < c.num_kv_heads; ++h) {
        float* k = b.k.data() + sz((i * c.num_kv_heads + h) * hd);
        ops::rope_rotate_half(k, rope.cos_at(p), rope.sin_at(p), hd);
        std::copy(k, k + hd, cache.k(l, h, p));
        const float* v = b.v.data() + sz((i * c.num_kv_heads + h) * hd);
        std::copy(v, v + hd, cache.v(l, h, p));
      }
    }
    attention(c, cache, l, b, n, pos, threads);
    linear(lw.o, b.attn.data(), n, b.xn.data(), threads);
    ops::add(b.x.data(), b.xn.data(), n * hidden);

    for (int64_t i = 0; i < n; ++i) {
      ops::rms_norm(b.x.data() + sz(i * hidden), lw.mlp_norm.data_as<float>(), hidden, c.rms_norm_eps,
                    b.xn.data() + sz(i * hidden));
    }
    linear(lw.gate, b.xn.data(), n, b.gate.data(), threads);
    linear(lw.up, b.xn.data(), n, b.up.data(), threads);
    ops::silu_mul(b.gate.data(), b.up.data(), n * c.intermediate_size);
    linear(lw.down, b.gate.data(), n, b.xn.data(), threads);
    ops::add(b.x.data(), b.xn.data(), n * hidden);
  }

  // Only the rows whose logits are wanted go through the final norm and the head.
  const int64_t first = all_logits ? 0 : n - 1;
  const int64_t rows = n - first;
  for (int64_t i = first; i < n; ++i) {
    ops::rms_norm(b.x.data() + sz(i * hidden), w.final_norm.data_as<float>(), hidden, c.rms_norm_eps,
                  b.xn.data() + sz((i - first) * hidden));
  }
  linear(w.lm_head, b.xn.data(), rows, logits, threads);
}

}  // namespace slim

#include "model/transformer.hpp"

#include <omp.h>

#include <array>
#include <cmath>

#include "kernels/kernels.hpp"
#include "model/blocks.hpp"
#include "ops/ops.hpp"

namespace slim {
namespace {

size_t sz(int64_t n) { return static_cast<size_t>(n); }

// The scores of one kv head's query group (the `group` heads that share its keys, their queries
// contiguous in q) for positions j = from..to: scores[g * stride + j - from] = q_g · key_j. Cached
// keys are read slot range by slot range (a local layer's ring wraps to slot 0), positions from
// `cached` on are the chunk's own, not yet in the cache (strided by the kv heads in b.k, the chunk
// starting at pos). dot_rows() computes each score the same way wherever it comes from and however
// the positions are cut.
void group_scores(const ModelConfig& c, const KvCache& cache, int64_t layer, const ForwardBuffers& b, int64_t kv_head,
                  int64_t group, int64_t from, int64_t to, int64_t pos, int64_t cached, const float* q, float* scores,
                  int64_t stride) {
  const int64_t hd = c.head_dim, capacity = cache.capacity(layer);
  const float* keys = cache.k_slots(layer, kv_head);
  int64_t j = from;
  const int64_t cached_end = std::min(to + 1, cached);
  while (j < cached_end) {
    const int64_t slot = j % capacity;
    const int64_t count = std::min(cached_end - j, capacity - slot);
    kernels::dot_rows(q, group, keys + slot * hd, hd, count, hd, scores + j - from, stride);
    j += count;
  }
  j = std::max(from, cached);
  if (j <= to) {
    const float* key = b.k.data() + sz(((j - pos) * c.num_kv_heads + kv_head) * hd);
    kernels::dot_rows(q, group, key, c.num_kv_heads * hd, to - j + 1, hd, scores + j - from, stride);
  }
}

// One head's scores of len positions into probabilities: scaled, soft-capped (Gemma 2: before the
// mask and the softmax), softmax.
void scores_to_probs(float* s, int64_t len, float scale, float cap) {
  ops::scale(s, len, scale);
  if (cap > 0) ops::softcap(s, len, cap);
  kernels::softmax(s, len);
}

void rms_norm_rows(const float* x, const Tensor& weight, int64_t rows, const ModelConfig& c, float* out) {
  const int64_t hidden = c.hidden_size;
  for (int64_t i = 0; i < rows; ++i) {
    ops::rms_norm(x + i * hidden, weight.data_as<float>(), hidden, c.rms_norm_eps, out + i * hidden);
  }
}

// Positions in one block of a value sum (16 KiB of f32 values a head). Blocks start at the query's
// first visible position, so whichever path computes a token's sum cuts it into the same blocks
// and adds them up in the same order: results do not depend on the thread count.
int64_t value_block(int64_t head_dim) { return std::max<int64_t>(4, 4096 / head_dim); }

// partial[g * hd + d] = Σ_j probs[g * stride + j - from] · value_j[d] over positions j = from..to
// of one kv head's query group: the cached values slot range by slot range (a local layer's ring
// wraps to slot 0), each row read once for the whole group; the chunk's own values from `cached`
// on (strided by the kv heads in b.v) one at a time.
void block_values(const ModelConfig& c, const KvCache& cache, int64_t layer, const ForwardBuffers& b, int64_t kv_head,
                  int64_t group, int64_t from, int64_t to, int64_t pos, int64_t cached, const float* probs,
                  int64_t stride, float* partial) {
  const int64_t hd = c.head_dim, capacity = cache.capacity(layer);
  const float* values = cache.v_slots(layer, kv_head);
  std::fill(partial, partial + group * hd, 0.0f);
  int64_t j = from;
  const int64_t cached_end = std::min(to + 1, cached);
  while (j < cached_end) {
    const int64_t slot = j % capacity;
    const int64_t count = std::min(cached_end - j, capacity - slot);
    kernels::add_weighted_rows(probs + j - from, stride, group, values + slot * hd, count, hd, partial);
    j += count;
  }
  for (j = std::max(from, cached); j <= to; ++j) {
    const float* v = b.v.data() + sz(((j - pos) * c.num_kv_heads + kv_head) * hd);
    kernels::add_weighted_rows(probs + j - from, stride, group, v, 1, hd, partial);
  }
}

// out[g * hd + d] = Σ_j probs[g * len + j - first] · value_j[d] over positions j = first..p: the
// sums of value_block() positions, added in order (`partial` holds group x hd floats).
void group_values(const ModelConfig& c, const KvCache& cache, int64_t layer, const ForwardBuffers& b, int64_t kv_head,
                  int64_t group, int64_t first, int64_t p, int64_t pos, int64_t cached, const float* probs,
                  float* out, float* partial) {
  const int64_t hd = c.head_dim, len = p - first + 1, block = value_block(hd);
  std::fill(out, out + group * hd, 0.0f);
  for (int64_t from = first; from <= p; from += block) {
    const int64_t to = std::min(p, from + block - 1);
    block_values(c, cache, layer, b, kv_head, group, from, to, pos, cached, probs + from - first, len, partial);
    ops::add(out, partial, group * hd);
  }
}

float query_scale(const ModelConfig& c) {
  return c.traits.query_scale > 0 ? static_cast<float>(c.traits.query_scale)
                                  : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
}

// One token at position pos, every visible position in the cache, with a team of threads. Its kv
// heads alone are too few work items (3 for SmolLM2-135M: two threads split them 2:1), so keys
// and values are also cut by position: scores by (kv head, chunk), the softmax by head, the value
// sums by (kv head, value block) into partial sums, added up in block order by kv head.
void decode_attention(const ModelConfig& c, const KvCache& cache, int64_t layer, ForwardBuffers& b, int64_t pos,
                      int team) {
  const int64_t hd = c.head_dim, heads = c.num_heads, kv_heads = c.num_kv_heads, group = heads / kv_heads;
  const float scale = query_scale(c), cap = static_cast<float>(c.traits.attn_softcap);
  const int64_t first = c.is_local_layer(layer) ? std::max<int64_t>(0, pos - c.traits.sliding_window + 1) : 0;
  const int64_t len = pos - first + 1, block = value_block(hd), blocks = (len + block - 1) / block;
  // Scores in a few chunks of at least 256 positions per kv head: each chunk is one dot_rows call.
  // The count is taken again from the rounded-up size, so that no chunk is empty.
  const int64_t wanted = std::clamp<int64_t>(len / 256, 1, (8 * team + kv_heads - 1) / kv_heads);
  const int64_t chunk = (len + wanted - 1) / wanted, chunks = (len + chunk - 1) / chunk;
  // Item `item` of cuts of `size` positions, `per_head` of them a kv head: {kv head, from, to}.
  const auto cut = [&](int64_t item, int64_t per_head, int64_t size) {
    const int64_t from = first + item % per_head * size;
    return std::array<int64_t, 3>{item / per_head, from, std::min(pos, from + size - 1)};
  };
  float* probs = b.decode_probs.data();        // [head][len]
  float* partials = b.decode_partials.data();  // [kv head][block][group x hd]
#pragma omp parallel num_threads(team)
  {
#pragma omp for schedule(static)
    for (int64_t item = 0; item < kv_heads * chunks; ++item) {
      const auto [kvh, from, to] = cut(item, chunks, chunk);
      group_scores(c, cache, layer, b, kvh, group, from, to, pos, pos + 1, b.q.data() + sz(kvh * group * hd),
                   probs + sz(kvh * group * len + from - first), len);
    }
#pragma omp for schedule(static)
    for (int64_t h = 0; h < heads; ++h) scores_to_probs(probs + sz(h * len), len, scale, cap);
#pragma omp for schedule(static)
    for (int64_t item = 0; item < kv_heads * blocks; ++item) {
      const auto [kvh, from, to] = cut(item, blocks, block);
      block_values(c, cache, layer, b, kvh, group, from, to, pos, pos + 1, probs + sz(kvh * group * len + from - first),
                   len, partials + sz(item * group * hd));
    }
#pragma omp for schedule(static)
    for (int64_t kvh = 0; kvh < kv_heads; ++kvh) {
      float* out = b.attn.data() + sz(kvh * group * hd);
      std::fill(out, out + group * hd, 0.0f);
      for (int64_t k = 0; k < blocks; ++k) ops::add(out, partials + sz((kvh * blocks + k) * group * hd), group * hd);
    }
  }
}

// Causal attention of n query tokens (positions pos..pos+n-1) of one layer; positions before
// `cached` are read from the cache, the rest from the chunk's b.k / b.v. A local layer's token at p
// sees positions (p - window, p], as transformers' sliding-window mask does.
void attention(const ModelConfig& c, const KvCache& cache, int64_t layer, ForwardBuffers& b, int64_t n, int64_t pos,
               int64_t cached, int threads) {
  const int64_t hd = c.head_dim, heads = c.num_heads, group = heads / c.num_kv_heads;
  const float scale = query_scale(c), cap = static_cast<float>(c.traits.attn_softcap);
  const bool local = c.is_local_layer(layer);
  const int64_t context = cache.context();
  const int64_t kv_heads = c.num_kv_heads;
  const int64_t work = n * heads * (pos + n) * hd;
  const int team = work > (1 << 15) ? threads : 1;  // a thread team costs more than small work
  if (n == 1 && team > 1 && cached == pos + 1) return decode_attention(c, cache, layer, b, pos, team);
  // One item per (token, kv head): its query group shares every key and value read.
#pragma omp parallel for collapse(2) schedule(static, 1) num_threads(team)  // cyclic: causal rows grow
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t kvh = 0; kvh < kv_heads; ++kvh) {
      float* scores = b.scores.data() + sz(omp_get_thread_num() * b.scores_per_thread);
      float* partial = scores + group * context;
      const int64_t h0 = kvh * group;  // the group's first query head
      const float* q = b.q.data() + sz((i * heads + h0) * hd);
      const int64_t p = pos + i;
      const int64_t first = local ? std::max<int64_t>(0, p - c.traits.sliding_window + 1) : 0;
      const int64_t len = p - first + 1;
      group_scores(c, cache, layer, b, kvh, group, first, p, pos, cached, q, scores, len);
      for (int64_t g = 0; g < group; ++g) scores_to_probs(scores + g * len, len, scale, cap);
      group_values(c, cache, layer, b, kvh, group, first, p, pos, cached, scores,
                   b.attn.data() + sz((i * heads + h0) * hd), partial);
    }
  }
}

// The chunk's rotated keys and values into the cache; a ring buffer keeps only the last of them.
void store_kv(const ModelConfig& c, KvCache& cache, int64_t layer, const ForwardBuffers& b, int64_t n, int64_t pos) {
  const int64_t hd = c.head_dim;
  for (int64_t i = std::max<int64_t>(0, n - cache.capacity(layer)); i < n; ++i) {
    for (int64_t h = 0; h < c.num_kv_heads; ++h) {
      const size_t at = sz((i * c.num_kv_heads + h) * hd);
      std::copy(b.k.data() + at, b.k.data() + at + sz(hd), cache.k(layer, h, pos + i));
      std::copy(b.v.data() + at, b.v.data() + at + sz(hd), cache.v(layer, h, pos + i));
    }
  }
}

bool has_dense_mlp(const ModelConfig& c) {
  for (int64_t l = 0; l < c.num_layers; ++l) {
    if (!c.is_moe_layer(l)) return true;
  }
  return false;
}

}  // namespace

ForwardBuffers::ForwardBuffers(const ModelConfig& c, int64_t max_tokens_, int64_t context, int threads)
    : max_tokens(max_tokens_),
      scores_per_thread((context + c.head_dim) * (c.num_heads / c.num_kv_heads)),
      x(sz(max_tokens * c.hidden_size)),
      xn(x.size()),
      out(x.size()),
      q(sz(max_tokens * c.num_heads * c.head_dim)),
      k(sz(max_tokens * c.num_kv_heads * c.head_dim)),
      v(k.size()),
      attn(q.size()),
      gate(sz(has_dense_mlp(c) ? max_tokens * c.intermediate_size : 0)),
      up(gate.size()),
      scores(sz(scores_per_thread * std::max(threads, 1))),
      decode_probs(sz(c.num_heads * context)),
      decode_partials(sz(c.num_heads * c.head_dim * ((context + value_block(c.head_dim) - 1) / value_block(c.head_dim)))),
      moe(c, c.moe.num_experts > 0 ? max_tokens : 0) {}

void forward(const Model::Impl& m, KvCache& cache, const RopeTable& rope, ForwardBuffers& b,
             std::span<const int32_t> tokens, int64_t pos, bool all_logits, float* logits, int threads) {
  const ModelConfig& c = m.config;
  const BlockTraits& traits = c.traits;
  const Weights& w = m.weights;
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t hidden = c.hidden_size, hd = c.head_dim;

  const kernels::MatrixRef embed{w.embed.dtype(), w.embed.data(), c.vocab_size, hidden, w.embed_layout};
  for (int64_t i = 0; i < n; ++i) kernels::row_to_f32(embed, tokens[sz(i)], b.x.data() + sz(i * hidden));
  if (traits.scale_embeddings) {
    // Gemma: × sqrt(hidden_size), rounded to the compute dtype (f32) first, as transformers does.
    ops::scale(b.x.data(), n * hidden, static_cast<float>(std::sqrt(static_cast<double>(hidden))));
  }

  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& lw = w.layers[sz(l)];

    // Attention: x += o(attention(rope(q), rope(k), v)) of the normalised x.
    rms_norm_rows(b.x.data(), lw.attn_norm, n, c, b.xn.data());
    const Linear* qkv[] = {&lw.q, &lw.k, &lw.v};
    float* qkv_out[] = {b.q.data(), b.k.data(), b.v.data()};
    linear_many(qkv, b.xn.data(), n, qkv_out, threads);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = pos + i;
      for (int64_t h = 0; h < c.num_heads; ++h) {
        ops::rope_rotate_half(b.q.data() + sz((i * c.num_heads + h) * hd), rope.cos_at(p), rope.sin_at(p), hd);
      }
      for (int64_t h = 0; h < c.num_kv_heads; ++h) {
        ops::rope_rotate_half(b.k.data() + sz((i * c.num_kv_heads + h) * hd), rope.cos_at(p), rope.sin_at(p), hd);
      }
    }
    // A chunk that fits the layer's slots without wrapping goes into the cache first, so attention
    // reads every position from there (contiguous, through the kernels). Otherwise a local
    // layer's ring would overwrite positions the chunk's earlier tokens still see: then after.
    const bool store_first = pos + n <= cache.capacity(l);
    if (store_first) store_kv(c, cache, l, b, n, pos);
    attention(c, cache, l, b, n, pos, store_first ? pos + n : pos, threads);
    if (!store_first) store_kv(c, cache, l, b, n, pos);
    linear(lw.o, b.attn.data(), n, b.out.data(), threads);
    if (traits.sandwich_norms) rms_norm_rows(b.out.data(), lw.post_attn_norm, n, c, b.out.data());
    ops::add(b.x.data(), b.out.data(), n * hidden);

    // MLP: x += mlp(normalised x), dense or mixture of experts.
    rms_norm_rows(b.x.data(), lw.mlp_norm, n, c, b.xn.data());
    if (c.is_moe_layer(l)) {
      moe_forward(c, lw.moe, b.xn.data(), n, b.out.data(), b.moe, threads);
    } else {
      gated_mlp(lw.mlp, traits.activation, b.xn.data(), n, b.gate.data(), b.up.data(), b.out.data(), threads);
    }
    if (traits.sandwich_norms) rms_norm_rows(b.out.data(), lw.post_mlp_norm, n, c, b.out.data());
    ops::add(b.x.data(), b.out.data(), n * hidden);
  }

  // Only the rows whose logits are wanted go through the final norm and the head.
  const int64_t first = all_logits ? 0 : n - 1;
  const int64_t rows = n - first;
  rms_norm_rows(b.x.data() + sz(first * hidden), w.final_norm, rows, c, b.xn.data());
  linear(w.lm_head, b.xn.data(), rows, logits, threads);
  if (traits.final_softcap > 0) ops::softcap(logits, rows * c.vocab_size, static_cast<float>(traits.final_softcap));
}

}  // namespace slim

#include "model/transformer.hpp"


#include <array>
#include <cmath>

#include "kernels/kernels.hpp"
#include "model/blocks.hpp"
#include "ops/ops.hpp"
#include "slim/error.hpp"

namespace slim {
namespace {

size_t sz(int64_t n) { return static_cast<size_t>(n); }

// The scores of one kv head's query group (the `group` heads that share its keys, their queries
// contiguous in q) for positions j = from..to: scores[g * stride + j - from] = q_g · key_j. Cached
// keys are read slot range by slot range (a local layer's ring wraps to slot 0), positions from
// kv.cached on from the rows' own keys. dot_rows() computes each score the same way wherever it
// comes from and however the positions are cut.
void group_scores(const KvView& kv, int64_t kv_head, int64_t group, int64_t from, int64_t to, const float* q,
                  float* scores, int64_t stride) {
  const KvCache& cache = *kv.cache;
  const int64_t hd = kv.c->head_dim, capacity = cache.capacity(kv.layer);
  int64_t j = from;
  const int64_t cached_end = std::min(to + 1, kv.cached);
  while (j < cached_end) {
    const int64_t slot = j % capacity;
    const int64_t count = std::min(cached_end - j, capacity - slot);
    if (cache.dtype() == DType::f16) {
      kernels::dot_rows_f16(q, group, cache.k_slots_f16(kv.layer, kv_head) + slot * hd, hd, count, hd, scores + j - from, stride);
    } else {
      kernels::dot_rows(q, group, cache.k_slots_f32(kv.layer, kv_head) + slot * hd, hd, count, hd, scores + j - from, stride);
    }
    j += count;
  }
  j = std::max(from, kv.cached);
  if (j <= to) {
    const int64_t kv_heads = kv.c->num_kv_heads;
    const float* key = kv.k_new + sz(((j - kv.pos) * kv_heads + kv_head) * hd);
    kernels::dot_rows(q, group, key, kv_heads * hd, to - j + 1, hd, scores + j - from, stride);
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
// wraps to slot 0), each row read once for the whole group; the rows' own values from kv.cached on
// one at a time.
void block_values(const KvView& kv, int64_t kv_head, int64_t group, int64_t from, int64_t to, const float* probs,
                  int64_t stride, float* partial) {
  const KvCache& cache = *kv.cache;
  const int64_t hd = kv.c->head_dim, capacity = cache.capacity(kv.layer);
  std::fill(partial, partial + group * hd, 0.0f);
  int64_t j = from;
  const int64_t cached_end = std::min(to + 1, kv.cached);
  while (j < cached_end) {
    const int64_t slot = j % capacity;
    const int64_t count = std::min(cached_end - j, capacity - slot);
    if (cache.dtype() == DType::f16) {
      kernels::add_weighted_rows_f16(probs + j - from, stride, group, cache.v_slots_f16(kv.layer, kv_head) + slot * hd, count, hd,
                                     partial);
    } else {
      kernels::add_weighted_rows(probs + j - from, stride, group, cache.v_slots_f32(kv.layer, kv_head) + slot * hd, count, hd,
                                 partial);
    }
    j += count;
  }
  for (j = std::max(from, kv.cached); j <= to; ++j) {
    const float* v = kv.v_new + sz(((j - kv.pos) * kv.c->num_kv_heads + kv_head) * hd);
    kernels::add_weighted_rows(probs + j - from, stride, group, v, 1, hd, partial);
  }
}

// out[g * hd + d] = Σ_j probs[g * len + j - first] · value_j[d] over positions j = first..p: the
// sums of value_block() positions, added in order (`partial` holds group x hd floats).
void group_values(const KvView& kv, int64_t kv_head, int64_t group, int64_t first, int64_t p, const float* probs,
                  float* out, float* partial) {
  const int64_t hd = kv.c->head_dim, len = p - first + 1, block = value_block(hd);
  std::fill(out, out + group * hd, 0.0f);
  for (int64_t from = first; from <= p; from += block) {
    const int64_t to = std::min(p, from + block - 1);
    block_values(kv, kv_head, group, from, to, probs + from - first, len, partial);
    ops::add(out, partial, group * hd);
  }
}

float query_scale(const ModelConfig& c) {
  return c.traits.query_scale > 0 ? static_cast<float>(c.traits.query_scale)
                                  : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
}

// One token (kv.count == 1, already in the cache), every visible position, with a team of
// threads. Its kv heads alone are too few work items (3 for SmolLM2-135M: two threads split them
// 2:1), so keys and values are also cut by position: scores by (kv head, chunk), the softmax by
// head, the value sums by (kv head, value block) into partial sums, added up in block order by kv
// head.
void decode_attention(const KvView& kv, ForwardBuffers& b, kernels::ThreadTeam& team, int threads) {
  const ModelConfig& c = *kv.c;
  const int64_t hd = c.head_dim, heads = c.num_heads, kv_heads = c.num_kv_heads, group = heads / kv_heads;
  const float scale = query_scale(c), cap = static_cast<float>(c.traits.attn_softcap);
  const int64_t pos = kv.pos, first = kv.first_visible(pos);
  const int64_t len = pos - first + 1, block = value_block(hd), blocks = (len + block - 1) / block;
  // Scores in a few chunks of at least 256 positions per kv head: each chunk is one dot_rows call.
  // The count is taken again from the rounded-up size, so that no chunk is empty.
  const int64_t wanted = std::clamp<int64_t>(len / 256, 1, (8 * threads + kv_heads - 1) / kv_heads);
  const int64_t chunk = (len + wanted - 1) / wanted, chunks = (len + chunk - 1) / chunk;
  // Item `item` of cuts of `size` positions, `per_head` of them a kv head: {kv head, from, to}.
  const auto cut = [&](int64_t item, int64_t per_head, int64_t size) {
    const int64_t from = first + item % per_head * size;
    return std::array<int64_t, 3>{item / per_head, from, std::min(pos, from + size - 1)};
  };
  const float* q = b.q.data() + sz(kv.row * heads * hd);
  float* attn = b.attn.data() + sz(kv.row * heads * hd);
  float* probs = b.decode_probs.data();        // [head][len]
  float* partials = b.decode_partials.data();  // [kv head][block][group x hd]
  team.for_static(threads, kv_heads * chunks, [&](int64_t item) {
    const auto [kvh, from, to] = cut(item, chunks, chunk);
    group_scores(kv, kvh, group, from, to, q + sz(kvh * group * hd), probs + sz(kvh * group * len + from - first), len);
  });
  team.for_static(threads, heads, [&](int64_t h) { scores_to_probs(probs + sz(h * len), len, scale, cap); });
  team.for_static(threads, kv_heads * blocks, [&](int64_t item) {
    const auto [kvh, from, to] = cut(item, blocks, block);
    block_values(kv, kvh, group, from, to, probs + sz(kvh * group * len + from - first), len,
                 partials + sz(item * group * hd));
  });
  team.for_static(threads, kv_heads, [&](int64_t kvh) {
    float* out = attn + sz(kvh * group * hd);
    std::fill(out, out + group * hd, 0.0f);
    for (int64_t k = 0; k < blocks; ++k) ops::add(out, partials + sz((kvh * blocks + k) * group * hd), group * hd);
  });
}

// Causal attention of every row of the batch at one layer, each sequence on its own cache.
void attention(const ModelConfig& c, std::span<const KvView> views, ForwardBuffers& b, kernels::ThreadTeam& team) {
  const int64_t hd = c.head_dim, heads = c.num_heads, kv_heads = c.num_kv_heads, group = heads / kv_heads;
  const float scale = query_scale(c), cap = static_cast<float>(c.traits.attn_softcap);
  int64_t work = 0, items = 0;
  for (const KvView& kv : views) {
    work += kv.count * heads * (kv.pos + kv.count) * hd;
    items += kv.count * kv_heads;
  }
  const int threads = work > (1 << 15) ? team.size() : 1;  // a region costs more than small work
  if (views.size() == 1 && views[0].count == 1 && threads > 1 && views[0].cached == views[0].pos + 1) {
    return decode_attention(views[0], b, team, threads);
  }
  // One item per (row, kv head): its query group shares every key and value read.
  team.for_cyclic(threads, items, [&](int64_t item, int thread) {  // cyclic: causal rows grow
    size_t s = 0;
    int64_t k = item;  // item within sequence s
    while (k >= views[s].count * kv_heads) k -= views[s++].count * kv_heads;
    const KvView& kv = views[s];
    const int64_t i = k / kv_heads, kvh = k % kv_heads, row = kv.row + i;
    float* scores = b.scores.data() + sz(thread * b.scores_per_thread);
    float* partial = scores + group * b.context;
    const int64_t h0 = kvh * group;  // the group's first query head
    const float* q = b.q.data() + sz((row * heads + h0) * hd);
    const int64_t p = kv.pos + i, first = kv.first_visible(p), len = p - first + 1;
    group_scores(kv, kvh, group, first, p, q, scores, len);
    for (int64_t g = 0; g < group; ++g) scores_to_probs(scores + g * len, len, scale, cap);
    group_values(kv, kvh, group, first, p, scores, b.attn.data() + sz((row * heads + h0) * hd), partial);
  });
}

// A sequence's rotated keys and values into its cache; a ring buffer keeps only the last of them.
void store_kv(const ModelConfig& c, KvCache& cache, int64_t layer, const float* k, const float* v, int64_t n,
              int64_t pos) {
  const int64_t hd = c.head_dim;
  for (int64_t i = std::max<int64_t>(0, n - cache.capacity(layer)); i < n; ++i) {
    for (int64_t h = 0; h < c.num_kv_heads; ++h) {
      const size_t at = sz((i * c.num_kv_heads + h) * hd);
      cache.store(layer, h, pos + i, k + at, v + at);
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

ForwardBuffers::ForwardBuffers(const ModelConfig& c, int64_t max_rows_, int64_t context_, int threads)
    : max_rows(max_rows_),
      context(context_),
      scores_per_thread((context + c.head_dim) * (c.num_heads / c.num_kv_heads)),
      x(sz(max_rows * c.hidden_size)),
      xn(x.size()),
      out(x.size()),
      q(sz(max_rows * c.num_heads * c.head_dim)),
      k(sz(max_rows * c.num_kv_heads * c.head_dim)),
      v(k.size()),
      attn(q.size()),
      gate(sz(has_dense_mlp(c) ? max_rows * c.intermediate_size : 0)),
      up(gate.size()),
      scores(sz(scores_per_thread * std::max(threads, 1))),
      decode_probs(sz(c.num_heads * context)),
      decode_partials(sz(c.num_heads * c.head_dim * ((context + value_block(c.head_dim) - 1) / value_block(c.head_dim)))),
      moe(c, c.moe.num_experts > 0 ? max_rows : 0) {}

int64_t logit_rows(std::span<const BatchSequence> sequences) {
  int64_t rows = 0;
  for (const BatchSequence& s : sequences) {
    rows += s.logits == LogitRows::all ? s.count : s.logits == LogitRows::last ? 1 : 0;
  }
  return rows;
}

void forward(const Model::Impl& m, std::span<const int32_t> tokens, std::span<const BatchSequence> sequences,
             ForwardBuffers& b, float* logits, kernels::ThreadTeam& team) {
  const ModelConfig& c = m.config;
  const BlockTraits& traits = c.traits;
  const Weights& w = m.weights;
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t hidden = c.hidden_size, hd = c.head_dim, kv_row = c.num_kv_heads * hd;

  std::vector<KvView>& views = b.views;
  views.resize(sequences.size());
  int64_t row = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    const BatchSequence& seq = sequences[s];
    if (traits.local_rope_theta > 0 && seq.rope_local == nullptr) {
      throw Error(ErrorCode::invalid_argument, "forward: this model's local layers need BatchSequence::rope_local");
    }
    views[s] = {.c = &c, .cache = seq.cache, .k_new = b.k.data() + sz(row * kv_row),
                .v_new = b.v.data() + sz(row * kv_row), .pos = seq.pos, .count = seq.count, .row = row};
    row += seq.count;
  }
  if (row != n) throw Error(ErrorCode::invalid_argument, "forward: the sequences' rows do not add up to the batch");

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
    linear_many(qkv, b.xn.data(), n, qkv_out, team);
    if (traits.qk_norm) {
      // Qwen3, Gemma 3: each head's q and k normalised on its own, before RoPE.
      for (int64_t i = 0; i < n * c.num_heads; ++i) {
        ops::rms_norm(b.q.data() + sz(i * hd), lw.q_norm.data_as<float>(), hd, c.rms_norm_eps, b.q.data() + sz(i * hd));
      }
      for (int64_t i = 0; i < n * c.num_kv_heads; ++i) {
        ops::rms_norm(b.k.data() + sz(i * hd), lw.k_norm.data_as<float>(), hd, c.rms_norm_eps, b.k.data() + sz(i * hd));
      }
    }
    // SmolLM3's no-RoPE layers rotate nothing (no sequence's rows then); Gemma 3's local layers
    // read their own table.
    const size_t rotated = c.has_rope(l) ? sequences.size() : 0;
    const bool local_table = c.is_local_layer(l) && traits.local_rope_theta > 0;
    for (size_t s = 0; s < rotated; ++s) {
      const RopeTable& rope = local_table ? *sequences[s].rope_local : *sequences[s].rope;
      const int64_t rd = c.rotary_dim;  // Phi-4-mini: the rest of each head passes through
      for (int64_t i = 0; i < views[s].count; ++i) {
        const int64_t p = views[s].pos + i, r = views[s].row + i;
        for (int64_t h = 0; h < c.num_heads; ++h) {
          ops::rope_rotate_half(b.q.data() + sz((r * c.num_heads + h) * hd), rope.cos_at(p), rope.sin_at(p), rd);
        }
        for (int64_t h = 0; h < c.num_kv_heads; ++h) {
          ops::rope_rotate_half(b.k.data() + sz((r * c.num_kv_heads + h) * hd), rope.cos_at(p), rope.sin_at(p), rd);
        }
      }
    }
    // A sequence whose rows fit the layer's slots without wrapping goes into its cache first, so
    // attention reads every position from there (contiguous, through the kernels). Otherwise a
    // local layer's ring would overwrite positions its earlier rows still see: then after.
    for (size_t s = 0; s < sequences.size(); ++s) {
      KvView& kv = views[s];
      kv.layer = l;
      if (kv.cache->dtype() == DType::f16) {
        // The rows' own keys and values as the cache will hold them (kv_cache.hpp).
        round_to_kv_f16(b.k.data() + sz(kv.row * kv_row), kv.count * kv_row);
        round_to_kv_f16(b.v.data() + sz(kv.row * kv_row), kv.count * kv_row);
      }
      const bool store_first = kv.pos + kv.count <= kv.cache->capacity(l);
      kv.cached = store_first ? kv.pos + kv.count : kv.pos;
      if (store_first) store_kv(c, *sequences[s].cache, l, kv.k_new, kv.v_new, kv.count, kv.pos);
    }
    attention(c, views, b, team);
    for (size_t s = 0; s < sequences.size(); ++s) {
      const KvView& kv = views[s];
      if (kv.cached == kv.pos) store_kv(c, *sequences[s].cache, l, kv.k_new, kv.v_new, kv.count, kv.pos);
    }
    linear(lw.o, b.attn.data(), n, b.out.data(), team);
    if (traits.sandwich_norms) rms_norm_rows(b.out.data(), lw.post_attn_norm, n, c, b.out.data());
    ops::add(b.x.data(), b.out.data(), n * hidden);

    // MLP: x += mlp(normalised x), dense or mixture of experts.
    rms_norm_rows(b.x.data(), lw.mlp_norm, n, c, b.xn.data());
    if (c.is_moe_layer(l)) {
      moe_forward(c, lw.moe, b.xn.data(), n, b.out.data(), b.moe, team);
    } else {
      gated_mlp(lw.mlp, traits.activation, b.xn.data(), n, b.gate.data(), b.up.data(), b.out.data(), team);
    }
    if (traits.sandwich_norms) rms_norm_rows(b.out.data(), lw.post_mlp_norm, n, c, b.out.data());
    ops::add(b.x.data(), b.out.data(), n * hidden);
  }

  // Only the rows whose logits are wanted go through the final norm and the head.
  int64_t rows = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    const KvView& kv = views[s];
    if (sequences[s].logits == LogitRows::none) continue;
    const int64_t first = sequences[s].logits == LogitRows::all ? kv.row : kv.row + kv.count - 1;
    const int64_t count = kv.row + kv.count - first;
    rms_norm_rows(b.x.data() + sz(first * hidden), w.final_norm, count, c, b.xn.data() + sz(rows * hidden));
    rows += count;
  }
  if (rows == 0) return;
  linear(w.lm_head, b.xn.data(), rows, logits, team);
  if (traits.final_softcap > 0) {
    const auto cap = static_cast<float>(traits.final_softcap);
    for_chunks(team, rows * c.vocab_size, [&](int64_t begin, int64_t end) { ops::softcap(logits + begin, end - begin, cap); });
  }
}

}  // namespace slim

// The forward pass of a decoder-only transformer over a batch of tokens: one shared block, with
// each family's differences read from config.traits (see model/config.hpp).
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "model/moe.hpp"
#include "model/rope.hpp"

namespace slim {

// Scratch memory of one session, sized for up to max_tokens tokens a forward call.
struct ForwardBuffers {
  ForwardBuffers(const ModelConfig& c, int64_t max_tokens, int64_t context, int threads);
  // Makes room for the attention scratch of `threads` threads.
  void set_threads(int threads) { scores.resize(static_cast<size_t>(scores_per_thread * std::max(threads, 1))); }
  int64_t max_tokens;
  // A query group's scores (group x context) and a block's value sums (group x head_dim).
  int64_t scores_per_thread;
  std::vector<float> x, xn, out, q, k, v, attn, gate, up, scores;
  std::vector<float> decode_probs, decode_partials;  // one token's attention with a thread team
  MoeScratch moe;
};

// Runs tokens (at most buffers.max_tokens) at positions [pos, pos + n), writing their keys and
// values into the cache. Writes the logits of every token (n rows) when all_logits, otherwise of the
// last one only. threads may not exceed the count buffers were made for.
void forward(const Model::Impl& model, KvCache& cache, const RopeTable& rope, ForwardBuffers& buffers,
             std::span<const int32_t> tokens, int64_t pos, bool all_logits, float* logits, int threads);

}  // namespace slim

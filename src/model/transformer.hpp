// The forward pass of a decoder-only transformer over a batch of rows: one shared block, with each
// family's differences read from config.traits (see model/config.hpp). A batch holds the rows of
// one or more sequences, each with its own KV cache and position: the dense parts (norms, every
// matmul, the MLP or mixture of experts) run once over all rows, attention per sequence on its own
// cache. Every row's result is computed the same way whatever else is in the batch, whatever the
// batch's size or order and the thread count.
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "model/moe.hpp"
#include "model/rope.hpp"

namespace slim {

// What attention reads of one sequence at one layer: its cache, and its rows' own keys and values
// for the positions not yet in the cache (position pos + i at i * kv_heads * head_dim of k_new and
// v_new).
struct KvView {
  const ModelConfig* c = nullptr;
  const KvCache* cache = nullptr;
  int64_t layer = 0;
  const float* k_new = nullptr;
  const float* v_new = nullptr;
  int64_t pos = 0;     // the sequence's first position in the batch
  int64_t count = 0;   // its rows
  int64_t cached = 0;  // positions before this are read from the cache, the rest from k_new / v_new
  int64_t row = 0;     // its first row in the batch

  // The first position row p sees: a local layer's token at p sees (p - window, p], as
  // transformers' sliding-window mask does.
  int64_t first_visible(int64_t p) const {
    return c->is_local_layer(layer) ? std::max<int64_t>(0, p - c->traits.sliding_window + 1) : 0;
  }
};

// Scratch memory of one forward caller (a Session, an Engine), sized for up to max_rows rows a
// call and sequences of up to `context` positions.
struct ForwardBuffers {
  ForwardBuffers(const ModelConfig& c, int64_t max_rows, int64_t context, int threads);
  // Makes room for the attention scratch of `threads` threads.
  void set_threads(int threads) { scores.resize(static_cast<size_t>(scores_per_thread * std::max(threads, 1))); }
  int64_t max_rows;
  int64_t context;
  // A query group's scores (group x context) and a block's value sums (group x head_dim).
  int64_t scores_per_thread;
  std::vector<float> x, xn, out, q, k, v, attn, gate, up, scores;
  std::vector<float> decode_probs, decode_partials;  // one token's attention with a thread team
  std::vector<KvView> views;                         // a call's sequences, kept to spare an allocation a token
  MoeScratch moe;
};

// Which logits a sequence of a batch wants.
enum class LogitRows : uint8_t { none, last, all };

// One sequence's part of a batch: `count` consecutive rows (tokens) at positions
// [pos, pos + count), whose keys and values go into `cache`.
struct BatchSequence {
  KvCache* cache = nullptr;
  const RopeTable* rope = nullptr;  // longrope: the table this call's length chose
  const RopeTable* rope_local = nullptr;  // the local layers' table where they have their own (Gemma 3)
  int64_t pos = 0;
  int64_t count = 0;
  LogitRows logits = LogitRows::last;
};

// Runs the tokens of a batch (at most buffers.max_rows; sequences in order, each's rows
// consecutive, positions below buffers.context) and writes their keys and values into each
// sequence's cache. Writes the wanted logits rows, vocab_size values each, one after another in
// batch order. The team may not be larger than the thread count buffers were made for.
void forward(const Model::Impl& model, std::span<const int32_t> tokens, std::span<const BatchSequence> sequences,
             ForwardBuffers& buffers, float* logits, kernels::ThreadTeam& team);

// The BatchSequence::rope_local of a session's table: none where it is empty.
inline const RopeTable* local_rope(const RopeTable& table) { return table.cos.empty() ? nullptr : &table; }

// Rows of logits forward() writes for these sequences.
int64_t logit_rows(std::span<const BatchSequence> sequences);

}  // namespace slim

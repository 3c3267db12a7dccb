// What a Session holds: its model, KV cache, RoPE tables, scratch buffers and position. Internal to
// src/ (session.cpp runs it, session_state.cpp saves and restores it).
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/thread_team.hpp"
#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "model/rope.hpp"
#include "model/transformer.hpp"
#include "slim/model.hpp"

namespace slim {

// Prompts are processed in chunks of this many tokens, which bounds the scratch memory; a chunk
// boundary does not change any result.
inline constexpr int64_t kSessionMaxChunk = 256;

struct Session::State {
  State(std::shared_ptr<const Model> m, int64_t context, DType kv_type)
      : model(std::move(m)),
        cache(model->impl().config, context, kv_type),
        rope(make_rope_table(model->impl().rope_inv_freq, context, model->impl().rope_attention_factor)),
        buffers(model->impl().config, std::min(context, kSessionMaxChunk), context, model->threads()) {
    const Model::Impl& impl = model->impl();
    if (!impl.rope_inv_freq_long.empty()) {
      rope_long = make_rope_table(impl.rope_inv_freq_long, context, impl.rope_attention_factor);
    }
    if (!impl.rope_inv_freq_local.empty()) rope_local = make_rope_table(impl.rope_inv_freq_local, context);
  }

  std::shared_ptr<const Model> model;
  KvCache cache;
  RopeTable rope;
  RopeTable rope_long;   // longrope's long factors
  RopeTable rope_local;  // Gemma 3's local layers (empty otherwise)
  ForwardBuffers buffers;
  std::vector<float> logits;  // the last call's rows; its last vocab_size values are the newest
  int64_t position = 0;
  int threads = 0;  // 0 = the model's
  std::unique_ptr<kernels::ThreadTeam> team;  // made at the first forward pass, again when threads change

  kernels::ThreadTeam& team_of(int size) {
    if (!team || team->size() != size) team = std::make_unique<kernels::ThreadTeam>(size);
    return *team;
  }
};

}  // namespace slim

// Keys and values of past positions, per layer and kv head: [layer][kv_head][slot][head_dim] so that
// one head's history is contiguous for the attention loop. A global layer keeps every position of
// the context; a local (sliding-window) layer keeps only the last `window` positions in a ring
// buffer: position p lives in slot p % window. Keys are stored after RoPE, so a slot holds the
// rotation of the position that wrote it and wrapping around needs no fix-up.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/config.hpp"

namespace slim {

// Positions layer `layer` keeps for a session of `context` positions.
int64_t kv_layer_capacity(const ModelConfig& config, int64_t layer, int64_t context);

// Bytes of the KV cache (f32 keys and values) of a session of `context` positions.
uint64_t kv_cache_bytes(const ModelConfig& config, int64_t context);

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t context);

  // Positions the session may hold (the global layers' capacity).
  int64_t context() const { return context_; }
  // Slots of one layer: context() for global layers, at most the window for local ones.
  int64_t capacity(int64_t layer) const { return capacity_[static_cast<size_t>(layer)]; }
  // The smallest layer capacity: positions beyond it have wrapped some ring buffer around.
  int64_t smallest_capacity() const;
  float* k(int64_t layer, int64_t head, int64_t pos) { return k_ + offset(layer, head, pos); }
  float* v(int64_t layer, int64_t head, int64_t pos) { return v_ + offset(layer, head, pos); }
  const float* k(int64_t layer, int64_t head, int64_t pos) const { return k_ + offset(layer, head, pos); }
  const float* v(int64_t layer, int64_t head, int64_t pos) const { return v_ + offset(layer, head, pos); }
  // The capacity(layer) consecutive slots of one head (slot s at s * head_dim).
  const float* k_slots(int64_t layer, int64_t head) const { return k_ + offset(layer, head, 0); }
  const float* v_slots(int64_t layer, int64_t head) const { return v_ + offset(layer, head, 0); }
  float* k_slots(int64_t layer, int64_t head) { return k_ + offset(layer, head, 0); }
  float* v_slots(int64_t layer, int64_t head) { return v_ + offset(layer, head, 0); }
  uint64_t bytes() const { return 2 * total_ * sizeof(float); }
  int64_t layers() const { return static_cast<int64_t>(capacity_.size()); }
  int64_t kv_heads() const { return kv_heads_; }
  int64_t head_dim() const { return head_dim_; }

 private:
  size_t offset(int64_t layer, int64_t head, int64_t pos) const {
    const auto l = static_cast<size_t>(layer);
    const int64_t slot = pos % capacity_[l];
    return layer_offset_[l] + static_cast<size_t>((head * capacity_[l] + slot) * head_dim_);
  }
  int64_t context_, kv_heads_, head_dim_;
  std::vector<int64_t> capacity_;
  std::vector<size_t> layer_offset_;
  size_t total_ = 0;                // floats of the keys (and of the values)
  std::shared_ptr<void> memory_;    // huge pages, backed as positions are written
  float* k_ = nullptr;
  float* v_ = nullptr;
};

}  // namespace slim

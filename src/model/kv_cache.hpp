// Keys and values of past positions, per layer and kv head: [layer][kv_head][slot][head_dim] so that
// one head's history is contiguous for the attention loop. A global layer keeps every position of
// the context; a local (sliding-window) layer keeps only the last `window` positions in a ring
// buffer: position p lives in slot p % window. Keys are stored after RoPE, so a slot holds the
// rotation of the position that wrote it and wrapping around needs no fix-up.
//
// The values are f32 (the default: exactly what transformers attends over) or f16 (half the memory
// and half the bytes attention reads a token; what llama.cpp keeps by default). An f16 cache holds
// round_kv_f16() of each value; forward() rounds a batch's own keys and values the same way before
// attention, so a position's result does not depend on whether it was read back from the cache.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/config.hpp"
#include "slim/dtype.hpp"

namespace slim {

// Positions layer `layer` keeps for a session of `context` positions.
int64_t kv_layer_capacity(const ModelConfig& config, int64_t layer, int64_t context);

// Bytes of the KV cache (keys and values of kv_type, f32 or f16) of a session of `context` positions.
uint64_t kv_cache_bytes(const ModelConfig& config, int64_t context, DType kv_type = DType::f32);

// Throws slim::Error(invalid_argument) unless kv_type is f32 or f16, naming `what`.
void check_kv_type(DType kv_type, const char* what);

// The f16 a value is stored as in an f16 cache (kernels::to_f16_saturated: round to nearest even;
// beyond f16's range it saturates at ±65504 rather than becoming an infinity that would turn
// attention into NaN).
uint16_t round_kv_f16(float x) noexcept;

// x[i] = the f32 value of round_kv_f16(x[i]), in place.
void round_to_kv_f16(float* x, int64_t n) noexcept;

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t context, DType dtype = DType::f32);

  DType dtype() const { return dtype_; }
  // Positions the session may hold (the global layers' capacity).
  int64_t context() const { return context_; }
  // Slots of one layer: context() for global layers, at most the window for local ones.
  int64_t capacity(int64_t layer) const { return capacity_[static_cast<size_t>(layer)]; }
  // The smallest layer capacity: positions beyond it have wrapped some ring buffer around.
  int64_t smallest_capacity() const;
  // Writes head_dim values of one position's key and value (rounded in an f16 cache).
  void store(int64_t layer, int64_t head, int64_t pos, const float* key, const float* value);
  // The capacity(layer) consecutive slots of one head (slot s at s * head_dim), in dtype():
  // the f32 accessors for an f32 cache, the f16 ones for an f16 cache.
  const float* k_slots_f32(int64_t layer, int64_t head) const { return f32() + offset(layer, head, 0); }
  const float* v_slots_f32(int64_t layer, int64_t head) const { return f32() + total_ + offset(layer, head, 0); }
  const uint16_t* k_slots_f16(int64_t layer, int64_t head) const { return f16() + offset(layer, head, 0); }
  const uint16_t* v_slots_f16(int64_t layer, int64_t head) const { return f16() + total_ + offset(layer, head, 0); }
  // The first `slots` slots of one head as f32 (a session's saved state), and back.
  void read_slots(int64_t layer, int64_t head, int64_t slots, float* keys, float* values) const;
  void write_slots(int64_t layer, int64_t head, int64_t slots, const float* keys, const float* values);
  uint64_t bytes() const { return 2 * total_ * element_bytes(); }
  int64_t layers() const { return static_cast<int64_t>(capacity_.size()); }
  int64_t kv_heads() const { return kv_heads_; }
  int64_t head_dim() const { return head_dim_; }

 private:
  size_t element_bytes() const { return dtype_block_bytes(dtype_); }
  float* f32() const { return static_cast<float*>(memory_.get()); }
  uint16_t* f16() const { return static_cast<uint16_t*>(memory_.get()); }
  // Values from the start of the keys (the values start total_ values after them).
  size_t offset(int64_t layer, int64_t head, int64_t pos) const {
    const auto l = static_cast<size_t>(layer);
    const int64_t slot = pos % capacity_[l];
    return layer_offset_[l] + static_cast<size_t>((head * capacity_[l] + slot) * head_dim_);
  }
  DType dtype_;
  int64_t context_, kv_heads_, head_dim_;
  std::vector<int64_t> capacity_;
  std::vector<size_t> layer_offset_;
  size_t total_ = 0;                // values of the keys (and of the values)
  std::shared_ptr<void> memory_;    // huge pages, backed as positions are written
};

}  // namespace slim

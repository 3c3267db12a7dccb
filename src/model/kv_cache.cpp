#include "model/kv_cache.hpp"

#include <algorithm>

#include "model/weight_arena.hpp"

namespace slim {

int64_t kv_layer_capacity(const ModelConfig& c, int64_t layer, int64_t context) {
  return c.is_local_layer(layer) ? std::min(context, c.traits.sliding_window) : context;
}

uint64_t kv_cache_bytes(const ModelConfig& c, int64_t context) {
  uint64_t positions = 0;
  for (int64_t l = 0; l < c.num_layers; ++l) positions += static_cast<uint64_t>(kv_layer_capacity(c, l, context));
  return 2 * positions * static_cast<uint64_t>(c.num_kv_heads * c.head_dim) * sizeof(float);
}

KvCache::KvCache(const ModelConfig& c, int64_t context)
    : context_(context), kv_heads_(c.num_kv_heads), head_dim_(c.head_dim) {
  size_t total = 0;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    capacity_.push_back(kv_layer_capacity(c, l, context));
    layer_offset_.push_back(total);
    total += static_cast<size_t>(kv_heads_ * capacity_.back() * head_dim_);
  }
  // Attention streams each head's keys and values once per token: huge pages as for the weights.
  total_ = total;
  memory_ = huge_page_memory(2 * total * sizeof(float));
  k_ = static_cast<float*>(memory_.get());
  v_ = k_ + total;
}

int64_t KvCache::smallest_capacity() const { return *std::min_element(capacity_.begin(), capacity_.end()); }

}  // namespace slim

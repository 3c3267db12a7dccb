// Keys and values of every past position, per layer and kv head: [layer][kv_head][position][head_dim]
// so that one head's history is contiguous for the attention loop.
#pragma once

#include <cstdint>
#include <vector>

namespace slim {

class KvCache {
 public:
  KvCache(int64_t layers, int64_t kv_heads, int64_t capacity, int64_t head_dim)
      : kv_heads_(kv_heads), capacity_(capacity), head_dim_(head_dim),
        k_(static_cast<size_t>(layers * kv_heads * capacity * head_dim)), v_(k_.size()) {}

  int64_t capacity() const { return capacity_; }
  float* k(int64_t layer, int64_t head, int64_t pos) { return k_.data() + offset(layer, head, pos); }
  float* v(int64_t layer, int64_t head, int64_t pos) { return v_.data() + offset(layer, head, pos); }
  uint64_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

 private:
  size_t offset(int64_t layer, int64_t head, int64_t pos) const {
    return static_cast<size_t>(((layer * kv_heads_ + head) * capacity_ + pos) * head_dim_);
  }
  int64_t kv_heads_, capacity_, head_dim_;
  std::vector<float> k_, v_;
};

}  // namespace slim

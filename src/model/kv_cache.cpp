#include "model/kv_cache.hpp"

#include <algorithm>
#include <string>

#include "kernels/kernels.hpp"
#include "model/weight_arena.hpp"
#include "slim/error.hpp"

namespace slim {

int64_t kv_layer_capacity(const ModelConfig& c, int64_t layer, int64_t context) {
  return c.is_local_layer(layer) ? std::min(context, c.traits.sliding_window) : context;
}

void check_kv_type(DType kv_type, const char* what) {
  if (kv_type != DType::f32 && kv_type != DType::f16) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + ": the KV cache holds f32 or f16, not " +
                                                 std::string(dtype_name(kv_type)));
  }
}

uint64_t kv_cache_bytes(const ModelConfig& c, int64_t context, DType kv_type) {
  check_kv_type(kv_type, "kv_cache_bytes");
  uint64_t positions = 0;
  for (int64_t l = 0; l < c.num_layers; ++l) positions += static_cast<uint64_t>(kv_layer_capacity(c, l, context));
  return 2 * positions * static_cast<uint64_t>(c.num_kv_heads * c.head_dim) * dtype_block_bytes(kv_type);
}

uint16_t round_kv_f16(float x) noexcept {
  uint16_t h;
  kernels::to_f16_saturated(&x, 1, &h);
  return h;
}

void round_to_kv_f16(float* x, int64_t n) noexcept {
  constexpr int64_t kChunk = 256;
  uint16_t h[kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t m = std::min(kChunk, n - i);
    kernels::to_f16_saturated(x + i, m, h);
    kernels::from_f16(h, m, x + i);
  }
}

KvCache::KvCache(const ModelConfig& c, int64_t context, DType dtype)
    : dtype_(dtype), context_(context), kv_heads_(c.num_kv_heads), head_dim_(c.head_dim) {
  check_kv_type(dtype, "KV cache");
  size_t total = 0;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    capacity_.push_back(kv_layer_capacity(c, l, context));
    layer_offset_.push_back(total);
    total += static_cast<size_t>(kv_heads_ * capacity_.back() * head_dim_);
  }
  // Attention streams each head's keys and values once per token: huge pages as for the weights.
  total_ = total;
  memory_ = huge_page_memory(2 * total * element_bytes());
}

int64_t KvCache::smallest_capacity() const { return *std::min_element(capacity_.begin(), capacity_.end()); }

void KvCache::store(int64_t layer, int64_t head, int64_t pos, const float* key, const float* value) {
  const size_t at = offset(layer, head, pos), hd = static_cast<size_t>(head_dim_);
  if (dtype_ == DType::f16) {
    kernels::to_f16_saturated(key, head_dim_, f16() + at);
    kernels::to_f16_saturated(value, head_dim_, f16() + total_ + at);
  } else {
    std::copy(key, key + hd, f32() + at);
    std::copy(value, value + hd, f32() + total_ + at);
  }
}

void KvCache::read_slots(int64_t layer, int64_t head, int64_t slots, float* keys, float* values) const {
  const size_t at = offset(layer, head, 0), n = static_cast<size_t>(slots * head_dim_);
  if (dtype_ == DType::f16) {
    kernels::from_f16(f16() + at, static_cast<int64_t>(n), keys);
    kernels::from_f16(f16() + total_ + at, static_cast<int64_t>(n), values);
  } else {
    std::copy(f32() + at, f32() + at + n, keys);
    std::copy(f32() + total_ + at, f32() + total_ + at + n, values);
  }
}

void KvCache::write_slots(int64_t layer, int64_t head, int64_t slots, const float* keys, const float* values) {
  const size_t at = offset(layer, head, 0), n = static_cast<size_t>(slots * head_dim_);
  if (dtype_ == DType::f16) {
    kernels::to_f16_saturated(keys, static_cast<int64_t>(n), f16() + at);
    kernels::to_f16_saturated(values, static_cast<int64_t>(n), f16() + total_ + at);
  } else {
    std::copy(keys, keys + n, f32() + at);
    std::copy(values, values + n, f32() + total_ + at);
  }
}

}  // namespace slim

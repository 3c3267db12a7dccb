// Rotary position embedding frequencies, with the long-context scalings of the config.
#pragma once

#include <vector>

#include "model/config.hpp"

namespace slim {

// inv_freq[i] for i < rotary_dim/2, as transformers' ROPE_INIT_FUNCTIONS compute them (in f32). For
// longrope, `long_factors` picks the long factors instead of the short ones.
std::vector<float> rope_inv_freq(const ModelConfig& config, bool long_factors = false);

// Gemma 3's local layers: base traits.local_rope_theta, no scaling. Empty when the local layers use
// the global RoPE.
std::vector<float> rope_inv_freq_local(const ModelConfig& config);

// The factor cos and sin are multiplied by: 1 except for longrope, where Phi-3 uses
// sqrt(1 + ln(max_position_embeddings / original) / ln(original)) when the ratio exceeds 1, and
// yarn: attention_factor, or 0.1·ln(factor) + 1 (with mscale / mscale_all_dim, their ratio).
float rope_attention_factor(const ModelConfig& config);

// longrope picks its factors from the total sequence length of a forward call, as transformers
// 4.47 does (Phi3LongRoPEScaledRotaryEmbedding: max(position_ids) + 1): long ones once it exceeds
// original_max_position_embeddings. Keys already cached keep the rotation they were stored with.
bool rope_uses_long_factors(const RopeScaling& scaling, int64_t sequence_length);

// cos/sin tables for positions [0, positions): row p holds head_dim/2 values of
// cos(p·inv_freq[i]) · attention_factor.
struct RopeTable {
  int64_t half = 0;
  std::vector<float> cos, sin;
  const float* cos_at(int64_t pos) const { return cos.data() + pos * half; }
  const float* sin_at(int64_t pos) const { return sin.data() + pos * half; }
};
RopeTable make_rope_table(const std::vector<float>& inv_freq, int64_t positions, float attention_factor = 1.0f);

}  // namespace slim

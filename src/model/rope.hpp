// Rotary position embedding frequencies, with the long-context scalings of the config.
#pragma once

#include <vector>

#include "model/config.hpp"

namespace slim {

// inv_freq[i] for i < head_dim/2, as transformers' ROPE_INIT_FUNCTIONS compute them (in f32).
std::vector<float> rope_inv_freq(const ModelConfig& config);

// cos/sin tables for positions [0, positions): row p holds head_dim/2 values of cos(p·inv_freq[i]).
struct RopeTable {
  int64_t half = 0;
  std::vector<float> cos, sin;
  const float* cos_at(int64_t pos) const { return cos.data() + pos * half; }
  const float* sin_at(int64_t pos) const { return sin.data() + pos * half; }
};
RopeTable make_rope_table(const std::vector<float>& inv_freq, int64_t positions);

}  // namespace slim

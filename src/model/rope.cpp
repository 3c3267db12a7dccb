#include "model/rope.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace slim {

namespace {

// YaRN, as transformers 5.x computes it (_compute_yarn_parameters in
// src/transformers/modeling_rope_utils.py): frequencies that turn more than beta_fast times over
// the original context keep their value, those that turn fewer than beta_slow times are divided
// by `factor`, and a linear ramp over the pairs between blends the two. `inv` holds the unscaled
// f32 frequencies; the blend is in double, rounded once.
void apply_yarn(std::vector<float>& inv, int64_t dim, double theta, const RopeScaling& s) {
  // The (fractional) pair i whose frequency theta^(-2i/dim) makes `rotations` turns over the
  // original context (transformers' find_correction_dim).
  const auto original = static_cast<double>(s.original_max_position_embeddings);
  auto dim_of = [&](double rotations) {
    return static_cast<double>(dim) * std::log(original / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(theta));
  };
  double low = dim_of(s.beta_fast), high = dim_of(s.beta_slow);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // transformers' guard against dividing by zero
  for (size_t i = 0; i < inv.size(); ++i) {
    const double interpolated = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double f = inv[i];
    inv[i] = static_cast<float>(f / s.factor * interpolated + f * (1.0 - interpolated));
  }
}

// YaRN's cos/sin factor: attention_factor where set; else 0.1·ln(factor) + 1 (1 for factor ≤ 1),
// or, with mscale and mscale_all_dim both set, that formula weighted by each, one over the other.
double yarn_attention_factor(const RopeScaling& s) {
  if (s.attention_factor > 0.0) return s.attention_factor;
  auto mscale = [&](double weight) { return s.factor <= 1.0 ? 1.0 : 0.1 * weight * std::log(s.factor) + 1.0; };
  if (s.mscale != 0.0 && s.mscale_all_dim != 0.0) return mscale(s.mscale) / mscale(s.mscale_all_dim);
  return mscale(1.0);
}

// RoPE over the first `dim` dims of a head with base `theta` and scaling `s`.
std::vector<float> inv_freq(int64_t dim, double theta, const RopeScaling& s, bool long_factors) {
  const auto base = static_cast<float>(theta);
  const std::vector<double>& ext = long_factors ? s.long_factor : s.short_factor;
  std::vector<float> inv(static_cast<size_t>(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i) {
    // transformers: 1 / base ** (arange(0, dim, 2).float() / dim), all in float32; longrope
    // divides by its factor inside: 1 / (ext_factors * base ** (...)).
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    float denominator = std::pow(base, exponent);
    if (s.type == RopeScaling::Type::longrope) denominator *= static_cast<float>(ext[static_cast<size_t>(i)]);
    inv[static_cast<size_t>(i)] = 1.0f / denominator;
  }

  if (s.type == RopeScaling::Type::linear) {
    // Linear scaling divides positions by the factor; dividing the frequencies is the same.
    for (float& f : inv) f = static_cast<float>(f / s.factor);
  } else if (s.type == RopeScaling::Type::llama3) {
    // Llama 3.1's scaling (transformers' _compute_llama3_parameters): keep high frequencies,
    // divide low ones by `factor`, and blend smoothly in between.
    const double old_len = static_cast<double>(s.original_max_position_embeddings);
    const double low_wavelen = old_len / s.low_freq_factor;
    const double high_wavelen = old_len / s.high_freq_factor;
    for (float& f : inv) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        f = static_cast<float>(f / s.factor);
      } else {
        const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = static_cast<float>((1.0 - smooth) * f / s.factor + smooth * f);
      }
    }
  } else if (s.type == RopeScaling::Type::yarn) {
    apply_yarn(inv, dim, theta, s);
  }
  return inv;
}

}  // namespace

std::vector<float> rope_inv_freq(const ModelConfig& config, bool long_factors) {
  return inv_freq(config.rotary_dim, config.rope_theta, config.rope_scaling, long_factors);
}

std::vector<float> rope_inv_freq_local(const ModelConfig& config) {
  if (config.traits.local_rope_theta == 0.0) return {};
  return inv_freq(config.rotary_dim, config.traits.local_rope_theta, RopeScaling{}, false);
}

float rope_attention_factor(const ModelConfig& config) {
  const RopeScaling& s = config.rope_scaling;
  if (s.type == RopeScaling::Type::yarn) return static_cast<float>(yarn_attention_factor(s));
  if (s.type != RopeScaling::Type::longrope) return 1.0f;
  const auto original = static_cast<double>(s.original_max_position_embeddings);
  const double scale = static_cast<double>(config.max_position_embeddings) / original;
  if (scale <= 1.0) return 1.0f;
  return static_cast<float>(std::sqrt(1.0 + std::log(scale) / std::log(original)));
}

bool rope_uses_long_factors(const RopeScaling& scaling, int64_t sequence_length) {
  return scaling.type == RopeScaling::Type::longrope && sequence_length > scaling.original_max_position_embeddings;
}

RopeTable make_rope_table(const std::vector<float>& inv_freq, int64_t positions, float attention_factor) {
  RopeTable t;
  t.half = static_cast<int64_t>(inv_freq.size());
  t.cos.resize(static_cast<size_t>(positions * t.half));
  t.sin.resize(t.cos.size());
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t i = 0; i < t.half; ++i) {
      // The angle is a float32 product, as in transformers; its cos/sin are rounded from double.
      const float angle = static_cast<float>(p) * inv_freq[static_cast<size_t>(i)];
      const auto c = static_cast<float>(std::cos(static_cast<double>(angle)));
      const auto s = static_cast<float>(std::sin(static_cast<double>(angle)));
      t.cos[static_cast<size_t>(p * t.half + i)] = c * attention_factor;  // ×1 is exact
      t.sin[static_cast<size_t>(p * t.half + i)] = s * attention_factor;
    }
  }
  return t;
}

}  // namespace slim

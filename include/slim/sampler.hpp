// slim::Sampler: picks the next token from a row of logits.
//
// Steps, in this order (each skipped when at its neutral value):
//   1. logit_bias: logits[id] += bias
//   2. repetition_penalty over the last penalty_last_n tokens (transformers' rule: a positive logit
//      is divided by the penalty, a negative one multiplied)
//   3. frequency_penalty · count + presence_penalty · [count > 0] subtracted (OpenAI's rule)
//   4. temperature <= 0: the highest logit wins (greedy); the rest is skipped
//   5. top_k: keep the k highest logits
//   6. temperature: logits / temperature, then softmax
//   7. top_p: keep the smallest set of most likely tokens whose probability reaches top_p
//   8. min_p: drop tokens less likely than min_p × the most likely one
//   9. draw from what remains with the seeded generator
// The same options and seed give the same tokens on every platform.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace slim {

struct SamplerOptions {
  float temperature = 0.0f;  // 0 = greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off
  float repetition_penalty = 1.0f;  // 1 = off
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int penalty_last_n = 64;   // how many recent tokens the penalties look at
  std::unordered_map<int32_t, float> logit_bias = {};
  uint64_t seed = 0;
};

class Sampler {
 public:
  // Throws slim::Error(invalid_argument) for options out of range.
  explicit Sampler(SamplerOptions options = {});

  // Chooses a token and records it for the penalties.
  int32_t sample(std::span<const float> logits);
  // Records a token that was not sampled (the prompt), so penalties see it.
  void accept(int32_t token);
  // Forgets the history and restarts the generator from the seed.
  void reset();
  const SamplerOptions& options() const noexcept { return options_; }

 private:
  double uniform();  // in [0, 1), the same on every platform

  SamplerOptions options_;
  std::mt19937_64 rng_;
  std::deque<int32_t> history_;
  std::vector<float> work_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

}  // namespace slim

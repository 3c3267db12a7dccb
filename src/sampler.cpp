#include "slim/sampler.hpp"

#include <algorithm>
#include <limits>
#include <cmath>
#include <string>

#include "slim/error.hpp"

namespace slim {
namespace {

void require(bool ok, const char* what) {
  if (!ok) throw Error(ErrorCode::invalid_argument, std::string("SamplerOptions: ") + what);
}

}  // namespace

Sampler::Sampler(SamplerOptions options) : options_(std::move(options)), rng_(options_.seed) {
  require(std::isfinite(options_.temperature) && options_.temperature >= 0, "temperature must be >= 0");
  require(options_.top_k >= 0, "top_k must be >= 0");
  require(options_.top_p > 0 && options_.top_p <= 1, "top_p must be in (0, 1]");
  require(options_.min_p >= 0 && options_.min_p <= 1, "min_p must be in [0, 1]");
  require(std::isfinite(options_.repetition_penalty) && options_.repetition_penalty > 0,
          "repetition_penalty must be > 0");
  require(std::isfinite(options_.frequency_penalty) && std::isfinite(options_.presence_penalty),
          "penalties must be finite");
  require(options_.penalty_last_n >= 0, "penalty_last_n must be >= 0");
}

void Sampler::reset() {
  history_.clear();
  rng_.seed(options_.seed);
}

void Sampler::accept(int32_t token) {
  if (options_.penalty_last_n == 0) return;
  history_.push_back(token);
  while (history_.size() > static_cast<size_t>(options_.penalty_last_n)) history_.pop_front();
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1p-53; }

int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.empty()) throw Error(ErrorCode::invalid_argument, "Sampler::sample needs logits");
  const auto vocab = static_cast<int32_t>(logits.size());
  work_.assign(logits.begin(), logits.end());

  for (const auto& [id, bias] : options_.logit_bias) {
    if (id >= 0 && id < vocab) work_[static_cast<size_t>(id)] += bias;
  }
  if (!history_.empty() && (options_.repetition_penalty != 1.0f || options_.frequency_penalty != 0.0f ||
                            options_.presence_penalty != 0.0f)) {
    std::unordered_map<int32_t, int> counts;
    for (int32_t t : history_) {
      if (t >= 0 && t < vocab) ++counts[t];
    }
    for (const auto& [id, count] : counts) {
      float& l = work_[static_cast<size_t>(id)];
      l = l > 0 ? l / options_.repetition_penalty : l * options_.repetition_penalty;
      l -= options_.frequency_penalty * static_cast<float>(count) + options_.presence_penalty;
    }
  }

  int32_t chosen;
  if (options_.temperature <= 0.0f) {
    chosen = static_cast<int32_t>(std::max_element(work_.begin(), work_.end()) - work_.begin());
  } else {
    candidates_.clear();
    // Ids at -inf (a grammar's mask) have no chance: left out, they cost no sorting.
    for (int32_t i = 0; i < vocab; ++i) {
      const float l = work_[static_cast<size_t>(i)];
      if (l != -std::numeric_limits<float>::infinity()) candidates_.emplace_back(l, i);
    }
    if (candidates_.empty()) candidates_.emplace_back(work_[0], 0);  // all -inf: as before, the first id
    // Highest logit first; ties by lower id, so the order is fully determined.
    auto higher = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    size_t keep = candidates_.size();
    if (options_.top_k > 0 && static_cast<size_t>(options_.top_k) < keep) keep = static_cast<size_t>(options_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep), candidates_.end(),
                      higher);
    candidates_.resize(keep);

    // Softmax at the temperature, in double for a stable sum.
    std::vector<double> probs(keep);
    const double max = candidates_.front().first;
    double sum = 0;
    for (size_t i = 0; i < keep; ++i) {
      probs[i] = std::exp((candidates_[i].first - max) / options_.temperature);
      sum += probs[i];
    }
    for (double& p : probs) p /= sum;

    size_t n = keep;
    if (options_.top_p < 1.0f) {
      double cumulative = 0;
      for (size_t i = 0; i < keep; ++i) {
        cumulative += probs[i];
        if (cumulative >= options_.top_p) {
          n = i + 1;
          break;
        }
      }
    }
    if (options_.min_p > 0.0f) {
      const double floor = options_.min_p * probs[0];
      size_t m = 1;
      while (m < n && probs[m] >= floor) ++m;
      n = m;
    }
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += probs[i];
    double r = uniform() * total;
    // Rounding can leave r >= 0 past the end: take the last token with a chance (never one a
    // grammar masked to -inf).
    size_t last = 0;
    for (size_t i = 0; i < n; ++i) {
      if (probs[i] > 0) last = i;
    }
    chosen = candidates_[last].second;
    for (size_t i = 0; i < n; ++i) {
      r -= probs[i];
      if (r < 0) {
        chosen = candidates_[i].second;
        break;
      }
    }
  }
  accept(chosen);
  return chosen;
}

}  // namespace slim

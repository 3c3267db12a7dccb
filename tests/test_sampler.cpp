// The sampler: each step of its documented order, determinism by seed, and the distribution.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "slim/error.hpp"
#include "slim/sampler.hpp"

using slim::Sampler;
using slim::SamplerOptions;

namespace {
const std::vector<float> kLogits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};

std::vector<int> counts(SamplerOptions o, int draws) {
  Sampler s(o);
  std::vector<int> c(kLogits.size());
  for (int i = 0; i < draws; ++i) {
    ++c[static_cast<size_t>(s.sample(kLogits))];
    s.reset();
    o.seed += 1;
    s = Sampler(o);
  }
  return c;
}
}  // namespace

TEST_CASE("greedy picks the highest logit", "[sampler]") {
  Sampler s;
  CHECK(s.sample(std::vector<float>{0.1f, 3.0f, -1.0f}) == 1);
}

TEST_CASE("the same seed gives the same tokens", "[sampler]") {
  SamplerOptions o{.temperature = 1.0f, .seed = 42};
  Sampler a(o), b(o);
  std::vector<int32_t> x, y;
  for (int i = 0; i < 50; ++i) {
    x.push_back(a.sample(kLogits));
    y.push_back(b.sample(kLogits));
  }
  CHECK(x == y);
  a.reset();
  std::vector<int32_t> z;
  for (int i = 0; i < 50; ++i) z.push_back(a.sample(kLogits));
  CHECK(z == x);
  CHECK(std::set<int32_t>(x.begin(), x.end()).size() > 1);
}

TEST_CASE("sampling follows the softmax distribution", "[sampler]") {
  auto c = counts({.temperature = 1.0f}, 20000);
  CHECK(std::abs(c[0] / 20000.0 - 0.5) < 0.02);
  CHECK(std::abs(c[1] / 20000.0 - 0.3) < 0.02);
  CHECK(std::abs(c[2] / 20000.0 - 0.2) < 0.02);
}

TEST_CASE("top-k, top-p and min-p cut the tail", "[sampler]") {
  CHECK(counts({.temperature = 1.0f, .top_k = 1}, 300)[0] == 300);
  auto p = counts({.temperature = 1.0f, .top_p = 0.6f}, 3000);  // 0.5 < 0.6 <= 0.8: two tokens
  CHECK(p[2] == 0);
  CHECK(p[1] > 0);
  auto m = counts({.temperature = 1.0f, .min_p = 0.5f}, 3000);  // floor 0.25: drops 0.2
  CHECK(m[2] == 0);
  CHECK(m[1] > 0);
}

TEST_CASE("penalties and logit bias change the choice", "[sampler]") {
  const std::vector<float> logits = {2.0f, 1.9f, -1.0f};
  Sampler rep({.repetition_penalty = 2.0f});
  rep.accept(0);  // token 0 seen: 2.0 / 2 = 1.0 < 1.9
  CHECK(rep.sample(logits) == 1);

  Sampler freq({.frequency_penalty = 0.2f});
  freq.accept(0);
  CHECK(freq.sample(logits) == 1);

  Sampler window({.repetition_penalty = 2.0f, .penalty_last_n = 1});
  window.accept(0);
  window.accept(2);  // token 0 left the window
  CHECK(window.sample(logits) == 0);

  Sampler bias({.logit_bias = {{2, 10.0f}}});
  CHECK(bias.sample(logits) == 2);
}

TEST_CASE("bad options are rejected", "[sampler]") {
  CHECK_THROWS_AS(Sampler({.temperature = -1.0f}), slim::Error);
  CHECK_THROWS_AS(Sampler({.top_p = 0.0f}), slim::Error);
  CHECK_THROWS_AS(Sampler({.min_p = 2.0f}), slim::Error);
  CHECK_THROWS_AS(Sampler({.repetition_penalty = 0.0f}), slim::Error);
  Sampler s;
  CHECK_THROWS_AS(s.sample(std::span<const float>()), slim::Error);
}

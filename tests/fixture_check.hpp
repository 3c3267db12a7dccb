// Checks a model fixture of ../shared/fixtures/models against transformers' expected.json: logits
// at every prompt position, the greedy continuation (with each step's logits), and token-by-token
// decode against one prefill. Shared by the model tests.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "slim/slim.hpp"
#include "test_support.hpp"

namespace slim::test {

// The family fixtures of ../shared/fixtures/models, each with a -bf16 twin. Decoding token by
// token equals one prefill over stepwise_prefix prompt tokens: all of them, except under longrope,
// whose factors change once the sequence passes original_max_position_embeddings (16).
struct FamilyFixture {
  const char* name;
  size_t stepwise_prefix = SIZE_MAX;
};
inline constexpr FamilyFixture kFamilyFixtures[] = {
    {"llama"}, {"llama3-rope"}, {"qwen2"},  {"gemma"},    {"gemma2"}, {"phi3"},    {"phi3-longrope", 16},
    {"mixtral"}, {"qwen2moe"},  {"qwen3"},  {"qwen3moe"}, {"gemma3"}, {"smollm3"}, {"phi4mini", 16},
};
// Those of the 2025 families (issue #18).
inline constexpr FamilyFixture k2025Fixtures[] = {{"qwen3"}, {"qwen3moe"}, {"gemma3"}, {"smollm3"}, {"phi4mini", 16}};

// Every family fixture's name and its -bf16 twin's.
inline std::vector<std::string> family_fixture_names() {
  std::vector<std::string> out;
  for (const FamilyFixture& f : kFamilyFixtures) {
    out.push_back(f.name);
    out.push_back(std::string(f.name) + "-bf16");
  }
  return out;
}

inline std::vector<int32_t> ids(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

inline double max_abs_diff(std::span<const float> got, const nlohmann::json& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want[i].get<double>()));
  return worst;
}

// A model loaded with 1 thread and `weights`.
inline std::shared_ptr<const Model> load_1thread(const std::filesystem::path& path, WeightFormat weights = WeightFormat::as_stored) {
  LoadOptions options;
  options.threads = 1;
  options.weights = weights;
  return Model::load(path, options);
}

// Every position's logits of the prompt, from a fresh session.
inline std::vector<float> prompt_logits(const std::shared_ptr<const Model>& model, const std::vector<int32_t>& input) {
  Session session(model);
  auto all = session.prefill(input, /*all_logits=*/true);
  return {all.begin(), all.end()};
}

inline double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::abs(a[i] - b[i])));
  return worst;
}

inline int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Prefills `input` and checks the logits at every position against `want` ([positions][vocab]).
// Returns the largest difference; `last` gets the last position's logits.
inline double check_prefill(Session& session, const std::vector<int32_t>& input, const nlohmann::json& want,
                            std::vector<float>& last) {
  const auto vocab = static_cast<size_t>(session.model().info().vocab_size);
  auto all = session.prefill(input, /*all_logits=*/true);
  REQUIRE(all.size() == input.size() * vocab);
  REQUIRE(want.size() == input.size());
  double worst = 0;
  for (size_t p = 0; p < input.size(); ++p) {
    INFO("position " << p);
    const double diff = max_abs_diff(all.subspan(p * vocab, vocab), want[p]);
    CHECK(diff < 1e-4);
    worst = std::max(worst, diff);
  }
  last.assign(all.end() - static_cast<std::ptrdiff_t>(vocab), all.end());
  return worst;
}

// Decoding `input` one token at a time gives the logits of prefilling it at once (within 1e-5).
inline void check_stepwise_equals_prefill(const std::shared_ptr<const Model>& model,
                                          const std::vector<int32_t>& input) {
  const auto vocab = static_cast<size_t>(model->info().vocab_size);
  Session whole(model);
  auto all = whole.prefill(input, true);
  const std::vector<float> prefill_logits(all.begin(), all.end());
  Session stepwise(model);
  double worst = 0;
  for (size_t p = 0; p < input.size(); ++p) {
    auto out = stepwise.decode(input[p]);
    for (size_t v = 0; v < vocab; ++v) {
      worst = std::max(worst, double(std::abs(out[v] - prefill_logits[p * vocab + v])));
    }
  }
  INFO("stepwise decode of " << input.size() << " tokens");
  CHECK(worst <= 1e-5);
}

// The fixture's prompt logits, its greedy continuation (tokens, and each step's logits where the
// fixture has them) and stepwise decode of the first `stepwise_prefix` prompt tokens (all by
// default). Returns the largest logit difference from transformers.
inline double check_fixture(const std::filesystem::path& dir, size_t stepwise_prefix = SIZE_MAX) {
  INFO("model " << dir.string());
  const nlohmann::json expected = read_json(dir / "expected.json");
  auto model = Model::load(dir, {.threads = 2});
  const auto input = ids(expected["input_ids"]);

  Session session(model);
  std::vector<float> last;
  double worst = check_prefill(session, input, expected["logits"], last);

  const nlohmann::json& greedy = expected["greedy"];
  std::vector<int32_t> generated;
  for (size_t step = 0; step < greedy["new_tokens"].size(); ++step) {
    if (greedy.contains("step_logits")) {
      INFO("greedy step " << step);
      const double diff = max_abs_diff(last, greedy["step_logits"][step]);
      CHECK(diff < 1e-4);
      worst = std::max(worst, diff);
    }
    const int32_t next = argmax(last);
    generated.push_back(next);
    auto out = session.decode(next);
    last.assign(out.begin(), out.end());
  }
  CHECK(generated == ids(greedy["new_tokens"]));

  const size_t prefix = std::min(stepwise_prefix, input.size());
  check_stepwise_equals_prefill(model, std::vector<int32_t>(input.begin(), input.begin() + prefix));
  return worst;
}

// Every field of a YaRN scaling equal (a GGUF file read back against its folder).
inline void check_same_yarn(const RopeScaling& got, const RopeScaling& want) {
  CHECK(got.type == RopeScaling::Type::yarn);
  CHECK(got.factor == want.factor);
  CHECK(got.original_max_position_embeddings == want.original_max_position_embeddings);
  CHECK(got.beta_fast == want.beta_fast);
  CHECK(got.beta_slow == want.beta_slow);
  CHECK(got.attention_factor == want.attention_factor);
  CHECK(got.mscale == want.mscale);
  CHECK(got.mscale_all_dim == want.mscale_all_dim);
  CHECK(got.truncate == want.truncate);
}

}  // namespace slim::test

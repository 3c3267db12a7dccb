// The Llama and Qwen2 forward pass against transformers' outputs on the shared fixtures.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "slim/slim.hpp"
#include "test_support.hpp"

using nlohmann::json;

namespace {

std::vector<int32_t> ids(const json& j) { return j.get<std::vector<int32_t>>(); }

double max_abs_diff(std::span<const float> got, const json& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want[i].get<double>()));
  return worst;
}

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

void check_fixture(const std::filesystem::path& dir) {
  INFO("model " << dir.string());
  const json expected = slim::test::read_json(dir / "expected.json");
  auto model = slim::Model::load(dir, {.threads = 2});
  const int64_t vocab = model->info().vocab_size;
  const auto input = ids(expected["input_ids"]);

  // Prefill logits at every position.
  slim::Session session(model);
  auto all = session.prefill(input, /*all_logits=*/true);
  REQUIRE(all.size() == input.size() * vocab);
  for (size_t p = 0; p < input.size(); ++p) {
    INFO("position " << p);
    CHECK(max_abs_diff(all.subspan(p * vocab, vocab), expected["logits"][p]) < 1e-4);
  }
  std::vector<float> prefill_logits(all.begin(), all.end());

  // Greedy continuation, with the logits of every step.
  const json& greedy = expected["greedy"];
  std::vector<float> last(all.end() - vocab, all.end());
  std::vector<int32_t> generated;
  for (size_t step = 0; step < greedy["new_tokens"].size(); ++step) {
    if (greedy.contains("step_logits")) {
      INFO("greedy step " << step);
      CHECK(max_abs_diff(last, greedy["step_logits"][step]) < 1e-4);
    }
    const int32_t next = argmax(last);
    generated.push_back(next);
    auto out = session.decode(next);
    last.assign(out.begin(), out.end());
  }
  CHECK(generated == ids(greedy["new_tokens"]));

  // Token-by-token decode gives the prefill's logits.
  slim::Session stepwise(model);
  double worst = 0;
  for (size_t p = 0; p < input.size(); ++p) {
    auto out = stepwise.decode(input[p]);
    for (int64_t v = 0; v < vocab; ++v) worst = std::max(worst, double(std::abs(out[v] - prefill_logits[p * vocab + v])));
  }
  CHECK(worst <= 1e-5);
}

}  // namespace

TEST_CASE("Llama and Qwen2 fixtures match transformers", "[model]") {
  const auto root = slim::test::shared_dir() / "fixtures" / "models";
  for (const char* name : {"llama", "llama-bf16", "llama3-rope", "llama3-rope-bf16", "qwen2", "qwen2-bf16"}) {
    SECTION(name) { check_fixture(root / name); }
  }
}

TEST_CASE("stories260K greedy continuation matches transformers", "[model]") {
  const auto dir = slim::test::shared_dir() / "models" / "stories260K";
  const json expected = slim::test::read_json(dir / "expected.json");
  auto model = slim::Model::load(dir, {.threads = 1});
  const int64_t vocab = model->info().vocab_size;

  slim::Session session(model);
  const auto input = ids(expected["input_ids"]);
  auto all = session.prefill(input, true);
  for (size_t p = 0; p < input.size(); ++p) {
    INFO("position " << p);
    CHECK(max_abs_diff(all.subspan(p * vocab, vocab), expected["logits"][p]) < 1e-4);
  }

  slim::Session gen(model);
  auto logits = gen.prefill(ids(expected["greedy"]["prompt_ids"]));
  std::vector<int32_t> out;
  for (size_t i = 0; i < expected["greedy"]["new_tokens"].size(); ++i) {
    out.push_back(argmax(logits));
    logits = gen.decode(out.back());
  }
  CHECK(out == ids(expected["greedy"]["new_tokens"]));
}

TEST_CASE("sessions reject bad tokens and overflow without changing state", "[model]") {
  auto model = slim::Model::load(slim::test::shared_dir() / "fixtures" / "models" / "llama", {.threads = 1});
  slim::Session s(model, 8);
  std::vector<int32_t> five = {1, 2, 3, 4, 5};
  s.prefill(five);
  CHECK(s.position() == 5);
  try {
    s.prefill(five);
    FAIL("expected context overflow");
  } catch (const slim::Error& e) {
    CHECK(e.code() == slim::ErrorCode::context_overflow);
  }
  CHECK(s.position() == 5);
  CHECK_THROWS_AS(s.decode(256), slim::Error);
  CHECK_THROWS_AS(s.decode(-1), slim::Error);
  CHECK(s.position() == 5);
  s.truncate(2);
  CHECK(s.position() == 2);
  CHECK_THROWS_AS(s.truncate(3), slim::Error);
  CHECK_THROWS_AS(slim::Session(model, 100000), slim::Error);
}

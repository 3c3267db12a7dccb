// Gemma, Gemma 2, Phi-3 (with longrope), Mixtral and Qwen2-MoE against transformers' outputs on the
// shared fixtures.
#include <catch2/catch.hpp>

#include <cstdio>

#include "fixture_check.hpp"
#include "slim/slim.hpp"
#include "test_support.hpp"

namespace {

const std::filesystem::path& fixtures() {
  static const std::filesystem::path root = slim::test::shared_dir() / "fixtures" / "models";
  return root;
}

void check_and_report(const std::string& name, size_t stepwise_prefix = SIZE_MAX) {
  const double worst = slim::test::check_fixture(fixtures() / name, stepwise_prefix);
  std::printf("%-20s max |logit - transformers| = %.3g\n", name.c_str(), worst);
}

}  // namespace

TEST_CASE("Gemma fixtures match transformers", "[model][gemma]") {
  for (const char* name : {"gemma", "gemma-bf16", "gemma2", "gemma2-bf16"}) {
    SECTION(name) { check_and_report(name); }
  }
}

TEST_CASE("Phi-3 fixtures match transformers", "[model][phi3]") {
  for (const char* name : {"phi3", "phi3-bf16"}) {
    SECTION(name) { check_and_report(name); }
  }
}

TEST_CASE("Phi-3 longrope picks short or long factors from the sequence length", "[model][phi3]") {
  for (const char* name : {"phi3-longrope", "phi3-longrope-bf16"}) {
    SECTION(name) {
      // The 24-token prompt and its continuation use the long factors. Decoding it token by token
      // uses the short ones until the sequence passes original_max_position_embeddings (16), as
      // transformers' cached generation does, so only those 16 positions must match the prefill.
      check_and_report(name, 16);

      // A 12-token prompt stays within 16 positions: short factors.
      const auto dir = fixtures() / name;
      const auto expected = slim::test::read_json(dir / "expected.json");
      const auto& short_prompt = expected["extra"]["short_prompt"];
      auto model = slim::Model::load(dir, {.threads = 2});
      slim::Session session(model);
      std::vector<float> last;
      const double worst =
          slim::test::check_prefill(session, slim::test::ids(short_prompt["input_ids"]), short_prompt["logits"], last);
      std::printf("%-20s short prompt: max |logit - transformers| = %.3g\n", name, worst);
      slim::test::check_stepwise_equals_prefill(model, slim::test::ids(short_prompt["input_ids"]));
    }
  }
}

// Qwen3, Qwen3-MoE, Gemma 3, SmolLM3 and Phi-4-mini, in f32 and bf16: transformers' logits at
// every position and its greedy tokens, token-by-token decode against one prefill, and 1 against 2
// threads bit for bit.
TEST_CASE("2025 family fixtures match transformers", "[model][2025]") {
  for (const slim::test::FamilyFixture& f : slim::test::k2025Fixtures) {
    for (const std::string& name : {std::string(f.name), std::string(f.name) + "-bf16"}) {
      SECTION(name) {
        check_and_report(name, f.stepwise_prefix);
        const auto input = slim::test::ids(slim::test::read_json(fixtures() / name / "expected.json")["input_ids"]);
        std::vector<float> logits[2];
        for (int threads : {1, 2}) {
          slim::Session s(slim::Model::load(fixtures() / name, {.threads = threads}));
          auto all = s.prefill(input, true);
          logits[threads - 1].assign(all.begin(), all.end());
          auto next = s.decode(input[0]);
          logits[threads - 1].insert(logits[threads - 1].end(), next.begin(), next.end());
        }
        CHECK(logits[0] == logits[1]);
      }
    }
  }
}

TEST_CASE("mixture-of-experts fixtures match transformers", "[model][moe]") {
  for (const char* name : {"mixtral", "mixtral-bf16", "qwen2moe", "qwen2moe-bf16"}) {
    SECTION(name) { check_and_report(name); }
  }
}

// The Llama and Qwen2 forward pass against transformers' outputs on the shared fixtures.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "fixture_check.hpp"
#include "slim/slim.hpp"
#include "slim/tokenizer.hpp"
#include "test_support.hpp"

using nlohmann::json;
using slim::test::argmax;
using slim::test::ids;
using slim::test::max_abs_diff;

TEST_CASE("Llama and Qwen2 fixtures match transformers", "[model]") {
  const auto root = slim::test::shared_dir() / "fixtures" / "models";
  for (const char* name : {"llama", "llama-bf16", "llama3-rope", "llama3-rope-bf16", "qwen2", "qwen2-bf16"}) {
    SECTION(name) { slim::test::check_fixture(root / name); }
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

  // The text, through the model's own tokenizer: its prompt and its continuation.
  auto tokenizer = slim::Tokenizer::load(dir);
  std::vector<int32_t> all_ids = ids(expected["greedy"]["prompt_ids"]);
  all_ids.insert(all_ids.end(), out.begin(), out.end());
  const std::string text = tokenizer.decode(all_ids, /*skip_special_tokens=*/true);
  INFO(text);
  CHECK(text.rfind("Once upon a time, there was a little girl named Lily", 0) == 0);
  CHECK(tokenizer.encode("Once upon a time") == ids(expected["greedy"]["prompt_ids"]));
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

// generate(): greedy text of the real stories260K model, stop strings, callbacks, limits, seeds,
// and many sessions of one model in parallel threads.
#include <catch2/catch.hpp>

#include <thread>

#include "slim/slim.hpp"
#include "test_support.hpp"
#include "tiny_models.hpp"

namespace {

std::shared_ptr<const slim::Model> stories(int threads = 1) {
  return slim::Model::load(slim::test::shared_dir() / "models" / "stories260K", {.threads = threads});
}

}  // namespace

TEST_CASE("greedy generate writes the reference story", "[generate]") {
  auto model = stories();
  const auto expected = slim::test::read_json(slim::test::shared_dir() / "models/stories260K/expected.json");
  slim::Session session(model);
  std::string streamed;
  auto r = slim::generate(session, "Once upon a time", {.max_tokens = 32}, [&](std::string_view t) {
    streamed += t;
    return true;
  });
  CHECK(r.prompt_tokens == expected["greedy"]["prompt_ids"].get<std::vector<int32_t>>());
  CHECK(r.tokens == expected["greedy"]["new_tokens"].get<std::vector<int32_t>>());
  CHECK(r.text.rfind(", there was a little girl named Lily", 0) == 0);
  CHECK(streamed == r.text);
  CHECK(r.stop_reason == slim::StopReason::max_tokens);
  CHECK(session.position() == static_cast<int64_t>(r.prompt_tokens.size() + r.tokens.size()));
  CHECK(r.first_token_seconds > 0);
}

TEST_CASE("stop strings, callbacks and limits end generation", "[generate]") {
  auto model = stories();
  SECTION("a stop string is not delivered") {
    slim::Session s(model);
    auto r = slim::generate(s, "Once upon a time", {.max_tokens = 64, .stop = {"named Lily"}});
    CHECK(r.text == ", there was a little girl ");
    CHECK(r.stop_reason == slim::StopReason::stop_string);
  }
  SECTION("the callback can stop") {
    slim::Session s(model);
    int calls = 0;
    auto r = slim::generate(s, "Once upon a time", {.max_tokens = 64}, [&](std::string_view) { return ++calls < 3; });
    CHECK(calls == 3);
    CHECK(r.stop_reason == slim::StopReason::callback);
  }
  SECTION("a full context stops") {
    slim::Session s(model, 10);
    auto r = slim::generate(s, "Once upon a time", {.max_tokens = 100});
    CHECK(r.stop_reason == slim::StopReason::context_full);
    CHECK(s.position() == 10);
  }
  SECTION("zero tokens") {
    slim::Session s(model);
    auto r = slim::generate(s, "Once", {.max_tokens = 0});
    CHECK(r.tokens.empty());
    CHECK(r.text.empty());
  }
  SECTION("a prompt longer than the context is an error") {
    slim::Session s(model, 4);
    CHECK_THROWS_AS(slim::generate(s, "Once upon a time there was a dog", {}), slim::Error);
  }
  SECTION("a continuation adds no second BOS") {
    slim::Session s(model);
    auto first = slim::generate(s, "Once upon a time", {.max_tokens = 4});
    auto second = slim::generate(s, " and", {.max_tokens = 4});
    CHECK(second.prompt_tokens.front() != 1);
  }
}

TEST_CASE("sampling is reproducible by seed", "[generate]") {
  auto model = stories();
  auto run = [&](uint64_t seed) {
    slim::Session s(model);
    return slim::generate(s, "Once upon a time", {.max_tokens = 40, .sampler = {.temperature = 1.0f, .top_p = 0.9f, .seed = seed}}).text;
  };
  CHECK(run(7) == run(7));
  CHECK(run(7) != run(8));
}

TEST_CASE("4 threads x 2 sessions equal the same work done alone", "[generate][concurrency]") {
  auto model = stories(1);
  auto work = [&](int i) {
    slim::Session s(model);
    return slim::generate(s, i % 2 ? "Once upon a time" : "The dog",
                          {.max_tokens = 24, .sampler = {.temperature = 0.8f, .seed = static_cast<uint64_t>(i)}})
        .text;
  };
  std::vector<std::string> alone;
  for (int i = 0; i < 8; ++i) alone.push_back(work(i));
  std::vector<std::string> together(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 2; ++k) together[static_cast<size_t>(t * 2 + k)] = work(t * 2 + k);
    });
  }
  for (auto& th : threads) th.join();
  CHECK(together == alone);
}

TEST_CASE("a folder without a tokenizer generates ids, not text", "[generate]") {
  const auto dir = slim::test::shared_dir() / "fixtures" / "models" / "llama";
  auto model = slim::Model::load(dir, {.threads = 1});
  CHECK_FALSE(model->has_tokenizer());
  CHECK_THROWS_AS(model->tokenizer(), slim::Error);
  slim::Session s(model);
  CHECK_THROWS_AS(slim::generate(s, "x"), slim::Error);

  const auto expected = slim::test::read_json(dir / "expected.json");
  const auto input = expected["input_ids"].get<std::vector<int32_t>>();
  auto r = slim::generate(s, std::span<const int32_t>(input), {.max_tokens = 16, .stop_at_eos = false});
  CHECK(r.tokens == expected["greedy"]["new_tokens"].get<std::vector<int32_t>>());
  CHECK(r.text.empty());
}

TEST_CASE("the model's log callback receives the load message", "[generate]") {
  std::vector<std::string> lines;
  auto model = slim::Model::load(slim::test::shared_dir() / "models" / "stories260K",
                                 {.threads = 1, .log = [&](slim::LogLevel, const std::string& m) { lines.push_back(m); }});
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("LlamaForCausalLM") != std::string::npos);
  CHECK(&model->chat_template() == &model->chat_template());
}

TEST_CASE("generation never samples an id the tokenizer has no token for", "[generate]") {
  // Qwen2.5's embedding has 151,936 rows for 151,665 tokens; a bias makes a padding id the most
  // likely by far, so only the mask keeps it out.
  slim::test::TempDir tmp;
  auto model = slim::Model::load(slim::test::make_qwen_tokenizer_model(tmp.path / "qwen"), {.threads = 1});
  REQUIRE(model->info().vocab_size == 151936);
  const int32_t tokens = model->tokenizer().vocab_size();
  REQUIRE(tokens == 151665);
  for (float temperature : {0.0f, 2.0f}) {
    slim::Session session(model, 512);
    slim::GenerateOptions options{.max_tokens = 200, .stop_at_eos = false};
    options.sampler.temperature = temperature;
    options.sampler.seed = 1;
    options.sampler.logit_bias = {{151698, 100.0f}, {151935, 100.0f}};
    const auto r = slim::generate(session, "Hello", options);
    CHECK(r.tokens.size() == 200);
    CHECK(std::all_of(r.tokens.begin(), r.tokens.end(), [&](int32_t t) { return t >= 0 && t < tokens; }));
  }
}

TEST_CASE("text_continues_prompt decodes the generated text as the prompt's continuation", "[generate]") {
  auto model = stories();
  const slim::Tokenizer& tok = model->tokenizer();
  for (const char* prompt : {"Once upon a", "Once upon a time", "The dog"}) {
    INFO(prompt);
    slim::Session session(model);
    auto r = slim::generate(session, prompt, {.max_tokens = 12, .text_continues_prompt = true});
    std::vector<int32_t> all = r.prompt_tokens;
    all.insert(all.end(), r.tokens.begin(), r.tokens.end());
    CHECK(std::string(prompt) + r.text == tok.decode(all, /*skip_special_tokens=*/true));
    // Without it the reply is decoded on its own, as transformers decodes a reply.
    slim::Session alone(model);
    CHECK(slim::generate(alone, prompt, {.max_tokens = 12}).text == tok.decode(r.tokens, true));
  }
}

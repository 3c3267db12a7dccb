// slim::Engine: requests run together give exactly what each gives alone (tokens and logits), at
// any thread count; prompt reuse computes only the new part; cancellation frees the slot; a long
// prompt does not stall the streams that decode beside it; bad requests are refused.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "slim/slim.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

std::shared_ptr<const slim::Model> load(const std::string& name, int threads = 1,
                                        slim::WeightFormat weights = slim::WeightFormat::as_stored) {
  const fs::path dir = name == "stories260K" ? slim::test::shared_dir() / "models" / name
                                             : slim::test::shared_dir() / "fixtures" / "models" / name;
  return slim::Model::load(dir, {.threads = threads, .weights = weights});
}

// What a request gives: its tokens and, row by row, the logits each was sampled from.
struct Outcome {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;
  std::string text;
  slim::StopReason reason = slim::StopReason::max_tokens;
};

// The request alone in a Session: generate() for the tokens, the same tokens run one by one for
// the logits.
Outcome alone(const std::shared_ptr<const slim::Model>& model, const std::vector<int32_t>& prompt,
              const slim::GenerateOptions& options, int64_t context, slim::DType kv_type = slim::DType::f32) {
  Outcome o;
  {
    slim::Session s(model, context, kv_type);
    auto r = slim::generate(s, prompt, options);
    o.tokens = r.tokens;
    o.text = r.text;
    o.reason = r.stop_reason;
  }
  slim::Session s(model, context, kv_type);
  auto logits = s.prefill(prompt);
  for (size_t i = 0; i < o.tokens.size(); ++i) {
    o.logits.emplace_back(logits.begin(), logits.end());
    if (i + 1 < o.tokens.size()) logits = s.decode(o.tokens[i]);
  }
  return o;
}

struct Recorder {
  std::mutex mutex;
  Outcome outcome;
  slim::EngineRequest request(std::vector<int32_t> prompt, slim::GenerateOptions options) {
    return {.prompt = std::move(prompt), .options = std::move(options), .on_token = [this](int32_t t, auto logits) {
              std::lock_guard lock(mutex);
              outcome.tokens.push_back(t);
              outcome.logits.emplace_back(logits.begin(), logits.end());
              return true;
            }};
  }
};

// 16 prompts of different lengths (1 to 61 tokens) and generation lengths, greedy and sampled.
std::vector<int32_t> prompt_for(int i, int64_t vocab) {
  std::vector<int32_t> p;
  for (int k = 0; k < 1 + (i * 13) % 61; ++k) p.push_back(static_cast<int32_t>((i * 31 + k * 7 + 3) % vocab));
  return p;
}
slim::GenerateOptions options_for(int i) {
  slim::GenerateOptions o{.max_tokens = 4 + (i * 5) % 19, .stop_at_eos = false};
  if (i % 3 == 1) {
    o.sampler.temperature = 0.8f;
    o.sampler.top_k = 40;
    o.sampler.seed = static_cast<uint64_t>(i);
  }
  return o;
}

}  // namespace

TEST_CASE("16 requests together give exactly what each gives alone", "[engine]") {
  const std::string name = GENERATE("stories260K", "gemma2", "mixtral", "qwen2");
  const int threads = GENERATE(1, 2);
  const auto weights = GENERATE(slim::WeightFormat::as_stored, slim::WeightFormat::q8_0);
  // The f16 KV cache with the stored weights: its rounding is the same whatever the batch.
  const auto kv_type = weights == slim::WeightFormat::q8_0 ? slim::DType::f32 : GENERATE(slim::DType::f32, slim::DType::f16);
  INFO(name << ", " << threads << " threads, " << slim::weight_format_name(weights) << ", KV "
            << slim::dtype_name(kv_type));
  auto model = load(name, threads, weights);
  const int64_t vocab = model->info().vocab_size, context = 96;
  constexpr int kRequests = 16;

  std::vector<Outcome> expected;
  for (int i = 0; i < kRequests; ++i) {
    expected.push_back(alone(model, prompt_for(i, vocab), options_for(i), context, kv_type));
  }

  // 8 slots for 16 requests: half of them wait, then go into slots that others have used, and
  // prefills of up to 61 rows share steps with decoding tokens.
  slim::Engine engine(model, {.slots = 8, .context = context, .threads = threads, .batch_tokens = 64,
                              .prompt_rows_while_decoding = 24, .kv_type = kv_type});
  CHECK(engine.stats().kv_cache_bytes == 8 * model->kv_cache_bytes(context, kv_type));
  std::vector<Recorder> recorders(kRequests);
  std::vector<slim::GenerationHandle> handles;
  for (int i = 0; i < kRequests; ++i) {
    handles.push_back(engine.submit(recorders[static_cast<size_t>(i)].request(prompt_for(i, vocab), options_for(i))));
  }
  for (int i = 0; i < kRequests; ++i) {
    INFO("request " << i);
    const slim::GenerateResult& r = handles[static_cast<size_t>(i)].wait();
    const Outcome& want = expected[static_cast<size_t>(i)];
    const Outcome& got = recorders[static_cast<size_t>(i)].outcome;
    CHECK(r.tokens == want.tokens);
    CHECK(got.tokens == want.tokens);
    CHECK(r.stop_reason == want.reason);
    REQUIRE(got.logits.size() == want.logits.size());
    for (size_t k = 0; k < got.logits.size(); ++k) CHECK(got.logits[k] == want.logits[k]);  // bit for bit
  }
  const auto stats = engine.stats();
  CHECK(stats.requests == kRequests);
  CHECK(stats.requests_done == kRequests);
  CHECK(stats.busy_slots == 0);
  CHECK(stats.queued == 0);
}

TEST_CASE("text requests stream the text generate() gives", "[engine]") {
  auto model = load("stories260K");
  const auto prompt = model->tokenizer().encode("Once upon a time");
  slim::Session s(model);
  const auto want = slim::generate(s, prompt, {.max_tokens = 40, .stop = {"named Lily"}});
  slim::Engine engine(model, {.slots = 2});
  std::string streamed;
  auto h = engine.submit({.prompt = prompt, .options = {.max_tokens = 40, .stop = {"named Lily"}},
                          .on_text = [&](std::string_view t) {
                            streamed += t;
                            return true;
                          }});
  const auto& r = h.wait();
  CHECK(r.text == want.text);
  CHECK(streamed == want.text);
  CHECK(r.tokens == want.tokens);
  CHECK(r.stop_reason == slim::StopReason::stop_string);
  CHECK(r.prompt_tokens == prompt);
}

TEST_CASE("a prompt that extends a slot's cache computes only the new tokens", "[engine]") {
  for (const std::string name : {"stories260K", "gemma2"}) {  // gemma2: sliding window of 8
    INFO(name);
    auto model = load(name);
    const int64_t vocab = model->info().vocab_size;
    slim::Engine engine(model, {.slots = 2, .context = 128});
    const slim::GenerateOptions options{.max_tokens = 6, .stop_at_eos = false};
    const std::vector<int32_t> first = prompt_for(5, vocab);  // 6 tokens
    const auto& r1 = engine.submit({.prompt = first, .options = options}).wait();
    CHECK(r1.cached_tokens == 0);

    // The conversation so far (prompt and reply) plus a new turn; the last generated token was
    // never run, so the cache holds all but it.
    std::vector<int32_t> second = first;
    second.insert(second.end(), r1.tokens.begin(), r1.tokens.end());
    for (int k = 0; k < 5; ++k) second.push_back(static_cast<int32_t>((11 * k + 1) % vocab));
    Recorder rec;
    const auto& r2 = engine.submit(rec.request(second, options)).wait();
    // Kept whole, also by gemma2 whose 11 cached positions have wrapped its 8-slot rings.
    CHECK(r2.cached_tokens == static_cast<int64_t>(first.size() + r1.tokens.size() - 1));
    const Outcome want = alone(model, second, options, 128);
    CHECK(r2.tokens == want.tokens);
    REQUIRE(rec.outcome.logits.size() == want.logits.size());
    for (size_t k = 0; k < want.logits.size(); ++k) CHECK(rec.outcome.logits[k] == want.logits[k]);

    // A prompt that shares only a prefix: stories260K keeps the prefix; gemma2's wrapped rings
    // cannot go back, so it starts over. Either way the result is the one of no reuse.
    std::vector<int32_t> third(second.begin(), second.begin() + 4);
    third.push_back(7);
    third.push_back(9);
    Recorder rec3;
    const auto& r3 = engine.submit(rec3.request(third, options)).wait();
    CHECK(r3.cached_tokens == (name == "gemma2" ? 0 : 4));
    const Outcome want3 = alone(model, third, options, 128);
    CHECK(r3.tokens == want3.tokens);
    for (size_t k = 0; k < want3.logits.size(); ++k) CHECK(rec3.outcome.logits[k] == want3.logits[k]);
    CHECK(engine.stats().cached_tokens == static_cast<uint64_t>(r2.cached_tokens + r3.cached_tokens));
  }
}

TEST_CASE("a repeated prompt reuses all but its last token", "[engine]") {
  auto model = load("stories260K");
  slim::Engine engine(model, {.slots = 1});
  const auto prompt = model->tokenizer().encode("Once upon a time");
  const auto& a = engine.submit({.prompt = prompt, .options = {.max_tokens = 8}}).wait();
  const auto& b = engine.submit({.prompt = prompt, .options = {.max_tokens = 8}}).wait();
  CHECK(b.cached_tokens == static_cast<int64_t>(prompt.size()) - 1);
  CHECK(a.tokens == b.tokens);
}

TEST_CASE("cancelling frees the slot for the next request", "[engine]") {
  auto model = load("stories260K");
  slim::Engine engine(model, {.slots = 1, .context = 512});
  std::atomic<int> tokens{0};
  std::atomic<bool> cancelled{false};
  // The long request holds the engine at its third token until it has been cancelled, so the
  // test does not depend on how fast the machine is.
  auto long_one = engine.submit({.prompt = {1, 2, 3},
                                 .options = {.max_tokens = 100000, .stop_at_eos = false},
                                 .on_token = [&](int32_t, auto) {
                                   if (++tokens == 3) {
                                     while (!cancelled) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                   }
                                   return true;
                                 }});
  while (tokens < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto next = engine.submit({.prompt = {1, 5}, .options = {.max_tokens = 3, .stop_at_eos = false}});
  CHECK_FALSE(next.wait_for(std::chrono::milliseconds(50)));  // the only slot is taken
  long_one.cancel();
  cancelled = true;
  CHECK(long_one.wait().stop_reason == slim::StopReason::cancelled);
  CHECK(long_one.wait().tokens.size() == 3);
  CHECK(next.wait().tokens.size() == 3);

  SECTION("a callback that returns false stops its request") {
    int calls = 0;
    auto h = engine.submit({.prompt = {1, 2}, .options = {.max_tokens = 50, .stop_at_eos = false},
                            .on_token = [&](int32_t, auto) { return ++calls < 4; }});
    CHECK(h.wait().stop_reason == slim::StopReason::callback);
    CHECK(h.wait().tokens.size() == 4);
  }
}

TEST_CASE("closing an engine cancels what runs and what waits", "[engine]") {
  auto model = load("stories260K");
  std::optional<slim::Engine> engine(std::in_place, model, slim::EngineOptions{.slots = 1, .context = 512});
  auto running = engine->submit({.prompt = {1, 2}, .options = {.max_tokens = 100000, .stop_at_eos = false}});
  auto waiting = engine->submit({.prompt = {1, 3}, .options = {.max_tokens = 5}});
  engine.reset();
  CHECK(running.wait().stop_reason == slim::StopReason::cancelled);
  CHECK(waiting.wait().stop_reason == slim::StopReason::cancelled);
}

TEST_CASE("a long prompt is prefilled between the tokens of decoding streams", "[engine]") {
  auto model = load("stories260K");
  slim::Engine engine(model, {.slots = 2, .context = 512, .batch_tokens = 256, .prompt_rows_while_decoding = 16});
  std::atomic<int> stream_tokens{0};
  std::atomic<int> tokens_before_long_first{-1};
  std::atomic<bool> submitted{false};
  auto stream = engine.submit({.prompt = {1, 2, 3},
                               .options = {.max_tokens = 100000, .stop_at_eos = false},
                               .on_token = [&](int32_t, auto) {
                                 // The first token waits for the long prompt to be queued, so the
                                 // stream is surely still decoding while it is prefilled.
                                 if (++stream_tokens == 1) {
                                   while (!submitted) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                 }
                                 return true;
                               }});
  while (stream_tokens < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<int32_t> long_prompt(480);
  for (size_t i = 0; i < long_prompt.size(); ++i) long_prompt[i] = static_cast<int32_t>(1 + i % 400);
  const int before = 1;
  auto long_one = engine.submit({.prompt = long_prompt, .options = {.max_tokens = 1},
                                 .on_token = [&](int32_t, auto) {
                                   tokens_before_long_first = stream_tokens.load();
                                   return true;
                                 }});
  submitted = true;
  long_one.wait();
  stream.cancel();
  stream.wait();
  // 480 prompt rows at 16 a step take 30 steps, each of which also decodes the stream.
  CHECK(tokens_before_long_first - before >= 29);
}

TEST_CASE("bad requests are refused and the engine keeps serving", "[engine]") {
  auto model = load("stories260K");
  slim::Engine engine(model, {.slots = 1, .context = 32, .max_queued = 1});
  using slim::ErrorCode;
  CHECK(slim::test::error_of([&] { engine.submit({}); }).first == ErrorCode::invalid_argument);
  CHECK(slim::test::error_of([&] { engine.submit({.prompt = {1, 99999}}); }).first == ErrorCode::invalid_argument);
  CHECK(slim::test::error_of([&] { engine.submit({.prompt = std::vector<int32_t>(33, 1)}); }).first ==
        ErrorCode::context_overflow);
  slim::GenerateOptions bad;
  bad.sampler.top_p = 2;
  CHECK(slim::test::error_of([&] { engine.submit({.prompt = {1}, .options = bad}); }).first ==
        ErrorCode::invalid_argument);
  // A full context ends a request as generate() ends it.
  const auto& full = engine.submit({.prompt = {1, 2}, .options = {.max_tokens = 100, .stop_at_eos = false}}).wait();
  CHECK(full.stop_reason == slim::StopReason::context_full);
  slim::Session s(model, 32);
  CHECK(slim::generate(s, std::vector<int32_t>{1, 2}, {.max_tokens = 100, .stop_at_eos = false}).tokens == full.tokens);

  // One slot running, one request waiting: the next is refused as busy.
  // `a` holds the engine at its first token until released, so the slot stays taken.
  std::atomic<bool> started{false}, release{false};
  auto a = engine.submit({.prompt = {1}, .options = {.max_tokens = 100000, .stop_at_eos = false},
                          .on_token = [&](int32_t, auto) {
                            started = true;
                            while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                            return true;
                          }});
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto b = engine.submit({.prompt = {1}, .options = {.max_tokens = 1}});
  CHECK(slim::test::error_of([&] { engine.submit({.prompt = {1}}); }).first == ErrorCode::busy);
  a.cancel();
  release = true;
  CHECK(b.wait().tokens.size() == 1);
  // A callback that throws ends its own request with that error, and nothing else.
  auto thrower = engine.submit({.prompt = {1}, .options = {.max_tokens = 5}, .on_token = [](int32_t, auto) -> bool {
                                  throw slim::Error(ErrorCode::invalid_argument, "from the callback");
                                }});
  CHECK(slim::test::error_of([&] { thrower.wait(); }).second == "from the callback");
  CHECK(engine.submit({.prompt = {1}, .options = {.max_tokens = 2}}).wait().tokens.size() == 2);
}

TEST_CASE("engines on one model from many threads", "[engine][concurrency]") {
  auto model = load("stories260K", 2);
  slim::Engine engine(model, {.slots = 4, .context = 128});
  const auto want = alone(model, {1, 20, 30}, {.max_tokens = 12}, 128).tokens;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        if (engine.submit({.prompt = {1, 20, 30}, .options = {.max_tokens = 12}}).wait().tokens != want) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
}

// Sliding-window attention well past the window: token-by-token decode (ring-buffer KV cache),
// one prefill, and odd-sized chunks must agree with each other and with a naive, cache-free
// reference that applies the mask explicitly; the local layers' cache stays at the window size.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "fixture_check.hpp"
#include "kernels/convert.hpp"
#include "kernels/kernels.hpp"
#include "model/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "naive_reference.hpp"
#include "slim/slim.hpp"
#include "test_support.hpp"

namespace {

using slim::test::Matrix;
using slim::test::NaiveReference;

std::vector<int32_t> random_tokens(size_t n, int64_t vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, int32_t(vocab - 1));
  std::vector<int32_t> t(n);
  for (auto& x : t) x = dist(rng);
  return t;
}

double max_diff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::abs(a[i] - b[i])));
  return worst;
}

double max_diff(std::span<const float> a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  return worst;
}

// Decodes `tokens` one at a time (the ring buffers wrap around many times), then checks every
// step against one prefill, against prefills in odd-sized chunks, and against the naive reference;
// all with a KV cache of kv_type. Returns the decoded logits.
std::vector<float> check_long_sequence(const std::shared_ptr<const slim::Model>& model, const std::vector<int32_t>& tokens,
                                       int64_t context, slim::DType kv_type = slim::DType::f32) {
  const auto vocab = size_t(model->info().vocab_size);
  const size_t n = tokens.size();

  slim::Session stepwise(model, context, kv_type);
  std::vector<float> steps;
  for (int32_t t : tokens) {
    auto out = stepwise.decode(t);
    steps.insert(steps.end(), out.begin(), out.end());
  }
  auto step = [&](size_t p) { return std::span<const float>(steps).subspan(p * vocab, vocab); };

  slim::Session whole(model, context, kv_type);
  auto all = whole.prefill(tokens, true);
  double worst = 0;
  for (size_t p = 0; p < n; ++p) worst = std::max(worst, max_diff(step(p), all.subspan(p * vocab, vocab)));
  CHECK(worst <= 1e-5);

  // Chunks longer and shorter than the window, starting at any offset in the ring.
  slim::Session chunked(model, context, kv_type);
  size_t done = 0;
  worst = 0;
  for (size_t size : {3, 9, 1, 17, 8, 2, 30, 5, 100}) {
    size = std::min(size, n - done);
    if (size == 0) break;
    auto out = chunked.prefill(std::span<const int32_t>(tokens).subspan(done, size), true);
    for (size_t i = 0; i < size; ++i) worst = std::max(worst, max_diff(step(done + i), out.subspan(i * vocab, vocab)));
    done += size;
  }
  CHECK(done == n);
  CHECK(worst <= 1e-5);

  const Matrix want = NaiveReference(*model, kv_type).logits(tokens);
  worst = 0;
  for (size_t p = 0; p < n; ++p) worst = std::max(worst, max_diff(step(p), want[p]));
  // f16: a key slim computes in f32 and the reference in double can round to neighbouring halves
  // (one f16 step, 5e-4 relative, where the value sits near a midpoint), hence the looser bound.
  CHECK(worst < (kv_type == slim::DType::f16 ? 1e-3 : 1e-4));
  return steps;
}

}  // namespace

TEST_CASE("Gemma 2 sliding window: decode far past the window matches full recomputation", "[sliding]") {
  const auto dir = slim::test::shared_dir() / "fixtures" / "models" / "gemma2";
  auto model = slim::Model::load(dir, {.threads = 2});
  const slim::ModelConfig& c = model->impl().config;
  REQUIRE(c.traits.sliding_window == 8);
  REQUIRE(c.is_local_layer(0));
  REQUIRE_FALSE(c.is_local_layer(1));
  REQUIRE(c.is_local_layer(2));

  // The fixture's own prompt and continuation (40 positions, 5 windows) are checked against
  // transformers in test_model_families; here 72 random tokens, 9 windows.
  check_long_sequence(model, random_tokens(72, model->info().vocab_size, 7), 80);
}

TEST_CASE("Gemma 2 local layers keep only the window in the KV cache", "[sliding]") {
  const auto dir = slim::test::shared_dir() / "fixtures" / "models" / "gemma2";
  auto model = slim::Model::load(dir, {.threads = 1});
  const slim::ModelConfig& c = model->impl().config;
  CHECK(model->info().sliding_window == 8);
  const uint64_t per_position = 2 * sizeof(float) * uint64_t(c.num_kv_heads * c.head_dim);  // k and v
  for (int64_t context : {4, 8, 64, 256}) {
    INFO("context " << context);
    CHECK(slim::kv_layer_capacity(c, 0, context) == std::min<int64_t>(context, 8));
    CHECK(slim::kv_layer_capacity(c, 1, context) == context);
    CHECK(slim::kv_layer_capacity(c, 2, context) == std::min<int64_t>(context, 8));
    const uint64_t want = per_position * uint64_t(context + 2 * std::min<int64_t>(context, 8));
    CHECK(model->kv_cache_bytes(context) == want);
    slim::Session session(model, context);
    CHECK(session.kv_cache_bytes() == want);
  }
  CHECK(model->kv_cache_bytes(0) == model->kv_cache_bytes(256));  // the default context: max 256
  CHECK_THROWS_AS(model->kv_cache_bytes(257), slim::Error);
  CHECK_THROWS_AS(model->kv_cache_bytes(-1), slim::Error);
}

TEST_CASE("Gemma 3: five local layers on their own RoPE, decoded far past the window", "[sliding]") {
  const auto dir = slim::test::shared_dir() / "fixtures" / "models" / "gemma3";
  auto model = slim::Model::load(dir, {.threads = 2});
  const slim::ModelConfig& c = model->impl().config;
  REQUIRE(c.traits.sliding_window == 8);
  for (int64_t l = 0; l < 5; ++l) REQUIRE(c.is_local_layer(l));
  REQUIRE_FALSE(c.is_local_layer(5));
  REQUIRE(c.traits.local_rope_theta == 10000.0);
  check_long_sequence(model, random_tokens(72, model->info().vocab_size, 11), 80);

  // The KV cache: window-sized rings for the five local layers, the context for the global one.
  const uint64_t per_position = 2 * sizeof(float) * uint64_t(c.num_kv_heads * c.head_dim);
  for (int64_t context : {4, 64, 256}) {
    INFO("context " << context);
    const uint64_t want = per_position * uint64_t(context + 5 * std::min<int64_t>(context, 8));
    CHECK(model->kv_cache_bytes(context) == want);
    CHECK(slim::Session(model, context).kv_cache_bytes() == want);
  }
}

TEST_CASE("SmolLM3 (a layer without RoPE) and Qwen3 (q/k norms) agree with the naive reference", "[sliding]") {
  for (const char* name : {"smollm3", "qwen3"}) {
    SECTION(name) {
      auto model = slim::Model::load(slim::test::shared_dir() / "fixtures" / "models" / name, {.threads = 2});
      check_long_sequence(model, random_tokens(40, model->info().vocab_size, 5), 48);
    }
  }
}

TEST_CASE("truncating a sliding-window session only where the ring buffers still hold the past", "[sliding]") {
  const auto dir = slim::test::shared_dir() / "fixtures" / "models" / "gemma2";
  auto model = slim::Model::load(dir, {.threads = 1});
  const auto tokens = random_tokens(20, model->info().vocab_size, 3);
  const auto vocab = size_t(model->info().vocab_size);

  slim::Session reference(model, 32);
  auto want = reference.prefill(tokens, true);
  const std::vector<float> all(want.begin(), want.end());

  slim::Session s(model, 32);
  // Within the window nothing is overwritten yet: going back and taking another path works.
  s.prefill(std::span<const int32_t>(tokens).first(6));
  s.truncate(3);
  s.prefill(std::vector<int32_t>{5, 6});
  s.truncate(3);
  auto out = s.prefill(std::span<const int32_t>(tokens).subspan(3, 13), true);
  CHECK(max_diff(out.subspan(12 * vocab, vocab), std::span<const float>(all).subspan(15 * vocab, vocab)) <= 1e-5);

  // Past the window, the positions before it are gone.
  CHECK(s.position() == 16);
  try {
    s.truncate(10);
    FAIL("expected an error");
  } catch (const slim::Error& e) {
    CHECK(e.code() == slim::ErrorCode::invalid_argument);
  }
  CHECK(s.position() == 16);
  s.truncate(16);
  out = s.prefill(std::span<const int32_t>(tokens).subspan(16), true);
  CHECK(max_diff(out.subspan(3 * vocab, vocab), std::span<const float>(all).subspan(19 * vocab, vocab)) <= 1e-5);
  s.reset();
  out = s.prefill(tokens, true);
  CHECK(max_diff(out, all) <= 1e-5);
}

TEST_CASE("Mistral-style sliding window on every layer (Phi-3 with sliding_window 5)", "[sliding]") {
  // The phi3 fixture's weights under a config.json that sets sliding_window: every layer local.
  const auto src = std::filesystem::absolute(slim::test::shared_dir() / "fixtures" / "models" / "phi3");
  const auto dir = std::filesystem::temp_directory_path() / ("slim-phi3-window-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto config = slim::test::read_json(src / "config.json");
  config["sliding_window"] = 5;
  std::ofstream(dir / "config.json") << config.dump();
  std::filesystem::remove(dir / "model.safetensors");
  std::filesystem::create_symlink(src / "model.safetensors", dir / "model.safetensors");

  auto model = slim::Model::load(dir, {.threads = 2});
  const slim::ModelConfig& c = model->impl().config;
  CHECK(c.is_local_layer(0));
  CHECK(c.is_local_layer(1));
  CHECK(model->kv_cache_bytes(100) == 2 * sizeof(float) * uint64_t(c.num_kv_heads * c.head_dim) * 5 * 2);
  check_long_sequence(model, random_tokens(40, model->info().vocab_size, 11), 64);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a decoded token's attention split over a thread team gives the same logits on 1, 2 and 3 threads",
          "[sliding][threads]") {
  // Heads wide enough that one decoded token's attention gets a thread team (from position 64 on)
  // and its positions are cut into several value blocks (64 positions at head_dim 64); a local
  // layer (window 100, which wraps) and a global one.
  slim::test::TempDir tmp;
  {
    std::ofstream out(tmp.path / "config.json");
    out << R"({"architectures": ["Gemma2ForCausalLM"], "attn_logit_softcapping": 5.0,
      "final_logit_softcapping": 2.0, "head_dim": 64, "hidden_activation": "gelu_pytorch_tanh",
      "hidden_size": 128, "intermediate_size": 256, "max_position_embeddings": 512, "num_attention_heads": 8,
      "num_hidden_layers": 2, "num_key_value_heads": 2, "query_pre_attn_scalar": 64, "rms_norm_eps": 1e-06,
      "rope_theta": 10000.0, "sliding_window": 100, "vocab_size": 256})";
  }
  auto model = slim::Model::random(tmp.path / "config.json", {.threads = 2}, 11);
  REQUIRE(model->impl().config.is_local_layer(0));
  const std::vector<int32_t> tokens = random_tokens(175, model->info().vocab_size, 5);  // 3 value blocks
  std::vector<float> steps[3];
  for (int threads : {1, 2, 3}) {
    slim::Session s(model, 300);
    s.set_threads(threads);
    for (int32_t t : tokens) {
      auto out = s.decode(t);
      steps[threads - 1].insert(steps[threads - 1].end(), out.begin(), out.end());
    }
  }
  CHECK(steps[0] == steps[1]);
  CHECK(steps[0] == steps[2]);
  // And right: against one prefill, chunks and the naive reference (decoding on 2 threads).
  check_long_sequence(model, tokens, 300);
}

TEST_CASE("an f16 KV cache: decode, prefill and chunks agree, and match the reference on f16 keys and values",
          "[sliding][kv_f16]") {
  // Local rings (Gemma 2 and 3), q/k norms (Qwen3), plain Llama; within 1e-3 of the reference that
  // rounds its keys and values to f16 (see check_long_sequence). Against the f32 cache the logits move by f16's
  // rounding (printed, and bounded loosely: the keys and values carry 11 significant bits).
  for (const char* name : {"gemma2", "gemma3", "qwen3", "llama"}) {
    SECTION(name) {
      auto model = slim::Model::load(slim::test::shared_dir() / "fixtures" / "models" / name, {.threads = 2});
      const auto tokens = random_tokens(40, model->info().vocab_size, 9);
      const auto f16 = check_long_sequence(model, tokens, 48, slim::DType::f16);
      slim::Session f32(model, 48);
      const auto all = f32.prefill(tokens, true);
      const double moved = max_diff(f16, all);
      std::printf("%-8s f16 KV cache: max |logit - f32 cache's| = %.3g\n", name, moved);
      CHECK(moved > 0);  // it is an f16 cache
      CHECK(moved < 2e-2);
      CHECK(slim::Session(model, 48, slim::DType::f16).kv_cache_bytes() * 2 == f32.kv_cache_bytes());
    }
  }
}

TEST_CASE("an f16 KV cache keeps values beyond f16's range finite, and other types are refused", "[kv_f16]") {
  CHECK(slim::kernels::f16_to_f32(slim::round_kv_f16(1e6f)) == 65504.0f);
  CHECK(slim::kernels::f16_to_f32(slim::round_kv_f16(-1e30f)) == -65504.0f);
  CHECK(std::isnan(slim::kernels::f16_to_f32(slim::round_kv_f16(NAN))));
  CHECK(slim::kernels::f16_to_f32(slim::round_kv_f16(0.1f)) == slim::kernels::f16_to_f32(slim::kernels::f32_to_f16(0.1f)));
  auto model = slim::Model::load(slim::test::shared_dir() / "fixtures" / "models" / "llama", {.threads = 1});
  for (slim::DType bad : {slim::DType::bf16, slim::DType::q8_0}) {
    CHECK_THROWS_AS(slim::Session(model, 16, bad), slim::Error);
    CHECK_THROWS_AS(model->kv_cache_bytes(16, bad), slim::Error);
  }
  CHECK(model->kv_cache_bytes(16, slim::DType::f16) * 2 == model->kv_cache_bytes(16));
}

// Saving and restoring a session continues exactly where it was; damaged or foreign states are
// rejected and leave the session unchanged.
#include <catch2/catch.hpp>

#include <filesystem>

#include "slim/slim.hpp"
#include "test_support.hpp"

namespace {

std::shared_ptr<const slim::Model> fixture(const char* name) {
  return slim::Model::load(slim::test::shared_dir() / "fixtures" / "models" / name, {.threads = 1});
}

std::vector<int32_t> tokens(int n, int seed) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((seed * 31 + i * 17) % 250 + 3);
  return t;
}

std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

void expect_error(slim::Session& s, const std::vector<uint8_t>& bytes, slim::ErrorCode code) {
  const int64_t before = s.position();
  const auto logits = copy(s.logits());
  try {
    s.restore_state(bytes);
    FAIL("state accepted");
  } catch (const slim::Error& e) {
    INFO(e.what());
    CHECK(e.code() == code);
  }
  CHECK(s.position() == before);
  CHECK(copy(s.logits()) == logits);
}

}  // namespace

TEST_CASE("a restored session continues bit for bit", "[state]") {
  // gemma2, gemma3: wrapped sliding-window rings (gemma3's with their own RoPE); phi4mini: partial
  // rotary and longrope.
  for (const char* name : {"llama", "gemma2", "qwen2moe", "qwen3", "qwen3moe", "gemma3", "smollm3", "phi4mini"}) {
    INFO(name);
    auto model = fixture(name);
    slim::Session a(model, 64);
    a.prefill(tokens(20, 1));
    const auto state = a.save_state();

    slim::Session b(model, 64);
    b.restore_state(state);
    CHECK(b.position() == 20);
    CHECK(copy(b.logits()) == copy(a.logits()));
    for (int32_t t : tokens(10, 2)) CHECK(copy(b.decode(t)) == copy(a.decode(t)));
  }
}

TEST_CASE("an f16 KV cache's state restores bit for bit, in the same format", "[state][kv_f16]") {
  for (const char* name : {"llama", "gemma3"}) {
    INFO(name);
    auto model = fixture(name);
    slim::Session a(model, 64, slim::DType::f16);
    a.prefill(tokens(20, 1));
    const auto state = a.save_state();

    slim::Session b(model, 64, slim::DType::f16);
    b.restore_state(state);
    CHECK(b.kv_type() == slim::DType::f16);
    CHECK(copy(b.logits()) == copy(a.logits()));
    for (int32_t t : tokens(10, 2)) CHECK(copy(b.decode(t)) == copy(a.decode(t)));

    // The same bytes as an f32 cache's state (values stored as f32): an f32 session takes them and
    // continues from the f16 cache's keys and values, which are exact in f32.
    slim::Session c(model, 64);
    c.restore_state(state);
    CHECK(c.position() == 20);
    CHECK(copy(c.logits()) == copy(slim::Session(model, 64, slim::DType::f16).prefill(tokens(20, 1))));
  }
}

TEST_CASE("a state round-trips through a file and into a larger context", "[state]") {
  auto model = fixture("llama");
  slim::Session a(model, 32);
  a.prefill(tokens(12, 3));
  const auto path = std::filesystem::temp_directory_path() / "slim-test-state.bin";
  a.save_state(path);
  slim::Session b(model, 128);
  b.restore_state(path);
  std::filesystem::remove(path);
  CHECK(copy(b.decode(7)) == copy(a.decode(7)));
}

TEST_CASE("damaged and foreign states are rejected", "[state]") {
  auto model = fixture("llama");
  slim::Session a(model, 32);
  a.prefill(tokens(12, 4));
  const auto good = a.save_state();

  slim::Session s(model, 32);
  s.prefill(tokens(3, 5));
  expect_error(s, {}, slim::ErrorCode::invalid_format);
  expect_error(s, std::vector<uint8_t>(good.begin(), good.begin() + 100), slim::ErrorCode::invalid_format);
  auto flipped = good;
  flipped[flipped.size() / 2] ^= 1;
  expect_error(s, flipped, slim::ErrorCode::invalid_format);

  slim::Session small(model, 8);  // 12 positions do not fit
  expect_error(small, good, slim::ErrorCode::invalid_argument);

  slim::Session other(fixture("qwen2"), 32);
  expect_error(other, good, slim::ErrorCode::invalid_argument);

  CHECK_THROWS_AS(s.restore_state(std::filesystem::path("/nonexistent/state.bin")), slim::Error);
}

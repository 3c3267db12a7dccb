// Many sessions on one model from many threads give the results of the same work done alone; models
// can be loaded and dropped while others run. Run under ThreadSanitizer in CI.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include "slim/slim.hpp"
#include "test_support.hpp"

namespace {

std::vector<int32_t> greedy(const std::shared_ptr<const slim::Model>& model, std::vector<int32_t> prompt, int n) {
  slim::Session s(model, 64);
  auto logits = s.prefill(prompt);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
    if (i + 1 < n) logits = s.decode(out.back());
  }
  return out;
}

std::vector<int32_t> prompt_for(int i) { return {1, 300 + i % 50, 400 + (i * 7) % 60}; }

}  // namespace

TEST_CASE("8 threads x 100 generations equal the single-thread results", "[concurrency]") {
  auto model = slim::Model::load(slim::test::shared_dir() / "models" / "stories260K", {.threads = 1});
  constexpr int kPrompts = 16, kThreads = 8, kPerThread = 100, kTokens = 8;
  std::vector<std::vector<int32_t>> expected;
  for (int i = 0; i < kPrompts; ++i) expected.push_back(greedy(model, prompt_for(i), kTokens));

  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int g = 0; g < kPerThread; ++g) {
        const int i = (t * kPerThread + g) % kPrompts;
        if (greedy(model, prompt_for(i), kTokens) != expected[static_cast<size_t>(i)]) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
}

TEST_CASE("models load and unload while others generate", "[concurrency]") {
  const auto dir = slim::test::shared_dir() / "models" / "stories260K";
  auto model = slim::Model::load(dir, {.threads = 1});
  const auto expected = greedy(model, prompt_for(0), 8);
  std::atomic<bool> stop{false};
  std::atomic<int> mismatches{0}, loads{0};
  std::thread loader([&] {
    const auto fixture = slim::test::shared_dir() / "fixtures" / "models" / "qwen2";
    while (!stop) {
      auto other = slim::Model::load(loads % 2 ? dir : fixture, {.threads = 1});
      slim::Session s(other, 16);
      s.prefill(std::vector<int32_t>{1, 2, 3});
      ++loads;
    }
  });
  for (int i = 0; i < 200; ++i) {
    if (greedy(model, prompt_for(0), 8) != expected) ++mismatches;
  }
  stop = true;
  loader.join();
  CHECK(mismatches == 0);
  CHECK(loads > 0);
}

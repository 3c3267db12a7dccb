// Tokenizer speed: load time of tokenizer.json (+ tokenizer_config.json), encode throughput on
// the long prose case (~100 KB) of the fixtures, one thread: BM_Encode with the tokenizer's word
// cache warm (steady state), BM_EncodeCold for the first call after loading; decode throughput.
// Run: build/benchmarks/bench_tokenizer   (finds ../shared through SLIM_SHARED_DIR, else beside
// the source tree)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "slim/tokenizer.hpp"

namespace {

std::filesystem::path fixture_dir(const std::string& name) {
  const char* env = std::getenv("SLIM_SHARED_DIR");
  const std::filesystem::path shared =
      env && *env ? std::filesystem::path(env)
                  : std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "shared";
  const auto dir = shared / "fixtures" / "tokenizers" / name;
  if (!std::filesystem::is_directory(dir)) {
    throw std::runtime_error("no tokenizer fixture at " + dir.string() + " (set SLIM_SHARED_DIR)");
  }
  return dir;
}

std::string long_case(const std::string& name) {
  std::ifstream in(fixture_dir(name) / "cases.json");
  const nlohmann::json cases = nlohmann::json::parse(in)["cases"];
  for (const auto& c : cases) {
    if (c["kind"] == "long") return c["text"];
  }
  throw std::runtime_error(name + ": no long case");
}

void BM_Load(benchmark::State& state, const std::string& name) {
  const auto dir = fixture_dir(name);
  for (auto _ : state) {
    slim::Tokenizer t = slim::Tokenizer::load(dir);
    benchmark::DoNotOptimize(t);
  }
  state.counters["MB"] = static_cast<double>(std::filesystem::file_size(dir / "tokenizer.json")) / 1e6;
}

void BM_Encode(benchmark::State& state, const std::string& name) {
  const slim::Tokenizer t = slim::Tokenizer::load(fixture_dir(name));
  const std::string text = long_case(name);
  size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = t.encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}

// The first encode() after loading: every word goes through BPE (the word cache is empty).
void BM_EncodeCold(benchmark::State& state, const std::string& name) {
  const std::string text = long_case(name);
  const auto dir = fixture_dir(name);
  for (auto _ : state) {
    state.PauseTiming();
    std::optional<slim::Tokenizer> t(slim::Tokenizer::load(dir));
    state.ResumeTiming();
    const auto ids = t->encode(text);
    benchmark::DoNotOptimize(ids.data());
    state.PauseTiming();
    t.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_Decode(benchmark::State& state, const std::string& name) {
  const slim::Tokenizer t = slim::Tokenizer::load(fixture_dir(name));
  const auto ids = t.encode(long_case(name));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = t.decode(ids);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

}  // namespace

#define SLIM_TOKENIZER_BENCH(name)                                                         \
  BENCHMARK_CAPTURE(BM_Load, name, #name)->Unit(benchmark::kMillisecond)->MinTime(1.0);   \
  BENCHMARK_CAPTURE(BM_Encode, name, #name)->Unit(benchmark::kMillisecond);                \
  BENCHMARK_CAPTURE(BM_EncodeCold, name, #name)->Unit(benchmark::kMillisecond)->Iterations(5); \
  BENCHMARK_CAPTURE(BM_Decode, name, #name)->Unit(benchmark::kMillisecond);

SLIM_TOKENIZER_BENCH(llama3)
SLIM_TOKENIZER_BENCH(qwen2_5)
SLIM_TOKENIZER_BENCH(gemma2)
SLIM_TOKENIZER_BENCH(gemma3)
SLIM_TOKENIZER_BENCH(mistral)

// Token mask time of constrained generation (slim::TokenMatcher) on the Llama 3, Qwen2.5 and
// Gemma 2 vocabularies: for each schema, 20 seeded random walks through the masks (a fresh
// matcher each, as each generation has, on the vocabulary shared as the Engine shares it); every
// mask() call is timed. Counters: median and p99 µs per mask; preprocessing in ms: alone_ms a
// matcher that builds its own vocabulary (generate() without an Engine, and every request before
// the vocabulary was shared), vocab_ms the shared TokenVocabulary (once per tokenizer), prep_ms a
// matcher on it (the per-request work now).
//   SLIM_SHARED_DIR=../shared build/benchmarks/bench_grammar
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "slim/grammar.hpp"
#include "slim/tokenizer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::filesystem::path shared() {
  const char* d = std::getenv("SLIM_SHARED_DIR");
  return d ? d : "../shared";
}

const char* kSchemas[] = {
    R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 150}}, "required": ["name", "age"]})",
    R"({"type": "array", "items": {"type": "object", "properties": {"owner": {"type": "string"}, "task": {"type": "string"}, "due": {"type": "string", "format": "date"}}, "required": ["owner", "task", "due"]}, "maxItems": 5})",
    R"({"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}}, "score": {"type": "number"}}, "required": ["id", "tags", "score"]})",
    R"({"type": "object", "additionalProperties": {"type": "integer"}, "maxProperties": 6})",
    R"({"$defs": {"n": {"type": "object", "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/n"}, "maxItems": 2}}, "required": ["v"]}}, "$ref": "#/$defs/n"})",
};

void BM_mask(benchmark::State& state, const char* folder) {
  const auto tok = slim::Tokenizer::load(shared() / "fixtures" / "tokenizers" / folder);
  const auto schema = kSchemas[state.range(0)];
  const auto grammar = slim::Grammar::from_json_schema(schema);
  const int32_t eos = tok.eos_id().value_or(0);
  std::vector<double> us, prep_ms, alone_ms, vocab_ms;
  const auto ms_since = [](Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); };
  for (int i = 0; i < 3; ++i) {  // interleaved: alone, then the shared vocabulary
    auto t0 = Clock::now();
    { slim::TokenMatcher alone(grammar, tok, {eos}); }
    alone_ms.push_back(ms_since(t0));
    t0 = Clock::now();
    { slim::TokenVocabulary v(tok); }
    vocab_ms.push_back(ms_since(t0));
  }
  const slim::TokenVocabulary vocabulary(tok);
  for (auto _ : state) {
    for (int walk = 0; walk < 20; ++walk) {
      const auto t0 = Clock::now();
      slim::TokenMatcher tm(grammar, vocabulary, {eos});
      prep_ms.push_back(ms_since(t0));
      std::mt19937 rng(static_cast<uint32_t>(walk));
      std::vector<int32_t> allowed;
      for (int step = 0; step < 200; ++step) {
        const auto t = Clock::now();
        const auto mask = tm.mask();
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
        allowed.clear();
        for (size_t w = 0; w < mask.size(); ++w) {
          for (uint64_t b = mask[w]; b; b &= b - 1) allowed.push_back(static_cast<int32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(b))));
        }
        if (allowed.empty()) state.SkipWithError("dead end");
        if (allowed.empty() || (step > 60 && tm.is_complete())) break;
        const int32_t pick = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
        if (pick == eos) break;
        tm.accept_token(pick);
      }
    }
  }
  std::sort(us.begin(), us.end());
  for (auto* v : {&prep_ms, &alone_ms, &vocab_ms}) std::sort(v->begin(), v->end());
  state.counters["median_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[us.size() * 99 / 100];
  state.counters["masks"] = static_cast<double>(us.size());
  state.counters["prep_ms"] = prep_ms[prep_ms.size() / 2];
  state.counters["alone_ms"] = alone_ms[alone_ms.size() / 2];
  state.counters["vocab_ms"] = vocab_ms[vocab_ms.size() / 2];
}

}  // namespace

BENCHMARK_CAPTURE(BM_mask, llama3, "llama3")->DenseRange(0, 4)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_mask, qwen2_5, "qwen2_5")->DenseRange(0, 4)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_mask, gemma2, "gemma2")->DenseRange(0, 4)->Iterations(1)->Unit(benchmark::kMillisecond);

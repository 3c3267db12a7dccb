// Constrained generation over the schema corpus (tests/data/schema_corpus.json) for the schema
// corpus test (tests/http/schema_corpus.mjs validates every output with ajv): stories260K and
// random-weight models carrying the Qwen2.5 and Llama 3 tokenizers, greedy and sampled seeds.
// Prints one JSON line a generation: {"model", "schema" (its index), "seed", "text", "stop"}.
// Usage: schema_corpus_generate CORPUS SEEDS_SMALL SEEDS_LARGE  (SLIM_SHARED_DIR as the tests)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "slim/slim.hpp"
#include "tiny_models.hpp"

namespace {

const char* stop_name(slim::StopReason r) {
  switch (r) {
    case slim::StopReason::eos: return "eos";
    case slim::StopReason::grammar: return "grammar";
    case slim::StopReason::max_tokens: return "max_tokens";
    case slim::StopReason::context_full: return "context_full";
    default: return "other";
  }
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 4) {
    std::cerr << "usage: schema_corpus_generate CORPUS SEEDS_SMALL SEEDS_LARGE\n";
    return 2;
  }
  const auto corpus = nlohmann::json::parse(std::ifstream(argv[1]));
  const int seeds_small = std::stoi(argv[2]), seeds_large = std::stoi(argv[3]);
  std::vector<slim::Grammar> grammars;
  for (const auto& c : corpus) grammars.push_back(slim::Grammar::from_json_schema(c["schema"].dump()));
  slim::test::TempDir tmp;
  const std::vector<std::pair<std::string, std::filesystem::path>> models = {
      {"stories260K", slim::test::shared_dir() / "models" / "stories260K"},
      {"qwen2.5-tokenizer", slim::test::make_qwen_tokenizer_model(tmp.path / "qwen")},
      {"llama3-tokenizer", slim::test::make_llama3_tokenizer_model(tmp.path / "llama3")}};
  for (const auto& [name, dir] : models) {
    const auto model = slim::Model::load(dir, {.threads = 1});
    // One engine a model: its slots decode together and its grammar vocabulary is built once.
    slim::Engine engine(model, {.slots = 4, .context = 512, .threads = 1});
    const auto prompt = model->tokenizer().encode("Once upon a time");
    const int seeds = name == "stories260K" ? seeds_small : seeds_large;
    std::vector<std::pair<std::pair<size_t, int>, slim::GenerationHandle>> runs;
    for (size_t i = 0; i < grammars.size(); ++i) {
      for (int seed = 0; seed < seeds; ++seed) {
        slim::GenerateOptions o{.max_tokens = 160, .grammar = grammars[i]};
        if (seed > 0) o.sampler = {.temperature = 1.0f, .top_k = 40, .seed = static_cast<uint64_t>(seed)};
        runs.push_back({{i, seed}, engine.submit({.prompt = prompt, .options = o})});
        if (runs.size() >= 48) {  // within the engine's queue
          for (auto& [key, h] : runs) {
            const auto r = h.wait();
            std::cout << nlohmann::json{{"model", name}, {"schema", key.first}, {"seed", key.second}, {"text", r.text}, {"stop", stop_name(r.stop_reason)}}.dump() << '\n';
          }
          runs.clear();
        }
      }
    }
    for (auto& [key, h] : runs) {
      const auto r = h.wait();
      std::cout << nlohmann::json{{"model", name}, {"schema", key.first}, {"seed", key.second}, {"text", r.text}, {"stop", stop_name(r.stop_reason)}}.dump() << '\n';
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "schema_corpus_generate: " << e.what() << '\n';
  return 1;
}

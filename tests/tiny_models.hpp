// Model folders the tests make at run time: random weights of a tiny shape with a real tokenizer
// from ../shared (copied into a temporary folder, never into the repo).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "slim/model.hpp"
#include "test_support.hpp"

namespace slim::test {

// Random q8_0 weights of `config_json` saved in dir, with the tokenizer of
// ../shared/fixtures/tokenizers/<tokenizer> copied beside them.
inline std::filesystem::path make_tokenizer_model(const std::filesystem::path& dir, const std::string& config_json,
                                                  const char* tokenizer, uint64_t seed) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const fs::path config = dir / "random-config.json";
  std::ofstream(config) << config_json;
  slim::Model::random(config, {.threads = 1, .weights = slim::WeightFormat::q8_0}, seed)->save(dir);
  const fs::path from = shared_dir() / "fixtures" / "tokenizers" / tokenizer;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::copy_file(from / f, dir / f, fs::copy_options::overwrite_existing);
  }
  return dir;
}

// A Qwen2 model of hidden size 64 with Qwen2.5's tokenizer (151,665 tokens, fill-in-the-middle
// tokens among them) and an embedding of 151,936 rows as the real models have: ids past the
// tokenizer's have no token. q8_0 weights keep the folder near 10 MB.
inline std::filesystem::path make_qwen_tokenizer_model(const std::filesystem::path& dir, uint64_t seed = 1) {
  return make_tokenizer_model(dir, R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
    "tie_word_embeddings": true, "vocab_size": 151936, "bos_token_id": null, "eos_token_id": 151645,
    "torch_dtype": "float32"})", "qwen2_5", seed);
}

// A Llama model of hidden size 64 with Llama 3.1's tokenizer (128,256 tokens, <|eot_id|> its
// end of turn), q8_0 as above.
inline std::filesystem::path make_llama3_tokenizer_model(const std::filesystem::path& dir, uint64_t seed = 1) {
  return make_tokenizer_model(dir, R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "tie_word_embeddings": true, "vocab_size": 128256, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    "torch_dtype": "float32"})", "llama3_1", seed);
}

}  // namespace slim::test

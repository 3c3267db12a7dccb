// What a loaded model holds. Immutable after load, so any number of sessions may read it at once.
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/gguf.hpp"
#include "io/safetensors.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"
#include "slim/chat_template.hpp"
#include "slim/model.hpp"
#include "slim/tokenizer.hpp"

namespace slim {

struct Model::Impl {
  std::filesystem::path dir;  // the folder or GGUF file loaded; empty for Model::random
  std::string config_json;    // the text of config.json (made from a GGUF's keys), which Model::save writes back
  ModelConfig config;
  ModelInfo info;
  io::WeightFiles files;  // keeps the mappings that weight views point into alive
  std::optional<io::GgufFile> gguf;  // a model loaded from a GGUF file: the file (dir is its path)
  Weights weights;
  std::vector<io::NamedTensor> saved;  // every tensor under its file name, as Model::save writes it
  std::vector<float> rope_inv_freq;       // longrope: with the short factors
  std::vector<float> rope_inv_freq_long;  // longrope's long factors (empty otherwise)
  std::vector<float> rope_inv_freq_local;  // Gemma 3's local layers (empty: they use rope_inv_freq)
  float rope_attention_factor = 1.0f;
  int threads = 1;
  LogCallback log;
  Limits limits;  // LoadOptions::limits: the tokenizer, chat template and sessions are held to them

  // Text side, loaded on first use (model_text.cpp); call_once makes that safe from any thread.
  mutable std::once_flag tokenizer_once, chat_template_once;
  mutable std::optional<Tokenizer> tokenizer;
  mutable std::optional<ChatTemplate> chat_template;
};

// A GGUF model saved as a folder: its tokenizer.ggml.* keys as tokenizer.json, and
// tokenizer_config.json with the special tokens and the chat template the model renders with
// (model_text.cpp). Nothing for a model without a vocabulary.
void save_gguf_tokenizer(const Model& model, const std::filesystem::path& dir);

// The context length a Session(model, context_length) gets: 0 = min(max_context, 4096). Throws
// slim::Error(invalid_argument) for a negative length or one beyond max_position_embeddings.
int64_t resolve_context_length(const Model& model, int64_t context_length);

// Throws slim::Error(limit_exceeded) when a KV cache of `bytes` is more than the model's
// Limits::max_kv_cache_bytes allows (by default: more than the memory available now).
void check_kv_cache_memory(const Model& model, int64_t context_length, uint64_t bytes);

// Throws slim::Error(invalid_argument) for a token id outside the model's vocabulary.
void check_token_ids(const Model& model, std::span<const int32_t> tokens);

}  // namespace slim

// What a loaded model holds. Immutable after load, so any number of sessions may read it at once.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"
#include "slim/model.hpp"

namespace slim {

struct Model::Impl {
  std::filesystem::path dir;  // empty for Model::random
  std::string config_json;    // the text of config.json, which Model::save writes back
  ModelConfig config;
  ModelInfo info;
  io::WeightFiles files;  // keeps the mappings that weight views point into alive
  Weights weights;
  std::vector<io::NamedTensor> saved;  // every tensor under its file name, as Model::save writes it
  std::vector<float> rope_inv_freq;       // longrope: with the short factors
  std::vector<float> rope_inv_freq_long;  // longrope's long factors (empty otherwise)
  float rope_attention_factor = 1.0f;
  int threads = 1;
};

// The context length a Session(model, context_length) gets: 0 = min(max_context, 4096). Throws
// slim::Error(invalid_argument) for a negative length or one beyond max_position_embeddings.
int64_t resolve_context_length(const Model& model, int64_t context_length);

}  // namespace slim

// What a loaded model holds. Immutable after load, so any number of sessions may read it at once.
#pragma once

#include <filesystem>
#include <vector>

#include "io/safetensors.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"
#include "slim/model.hpp"

namespace slim {

struct Model::Impl {
  std::filesystem::path dir;
  ModelConfig config;
  ModelInfo info;
  io::WeightFiles files;  // keeps the mappings that weight views point into alive
  Weights weights;
  std::vector<float> rope_inv_freq;
  int threads = 1;
};

}  // namespace slim

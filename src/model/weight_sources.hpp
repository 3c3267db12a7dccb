// The two places weights come from: a model's files (a folder's safetensors, or a GGUF file) (converted or quantized to
// LoadOptions.weights on the way, on several threads) and seeded random values (Model::random).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "io/safetensors.hpp"
#include "model/config.hpp"
#include "model/weight_mix.hpp"
#include "model/weights.hpp"
#include "slim/model.hpp"

namespace slim {

// Bytes of the matrices of `config` with every matrix made from `stored` under `format` (a mix
// counted as its base type: Q4_K_M's q6_k matrices add about a tenth).
uint64_t matrix_bytes(const ModelConfig& config, WeightFormat format, DType stored);

// Throws slim::Error(limit_exceeded) when `bytes` of weights would not fit in this machine's
// physical memory; `what` names the model in the message.
void check_fits_in_memory(uint64_t bytes, const std::string& what);

// Reports progress over the elements of a model's matrices.
class Progress {
 public:
  Progress(std::function<void(float)> callback, uint64_t total_elements)
      : callback_(std::move(callback)), total_(total_elements) {}
  // Only from the loading thread.
  void advance(uint64_t elements);
  uint64_t done() const { return done_; }
  void finish() const {
    if (callback_) callback_(1.0f);
  }

 private:
  std::function<void(float)> callback_;
  uint64_t total_, done_ = 0;
};

// A stored tensor by its Hugging Face name (a view of a mapping, or an owned copy); throws
// slim::Error(missing_tensor) naming it when absent.
using TensorLookup = std::function<Tensor(const std::string& name)>;

// Tensors by name (a folder's safetensors, or a GGUF file), converted as `plan` says.
std::unique_ptr<TensorSource> file_source(TensorLookup lookup, WeightPlan plan, int threads, Progress& progress);
std::unique_ptr<TensorSource> random_source(const ModelConfig& config, WeightPlan plan, int threads, uint64_t seed,
                                            Progress& progress);

}  // namespace slim

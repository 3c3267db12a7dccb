// The dtype each weight matrix gets at load: one type for every matrix (LoadOptions.weights), or
// llama-quantize's Q4_K_M / Q5_K_M mixes, which give some matrices more bits by their role and layer.
#pragma once

#include <cstdint>
#include <string>

#include "model/config.hpp"
#include "slim/dtype.hpp"
#include "slim/model.hpp"

namespace slim {

struct WeightPlan {
  WeightFormat format = WeightFormat::as_stored;
  int64_t layers = 0, experts = 0;
  bool tied_head = false;
  // The dtype of matrix `name` (its Hugging Face name) of `cols` columns stored as `stored`.
  DType dtype(const std::string& name, DType stored, int64_t cols) const;
};

WeightPlan weight_plan(WeightFormat format, const ModelConfig& config);

// The dtype a matrix of `cols` columns stored as `stored` gets under a single-type `format` (for
// q4_k_m / q5_k_m: their base type, q4_k / q5_k). A K-quant on rows that are not whole
// super-blocks falls back as llama-quantize does (q4_k to q5_0, q5_k to q5_1, q6_k to q8_0); a row
// that is not whole blocks of 32 either keeps `stored`.
DType target_dtype(WeightFormat format, DType stored, int64_t cols);

}  // namespace slim

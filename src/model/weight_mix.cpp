// Q4_K_M / Q5_K_M as llama.cpp's llama-quantize makes them (src/llama-quant.cpp,
// llama_tensor_get_type, without an importance matrix), on Hugging Face tensor names:
//   the output head (the embedding when the head is tied)   q6_k
//   v_proj, down_proj (experts' and shared experts' too)     q6_k in the layers use_more_bits()
//                                                             picks, the base type elsewhere
//   Phi-3's fused qkv_proj                                   q5_k (Q4_K_M) / q6_k (Q5_K_M)
//   with 8 experts (Mixtral): k_proj and v_proj q8_0, o_proj q5_k (Q4_K_M)
//   MoE routers                                               as stored (llama-quantize leaves ffn_gate_inp)
//   everything else                                          the base type, q4_k / q5_k
// and then the fallback for rows that are not whole super-blocks (target_dtype()).
#include "model/weight_mix.hpp"

#include <cstdlib>

namespace slim {
namespace {

DType format_dtype(WeightFormat format, DType stored) {
  switch (format) {
    case WeightFormat::as_stored: return stored;
    case WeightFormat::f32: return DType::f32;
    case WeightFormat::f16: return DType::f16;
    case WeightFormat::bf16: return DType::bf16;
    case WeightFormat::q8_0: return DType::q8_0;
    case WeightFormat::q4_0: return DType::q4_0;
    case WeightFormat::q4_1: return DType::q4_1;
    case WeightFormat::q5_0: return DType::q5_0;
    case WeightFormat::q5_1: return DType::q5_1;
    case WeightFormat::q4_k:
    case WeightFormat::q4_k_m: return DType::q4_k;
    case WeightFormat::q5_k:
    case WeightFormat::q5_k_m: return DType::q5_k;
    case WeightFormat::q6_k: return DType::q6_k;
  }
  return stored;
}

DType fit_rows(DType want, DType stored, int64_t cols) {
  if (cols % dtype_block_elems(want) != 0) {
    if (want == DType::q4_k) want = DType::q5_0;
    if (want == DType::q5_k) want = DType::q5_1;
    if (want == DType::q6_k) want = DType::q8_0;
  }
  return cols % dtype_block_elems(want) == 0 ? want : stored;
}

// llama-quantize's layers that get more bits: the first and last eighth, and every third between.
bool use_more_bits(int64_t layer, int64_t layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

// The layer of "model.layers.N. ...", or -1.
int64_t layer_of(const std::string& name) {
  constexpr std::string_view kPrefix = "model.layers.";
  if (!name.starts_with(kPrefix)) return -1;
  return std::strtoll(name.c_str() + kPrefix.size(), nullptr, 10);
}

}  // namespace

DType target_dtype(WeightFormat format, DType stored, int64_t cols) {
  if (format == WeightFormat::as_stored) return stored;
  return fit_rows(format_dtype(format, stored), stored, cols);
}

WeightPlan weight_plan(WeightFormat format, const ModelConfig& config) {
  return {format, config.num_layers, config.moe.num_experts, config.tie_word_embeddings};
}

DType WeightPlan::dtype(const std::string& name, DType stored, int64_t cols) const {
  if (format != WeightFormat::q4_k_m && format != WeightFormat::q5_k_m) return target_dtype(format, stored, cols);
  const bool q4 = format == WeightFormat::q4_k_m;
  const DType base = q4 ? DType::q4_k : DType::q5_k;
  const int64_t layer = layer_of(name);
  const bool more_bits = layer >= 0 && use_more_bits(layer, layers);
  DType want = base;
  if (name == "lm_head.weight" || (tied_head && name == "model.embed_tokens.weight")) {
    want = DType::q6_k;
  } else if (name.ends_with(".v_proj.weight")) {
    want = experts == 8 ? DType::q8_0 : more_bits ? DType::q6_k : base;
  } else if (name.ends_with(".k_proj.weight")) {
    want = experts == 8 ? DType::q8_0 : base;
  } else if (name.ends_with(".o_proj.weight")) {
    want = experts == 8 && q4 ? DType::q5_k : base;
  } else if (name.ends_with(".qkv_proj.weight")) {
    want = q4 ? DType::q5_k : DType::q6_k;
  } else if (name.ends_with(".down_proj.weight") || name.ends_with(".w2.weight")) {
    want = more_bits ? DType::q6_k : base;
  } else if (name.ends_with(".mlp.gate.weight") || name.ends_with(".block_sparse_moe.gate.weight")) {
    return stored;
  }
  return fit_rows(want, stored, cols);
}

}  // namespace slim

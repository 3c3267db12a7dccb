// A GGUF model file as slim's loader sees a Hugging Face folder: its `<arch>.*` keys as the
// config.json transformers would have for it, and its tensors under their Hugging Face names
// (token_embd.weight -> model.embed_tokens.weight, blk.N.attn_q.weight ->
// model.layers.N.self_attn.q_proj.weight, ...), so the rest of the loader and the forward pass are
// the same for both. docs/gguf.md lists what maps to what.
#pragma once

#include <string>

#include "io/gguf.hpp"
#include "model/config.hpp"
#include "model/weight_sources.hpp"

namespace slim {

// The config.json text for the file's general.architecture (llama, qwen2, gemma, gemma2, phi3). Throws slim::Error
// naming the key at fault, or (unsupported) the architecture with the list of those slim reads.
std::string gguf_config_json(const io::GgufFile& gguf);

// Looks tensors up by their Hugging Face names. Llama's q/k rows, which llama.cpp's converter
// permutes for GGML's interleaved RoPE, come back in transformers' order (an owned copy); every
// other tensor is a view of the mapping where its type and alignment allow. The file must outlive
// the lookup.
TensorLookup gguf_tensor_lookup(const io::GgufFile& gguf, const ModelConfig& config);

// The GGUF architecture names slim reads.
std::string gguf_architectures();

// Where a Hugging Face tensor lives in a GGUF file: a tensor, or one expert's slice of a stacked
// [experts, rows, cols] one.
struct GgufName {
  std::string name;     // "" when slim has no mapping
  int64_t expert = -1;  // the slice, or -1 for the whole tensor
};

// The GGUF name of a Hugging Face tensor name (model.layers.3.mlp.up_proj.weight ->
// blk.3.ffn_up.weight; model.layers.3.mlp.experts.5.up_proj.weight -> slice 5 of
// blk.3.ffn_up_exps.weight) in a model with or without Gemma 2's four norms a layer.
GgufName gguf_tensor_name(const std::string& hf, bool sandwich_norms);

// llama.cpp's converter stores each head's rows of Llama's q and k (weights and biases: [rows] or
// [rows, cols]) as (pair, half) where transformers has (half, pair): HF row s * head_dim/2 + j is
// GGUF row 2j + s. A copy in GGUF's order (to_gguf) or back in transformers'. Rows are whole
// (blocks never span rows), so this works for every type.
Tensor permute_qk_rows(const Tensor& t, int64_t head_dim, bool to_gguf);

}  // namespace slim

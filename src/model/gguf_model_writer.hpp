// Model::save to a .gguf path: the reverse of gguf_model.cpp, laid out as llama.cpp's
// convert_hf_to_gguf.py writes a model, so that llama.cpp and slim's reader load it. docs/gguf.md
// lists what maps to what.
#pragma once

#include <filesystem>
#include <functional>

#include "slim/model.hpp"

namespace slim {

// general.* and the <arch>.* hyperparameters from the model's config; its tensors under their
// GGUF names in the type they have in memory (Llama's q/k rows permuted for GGML's RoPE, Gemma's
// norms stored + 1, RoPE scaling factors as tensors); the tokenizer.ggml.* keys (a GGUF model's
// copied, a folder's made from tokenizer.json) and tokenizer.chat_template. Throws
// slim::Error(unsupported) naming what GGUF (or slim's reader) cannot hold: the architecture,
// a setting, a tensor; slim::Error(io) naming the file when it cannot be written.
void write_gguf_model(const Model& model, const std::filesystem::path& path, const std::function<void(float)>& progress);

}  // namespace slim

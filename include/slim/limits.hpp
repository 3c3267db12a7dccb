// slim::Limits: bounds that keep a hostile or broken input (model file, tokenizer.json, chat
// template) from exhausting the host's memory or time. Exceeding one throws
// slim::Error(ErrorCode::limit_exceeded) whose message names the field to raise. The defaults sit
// well above every real model (docs/reliability.md lists them with the largest values seen).
#pragma once

#include <cstddef>
#include <cstdint>

namespace slim {

// Resource bounds for one chat-template render, so that a hostile or buggy template cannot run
// away. Exceeding one throws slim::Error(ErrorCode::limit_exceeded, ...). Raise them with
// ChatTemplate::set_limits or Limits::chat_template.
struct ChatTemplateLimits {
  std::size_t max_output_bytes = std::size_t{16} << 20;  // rendered text, and any one string value
  std::size_t max_loop_iterations = 1'000'000;           // {% for %} iterations over the whole render
  std::size_t max_call_depth = 64;                       // nested macro calls (recursion)
  // Macro calls over the whole render: two calls a level make 2^depth calls with no loop at all.
  std::size_t max_macro_calls = 100'000;
  // Bytes of all the strings and lists one render builds or scans (string operations, list
  // copies); bounds the time a template can take, e.g. growing a string one piece at a time.
  std::size_t max_total_bytes = std::size_t{256} << 20;
};

struct Limits {
  // ---- weights (each safetensors file) ----
  uint64_t max_safetensors_header_bytes = 100'000'000;  // the reference implementation's limit too
  uint64_t max_tensor_count = 1'000'000;                // tensors in one file
  uint64_t max_tensor_elements = uint64_t{1} << 36;     // elements of one tensor (64 Gi)

  // ---- JSON files ----
  // config.json, tokenizer_config.json, model.safetensors.index.json.
  uint64_t max_json_bytes = uint64_t{16} << 20;
  uint64_t max_tokenizer_json_bytes = uint64_t{256} << 20;  // tokenizer.json

  // ---- tokenizer ----
  uint64_t max_vocab_size = uint64_t{1} << 21;  // largest token id + 1 (model vocab and added tokens)
  uint64_t max_merges = uint64_t{1} << 22;    // model.merges entries
  uint64_t max_added_tokens = uint64_t{1} << 18;

  // ---- chat template (Model::chat_template()) ----
  ChatTemplateLimits chat_template;

  // ---- sessions ----
  // Largest KV cache a Session of the model may allocate. 0 = the memory available when the
  // session is created (MemAvailable in /proc/meminfo, else the physical memory); UINT64_MAX turns
  // the check off.
  uint64_t max_kv_cache_bytes = 0;
};

}  // namespace slim

// slim::generate(): the ten-line way to use the library. Encodes a prompt with the model's
// tokenizer, runs it through the session, then samples tokens and hands their text to a callback
// as complete UTF-8 pieces until a stop condition.
//
//   auto model = slim::Model::load("SmolLM2-135M-Instruct");
//   slim::Session session(model);
//   slim::generate(session, "The capital of France is", {.max_tokens = 32},
//                  [](std::string_view text) { std::cout << text << std::flush; return true; });
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slim/grammar.hpp"
#include "slim/model.hpp"
#include "slim/sampler.hpp"

namespace slim {

struct GenerateOptions {
  int max_tokens = 256;
  // Generation stops before any of these strings; the text before it is delivered, the string
  // itself is not.
  std::vector<std::string> stop = {};
  SamplerOptions sampler = {};  // greedy by default
  bool stop_at_eos = true;      // stop at the model's end-of-sequence tokens (not delivered)
  // Decode the generated text as the continuation of the prompt's, so that prompt text + generated
  // text reads as the decode of all the tokens (a completion, an echoed prompt). Otherwise it is
  // decoded as a text of its own, as transformers decodes a chat reply (no leading space).
  bool text_continues_prompt = false;
  // Constrained generation: only tokens whose bytes keep the text inside the grammar are sampled
  // (the mask is applied first, before logit_bias and every other sampler step; disallowed
  // tokens get -inf). End-of-sequence is allowed only where the text is complete; generation
  // ends (StopReason::grammar) once the text is complete and nothing more can follow. Needs a
  // model with a tokenizer. Preprocessing the vocabulary takes a moment per generation.
  std::optional<Grammar> grammar = std::nullopt;
};

enum class StopReason {
  max_tokens,   // max_tokens were generated
  eos,          // the model produced an end-of-sequence token
  stop_string,  // one of GenerateOptions::stop appeared
  callback,     // the callback returned false
  context_full, // the session's context is full
  cancelled,    // Engine: the request was cancelled (GenerationHandle::cancel, the engine closing)
  grammar       // GenerateOptions::grammar: the text is complete and no token can follow
};

struct GenerateResult {
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;  // generated, including a final end-of-sequence token
  std::string text;             // everything delivered to the callback
  StopReason stop_reason = StopReason::max_tokens;
  double prompt_seconds = 0;       // running the prompt
  double first_token_seconds = 0;  // from the call to the first generated token
  double generate_seconds = 0;     // from the first generated token to the end
  int64_t cached_tokens = 0;       // Engine: prompt tokens reused from a slot's cache, not computed
};

// Receives each complete piece of text; returning false stops generation.
using TextCallback = std::function<bool(std::string_view text)>;

// Continues `session` with `prompt`: encoded with the model's tokenizer, with its special tokens
// (BOS) only when the session is empty. Every sampled token is also run through the session, so
// afterwards it holds the prompt and all generated tokens (unless the context filled up).
// Throws slim::Error(context_overflow) when the prompt does not fit.
GenerateResult generate(Session& session, std::string_view prompt, const GenerateOptions& options = {},
                        const TextCallback& on_text = {});

// The same, from token ids (nothing is added to them). This works for a folder without a tokenizer
// too: tokens are generated (end-of-sequence from config.json) but no text is delivered.
GenerateResult generate(Session& session, std::span<const int32_t> prompt_tokens,
                        const GenerateOptions& options = {}, const TextCallback& on_text = {});

}  // namespace slim

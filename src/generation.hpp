// One generation advanced a token at a time: the sampler, the stream decoder and the stop strings
// of GenerateOptions. generate() is a loop over it; the Engine's scheduler steps many at once, one
// token each per batch.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "slim/generate.hpp"
#include "slim/grammar.hpp"
#include "slim/tokenizer.hpp"

namespace slim {

// Holds back text that might be the start of a stop string, and finds stop strings that span
// several tokens.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // Adds text; returns what can be delivered now. Sets stopped() when a stop string appeared.
  std::string push(std::string_view text);
  std::string finish() { return std::exchange(pending_, {}); }
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

class Generation {
 public:
  // Checks the options (slim::Error(invalid_argument)); the prompt's tokens feed the penalties.
  // `vocabulary`: the tokenizer's, shared, for the grammar's matcher (built here when null).
  Generation(const Model& model, const GenerateOptions& options, std::span<const int32_t> prompt,
             TextCallback on_text = {}, const TokenVocabulary* vocabulary = nullptr);

  // Samples the next token from the logits of the newest position, records it and delivers its
  // text. Only ids the tokenizer has a token for are ever sampled (an embedding may have more rows:
  // Qwen2.5's 151,936 against 151,665 tokens). Call only while !done().
  int32_t step(std::span<const float> logits);
  // Ends generation for a reason of the caller's (context_full, callback, cancelled); a generation
  // that has already ended keeps its reason.
  void stop(StopReason reason);
  // Whether generation has ended: a stop condition, or max_tokens generated.
  bool done() const;
  // Delivers the text held back (stream decoder, stop strings) and returns the result. Call once,
  // when done().
  GenerateResult& finish();
  const GenerateResult& result() const { return result_; }

 private:
  bool deliver(const std::string& text);

  GenerateOptions options_;
  Sampler sampler_;
  TextCallback on_text_;
  const Tokenizer* tokenizer_ = nullptr;
  std::optional<Tokenizer::StreamDecoder> stream_;
  StopMatcher stops_;
  std::vector<int32_t> eos_;
  std::optional<TokenMatcher> grammar_;
  std::vector<float> masked_;  // the logits with the grammar's mask applied
  size_t sample_limit_ = 0;  // ids below this are sampled
  bool ended_ = false;       // a stop condition other than max_tokens
  GenerateResult result_;
};

}  // namespace slim

// The token prompts of slim-server's endpoints: chat messages through the model's chat template,
// and fill-in-the-middle from the model's FIM tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "request.hpp"
#include "slim/chat_template.hpp"
#include "slim/tokenizer.hpp"

namespace slim::server {

// Renders the messages (and tools) with the chat template, the assistant's turn opened, and
// encodes the text (the template writes BOS itself). A template that raises is a 400 naming it.
std::vector<int32_t> chat_prompt(const Tokenizer& tokenizer, const ChatTemplate& chat_template, const ChatRequest& r);

// A vocabulary's fill-in-the-middle tokens, in one of the families' spellings:
//   Qwen2.5-Coder  <|fim_prefix|> <|fim_suffix|> <|fim_middle|>, <|repo_name|> <|file_sep|>
//   CodeGemma      <|fim_prefix|> <|fim_suffix|> <|fim_middle|>, <|file_separator|>
//   StarCoder      <fim_prefix> <fim_suffix> <fim_middle>, <reponame> <file_sep>
struct FimTokens {
  int32_t prefix = -1, suffix = -1, middle = -1;
  std::optional<int32_t> repo, file_separator;
};
// nullopt when the vocabulary lacks any of prefix, suffix and middle.
std::optional<FimTokens> find_fim_tokens(const Tokenizer& tokenizer);
// What a model without FIM tokens is answered (the names looked for).
std::string missing_fim_message();

// The /infill prompt, laid out as llama.cpp does (prefix, suffix, middle):
//   [BOS] [<repo>myproject\n (<file_sep>filename\n text)... <file_sep>filename\n]
//   <fim_prefix> prefix <fim_suffix> suffix <fim_middle> prompt
// Prefix, suffix and each extra text are encoded separately, without special tokens. When the
// whole does not fit `budget` tokens, the extra files go first, then the start of the prefix and
// the end of the suffix, keeping at least three quarters of the room for the prefix; `truncated`
// is then true (the answer reports it, as llama.cpp's does).
struct InfillPrompt {
  std::vector<int32_t> tokens;
  bool truncated = false;
};
InfillPrompt infill_prompt(const Tokenizer& tokenizer, const FimTokens& fim, const InfillRequest& r, int64_t budget);

}  // namespace slim::server
